"""Learning efficacy of a gap: zero below, peak at the optimal gap, narrowed by good teaching."""

from itertools import pairwise

import numpy as np
from numba import njit

from simulation.core.efficacy import (
    EFFICACY_TABLE,
    class_input,
    effective_gap,
    efficacy,
    efficacy_exact,
)


@njit
def _table_values(gaps, z, table):
    out = np.empty(gaps.size)
    for k in range(gaps.size):
        out[k] = efficacy(gaps[k], z, table)
    return out


def test_tabulated_efficacy_matches_the_closed_form():
    """The interpolated table is within 1.1e-5 of x exp(1 - x) everywhere."""
    z = 0.1
    gaps = np.linspace(-0.1, 2.0, 50_001)
    assert np.abs(_table_values(gaps, z, EFFICACY_TABLE) - efficacy_exact(gaps / z)).max() < 1.1e-5


def test_efficacy_peaks_at_the_optimal_gap():
    """Efficacy is 0 for gaps <= 0, 1 at Z, and lower on either side."""
    z = 0.08
    gaps = np.linspace(0.0, 0.6, 6001)
    values = _table_values(gaps, z, EFFICACY_TABLE)
    assert values[0] == 0.0
    assert abs(gaps[np.argmax(values)] - z) < 1e-3
    assert abs(values.max() - 1.0) < 1e-6


def test_teaching_skill_narrows_only_the_gap_above_the_optimum():
    """A skilled teacher brings a large gap towards Z but never widens a small one."""
    assert effective_gap.py_func(0.05, 0.1, 0.9) == 0.05
    assert abs(effective_gap.py_func(0.5, 0.1, 0.5) - 0.3) < 1e-12
    assert effective_gap.py_func(0.5, 0.1, 1.0) == 0.1


def test_class_input_falls_far_more_slowly_than_one_over_n():
    """Per-learner expert input 1 / (1 + b ln n): one-to-one is 1, a class of 30 keeps most."""
    b = 0.25
    assert class_input.py_func(1, b) == 1.0
    assert class_input.py_func(30, b) > 0.5 > 1 / 30
    sizes = [1, 2, 15, 22, 30, 1000, 10**6]
    values = [class_input.py_func(n, b) for n in sizes]
    assert all(x > y for x, y in pairwise(values))
