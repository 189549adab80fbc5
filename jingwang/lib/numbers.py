"""Numbers as Chinese names count them (grids, village groups, districts)."""

from __future__ import annotations

CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 35 → 三十五; from 100 on, Arabic digits (``105``).

    Grid and group names count in Chinese characters (东街一组, 第三警务区, 石板村十二社); past
    99 the digits read better on a sign and in a list than 一百零五.
    """
    if n < 0:
        raise ValueError(f"cn_number counts from 0, not {n}")
    if n < 10:
        return CN_DIGITS[n]
    if n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")
