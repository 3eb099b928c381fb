"""Item statistics of a graded class: scores in, one row per item out (pure arithmetic).

The classical test-theory numbers a quiz report (Moodle's quiz statistics, for one) gives per
question, for a class of N learners who each got a score on every item:

* **facility**: the mean share of the item's points the class earned, from 0 (nobody) to 1
  (everybody full marks).  An item almost everyone gets right tells the tutor little.
* **discrimination** (corrected item-rest correlation): Pearson's r between the item's score
  and the *rest* of the learner's lab score (the total without this item, so the item is not
  correlated with itself).  When the item is scored 0/1 this is the point-biserial
  correlation.  Learners who do well on the rest should do well on the item: r near 0 means
  the item does not separate stronger from weaker learners, r < 0 that weaker learners do
  better on it (a wrong key, a misleading wording).
* **upper-lower index** (Kelley's D): the mean share of points in the top 27% of the class by
  rest score minus the same in the bottom 27%.  Learners tied at a group's boundary count
  with equal fractional weight, so the result does not depend on the order they were listed.

An item is **flagged** when its discrimination is below :data:`MIN_DISCRIMINATION` (0.2), or
undefined because every learner scored the same on it, or when its facility is above
:data:`MAX_FACILITY` (0.95); each flag says which rule it broke.

>>> rows = analyse({"q1": [1, 1, 1, 1], "q2": [1, 1, 0, 0], "q3": [2, 1, 0, 0]},
...                {"q1": 1, "q2": 1, "q3": 2})
>>> [(r.item, r.facility, round(r.discrimination, 3)) for r in rows[1:]]
[('q2', 0.5, 0.905), ('q3', 0.375, 0.905)]
>>> rows[0].flags
('facility 1.00 > 0.95: almost everyone earns it', 'discrimination undefined: every learner scored the same')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labkit.errors import LabkitError

__all__ = ["ItemStats", "ItemStatsError", "analyse", "pearson", "point_biserial", "upper_lower",
           "MIN_DISCRIMINATION", "MAX_FACILITY", "GROUP_SHARE"]

MIN_DISCRIMINATION = 0.2
MAX_FACILITY = 0.95
GROUP_SHARE = 0.27


class ItemStatsError(LabkitError, ValueError):
    """Scores the statistics cannot be computed from; the message names the item and the rule."""


@dataclass(frozen=True, kw_only=True)
class ItemStats:
    """One item's statistics over a class (``None``: undefined for this class)."""

    item: str
    max_points: float
    learners: int
    mean_points: float
    facility: float
    discrimination: float | None
    upper_lower: float | None
    flags: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's correlation of two equally long sequences; None when either has no spread.

    >>> pearson([1, 2, 3], [2, 4, 7])
    0.9933992677987828
    """
    if len(x) != len(y):
        raise ItemStatsError(f"pearson needs sequences of one length, got {len(x)} and {len(y)}")
    if len(x) < 2:
        return None
    mx, my = _mean(x), _mean(y)
    dx = [a - mx for a in x]
    dy = [b - my for b in y]
    sxx = math.fsum(a * a for a in dx)
    syy = math.fsum(b * b for b in dy)
    if sxx <= 1e-12 * max(1.0, mx * mx) * len(x) or syy <= 1e-12 * max(1.0, my * my) * len(y):
        return None
    r = math.fsum(a * b for a, b in zip(dx, dy)) / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))


def point_biserial(right: Sequence[bool | int], scores: Sequence[float]) -> float | None:
    """The point-biserial correlation by its own formula, (M1 - M0) / s * sqrt(p q).

    ``right`` says who got a 0/1 item right; ``scores`` is another score of the same learners;
    ``s`` is the population standard deviation of ``scores``.  It equals :func:`pearson` of the
    0/1 variable and the scores (the tests check this); None when either has no spread.
    """
    if len(right) != len(scores):
        raise ItemStatsError(f"point_biserial needs sequences of one length, got {len(right)} "
                             f"and {len(scores)}")
    ones = [s for r, s in zip(right, scores) if r]
    zeros = [s for r, s in zip(right, scores) if not r]
    if not ones or not zeros:
        return None
    m = _mean(scores)
    sd = math.sqrt(math.fsum((s - m) ** 2 for s in scores) / len(scores))
    if sd == 0:
        return None
    p = len(ones) / len(scores)
    return (_mean(ones) - _mean(zeros)) / sd * math.sqrt(p * (1 - p))


def _group_mean(values: Sequence[float], order: Sequence[float], k: float, top: bool) -> float:
    """Mean of ``values`` over the ``k`` learners highest (``top``) or lowest in ``order``,
    learners tied at the boundary sharing the remaining places equally."""
    sign = -1.0 if top else 1.0
    ranked = sorted(range(len(values)), key=lambda i: sign * order[i])
    cut = order[ranked[int(math.ceil(k)) - 1]]
    inside = [i for i in ranked if sign * order[i] < sign * cut]
    tied = [i for i in ranked if order[i] == cut]
    weight = (k - len(inside)) / len(tied)
    total = math.fsum(values[i] for i in inside) + weight * math.fsum(values[i] for i in tied)
    return total / k


def upper_lower(share: Sequence[float], rest: Sequence[float], *, group: float = GROUP_SHARE
                ) -> float | None:
    """Kelley's D: mean ``share`` of the top ``group`` of learners by ``rest`` minus the bottom's.

    Each group holds ``group x N`` learners (at least one); None with fewer than two learners.

    >>> upper_lower([1, 1, 0, 0], [3, 2, 1, 0], group=0.5)
    1.0
    """
    if len(share) != len(rest):
        raise ItemStatsError(f"upper_lower needs sequences of one length, got {len(share)} and "
                             f"{len(rest)}")
    if len(share) < 2:
        return None
    k = max(1.0, group * len(share))
    return (_group_mean(share, rest, k, top=True) - _group_mean(share, rest, k, top=False))


def _flags(facility: float, discrimination: float | None) -> tuple[str, ...]:
    flags = []
    if facility > MAX_FACILITY:
        flags.append(f"facility {facility:.2f} > {MAX_FACILITY:g}: almost everyone earns it")
    if discrimination is None:
        flags.append("discrimination undefined: every learner scored the same")
    elif discrimination < MIN_DISCRIMINATION:
        flags.append(f"discrimination {discrimination:.2f} < {MIN_DISCRIMINATION:g}: it does not "
                     f"separate stronger from weaker learners"
                     + (" (negative: weaker learners do better; check the key)"
                        if discrimination < 0 else ""))
    return tuple(flags)


def analyse(scores: Mapping[str, Sequence[float]], max_points: Mapping[str, float]
            ) -> list[ItemStats]:
    """One :class:`ItemStats` per item of ``scores`` (item -> each learner's points, learners
    in the same order for every item), in the order given.

    The rest score of an item is the learner's total over every other item of ``scores``.
    """
    if not scores:
        raise ItemStatsError("analyse needs at least one item")
    lengths = {len(v) for v in scores.values()}
    if len(lengths) != 1:
        raise ItemStatsError(f"every item needs one score per learner, got lengths "
                             f"{sorted(lengths)}")
    n = lengths.pop()
    if n == 0:
        raise ItemStatsError("analyse needs at least one learner")
    for item, values in scores.items():
        top = max_points.get(item)
        if top is None or not top > 0:
            raise ItemStatsError(f"max_points[{item!r}] must be > 0, got {top!r}")
        bad = [v for v in values if not (isinstance(v, (int, float)) and 0 <= v <= top + 1e-9)]
        if bad:
            raise ItemStatsError(f"scores of {item!r} must lie in 0..{top:g}, got {bad[0]!r}")
    totals = [math.fsum(float(scores[i][j]) for i in scores) for j in range(n)]
    rows = []
    for item, values in scores.items():
        top = float(max_points[item])
        pts = [float(v) for v in values]
        rest = [t - v for t, v in zip(totals, pts)]
        share = [v / top for v in pts]
        facility = _mean(share)
        r = pearson(pts, rest)
        rows.append(ItemStats(item=item, max_points=top, learners=n, mean_points=_mean(pts),
                              facility=facility, discrimination=r,
                              upper_lower=upper_lower(share, rest),
                              flags=_flags(facility, r)))
    return rows
