"""The complexity score of a base unit."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jingwang.lib.division.complexity import MIN_PEOPLE, score


def test_a_quiet_unit_scores_zero():
    assert score(0, 0, 0, 0, 1200) == 0.0


def test_a_unit_at_every_reference_rate_scores_one_minus_one_over_e():
    # 1,000 people present: 50 incidents, 10 disputes, 5 key places, 200 floating (20%).
    assert math.isclose(score(50, 10, 5, 200, 800), 1 - math.exp(-1))


def test_no_residents_is_not_an_error():
    assert score(0, 0, 0, 0, 0) == 0.0
    # Rates are taken over at least MIN_PEOPLE people, so one incident in an empty unit
    # weighs as one incident among MIN_PEOPLE.
    assert math.isclose(score(1, 0, 0, 0, 0), score(1, 0, 0, 0, MIN_PEOPLE))
    assert 0 < score(5, 2, 1, 0, 0) < 1


def test_weights_change_the_score_and_are_checked():
    assert score(10, 0, 0, 0, 1000, weights={"incidents": 0}) == 0.0
    assert score(10, 0, 0, 0, 1000, weights={"incidents": 1}) > score(10, 0, 0, 0, 1000)
    with pytest.raises(ValueError, match="weights.crime"):
        score(1, 0, 0, 0, 10, weights={"crime": 1})
    with pytest.raises(ValueError, match="weights.incidents"):
        score(1, 0, 0, 0, 10, weights={"incidents": -1})


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_bad_counts_are_rejected(bad):
    with pytest.raises(ValueError, match="incidents"):
        score(bad, 0, 0, 0, 100)


counts = st.integers(0, 10_000)


@settings(max_examples=200, deadline=None)
@given(counts, counts, counts, counts, counts, st.sampled_from(["i", "d", "k"]))
def test_score_is_bounded_and_grows_with_every_count(
    incidents, disputes, places, floating, residents, which
):
    base = score(incidents, disputes, places, floating, residents)
    assert 0.0 <= base <= 1.0
    bumped = {
        "i": (incidents + 1, disputes, places),
        "d": (incidents, disputes + 1, places),
        "k": (incidents, disputes, places + 1),
    }[which]
    assert score(*bumped, floating, residents) >= base
