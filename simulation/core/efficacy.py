"""Learning efficacy as a function of the skill gap between learner and source.

`efficacy(gap)` is zero for gap <= 0, rises to 1 at the optimal gap Z ("just above": a zone of
proximal development, Vygotsky 1978) and falls for large gaps: e(x) = x exp(1 - x), x = gap/Z
(docs/ODD.md, section 7.3; the shape is an assumption, no study measures gain against the
tutor-tutee gap). A skilled teacher, or content fitted to the learner, narrows the *effective* gap
above Z: that is how great teachers "impersonate someone closer".

The inner loop looks e(x) up in a table with linear interpolation instead of calling exp: the
table error is below 1.1e-5 (tested; largest near gap 0, where the
curve bends most), and the lookup is several times cheaper than exp.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TABLE_MAX = 16.0  # e(16) = 16 e^-15 < 5e-6: beyond it efficacy is zero
TABLE_STEPS_PER_UNIT = 256
_TABLE_SIZE = int(TABLE_MAX * TABLE_STEPS_PER_UNIT) + 2


def efficacy_exact(x: np.ndarray | float) -> np.ndarray:
    """The closed form e(x) = x exp(1 - x) for x = gap / Z > 0, else 0."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x * np.exp(1.0 - np.maximum(x, 0.0)), 0.0)


EFFICACY_TABLE = efficacy_exact(np.arange(_TABLE_SIZE) / TABLE_STEPS_PER_UNIT)
EFFICACY_TABLE[-1] = 0.0  # the last interval interpolates down to zero at TABLE_MAX + 1/256


@njit(cache=True, inline="always")
def efficacy(gap, optimal_gap, table):
    """Learning efficacy e(gap / Z) in [0, 1], from the table; zero for gap <= 0."""
    if gap <= 0.0:
        return 0.0
    pos = gap / optimal_gap * TABLE_STEPS_PER_UNIT
    if pos >= TABLE_MAX * TABLE_STEPS_PER_UNIT:
        return 0.0
    i = int(pos)
    frac = pos - i
    return table[i] + frac * (table[i + 1] - table[i])


@njit(cache=True, inline="always")
def efficacy_or_zero(gap, optimal_gap, table):
    """`efficacy` without branches, for the hot candidate loop; also zero for a NaN gap.

    For every gap `efficacy` accepts it does the same floating-point operations in the same
    order, so the two agree bit for bit; branch-free, it costs no mispredictions when the sign of
    the gap is random, and a NaN gap (a contact to skip) simply gives zero.
    """
    pos = gap / optimal_gap * TABLE_STEPS_PER_UNIT
    inside = (gap > 0.0) & (pos < TABLE_MAX * TABLE_STEPS_PER_UNIT)
    pos = pos if inside else 0.0
    i = np.uint64(pos)  # = int(pos) here (pos >= 0); unsigned, so no negative-index wraparound
    frac = pos - i
    value = table[i] + frac * (table[i + np.uint64(1)] - table[i])
    return value if inside else 0.0


@njit(cache=True, inline="always")
def effective_gap(gap, optimal_gap, narrowing):
    """The gap a learner experiences: the part above Z shrinks by `narrowing` (0 none, 1 all)."""
    if gap <= optimal_gap:
        return gap
    return optimal_gap + (gap - optimal_gap) * (1.0 - narrowing)


@njit(cache=True, inline="always")
def combined_narrowing(a, b):
    """Two independent narrowings (teaching skill, responsiveness) applied one after the other."""
    return 1.0 - (1.0 - a) * (1.0 - b)


@njit(cache=True, inline="always")
def class_input(n, slope):
    """Per-learner expert input in a class of n, relative to one-to-one: 1 / (1 + b ln n).

    docs/calibration.md: per-student expert input falls with class size far more slowly than 1/n;
    a logarithmic law fits VanLehn (2011) and Tennessee STAR (Krueger 1999) together. That
    evidence covers classes of about 15-40; for larger n this is an extrapolation (docs/ODD.md,
    section 10.1).
    """
    if n <= 1:
        return 1.0
    return 1.0 / (1.0 + slope * np.log(n))


@njit(cache=True, inline="always")
def content_level(skill, reference, optimal_gap, responsiveness, module_spacing):
    """Skill level of expert content a learner receives, by responsiveness level.

    0 ignorant: pitched at the class (reference = the class mean) plus Z;
    1 calibrated: the nearest of three prepared modules spaced around that pitch;
    2 diagnostic: needs assessed first, so content sits at the learner's own skill plus Z.
    """
    if responsiveness >= 2:
        return skill + optimal_gap
    pitch = reference + optimal_gap
    if responsiveness == 1:
        want = skill + optimal_gap
        best = pitch
        for m in (-1.0, 1.0):
            level = pitch + m * module_spacing
            if abs(level - want) < abs(best - want):
                best = level
        return best
    return pitch
