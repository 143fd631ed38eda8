"""Designated experts: few, skilled teachers whose attention is shared (docs/ODD.md, experts).

Experts are not members of the learner population: they are `count` teachers of fixed skill.
- class format (expert_only by default): every learner sits in one expert's class, a contiguous
  block of slots; content is pitched by responsiveness (at the class mean at level 0) and
  per-learner input falls with the class's active size n as 1 / (1 + b ln n)
  (core.efficacy.class_input);
- mentoring format (mixed by default): each expert sees at most `capacity` learners a week, so a
  learner has an expert session with probability min(1, experts * capacity / active learners).
Expert hours used and gain per expert hour are reported every week.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..kernels.peer_week import EXPERTS_CLASS, EXPERTS_MENTORING, EXPERTS_NONE

if TYPE_CHECKING:
    from ..config.schema import Scenario


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
    def for_scenario(cls, scenario: Scenario, capacity_slots: int) -> ExpertArrangement:
        """How the experts of `scenario` reach a population of `capacity_slots` slots."""
        count = scenario.expert_count
        e = scenario.experts
        if count == 0:
            return cls(0, EXPERTS_NONE, max(capacity_slots, 1), 1, e.capacity, e.hours_per_session)
        if scenario.expert_format == "class":
            span = -(-capacity_slots // count)  # ceil: classes of equal span over the slots
            classes = -(-capacity_slots // span)
            return cls(count, EXPERTS_CLASS, span, classes, e.capacity, e.hours_per_session)
        slots = max(capacity_slots, 1)
        return cls(count, EXPERTS_MENTORING, slots, 1, e.capacity, e.hours_per_session)

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


def expert_count(scenario: Scenario, size: int) -> int:
    """Designated experts of `scenario` at a population of `size`.

    Scenario.expert_count is this at the scenario's own population size.
    """
    e = scenario.experts
    if not scenario.structure.experts:
        return 0
    return -(-size // e.learners_per_expert) if e.learners_per_expert > 0 else e.count
