"""Kernels of designated experts' classes: each class's mean skill and active size.

Experts are not members of the learner population: they are `count` teachers of fixed skill.
- class format (expert_only): every learner sits in one expert's class, a contiguous block of
  slots; content is pitched by responsiveness (at the class mean at level 0) and per-learner input
  falls with the class's active size n as 1 / (1 + b ln n) (efficacy.class_input);
- mentoring format (mixed): each expert sees at most `capacity` learners a week, so a learner has
  an expert session with probability min(1, experts * capacity / active learners).
Expert hours used and gain per expert hour are reported every week.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..core.encoding import ACTIVE

# The expert classes as the weekly kernel takes them: each class's mean active skill (float64)
# and active size (int64); empty arrays where experts do not teach classes.
Classes = namedtuple("Classes", ["mean", "count"])


@njit(parallel=True, cache=True)
def class_summary(skill, flags, class_span, class_mean, class_count):
    """Mean skill and active size of every class (contiguous spans of slots)."""
    n = skill.size
    for k in prange(class_mean.size):
        total = 0.0
        count = 0
        for i in range(k * class_span, min(n, (k + 1) * class_span)):
            if flags[i] & ACTIVE:
                total += skill[i]
                count += 1
        class_count[k] = count
        class_mean[k] = total / count if count > 0 else 0.0


@njit(cache=True)
def class_partials(skill, flags, slot_offset, class_span, capacity, carry_total, carry_count):
    """A shard's part of `class_summary`: active skill total and count of every class it overlaps.

    The shard holds global slots [slot_offset, slot_offset + skill.size). Each class is summed in
    slot order, as `class_summary` does; a class begun in an earlier shard continues from that
    shard's running total (`carry_total`, `carry_count`), so the last shard a class reaches ends
    with exactly the single-process sum. Returns the first class, the totals and the counts.
    """
    n = skill.size
    first = slot_offset // class_span
    last = (slot_offset + n - 1) // class_span
    totals = np.zeros(last - first + 1)
    counts = np.zeros(last - first + 1, dtype=np.int64)
    totals[0] = carry_total
    counts[0] = carry_count
    for k in range(first, last + 1):
        total = totals[k - first]
        count = counts[k - first]
        lo = max(k * class_span, slot_offset)
        hi = min(min(capacity, (k + 1) * class_span), slot_offset + n)
        for i in range(lo - slot_offset, hi - slot_offset):
            if flags[i] & ACTIVE:
                total += skill[i]
                count += 1
        totals[k - first] = total
        counts[k - first] = count
    return first, totals, counts
