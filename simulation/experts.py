"""Designated experts: few, skilled teachers whose attention is shared (MODEL.md section 4.4).

Experts are not members of the learner population: they are `count` teachers of fixed skill.
- class format (expert_only): every learner sits in one expert's class, a contiguous block of
  slots; content is pitched by responsiveness (at the class mean at level 0) and per-learner input
  falls with the class's active size n as 1 / (1 + b ln n) (efficacy.class_input);
- mentoring format (mixed): each expert sees at most `capacity` learners a week, so a learner has
  an expert session with probability min(1, experts * capacity / active learners).
Expert hours used and gain per expert hour are reported every week.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from .learning import EXPERTS_CLASS, EXPERTS_MENTORING, EXPERTS_NONE
from .population import ACTIVE


@dataclass(frozen=True)
class ExpertArrangement:
    """How many experts there are and how learners reach them."""

    count: int
    mode: int  # EXPERTS_NONE / EXPERTS_CLASS / EXPERTS_MENTORING
    class_span: int  # slots per class (class format)
    classes: int
    capacity: int
    hours_per_session: float

    @classmethod
    def for_scenario(cls, scenario, capacity_slots: int) -> ExpertArrangement:
        count = scenario.expert_count
        e = scenario.experts
        if count == 0:
            return cls(0, EXPERTS_NONE, max(capacity_slots, 1), 1, e.capacity, e.hours_per_session)
        if scenario.expert_format == "class":
            span = -(-capacity_slots // count)  # ceil: classes of equal span over the slots
            classes = -(-capacity_slots // span)
            return cls(count, EXPERTS_CLASS, span, classes, e.capacity, e.hours_per_session)
        return cls(count, EXPERTS_MENTORING, max(capacity_slots, 1), 1, e.capacity, e.hours_per_session)

    def mentoring(self, active: float) -> tuple[float, float]:
        """Chance of a mentoring session this week, and learners per session."""
        if self.mode != EXPERTS_MENTORING or active <= 0:
            return 0.0, 1.0
        reach = self.count * self.capacity
        return min(1.0, reach / active), float(max(1.0, min(self.capacity, active / self.count)))

    def hours(self, classes_taught: int, sessions: float) -> float:
        """Expert hours used in a week."""
        if self.mode == EXPERTS_CLASS:
            return classes_taught * self.hours_per_session
        if self.mode == EXPERTS_MENTORING:
            return min(self.count, int(np.ceil(sessions / self.capacity))) * self.hours_per_session
        return 0.0


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
