"""Chinese numerals of grid names, checked against a reader that adds up what it reads."""

from __future__ import annotations

import pytest

from jingwang.lib.numbers import cn_number

DIGITS = {ch: n for n, ch in enumerate("零一二三四五六七八九")}


def read(text: str) -> int:
    """What a reader makes of a numeral: 十二 = 12, 三十五 = 35, 十 = 10, digits as they are."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        assert len(text) == 1
        return DIGITS[text]
    tens, _ten, ones = text.partition("十")
    return (DIGITS[tens] if tens else 1) * 10 + (DIGITS[ones] if ones else 0)


def test_known_names() -> None:
    assert [cn_number(n) for n in (0, 1, 9, 10, 11, 12, 20, 35, 99)] == [
        "零", "一", "九", "十", "十一", "十二", "二十", "三十五", "九十九",
    ]  # fmt: skip
    assert cn_number(100) == "100" and cn_number(1234) == "1234"


def test_every_number_reads_back() -> None:
    for n in range(0, 1000):
        text = cn_number(n)
        assert read(text) == n, (n, text)
        assert text.isdigit() == (n >= 100)
        assert "零" not in text or n == 0, text  # no 二十零


def test_negative_numbers_are_refused() -> None:
    with pytest.raises(ValueError):
        cn_number(-1)
