"""Study groups in plain Mesa, one mesa.Agent per learner: the rules of kernels/study_groups.py.

This module restates, for reading, the rules of simulation/kernels/study_groups.py
(organiser-led and rotating study groups, and the same learners alone) and is the independent
check of that kernel (tests/test_reference_groups.py). Each rule quotes the sentence it
implements from the module docstring of kernels/study_groups.py (a few from form_groups'
docstring or docs/study_groups.md, named where they are quoted). Learners are `Registrant`s
(mesa.Agent, one per learner), groups are plain `StudyGroup` objects, and nothing here is
compiled.

Fed the same seed, the reference makes the kernel's random draws (the pure-Python counter-based
hash of reference/peers.py) and does every floating-point operation in the kernel's order and
precision: float64 arithmetic, skill rounded to float32 once a week (peers.f32), motivation
stored in steps of 1/65535 (peers.motivation_code). So the two agree bit for bit on every
learner's skill, motivation and status every week, not just in distribution. Two sums feed
learners' numbers and are written out as loops on purpose, in the kernel's order of additions: the
course's pitch (`ReferenceGroupsModel.registrants_mean_skill`) and a session's fit
(`StudyGroup._prepare`). Another order would change them only in the last bit, which shows in a
learner's state only where it crosses a float32 or 1/65535 rounding (rarely), but "rarely" is not
"bit for bit".

Shared with reference/peers.py rather than restated: the hash, efficacy and the effective gap,
the float32 rounding, the content level of an unresponsive course (`Learner._content`), and the
registrants themselves (`ReferenceModel` draws the same pyramid, motivations and enrolment as
core/population.py). Shared with the package: the scenario schema and the layout of communities
and of blocks (core.blocks.block_layout: the pitch is a sum by blocks).

One week (weeks 1..course_weeks), synchronous as in the kernel: every group first decides, from
last week's state, whether it still meets, who leads and what the session offers
(`StudyGroup.convene`); then every registrant computes next week's state from last week's
(`Registrant.study`); then all advance at once and the week is observed. "After the course
nothing changes" (docs/study_groups.md): later weeks repeat the end state.

Small populations only (a few thousand learners); no arrivals (`population.arrival_rate` = 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np

from ..config.schema import Scenario
from ..core.blocks import block_layout
from .peers import (
    DRAW_SHOCK,
    STREAM_STEP,
    Learner,
    ReferenceModel,
    agent_key,
    below,
    draw,
    effective_gap,
    efficacy,
    f32,
    left_behind,
    motivation_code,
    step_key,
    uniform,
)

# Restated from core/counter_rng.py (as reference/peers.py restates the other streams): who
# organises each group is drawn from its own stream, keyed by group id at step 0.
STREAM_GROUPS = 7
PROGRESS_SCALE = 65535.0  # course progress is kept in steps of 1/65535 skill, saturating at 1
MAX_SESSIONS = 255  # sessions led are counted in a byte

# What becomes of a group ("planned" groups are all but NOT_FORMED: the same groups in every mode).
NOT_FORMED = "not formed"  # fewer enrolled members than min_group_size: all take the course alone
MEETING = "meeting"
DISSOLVED_ORGANISER = "dissolved: the organiser left"  # organiser_led only
DISSOLVED_SMALL = "dissolved: too few left"
SOLO = "solo"  # mode solo: the would-be group, never meeting (for like-for-like comparisons)


@dataclass
class Session:
    """What a meeting group offers this week.

    kernels/study_groups.py: "members learn from the leader's prepared content: the gap is the
    leader's skill (after this week's preparation) minus the member's".
    """

    leader: Registrant
    content: float  # skill level of the prepared content: the leader's skill after preparing
    fit: float  # mean efficacy of the session for the other active members (the leader's teaching)
    preparation_rate: float  # the leader's gain from preparing, at full motivation and skill 0
    leader_cost: float  # motivation the leader spends this week: preparation plus facilitation
    hours: float  # preparation hours (reported, not a mechanism)


class StudyGroup:
    """A few learners of one community taking the course together.

    kernels/study_groups.py: "Each community's first members are split into groups of contiguous
    slots whose sizes differ by at most one."
    """

    def __init__(self, model: ReferenceGroupsModel, number: int, members: list[Registrant]):
        self.model = model
        self.number = number  # the group's id over the whole population: keys its organiser draw
        self.members = members  # in slot order
        for learner in members:
            learner.group = self
        sg = model.scenario.study_groups
        enrolled = sum(1 for x in members if x.enrolled)
        # Learners not enrolled (learning.participation) take the course alone; a group needs
        # min_group_size enrolled members to form at all.
        if enrolled < sg.min_group_size:
            self.state = NOT_FORMED
        elif sg.mode == "solo":
            self.state = SOLO
        else:
            self.state = MEETING
        offset = self._organiser_offset(sg.organiser == "random")
        # form_groups: "The same learner is the organiser (organiser_led), the first leader
        # (rotating) and the would-be organiser (solo) under one seed: like-for-like comparisons."
        self.organiser = members[offset]
        self.next_in_turn = offset  # rotating: the member who leads next if still there
        self.session: Session | None = None
        self.dissolved_now = False
        self.dropped = 0  # enrolled members who dropped out in the group's last course week

    def _organiser_offset(self, random_organiser: bool) -> int:
        """Who organises: kernels/study_groups.py "the most motivated, or a random member".

        One draw from the group's own stream (keyed by group id) gives a random offset round the
        group. The volunteer is the enrolled member with the highest motivation, ties going to
        the first met scanning from that offset. A random organiser is uniform among the enrolled
        members: the r-th of them in slot order, r drawn from the same bits (with every member
        enrolled, the member at the offset). A group with no enrolled member keeps the offset
        (it never forms).
        """
        size = len(self.members)
        bits = draw(agent_key(self.model.groups_key, self.number), 0)
        start = below(bits, max(size, 1))
        enrolled = [j for j, member in enumerate(self.members) if member.enrolled]
        if random_organiser:
            return enrolled[below(bits, len(enrolled))] if enrolled else start
        offset, best = start, -1
        for d in range(size):
            j = (start + d) % size
            member = self.members[j]
            if member.enrolled and member.motivation > best:  # codes 0..65535: compared exactly
                best, offset = member.motivation, j
        return offset

    @property
    def planned(self) -> bool:
        """Whether the group was formed at registration (it may have dissolved since)."""
        return self.state != NOT_FORMED

    def attending(self) -> list[Registrant]:
        """Members who are enrolled and have not dropped out (last week's state)."""
        return [x for x in self.members if x.active and x.enrolled]

    def convene(self, week: int) -> None:
        """Decide, from last week's state, whether the group meets this week and what it offers."""
        self.session = None
        self.dissolved_now = False
        if self.state != MEETING:
            return
        sg = self.model.scenario.study_groups
        attending = self.attending()
        state, leader = MEETING, None
        if sg.mode == "organiser_led":
            # "When the organiser drops out, the group dissolves." The organiser of a group that
            # formed is enrolled, so being active is enough to lead.
            if self.organiser.active:
                leader = self.organiser
            else:
                state = DISSOLVED_ORGANISER
        # "The group dissolves when fewer than `min_group_size` remain active (the same rule
        # applies to organiser-led groups)."
        if state == MEETING and len(attending) < sg.min_group_size:
            state = DISSOLVED_SMALL
        if state == MEETING and sg.mode == "rotating":
            # "Each session the next active member in turn prepares ... and leads": from the
            # member whose turn it is, round the group, skipping those who have left.
            size = len(self.members)
            for d in range(size):
                j = (self.next_in_turn + d) % size
                if self.members[j] in attending:
                    leader = self.members[j]
                    self.next_in_turn = (j + 1) % size
                    break
        if state != MEETING:
            # Dissolution is for good: "every remaining member loses motivation once
            # (`collapse_motivation_loss`) and goes on solo".
            self.state, self.dissolved_now = state, True
            return
        # Meeting, a group has a leader: its organiser, or an attending member in turn.
        assert leader is not None
        self.session = self._prepare(week, leader, attending)
        leader.sessions_led = min(leader.sessions_led + 1, MAX_SESSIONS)

    def _prepare(self, week: int, leader: Registrant, attending: list[Registrant]) -> Session:
        """The leader prepares this week's session; its content and its fit to the members."""
        sc = self.model.scenario
        sg, z = sc.study_groups, sc.learning.optimal_gap
        if sg.mode == "organiser_led":
            # "One member ... designs the course before the first session (a one-off motivation
            # cost and a skill gain: preparing to teach is learning), then leads every session."
            if week == 1:
                rate, cost = sg.organiser_preparation_gain, sg.organiser_preparation_cost
                hours = sg.organiser_preparation_hours
            else:
                rate, cost, hours = 0.0, 0.0, 0.0
        else:
            # Rotating: "the next active member in turn prepares (a smaller per-session cost and
            # gain) and leads".
            rate, cost = sg.session_preparation_gain, sg.session_preparation_cost
            hours = sg.session_preparation_hours
        cost = cost + sg.facilitation_load  # "carries the facilitation load every week" one leads
        s = leader.skill
        m = leader.motivation / 65535.0
        content = s + rate * m * (1.0 - s)  # the leader's skill after this week's preparation
        # The session's fit: the mean efficacy of the content for the other attending members
        # (zero for those at or above it). Added one member at a time in slot order, as the
        # kernel does: the fit scales the leader's teaching gain, so its last bit can matter.
        fit_sum, fit_n = 0.0, 0
        for member in attending:
            if member is leader:
                continue
            gap = content - member.skill
            if gap > 0.0:
                fit_sum += efficacy(effective_gap(gap, z, sg.preparation_narrowing), z)
            fit_n += 1
        fit = fit_sum / fit_n if fit_n > 0 else 0.0
        return Session(leader, content, fit, rate, cost, hours)

    def motivation_extra(self, learner: Registrant) -> float:
        """Motivation this week's group life adds to an enrolled member's weekly change.

        kernels/study_groups.py: "here meeting one's group adds `social_support` and leading costs
        `facilitation_load` plus the preparation cost"; in the week a group dissolves every
        remaining member loses `collapse_motivation_loss`.
        """
        if not learner.enrolled:
            return 0.0
        if self.session is not None:
            sg = self.model.scenario.study_groups
            extra = sg.social_support
            # "each enrolled member loses that much motivation per member of the group who
            # dropped out the week before" (dropout_contagion), while the group meets.
            if self.dropped > 0:
                extra -= sg.dropout_contagion * self.dropped
            if learner is self.session.leader:
                extra -= self.session.leader_cost
            return extra
        if self.dissolved_now:
            return -self.model.scenario.study_groups.collapse_motivation_loss
        return 0.0

    def leadership_gini(self) -> float | None:
        """Gini of sessions led among the members active now: sum_{i<j}|x_i - x_j| / (n sum x).

        0 when every active member has led equally often; (n-1)/n when one member led every
        session. None when they have led no session yet (the group has not met).
        """
        led = [float(x.sessions_led) for x in self.members if x.active and x.enrolled]
        total = sum(led)  # whole numbers: exact in any order
        if total <= 0.0:
            return None
        spread = sum(abs(a - b) for i, a in enumerate(led) for b in led[i + 1:])
        return spread / (len(led) * total)


class Registrant(Learner):
    """A learner registered for the course: skill, motivation, status, course progress.

    A `reference.Learner` (the same registrant as in the other structures) plus the course's own
    state: `progress` (skill gained through the course, in steps of 1/65535, forgetting not
    deducted) and `sessions_led`.
    """

    def __init__(self, model: ReferenceGroupsModel, drawn: Learner):
        super().__init__(
            model, drawn.slot, drawn.community, drawn.skill, drawn.motivation, drawn.enrolled
        )
        self.group: StudyGroup | None = None
        self.progress = 0  # course progress in 1/65535 skill steps (saturates at 65535)
        self.sessions_led = 0

    def course_material(self, s: float, m: float) -> tuple[float, float]:
        """Efficacy and gain of a week with the fixed course material alone.

        kernels/study_groups.py: "Solo learners learn from the course material alone, pitched
        like an unresponsive course (efficacy.content_level at the programme's responsiveness,
        around the registrants' mean skill at the start)." The gap is not narrowed: nobody adapts
        it.
        """
        z = self.model.scenario.learning.optimal_gap
        gap = self._content(s, self.model.course_pitch) - s
        if gap <= 0.0:
            return 0.0, 0.0
        e = efficacy(gap, z)
        return e, min(self.model.scenario.study_groups.course_rate * e * m * (1.0 - s), gap)

    def study(self) -> None:
        """Next week's skill, motivation and status, from last week's state (synchronous)."""
        model, sc = self.model, self.model.scenario
        learn, mot, sg = sc.learning, sc.motivation, sc.study_groups
        z = learn.optimal_gap
        s = self.skill
        if not model.course_running:
            # docs/study_groups.md: "After the course (`week > course_weeks`) nothing changes, so
            # later weeks repeat the end state."
            self.next = (s, self.motivation, self.active, {"net": 0.0})
            return
        if not self.active:
            # "Motivation below the threshold is drop-out for good": a drop-out only forgets.
            s_new = f32(s * (1.0 - learn.forgetting))
            self.next = (s_new, self.motivation, False, {"net": s_new - s})
            return
        m = self.motivation / 65535.0
        group = self.group
        assert group is not None  # every registrant is placed in a group at registration
        session = group.session if self.enrolled else None
        e_course, course_gain = self.course_material(s, m)
        gain, e_progress = course_gain, e_course
        tutee_gain = tutor_gain = lead_e = lead_effgap = 0.0
        if session is not None and self is not session.leader:
            # "A member takes whichever teaches more, the session or the fixed course material":
            # the session's gap is narrowed above Z by the leader's preparation.
            gap = session.content - s
            if gap > 0.0:
                lead_effgap = effective_gap(gap, z, sg.preparation_narrowing)
                lead_e = efficacy(lead_effgap, z)
                session_gain = min(learn.peer_rate * lead_e * m * (1.0 - s), gap)
                if session_gain > course_gain:
                    gain, e_progress, tutee_gain = session_gain, lead_e, session_gain
        elif session is not None:
            # "The leader gains from the course material, from preparing and from teaching
            # (learning.tutor_rate times teaching_expectancy times the session's fit)."
            preparation = session.preparation_rate * m * (1.0 - s)
            teaching = learn.tutor_rate * learn.teaching_expectancy * session.fit * m * (1.0 - s)
            tutor_gain = preparation + teaching
            gain = course_gain + tutor_gain
            e_progress = max(e_course, session.fit)
        # core/motivation.py: one practised if one took part in a session (taught by the leader
        # or the course material with an efficacy above zero, or leading a session that fits
        # with one), or gained anything.
        taught_e = session.fit if session is not None and self is session.leader else 0.0
        practised = gain > 0.0 or max(e_progress, lead_e) > 0.0 or taught_e > 0.0
        s_new = f32(min(1.0, s + gain)) if practised else f32(s * (1.0 - learn.forgetting))
        # "Course progress (skill gained through the course, forgetting not deducted)": the week's
        # gain before skill is capped at 1 and rounded to float32.
        progress = self.progress
        if gain > 0.0:
            progress = min(progress + math.floor(gain * PROGRESS_SCALE + 0.5), 65535)
        # "Motivation follows the model's rule (kernels/peer_week.py): progress raises it, agency
        # sets its decay, a week without practice costs the no-contact penalty, plus the same weekly
        # shock draw as the other structures (common random numbers)", plus this week's group
        # life.
        decay = sc.levels.agency_decay[sc.program.agency]
        m_new = m + mot.progress_reward * e_progress - decay + group.motivation_extra(self)
        if not practised:
            m_new -= mot.no_contact_penalty
        shock = uniform(draw(agent_key(model.week_key, self.slot), DRAW_SHOCK))
        m_new += mot.shock * (2.0 * shock - 1.0)
        m_new = min(1.0, max(0.0, m_new))
        still_active = m_new >= mot.threshold
        record = {
            "net": s_new - s, "gain": s_new - s, "tutee": tutee_gain, "tutor": tutor_gain,
            "lead_e": lead_e, "misfit": abs(lead_effgap - z), "dropout": not still_active,
            "motivation": m_new, "progress": progress,
        }
        self.next = (s_new, motivation_code(m_new), still_active, record)

    def advance(self) -> None:
        """Take the decided state, and the course progress recorded this week."""
        super().advance()  # skill, motivation, status; was_tutee and was_tutor
        self.progress = self.roles.get("progress", self.progress)


class ReferenceGroupsModel(mesa.Model):
    """The study_groups structure of PeerLearningModel, one Registrant per learner.

    Args:
        scenario: a validated Scenario with program.structure "study_groups" and no arrivals.
        seed: seed of the counter-based random numbers (the kernel's `seed`).
    """

    # The state as the kernel's arrays, in slot order (the same accessors as reference/peers.py).
    skills, motivations = ReferenceModel.skills, ReferenceModel.motivations
    actives = ReferenceModel.actives

    def __init__(self, scenario: Scenario, seed: int = 0):
        super().__init__(seed=seed)
        sc = self.scenario = scenario
        if sc.program.structure != "study_groups":
            raise ValueError("the study-group reference needs program.structure = 'study_groups'")
        self.seed_value = seed
        # The registrants: the same pyramid, motivations and enrolment as every structure.
        drawn = ReferenceModel(sc, seed)
        self.members = [[Registrant(self, x) for x in community] for community in drawn.members]
        self.by_slot = {x.slot: x for community in self.members for x in community}
        self.capacity = drawn.capacity
        # Groups: ceil(n / group_size) per community over its members (at least one), group k
        # holding members [k n / groups, (k + 1) n / groups): sizes differ by at most one.
        self.groups_key = step_key(seed, STREAM_GROUPS, 0)
        self.groups: list[StudyGroup] = []
        for community in self.members:
            n = len(community)
            count = max(1, -(-n // sc.study_groups.group_size))
            for k in range(count):
                span = community[k * n // count:(k + 1) * n // count]
                self.groups.append(StudyGroup(self, len(self.groups), span))
        self.course_pitch = self.registrants_mean_skill()
        self.course_running = False
        self.net_gain = {"all": 0.0, "organisers": 0.0, "members": 0.0}  # summed over the weeks
        self.history: list[dict] = [self._observe()]

    def registrants_mean_skill(self) -> float:
        """The course's pitch: the registrants' mean skill at the start.

        kernels/study_groups.py: "pitched ... around the registrants' mean skill at the start"
        (every present learner, enrolled or not; all are active at the start). The kernel adds
        skills one at a time within each block of whole communities (core.blocks.block_layout),
        then adds the block totals with Python's sum(); the same order here, because every
        learner's course gap depends on the pitch's last bit.
        """
        blocks = block_layout(len(self.members), self.capacity)
        block_totals = []
        for b in range(blocks.size - 1):
            total = 0.0
            for community in self.members[blocks[b]:blocks[b + 1]]:
                for learner in community:
                    total += learner.skill
            block_totals.append(total)
        registrants = sum(len(community) for community in self.members)
        return sum(block_totals) / registrants if registrants else 0.0

    def step(self) -> None:
        """One course week: groups convene, registrants study, all advance, the week is observed."""
        week = self.steps  # Mesa has already counted this step
        self.course_running = 1 <= week <= self.scenario.study_groups.course_weeks
        self.week_key = step_key(self.seed_value, STREAM_STEP, week)
        if self.course_running:
            for group in self.groups:
                group.convene(week)
        else:
            for group in self.groups:
                group.session, group.dissolved_now = None, False
        attending = {
            group.number: [x for x in group.members if x.active and x.enrolled]
            for group in self.groups
        }
        self.agents.do("study")
        self.agents.do("advance")
        # Who dropped out this course week: next week's contagion in each group.
        for group in self.groups:
            gone = sum(1 for x in attending[group.number] if not x.active)
            group.dropped = min(gone, 255) if self.course_running else 0
        self.history.append(self._observe())

    def _observe(self) -> dict:
        """This week's aggregates by plain loops in slot order (the kernel sums them by blocks)."""
        learners = [self.by_slot[s] for s in sorted(self.by_slot)]
        return (self._observe_learners(learners) | self._observe_groups(learners)
                | left_behind(list(learners), self.scenario))

    def _observe_learners(self, learners: list[Registrant]) -> dict:
        """The model's usual aggregates (metrics.aggregate), for the learners of a course week."""
        competent = self.scenario.metrics.competent
        active = [x for x in learners if x.active]
        weekly = [getattr(x, "roles", None) or {} for x in learners]
        studied = [r for r in weekly if "dropout" in r]  # active at the start of a course week
        tutees = [r["tutee"] for r in studied if r["tutee"] > 0.0]
        tutors = [r["tutor"] for r in studied if r["tutor"] > 0.0]
        partnered = [r for r in studied if r["lead_e"] > 0.0]  # had a session that could teach
        # Motivation as reported: this week's value before it is stored in 1/65535 steps for those
        # who studied (as kernels/peer_week.py reports it), the stored value for the others.
        motivation = [
            w.get("motivation", x.motivation / 65535.0)
            for x, w in zip(learners, weekly, strict=True)
        ]
        n = len(active)
        return {
            "active": len(active),
            "dropouts": sum(1 for r in studied if r["dropout"]),
            "mean_skill": ratio(sum(x.skill for x in active), len(active)),
            "mean_motivation": ratio(
                sum(m for x, m in zip(learners, motivation, strict=True) if x.active), n
            ),
            "competent_fraction": ratio(sum(1 for x in active if x.skill >= competent), n),
            "mean_gain": ratio(sum(r["gain"] for r in studied), len(learners)),
            "mean_tutee_gain": ratio(sum(tutees), len(tutees)),
            "tutee_fraction": ratio(len(tutees), len(active)),
            "mean_tutor_gain": ratio(sum(tutors), len(tutors)),
            "tutor_fraction": ratio(len(tutors), len(active)),
            "mean_partner_efficacy": ratio(sum(r["lead_e"] for r in partnered), len(partnered)),
            "mean_partner_misfit": ratio(sum(r["misfit"] for r in partnered), len(partnered)),
        }

    def _observe_groups(self, learners: list[Registrant]) -> dict:
        """The study-group aggregates (study_groups.METRIC_NAMES; docs/study_groups.md)."""
        planned = [g for g in self.groups if g.planned]
        meeting = [g for g in planned if g.state == MEETING]
        # Organisers (rotating: first leaders; solo: the same learners alone) and the other
        # enrolled members of planned groups; net skill changes are summed week by week. An
        # organiser is enrolled: chosen among the enrolled members, who are many enough to plan.
        organisers = [g.organiser for g in planned]
        others = [x for g in planned for x in g.members if x.enrolled and x is not g.organiser]
        for name, who in (("all", learners), ("organisers", organisers), ("members", others)):
            self.net_gain[name] += sum(getattr(x, "roles", {}).get("net", 0.0) for x in who)
        active = [x for x in learners if x.active]
        in_group = [x for g in meeting for x in g.members if x.enrolled and x.active]
        goal = math.ceil(self.scenario.study_groups.goal * PROGRESS_SCALE - 1e-9)  # progress steps
        progress = [x.progress / PROGRESS_SCALE for x in learners]
        ginis = [gini for g in meeting if (gini := g.leadership_gini()) is not None]
        hours = [g.session.hours for g in meeting if g.session is not None]
        return {
            "group_survival": ratio(len(meeting), len(planned)),
            "organiser_collapse_fraction": ratio(
                sum(1 for g in planned if g.state == DISSOLVED_ORGANISER), len(planned)
            ),
            "in_group_fraction": ratio(len(in_group), len(active)),
            "completion": ratio(sum(1 for x in active if x.progress >= goal), len(learners)),
            "mean_progress": ratio(sum(progress), len(learners)),
            "skill_gain": ratio(self.net_gain["all"], len(learners)),
            "organiser_gain": ratio(self.net_gain["organisers"], len(organisers)),
            "member_gain": ratio(self.net_gain["members"], len(others)),
            "organiser_active_fraction": ratio(
                sum(1 for x in organisers if x.active), len(organisers)
            ),
            "leadership_gini": ratio(sum(ginis), len(ginis)),
            "preparation_hours": ratio(sum(hours), len(planned)),
            "preparation_hours_total": sum(hours),
        }

    # The course's own state, in the kernel's layout (slot order; groups in id order).
    def progress_codes(self) -> np.ndarray:
        """Course progress of every slot, as the kernel stores it (uint16 codes)."""
        return np.array([self.by_slot[s].progress for s in sorted(self.by_slot)], dtype=np.uint16)

    def sessions_led(self) -> np.ndarray:
        """Sessions each slot has led."""
        led = [self.by_slot[s].sessions_led for s in sorted(self.by_slot)]
        return np.array(led, dtype=np.uint8)

    def group_states(self) -> list[str]:
        """The state of every group, in id order."""
        return [g.state for g in self.groups]

    def organiser_offsets(self) -> np.ndarray:
        """Each group's organiser, as an offset among its members."""
        return np.array([g.members.index(g.organiser) for g in self.groups], dtype=np.uint8)


def ratio(a: float, b: float) -> float:
    """The ratio a / b, or 0 where there is nothing to divide by (as the kernel's metrics)."""
    return a / b if b > 0 else 0.0
