"""Synthetic people for every app's demo data: names, ID numbers and mobile numbers.

Everything is drawn from the caller's seeded stream and checked against a set of values already
used, so a demo never repeats a name or a number. ID numbers are valid 18-digit numbers (a real
area code, a birth date, a sequence whose parity gives the sex, the GB 11643 check digit) and
phone numbers valid 11-digit mobile numbers: they pass the same checks as real ones
(``jingwang.lib.pii``), and they are stored encrypted like real ones.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from jingwang.lib.pii import id_check_digit

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许邓冯韩曹曾彭蒋蔡袁杜苟谭廖邱文任"
    "敬青鲜母魏付肖钟雷严汪向"
)
MALE_GIVEN = "伟强军勇杰涛明超斌波鹏华平刚林磊浩宇俊峰建国志文凯亮洪海兵东川江成龙德福"
FEMALE_GIVEN = "芳娟敏静丽艳秀霞玲燕红梅琳婷雪莉颖倩慧兰萍琴英佳欣悦春琼蓉莎"
PHONE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 "
    "177 180 181 182 183 185 186 187 188 189 199"
).split()


def person_name(rng: random.Random, used: set[str], *, male: bool) -> str:
    """A two- or three-character name not in ``used`` (and added to it)."""
    chars = MALE_GIVEN if male else FEMALE_GIVEN
    while True:
        given = rng.choice(chars)
        if rng.random() < 0.7:
            given += rng.choice(chars)
        name = rng.choice(SURNAMES) + given
        if name not in used:
            used.add(name)
            return name


def id_number(
    rng: random.Random, used: set[str], area: str, years: tuple[int, int], *, male: bool
) -> str:
    """A valid ID number of ``area`` (6 digits), born between the two years, not in ``used``."""
    while True:
        born = date(years[0], 1, 1) + timedelta(days=rng.randint(0, 365 * (years[1] - years[0])))
        order = rng.randint(0, 99) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
        first17 = f"{area}{born:%Y%m%d}{order:03d}"
        number = first17 + id_check_digit(first17)
        if number not in used:
            used.add(number)
            return number


def phone(rng: random.Random, used: set[str]) -> str:
    """A valid 11-digit mobile number not in ``used``."""
    while True:
        number = rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        if number not in used:
            used.add(number)
            return number
