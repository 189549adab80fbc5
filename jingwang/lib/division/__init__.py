"""Grid division engine: base units → district › sector › block › cluster (Django-free).

See docs/division.md for the algorithm, the policy fields, the workload weighting and the
complexity score.
"""

from . import complexity
from .checks import check_units
from .engine import divide, move_unit, project_lonlat
from .measures import evaluate
from .model import LEVELS, BaseUnit, Evaluation, Plan, Policy, Region, Violation
from .redivision import continuity, redivide

__all__ = [
    "LEVELS",
    "BaseUnit",
    "Evaluation",
    "Plan",
    "Policy",
    "Region",
    "Violation",
    "check_units",
    "complexity",
    "continuity",
    "divide",
    "evaluate",
    "move_unit",
    "project_lonlat",
    "redivide",
]
