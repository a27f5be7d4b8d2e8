"""Merged classes in the pseudo-labels' loss: a group of characters the label names only as the group."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from captcha_solver.neural import BLANK  # noqa: E402
from captcha_solver.training import confused_groups  # noqa: E402
from captcha_solver.training.neural._data import encode  # noqa: E402
from captcha_solver.training.neural._merge import class_index, fold, merged_label, with_merged_np  # noqa: E402
from captcha_solver.training.neural._splice import SplicePool  # noqa: E402

CHARSET = "012O"  # classes 1..4: "0" is 1, "O" is 4
GROUPS = ("0O",)


def _ctc(z: torch.Tensor, labels: list[str], groups: tuple[str, ...] = GROUPS) -> torch.Tensor:
    """The training loop's loss on logits ``z`` (N, T, C) for labels that may mark merged characters."""
    lp, plain = fold(z.log_softmax(-1), labels, CHARSET, groups)
    targets, lengths = encode(plain, CHARSET)
    frames = torch.full((z.shape[0],), z.shape[1], dtype=torch.long)
    return torch.nn.functional.ctc_loss(lp.permute(1, 0, 2), targets, frames, lengths, reduction="sum")


def test_a_merged_label_names_the_group_and_its_alignment_column():
    assert merged_label("A0BO1", GROUPS) == "A\ue000B\ue0001"
    assert merged_label("A0BO1", ()) == "A0BO1"
    index = class_index(CHARSET, ("0O", "12"))
    assert index["0"] == 1 and index["O"] == 4
    assert index["\ue000"] == 5 and index["\ue001"] == 6  # the columns with_merged_np appends


def test_the_loss_asks_for_one_of_the_group_not_which():
    torch.manual_seed(0)
    z = torch.randn(1, 9, len(CHARSET) + 1, dtype=torch.float64)
    merged = _ctc(z, [merged_label("1O2", GROUPS)])
    # Whichever member the pseudo-label read, the loss is -log P("1", "0 or O", "2")...
    assert torch.isclose(merged, _ctc(z, [merged_label("102", GROUPS)]))
    # ...which is below the loss of either reading alone (unmarked labels are not folded).
    assert merged < min(_ctc(z, ["1O2"]), _ctc(z, ["102"]))


def test_folded_rows_sum_to_one_and_others_are_untouched():
    z = torch.randn(3, 6, len(CHARSET) + 1)
    lp, labels = fold(z.log_softmax(-1), ["1\ue0002", "O12", "0\ue000O"], CHARSET, GROUPS)
    assert labels == ["102", "O12", "000"]  # a plain member beside a mark (a splice) is merged too
    assert torch.allclose(lp.exp().sum(-1), torch.ones(3, 6), atol=1e-5)
    assert torch.equal(lp[1], z.log_softmax(-1)[1])
    assert torch.isneginf(lp[0, :, 4]).all() and not torch.isneginf(lp[1, :, 4]).any()


def test_the_gradient_is_the_true_one_and_does_not_push_between_the_members():
    # torch's CTC gradient assumes each frame sums to one; folding keeps that, so autograd matches
    # finite differences. An extra "0 or O" column beside the others was 0.2 off here.
    torch.manual_seed(1)
    z = torch.randn(1, 9, len(CHARSET) + 1, dtype=torch.float64)
    label = [merged_label("1O2", GROUPS)]
    zz = z.clone().requires_grad_()
    _ctc(zz, label).backward()
    numeric = torch.zeros_like(z)
    for t in range(9):
        for k in range(len(CHARSET) + 1):
            step = torch.zeros_like(z)
            step[0, t, k] = 1e-6
            numeric[0, t, k] = (_ctc(z + step, label) - _ctc(z - step, label)) / 2e-6
    assert torch.allclose(zz.grad, numeric, atol=1e-6)
    # Shifting a frame's logits between 0 and O (same summed probability) does not change the loss.
    p = z.softmax(-1)
    ratio = zz.grad[..., 1] * p[..., 4] - zz.grad[..., 4] * p[..., 1]
    assert ratio.abs().max() < 1e-9


def test_numpy_alignment_columns_are_the_members_summed():
    lp = np.log(np.random.default_rng(0).dirichlet(np.ones(len(CHARSET) + 1), size=7))
    out = with_merged_np(lp, CHARSET, ("0O", "12"))
    assert out.shape == (7, len(CHARSET) + 3)
    assert np.allclose(np.exp(out[:, 5]), np.exp(lp[:, 1]) + np.exp(lp[:, 4]))


def test_a_group_outside_the_charset_is_a_clear_error():
    with pytest.raises(ValueError, match="'X' are not in the charset '012O'"):
        fold(torch.zeros(1, 2, 5), ["\ue0001"], CHARSET, ("0X",))


def test_splicing_aligns_and_carries_a_merged_label():
    b, zero, one, oh = BLANK, 1, 2, 4
    frames = [b, zero, b, b, one, b, b, oh, b]  # read "01O"
    p = np.full((len(frames), 5), 0.025)
    p[np.arange(len(frames)), frames] = 0.9
    labels = [merged_label("01O", ("0O",)), "101"]
    frames_2 = [b, one, b, b, zero, b, b, one, b]
    p2 = np.full((len(frames), 5), 0.025)
    p2[np.arange(len(frames)), frames_2] = 0.9
    pool = SplicePool(labels, CHARSET, frame_stride=2, max_width=64, groups=("0O",))
    assert pool.refresh([np.log(p), np.log(p2)], [18, 18]) == 2
    rng = np.random.default_rng(0)
    arrays = [np.zeros((4, 18), np.float32), np.ones((4, 18), np.float32)]
    made = [m for m in (pool.draw(0, arrays, rng) for _ in range(20)) if m is not None]
    # The left part's placeholder stays a placeholder: "?" + "101"[1:] or "?1" + "101"[2:].
    assert made and {label for _, label in made} <= {"\ue00001", "\ue00011"}


def test_confused_groups_count_substitutions_both_ways():
    readings = [("A0B", "AOB"), ("OC", "0C"), ("XY", "XZ"), ("ABC", "AB")]  # the last: another length
    assert confused_groups(readings, 2) == ("0O",)
    assert confused_groups(readings, 1) == ("0O", "YZ")
    assert confused_groups(readings, 3) == ()
    assert confused_groups(readings, 0) == ()  # the setting's "never"


def test_pairs_sharing_a_character_make_one_group():
    readings = [("0", "O"), ("O", "0"), ("D", "0"), ("0", "D")]
    assert confused_groups(readings, 2) == ("0DO",)
