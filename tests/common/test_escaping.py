import os
import random
import unicodedata

import pytest

from captcha_solver.common import escape_text, neutralise_formula, restore_formula, unescape_text


@pytest.mark.parametrize(
    "original, escaped",
    [
        ("x7k2.png", "x7k2.png"),
        ("a\rb.png", "a\\rb.png"),
        ("c\nd.png", "c\\nd.png"),
        ("e\tf.png", "e\\tf.png"),
        ("back\\slash.png", "back\\\\slash.png"),
        ("nul\x00bell\x07del\x7f", "nul\\x00bell\\x07del\\x7f"),
        (os.fsdecode(b"g\xff\xfeh.png"), "g\\xff\\xfeh.png"),  # bytes that are not UTF-8
        ("nel\x85ls\u2028ps\u2029", "nel\\u0085ls\\u2028ps\\u2029"),  # line breaks to some tools
        ("rlo\u202egnp.exe", "rlo\\u202egnp.exe"),  # bidi override: shows another name than it is
        ("lone\ud800", "lone\\ud800"),
        ("é漢字ü ß.png", "é漢字ü ß.png"),  # letters of any script are kept
        ("=cmd|' /C calc'!A0", "=cmd|' /C calc'!A0"),  # formulas are the CSV's business
    ],
)
def test_escape_table(original, escaped):
    assert escape_text(original) == escaped
    assert unescape_text(escaped) == original


def test_bytes_and_paths_are_decoded_like_the_file_system():
    raw = b"dir/g\xff\xfe\nh.png"
    assert escape_text(raw) == "dir/g\\xff\\xfe\\nh.png"
    assert os.fsencode(unescape_text(escape_text(raw))) == raw
    from pathlib import Path

    assert escape_text(Path(os.fsdecode(raw))) == "dir/g\\xff\\xfe\\nh.png"


def _random_text(rng: random.Random) -> str:
    pools = [
        "abcXYZ019.-_ =+@'\"\\",
        "".join(map(chr, range(0x00, 0x20))) + "\x7f",
        "".join(map(chr, range(0x80, 0x100))),
        "".join(chr(c) for c in range(0xDC80, 0xDD00)),  # surrogateescape'd bytes
        "\ud800\udbff\udfff\u2028\u2029\u202a\u202e\u2066\ufeff漢é",
    ]
    return "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randrange(0, 30)))


def test_round_trip_and_output_is_one_printable_utf8_line():
    rng = random.Random(11)
    for _ in range(3000):
        text = _random_text(rng)
        escaped = escape_text(text)
        assert unescape_text(escaped) == text, repr(text)
        escaped.encode("utf-8")  # no surrogate left
        assert len(escaped.splitlines()) <= 1, repr(escaped)
        assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in escaped), repr(escaped)


def test_random_bytes_round_trip_through_fsdecode():
    rng = random.Random(5)
    for _ in range(2000):
        raw = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 20)))
        assert os.fsencode(unescape_text(escape_text(raw))) == raw


@pytest.mark.parametrize(
    "bad, where",
    [
        ("a\\q", "'\\\\\\\\q' at position 1"),
        ("end\\", "position 3"),
        ("\\xZZ", "position 0"),
        ("\\u12", "position 0"),
        ("\\xFF", "position 0"),
    ],
)
def test_unescape_refuses_what_escape_never_writes(bad, where):
    with pytest.raises(ValueError, match=f"invalid escape .*{where}.*expected"):
        unescape_text(bad)


@pytest.mark.parametrize(
    "cell, safe",
    [
        ("=cmd|' /C calc'!A0.png", "'=cmd|' /C calc'!A0.png"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("'quoted", "''quoted"),  # so the reader can always drop one
        ("a=b.png", "a=b.png"),
        ("", ""),
    ],
)
def test_formula_neutralising(cell, safe):
    assert neutralise_formula(cell) == safe
    assert restore_formula(safe) == cell
