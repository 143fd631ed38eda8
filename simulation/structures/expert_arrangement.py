"""Designated experts: few, skilled teachers whose attention is shared (docs/ODD.md, 7.6).

Experts are not members of the learner population: they are `count` teachers of fixed skill.
How they reach many learners is the scenario's choice (experts.format):
- class (expert_only by default): each expert teaches one class of at most `class_cap`
  learners, a contiguous span of slots; if the experts' seats (count x class_cap) cannot hold
  every slot, the first `count` spans are the classes and the learners beyond them have no seat
  and no expert input. Content is pitched by responsiveness (at the class mean at level 0) and
  per-learner input falls with the class's active size n as 1 / (1 + b ln n)
  (core.efficacy.class_input), within the class sizes the evidence covers;
- class_log_law: every learner sits in one of `count` classes however large (the log law
  extrapolated beyond the classes of 15-40 it was fitted on);
- broadcast: one recorded pitch a week for everyone, at the population's mean skill, with no
  interaction (no teaching-skill narrowing) and per-learner input `broadcast_input`;
- mentoring (mixed by default): each expert sees at most `capacity` learners a week, so a
  learner has an expert session with probability min(1, experts * capacity / active learners).
Expert hours used and gain per expert hour are reported every week.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..kernels.peer_week import (
    EXPERTS_BROADCAST,
    EXPERTS_CLASS,
    EXPERTS_MENTORING,
    EXPERTS_NONE,
)

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
        fmt = scenario.expert_format
        if fmt in ("class", "class_log_law"):
            cap = e.class_cap if fmt == "class" else None
            span, classes = class_layout(count, capacity_slots, cap)
            return cls(count, EXPERTS_CLASS, span, classes, e.capacity, e.hours_per_session)
        slots = max(capacity_slots, 1)
        mode = EXPERTS_BROADCAST if fmt == "broadcast" else EXPERTS_MENTORING
        return cls(count, mode, slots, 1, e.capacity, e.hours_per_session)

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
        if self.mode == EXPERTS_BROADCAST:  # one recorded session a week, if anyone watched
            return self.hours_per_session if sessions > 0 else 0.0
        return 0.0


def class_layout(count: int, slots: int, cap: int | None) -> tuple[int, int]:
    """Slots per class and classes taught, for `count` experts over `slots` slots.

    Classes are contiguous spans of equal size over the slots, one per expert. With a cap
    (format class), a span holds at most `cap` slots: if the experts cannot seat every slot, the
    classes are the first `count` spans of `cap` slots and the slots beyond have no seat (a
    school's fixed enrolment; the seats go to whole communities in slot order, which are drawn
    alike, so the seated are a random sample). Without a cap (class_log_law) every slot is in a
    class however large.
    """
    span = -(-max(slots, 1) // count)  # ceil: classes of equal span over the slots
    if cap is not None and span > cap:
        return cap, count
    return span, -(-max(slots, 1) // span)


def expert_count(scenario: Scenario, size: int) -> int:
    """Designated experts of `scenario` at a population of `size`.

    Scenario.expert_count is this at the scenario's own population size.
    """
    e = scenario.experts
    if not scenario.structure.experts:
        return 0
    return -(-size // e.learners_per_expert) if e.learners_per_expert > 0 else e.count
