"""Public-security complexity of a base unit (治安复杂程度), one of the inputs to grid division.

The score is a weighted sum of four rates, each divided by a reference rate so that a unit with
"typical" figures scores 1 on that term, then squashed into 0..1 with 1 - exp(-index):

    index = Σ weight_i × rate_i / reference_i        score = 1 - exp(-index)

rates (per 1,000 people present = residents + floating population, see MIN_PEOPLE):
    incidents     police incidents in the period          reference 50 per 1,000
    disputes      disputes registered in the period       reference 10 per 1,000
    key_places    key places (campus, hospital, ...)      reference  5 per 1,000
    floating      floating population share               reference 200 per 1,000 (20%)

Default weights: incidents 0.4, disputes 0.3, key places 0.2, floating population 0.1 (they sum
to 1, so a unit at every reference rate has index 1 and score 0.63). The score is monotone in
every count, 0 for a quiet unit, and tends to 1 (reaching it in floating point only for
extreme rates).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

DEFAULT_WEIGHTS: dict[str, float] = {
    "incidents": 0.4,
    "disputes": 0.3,
    "key_places": 0.2,
    "floating_population": 0.1,
}

# Reference rates per 1,000 people: the rate that contributes 1 × its weight to the index.
REFERENCE_PER_1000: dict[str, float] = {
    "incidents": 50.0,
    "disputes": 10.0,
    "key_places": 5.0,
    "floating_population": 200.0,
}

# Rates are taken over at least this many people, so that a unit with three residents and one
# incident (or none at all: a market, a park) does not read as hundreds per 1,000.
MIN_PEOPLE = 100.0


def score(
    incidents: float,
    disputes: float,
    key_places: float,
    floating_population: float,
    residents: float,
    weights: Mapping[str, float] | None = None,
) -> float:
    """Complexity of a base unit in 0..1 (see the module docstring for the formula)."""
    counts = {
        "incidents": incidents,
        "disputes": disputes,
        "key_places": key_places,
        "floating_population": floating_population,
        "residents": residents,
    }
    for name, value in counts.items():
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}: must be a non-negative number")
    used = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in DEFAULT_WEIGHTS:
            raise ValueError(f"weights.{name}: unknown weight")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"weights.{name}: must be a non-negative number")
        used[name] = float(value)
    people = max(residents + floating_population, MIN_PEOPLE)
    index = sum(
        used[name] * (counts[name] * 1000.0 / people) / REFERENCE_PER_1000[name]
        for name in DEFAULT_WEIGHTS
    )
    return 1.0 - math.exp(-index)
