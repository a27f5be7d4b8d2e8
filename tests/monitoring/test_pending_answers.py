"""Answers waiting for feedback: bounded in count, age and kept bytes; a claimed id answers 'done'."""

from __future__ import annotations

import pytest

from captcha_solver.serving._feedback import FeedbackStore, Pending, PendingAnswers
from captcha_solver.settings import Config, apply_overrides


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _pending(clock, payload=None, prediction="abc"):
    return Pending("v1", prediction, "abc", frozenset({3}), clock(), payload)


def _settings(**values):
    return apply_overrides(Config(), {f"feedback.{k}": v for k, v in values.items()}).feedback


def test_expired_and_evicted_answers_become_unknown():
    clock = Clock()
    pending = PendingAnswers(_settings(pending_ttl_s=10, max_pending=3), clock=clock)
    for i in range(4):
        pending.add(f"id{i}", _pending(clock))
    assert pending.lookup("id0") == ("unknown", None)  # the oldest of 4 > max_pending
    assert pending.lookup("id1")[0] == "pending" and len(pending) == 3
    clock.now += 11
    assert pending.lookup("id1") == ("unknown", None) and len(pending) == 0


def test_claimed_ids_answer_done_until_they_expire_and_can_be_restored():
    clock = Clock()
    pending = PendingAnswers(_settings(pending_ttl_s=10), clock=clock)
    pending.add("a", _pending(clock, b"x" * 10))
    answer = pending.claim("a")
    assert pending.lookup("a") == ("done", None) and pending.kept_bytes == 0
    pending.restore("a", answer)
    assert pending.lookup("a") == ("pending", answer) and pending.kept_bytes == 10
    pending.claim("a")
    clock.now += 11
    assert pending.lookup("a") == ("unknown", None)


def test_kept_uploads_stay_within_max_pending_mb_oldest_dropped_first():
    clock = Clock()
    pending = PendingAnswers(_settings(max_pending_mb=1), clock=clock)
    mib = 1024 * 1024
    pending.add("old", _pending(clock, b"a" * (mib // 2)))
    pending.add("mid", _pending(clock, b"b" * (mib // 2)))
    pending.add("new", _pending(clock, b"c" * (mib // 2)))
    assert pending.kept_bytes <= mib
    assert pending.lookup("old")[1].payload is None  # its verdict still counts; only the image is gone
    assert pending.lookup("new")[1].payload is not None
    pending.add("huge", _pending(clock, b"d" * (2 * mib)))
    assert pending.lookup("huge")[1].payload is None and pending.kept_bytes <= mib


@pytest.mark.parametrize(
    ("text", "why"),
    [("ab", "has 2 characters"), ("abd", "does not read: 'd'"), ("a-b", "is not a label"), ("abc", None)],
)
def test_texts_the_model_cannot_read_are_named(text, why):
    problem = _pending(Clock()).text_problem(text)
    assert problem is None if why is None else why in problem


def test_store_never_replaces_a_file_and_keeps_every_copy_readable(tmp_path):
    store = FeedbackStore(_settings(dir=str(tmp_path)))
    (tmp_path / "labelled").mkdir()
    (tmp_path / "labelled" / "ABC.png").write_bytes(b"mine")
    assert store.save_image(b"1", "abc", "r1") == "labelled-2/abc.png"  # case-insensitive clash with ABC
    assert store.save_image(b"2", "abc", "r2") == "labelled-3/abc.png"
    assert store.save_image(b"3", "xyz", "r3") == "labelled/xyz.png"
    assert store.save_image(b"4", None, "r4") == "unlabelled/r4.png"
    assert (tmp_path / "labelled" / "ABC.png").read_bytes() == b"mine"
    # Another writer (a replica on the same volume) took the name meanwhile: the next shelf.
    (tmp_path / "labelled-4").mkdir()
    store2 = FeedbackStore(_settings(dir=str(tmp_path)))
    store2.shelves.taken[tmp_path / "labelled-4"] = (
        set()
    )  # it listed the folder before the other writer wrote
    (tmp_path / "labelled-4" / "abc.png").write_bytes(b"other")
    assert store2.save_image(b"5", "abc", "r5") == "labelled-5/abc.png"
    assert (tmp_path / "labelled-4" / "abc.png").read_bytes() == b"other"
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary file left
