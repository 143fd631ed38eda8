"""A plain reference implementation: one mesa.Agent per learner, the same rules, no numba.

This is the independent check of the kernels (tests/test_reference.py) and the "plain Mesa" baseline
of the benchmarks. It is written for reading, not speed: every rule of the weekly kernel
(kernels/peer_week.py) is restated here in ordinary Python, agent by agent, with its own pure-Python
copy of the counter-based hash, so that fed the same seed it makes the same random draws. Only the
data layout helpers (community sizes, the efficacy table's values, the scenario schema) are shared.

Synchronous update, as in the kernel: every learner first `decide`s its next state from last
week's state of everyone, then all `advance` at once.
"""

from __future__ import annotations

import math
from typing import Any

import mesa
import numpy as np

from ..config.schema import Scenario
from ..core.efficacy import EFFICACY_TABLE, TABLE_MAX, TABLE_STEPS_PER_UNIT
from ..core.population import community_layout, strong_share, tutor_count
from ..core.pyramid import layer_cumulative

MASK = (1 << 64) - 1
GOLDEN, M1, M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
STREAM_INIT_SKILL, STREAM_INIT_MOTIVATION, STREAM_STEP, STREAM_POOL, STREAM_ARRIVALS = 1, 2, 3, 4, 5
STREAM_INIT_PROGRAMME, STREAM_DEAL = 6, 8
DRAW_ROLE, DRAW_QUALITY = 1, 2  # in STREAM_INIT_PROGRAMME
DRAW_POOL_BASE, DRAW_SHOCK, DRAW_EXPERT_SESSION, DRAW_PRIORITY = 64, 96, 97, 98
TABLE = [float(x) for x in EFFICACY_TABLE]


# --- the counter-based hash, restated in plain Python -----------------------------------------
def mix(z: int) -> int:
    """The SplitMix64 finaliser (core.counter_rng.mix)."""
    z = (z + GOLDEN) & MASK
    z = ((z ^ (z >> 30)) * M1) & MASK
    z = ((z ^ (z >> 27)) * M2) & MASK
    return z ^ (z >> 31)


def step_key(seed: int, stream: int, step: int) -> int:
    """The key of one stream at one step (core.counter_rng.step_key)."""
    return mix(mix(mix(seed) ^ stream) ^ step)


def agent_key(key: int, agent: int) -> int:
    """An agent's key within a step's key (core.counter_rng.agent_key)."""
    return mix(key ^ ((agent * GOLDEN) & MASK))


def draw(akey: int, d: int) -> int:
    """The agent's d-th 64 random bits (core.counter_rng.draw)."""
    return mix((akey + d * M2) & MASK)


def uniform(bits: int) -> float:
    """A uniform number in (0, 1) from 53 of the bits (core.counter_rng.uniform)."""
    # Held below 1 as the kernels' uniform is: (2**53 - 1) + 0.5 rounds to 2**53 in float64.
    return min(((bits >> 11) + 0.5) * (1.0 / 9007199254740992.0), 1.0 - 2.0**-53)


def below(bits: int, n: int) -> int:
    """An integer in [0, n) from the high 32 bits (core.counter_rng.below)."""
    return ((bits >> 32) * n) >> 32


# --- the learning rules, restated ---------------------------------------------------------------
def efficacy(gap: float, z: float) -> float:
    """Learning efficacy at a skill gap, from the shared table (core.efficacy.efficacy)."""
    if gap <= 0.0:
        return 0.0
    pos = gap / z * TABLE_STEPS_PER_UNIT
    if pos >= TABLE_MAX * TABLE_STEPS_PER_UNIT:
        return 0.0
    i = int(pos)
    frac = pos - i
    return TABLE[i] + frac * (TABLE[i + 1] - TABLE[i])


def effective_gap(gap: float, z: float, narrowing: float) -> float:
    """The gap above Z narrowed by teaching skill (core.efficacy.effective_gap)."""
    return gap if gap <= z else z + (gap - z) * (1.0 - narrowing)


def dealt_slot(key: int, position: int, slots: int) -> int:
    """The pool slot dealt to `position`: a keyed permutation of [0, slots) (kernels.pool).

    A four-round Feistel network on the smallest even number of bits that holds `slots`,
    walking the cycle until the value falls inside the range.
    """
    half = 1
    while (1 << (2 * half)) < slots:
        half += 1
    mask = (1 << half) - 1
    x = position
    while True:
        left, right = x >> half, x & mask
        for r in range(4):
            left, right = right, left ^ (draw(agent_key(key, right), r) & mask)
        x = (left << half) | right
        if x < slots:
            return x


def f32(x: float) -> float:
    """Round to float32, as the arrays store skill."""
    return float(np.float32(x))


def motivation_code(m: float) -> int:
    """Motivation stored in 1/65535 steps, rounded to nearest (core.encoding)."""
    return math.floor(m * 65535.0 + 0.5)


class Learner(mesa.Agent):
    """One learner: skill, motivation and status, and the slot it occupies in its community."""

    # Next week's (skill, motivation code, active, roles played), decided before anyone advances.
    next: tuple[float, int, bool, dict[str, Any]]

    def __init__(self, model: ReferenceModel, slot: int, community: int, skill: float,
                 motivation: int, enrolled: bool):
        super().__init__(model)
        self.slot, self.community = slot, community
        self.enrolled = enrolled  # takes part in peer learning
        self.skill, self.motivation = skill, motivation  # motivation as a code 0..65535
        self.active = True
        self.start = skill  # the skill it started with (the kernels recompute it from the hash)
        self.tutor = False  # learning.roles = split: assigned to tutor (else a tutee)
        self.strong = False  # learning.strong_tutors: a strong tutor (narrows by its own skill)
        # learning.tutor_capacity > 0: this week's matched source (efficacy, gap, effective gap)
        # and the efficacy of teaching the best-fitting matched tutee.
        self.matched_up: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.matched_down_e = 0.0
        self.was_tutee = self.was_tutor = self.was_expert_taught = False

    def decide(self) -> None:
        """Compute next week's state from last week's state of everyone (synchronous)."""
        model, sc = self.model, self.model.scenario
        z = sc.learning.optimal_gap
        s = self.skill
        if not self.active:
            self.next = (f32(s * (1.0 - sc.learning.forgetting)), self.motivation, False, {})
            return
        a = agent_key(model.week_key, self.slot)
        m = self.motivation / 65535.0
        r = model.rules
        up_e = up_gap = up_effgap = down_e = 0.0
        if r["peers"] and self.enrolled:
            members = model.members[self.community]
            seen_up = seen_down = 0
            split = sc.learning.roles == "split"
            for d in range(sc.learning.candidates):
                other = members[below(draw(a, d), len(members))]
                if other is self or not (other.active and other.enrolled):
                    continue
                if split and other.tutor == self.tutor:
                    continue  # a split programme pairs a tutee with a tutor only
                gap = other.skill - s
                # Agency: at choice 0 the first contact above (below) is assigned; otherwise the
                # learner picks the best of the first `choice` contacts above (below).
                if gap > 0.0:
                    eg = effective_gap(gap, z, model.narrowing_of(other))
                    e = efficacy(eg, z)
                    if r["choice"] == 0:
                        if seen_up == 0:
                            up_e, up_gap, up_effgap = e, gap, eg
                    elif seen_up < r["choice"] and e > up_e:
                        up_e, up_gap, up_effgap = e, gap, eg
                    seen_up += 1
                elif gap < 0.0:
                    e = efficacy(-gap, z)
                    if r["choice"] == 0:
                        if seen_down == 0:
                            down_e = e
                    elif seen_down < r["choice"] and e > down_e:
                        down_e = e
                    seen_down += 1
            pool_sources = [
                model.pool[below(draw(a, DRAW_POOL_BASE + p), len(model.pool))]
                for p in range(r["pool_contacts"])
            ]
            if r["pool_ideal"]:
                pool_sources += [model.pool_nearest(s + z), model.pool_nearest(s - z)]
            if split and self.tutor:
                pool_sources = []  # the pool offers tutors: only tutees look there
            for other_skill, other in pool_sources:
                if other_skill < 0.0:
                    continue
                gap = other_skill - s
                if gap > 0.0 and (r["choice"] > 0 or seen_up == 0):
                    eg = effective_gap(gap, z, model.narrowing_of(other))
                    e = efficacy(eg, z)
                    if e > up_e:
                        up_e, up_gap, up_effgap = e, gap, eg
                    seen_up += 1
                elif gap < 0.0 and (r["choice"] > 0 or seen_down == 0):
                    e = efficacy(-gap, z)
                    if e > down_e:
                        down_e = e
                    seen_down += 1
        if r["peers"] and self.enrolled and r["tutor_capacity"] > 0:
            # Sources matched this week within the tutors' capacity (ReferenceModel._match);
            # the tutor side is the choice above unless it follows the matched tutees.
            up_e, up_gap, up_effgap = self.matched_up
            if sc.learning.teaching_partner == "matched":
                down_e = self.matched_down_e
        learn = sc.learning
        if learn.roles == "split":
            # A tutor is never taught by a peer; a tutee never teaches.
            if self.tutor:
                up_e = up_gap = up_effgap = 0.0
            else:
                down_e = 0.0
        tutee_gain = min(learn.peer_rate * up_e * m * (1.0 - s), up_gap) if up_e > 0.0 else 0.0
        tutor_gain = (
            learn.tutor_rate * learn.teaching_expectancy * down_e * m * (1.0 - s)
            if down_e > 0.0 else 0.0
        )
        expert_gain = expert_quality = 0.0
        had_expert, n, reference = False, 1.0, 0.0
        broadcast = model.expert_format == "broadcast"
        if model.expert_format in ("class", "class_log_law"):
            # A seat only in the taught classes (format class: at most experts.class_cap each).
            cls = self.slot // model.class_span
            seated = cls < len(model.class_count)
            n = float(model.class_count[cls]) if seated else 1.0
            had_expert = seated and model.class_count[cls] > 0
            reference = model.class_mean[cls] if seated else 0.0
        elif model.expert_format == "mentoring":
            had_expert = uniform(draw(a, DRAW_EXPERT_SESSION)) < r["mentoring_probability"]
            n = r["mentoring_group"]
            reference = r["population_mean"]
        elif broadcast:  # one recorded pitch for everyone, no interaction
            had_expert = True
            reference = r["population_mean"]
        if had_expert:
            pitch = reference + z if broadcast else self._content(s, reference)
            content = min(pitch, sc.experts.skill)
            gap = content - s
            narrowing = 0.0 if broadcast else sc.experts.teaching_skill
            e = efficacy(effective_gap(gap, z, narrowing), z)
            b = sc.experts.class_size_slope
            if broadcast:
                expert_quality = e * sc.experts.broadcast_input
            else:
                expert_quality = e * (1.0 if n <= 1 else 1.0 / (1.0 + b * math.log(n)))
            if gap > 0.0:
                expert_gain = min(sc.experts.rate * expert_quality * m * (1.0 - s), gap)
        if self.slot in model.contacted:
            # Hyper-connectivity: one-to-one with a domain expert (teaching skill of their own);
            # brokered, at the expert's own level; sought, a practitioner at the ideal gap.
            expert = sc.experts.skill
            content = expert if r["contact_mode"] == 1 else min(s + z, expert)
            gap = content - s
            e = efficacy(effective_gap(gap, z, sc.experts.domain_teaching_skill), z)
            contact_gain = min(sc.experts.rate * e * m * (1.0 - s), gap) if gap > 0.0 else 0.0
            expert_gain = expert_gain + contact_gain
            expert_quality = max(expert_quality, e)
        gain = tutee_gain + tutor_gain + expert_gain
        # Practice: a session taken part in (taught with efficacy above zero by a peer or an
        # expert, or teaching a peer) or a gain (core/motivation.py, `practised`).
        practised = gain > 0.0 or max(up_e, expert_quality) > 0.0 or down_e > 0.0
        s_new = f32(min(1.0, s + gain)) if practised else f32(s * (1.0 - sc.learning.forgetting))
        reward = sc.motivation.progress_reward
        m_new = m + reward * max(up_e, expert_quality) - r["motivation_decay"]
        if not practised:
            m_new -= sc.motivation.no_contact_penalty
        m_new += sc.motivation.shock * (2.0 * uniform(draw(a, DRAW_SHOCK)) - 1.0)
        m_new = min(1.0, max(0.0, m_new))
        still_active = m_new >= sc.motivation.threshold
        roles = {
            "tutee": tutee_gain, "tutor": tutor_gain,
            "expert": expert_gain if had_expert else None, "up_e": up_e,
            "misfit": abs(up_effgap - z), "gain": s_new - s, "dropout": not still_active,
        }
        self.next = (s_new, motivation_code(m_new), still_active, roles)

    def _content(self, s: float, reference: float) -> float:
        sc = self.model.scenario
        z, level = sc.learning.optimal_gap, sc.program.responsiveness
        if level >= 2:
            return s + z
        pitch = reference + z
        if level == 1:
            want, best = s + z, pitch
            for k in (-1.0, 1.0):
                candidate = pitch + k * sc.levels.module_spacing
                if abs(candidate - want) < abs(best - want):
                    best = candidate
            return best
        return pitch

    def advance(self) -> None:
        """Take the state decided this week and remember the roles played."""
        self.skill, self.motivation, self.active, self.roles = self.next
        self.was_tutee |= bool(self.roles.get("tutee"))
        self.was_tutor |= bool(self.roles.get("tutor"))
        self.was_expert_taught |= self.roles.get("expert") is not None


class ReferenceModel(mesa.Model):
    """The same model as PeerLearningModel, one mesa.Agent per learner (small populations only)."""

    def __init__(self, scenario: Scenario | None = None, seed: int = 0):
        super().__init__(seed=seed)
        sc = self.scenario = scenario or Scenario()
        if sc.population.arrival_rate > 0:
            raise ValueError("the reference implementation has no arrivals")
        self.seed_value = seed
        start, initial = community_layout(
            sc.population.size, sc.population.community_size, 0.0, sc.run.steps
        )
        self.members: list[list[Learner]] = []
        self.by_slot: dict[int, Learner] = {}
        ks, km = step_key(seed, STREAM_INIT_SKILL, 0), step_key(seed, STREAM_INIT_MOTIVATION, 0)
        kprog = step_key(seed, STREAM_INIT_PROGRAMME, 0)
        cumulative = layer_cumulative(sc.pyramid.layers, sc.pyramid.ratio)
        p = sc.pyramid
        for c in range(initial.size):
            community = []
            for slot in range(int(start[c]), int(start[c] + initial[c])):
                a = agent_key(ks, slot)
                u1, u2 = uniform(draw(a, 0)), uniform(draw(a, 1))
                if p.shape == "exponential":
                    skill = -math.log(1.0 - u1 * (1.0 - math.exp(-p.decay * p.top_skill))) / p.decay
                else:
                    layer = 0
                    while layer < p.layers - 1 and u1 > cumulative[layer]:
                        layer += 1
                    skill = p.top_skill * (layer + u2) / p.layers
                u = uniform(draw(agent_key(km, slot), 0))
                lo, hi = sc.motivation.initial_min, sc.motivation.initial_max
                mot = motivation_code(lo + u * (hi - lo))
                enrolled = uniform(draw(agent_key(kprog, slot), 0)) < sc.learning.participation
                learner = Learner(self, slot, c, f32(skill), mot, enrolled)
                community.append(learner)
                self.by_slot[slot] = learner
            self.members.append(community)
            if sc.learning.roles == "split":
                self._assign_roles(community, kprog)
            if sc.learning.strong_tutors > 0:
                # A tutor's draw is its place in the recruitment order: the first
                # strong_tutors of those needed are strong (docs/ODD.md 7.3).
                share = strong_share(sc)
                for learner in community:
                    u = uniform(draw(agent_key(kprog, learner.slot), DRAW_QUALITY))
                    learner.strong = u < share
        self.capacity = int(start[-1])
        count = sc.expert_count
        self.expert_format = "none" if count == 0 else sc.expert_format
        self.expert_count = count
        self.class_span, self.classes = 1, 0
        if self.expert_format in ("class", "class_log_law"):
            # Classes of equal span, one per expert; format class caps a span at class_cap and
            # then teaches only the first `count` spans (the rest have no seat).
            self.class_span = -(-self.capacity // count)
            self.classes = -(-self.capacity // self.class_span)
            if self.expert_format == "class" and self.class_span > sc.experts.class_cap:
                self.class_span, self.classes = sc.experts.class_cap, count
        self.history: list[dict] = [self._observe()]

    def _assign_roles(self, community: list[Learner], kprog: int) -> None:
        """Split programmes: the tutors among a community's participants.

        By starting skill, the share x n most skilled (rounded half up; equal skills: the lower
        slot first); at random, each participant by its own draw (DRAW_ROLE).
        """
        learn = self.scenario.learning
        enrolled = [x for x in community if x.enrolled]
        if learn.tutor_selection == "top_skill":
            ranked = sorted(enrolled, key=lambda x: (-x.skill, x.slot))
            for learner in ranked[:tutor_count(learn.tutor_share, len(enrolled))]:
                learner.tutor = True
        else:
            for learner in enrolled:
                u = uniform(draw(agent_key(kprog, learner.slot), DRAW_ROLE))
                learner.tutor = u < learn.tutor_share

    def narrowing_of(self, tutor: Learner | None) -> float:
        """A tutor's narrowing: a strong tutor's (learning.strong_tutors) or every peer's."""
        strong = tutor is not None and tutor.strong
        return self.rules["strong_narrowing"] if strong else self.rules["peer_narrowing"]

    def _match(self, members: list[Learner], community: int) -> None:
        """Match a community's learners to tutors within learning.tutor_capacity.

        docs/ODD.md 7.2: learners take turns in the order of their priority draw (DRAW_PRIORITY;
        equal draws: the lower slot first); each takes, among the contacts it may weigh (its k
        draws, the first `choice` above it), the one with the highest efficacy (the first of
        equals) whose tutor has room, or waits. A tutor's teaching follows its best-fitting
        matched tutee.

        With pool contacts, the pool tutors' slots dealt to this community come next: each pool
        contact draw picks one, and at connectivity 2 the free slot above nearest the ideal gap;
        a slot takes one tutee. Members offered to the pool give it their week's capacity.
        """
        sc = self.scenario
        z, r = sc.learning.optimal_gap, self.rules
        capacity, split = sc.learning.tutor_capacity, sc.learning.roles == "split"
        limit = r["choice"] if r["choice"] > 0 else 1
        keys = {x.slot: agent_key(self.week_key, x.slot) for x in members}
        for x in members:
            x.matched_up, x.matched_down_e = (0.0, 0.0, 0.0), 0.0
        load = {x.slot: 0 for x in members}
        slots: list[tuple[float, Learner | None]] = []
        free: list[bool] = []
        if self.dealt:
            per = sc.levels.pool_per_community
            for _skill, offered in self.pool[community * per:(community + 1) * per]:
                if offered is not None:
                    load[offered.slot] = capacity  # its week's tutees come through the pool
            deal = capacity * per
            total = len(self.pool) * capacity
            slots = [self.pool[dealt_slot(self.deal_key, community * deal + k, total) // capacity]
                     for k in range(deal)]
            free = [True] * deal
        limit_pool = math.inf if r["choice"] > 0 else 1
        turns = sorted(members, key=lambda x: (draw(keys[x.slot], DRAW_PRIORITY), x.slot))
        for learner in turns:
            if not (learner.active and learner.enrolled) or (split and learner.tutor):
                continue
            s, seen = learner.skill, 0
            # The best so far: a local tutor, or a pool slot's number; its gap, effective gap.
            best: tuple[Learner | int, float, float] | None = None
            best_e = 0.0
            for d in range(sc.learning.candidates):
                other = members[below(draw(keys[learner.slot], d), len(members))]
                if not (other.active and other.enrolled):
                    continue
                if split and other.tutor == learner.tutor:
                    continue
                gap = other.skill - s
                if gap > 0.0:
                    if seen < limit:
                        eg = effective_gap(gap, z, self.narrowing_of(other))
                        e = efficacy(eg, z)
                        if e > best_e and load[other.slot] < capacity:
                            best, best_e = (other, gap, eg), e
                    seen += 1
            picks: list[int | None] = [
                below(draw(keys[learner.slot], DRAW_POOL_BASE + p), len(slots))
                for p in range(r["pool_contacts"])
            ] if slots else []
            if slots and r["pool_ideal"]:
                picks.append(None)
            for pick in picks:
                if pick is None:  # the free slot above nearest to the ideal gap
                    target, nearest = s + z, math.inf
                    for k, (st, _) in enumerate(slots):
                        if free[k] and st > s and abs(st - target) < nearest:
                            pick, nearest = k, abs(st - target)
                    if pick is None:
                        continue
                st, pool_tutor = slots[pick]
                if st < 0.0:
                    continue
                gap = st - s
                if gap > 0.0:
                    if seen < limit_pool:
                        eg = effective_gap(gap, z, self.narrowing_of(pool_tutor))
                        e = efficacy(eg, z)
                        if e > best_e and free[pick]:
                            best, best_e = (pick, gap, eg), e
                    seen += 1
            if best is not None:
                chosen, gap, eg = best
                learner.matched_up = (best_e, gap, eg)
                if isinstance(chosen, int):  # a pool slot: its tutor's teaching is not credited
                    free[chosen] = False
                else:
                    load[chosen.slot] += 1
                    chosen.matched_down_e = max(chosen.matched_down_e, efficacy(gap, z))

    def pool_nearest(self, target: float) -> tuple[float, Learner | None]:
        """The pool member nearest to `target` skill (ties: the lower), or (-1, None) if empty."""
        ordered = self.pool_sorted
        if not ordered:
            return -1.0, None
        skills = np.asarray([x[0] for x in ordered], dtype=np.float32)
        p = int(np.searchsorted(skills, target))
        if p >= len(ordered):
            return ordered[-1]
        if p == 0:
            return ordered[0]
        lo, hi = ordered[p - 1], ordered[p]
        return lo if target - lo[0] <= hi[0] - target else hi

    def step(self) -> None:
        """One week: the pool, class summaries, the week's rules, then the synchronous update."""
        sc, t = self.scenario, self.steps
        # Global pool: a few members of every community (skill and who, or -1 and None).
        kp = step_key(self.seed_value, STREAM_POOL, t)
        lev = sc.levels
        used = lev.pool_contacts[sc.program.connectivity] > 0 or sc.program.connectivity == 2
        self.dealt = bool(sc.structure.peers and used and sc.learning.tutor_capacity > 0)
        self.deal_key = step_key(self.seed_value, STREAM_DEAL, t)
        self.pool: list[tuple[float, Learner | None]] = []
        for c, members in enumerate(self.members):
            a = agent_key(kp, c)
            drawn: set[int] = set()
            for p in range(lev.pool_per_community):
                q = below(draw(a, p), len(members))
                other = members[q]
                offered = other.active and other.enrolled
                if sc.learning.roles == "split":
                    offered = offered and other.tutor  # the pool offers tutors only
                if self.dealt and q in drawn:
                    offered = False  # dealt slots: a member drawn twice is offered once
                drawn.add(q)
                self.pool.append((other.skill, other) if offered else (-1.0, None))
        self.pool_sorted = sorted(
            (x for x in self.pool if x[0] >= 0.0), key=lambda x: x[0]
        )
        # Classes: contiguous spans of slots, their mean skill and active size.
        if self.expert_format in ("class", "class_log_law"):
            classes = self.classes
            self.class_mean, self.class_count = [0.0] * classes, [0] * classes
            for k in range(classes):
                total, count = 0.0, 0
                end = min(self.capacity, (k + 1) * self.class_span)
                for slot in range(k * self.class_span, end):
                    learner = self.by_slot.get(slot)
                    if learner is not None and learner.active:
                        total += learner.skill
                        count += 1
                self.class_mean[k], self.class_count[k] = (total / count if count else 0.0), count
        last = self.history[-1]
        prog, lev = sc.program, sc.levels
        share = lev.agency_choice[prog.agency]
        k = sc.learning.candidates
        active = last["active"]
        reach = self.expert_count * sc.experts.capacity
        narrowing = lev.responsiveness_narrowing[prog.responsiveness]
        mentored = active > 0 and self.expert_count
        self.rules = {
            "peers": sc.structure.peers,
            "choice": 0 if share <= 0.0 else max(1, math.ceil(share * k)),
            "pool_contacts": lev.pool_contacts[prog.connectivity],
            "pool_ideal": prog.connectivity == 2,
            "peer_narrowing": 1.0 - (1.0 - sc.learning.peer_teaching_skill) * (1.0 - narrowing),
            "mentoring_probability": min(1.0, reach / active) if mentored else 0.0,
            "mentoring_group": (
                float(max(1.0, min(sc.experts.capacity, active / self.expert_count)))
                if mentored else 1.0
            ),
            "population_mean": last["mean_skill_exact"],
            "motivation_decay": lev.agency_decay[prog.agency],
            # Hyper-connectivity: brokered (1) at connectivity 0-1, sought (2) at 2.
            "contact_mode": 2 if prog.connectivity >= 2 else 1,
        }
        self.rules["tutor_capacity"] = sc.learning.tutor_capacity
        self.rules["strong_narrowing"] = (
            1.0 - (1.0 - sc.learning.strong_tutor_skill) * (1.0 - narrowing)
        )
        # Who meets a domain expert this week: in each community the first k eligible members
        # (active, enrolled) by need: lowest skill (brokered) or highest motivation (sought);
        # ties to the lower slot.
        k_contacts = lev.expert_contacts[prog.connectivity]
        self.contacted: set[int] = set()
        for members in self.members:
            eligible = [x for x in members if x.active and x.enrolled]
            if self.rules["contact_mode"] == 1:
                eligible.sort(key=lambda x: (x.skill, x.slot))
            else:
                eligible.sort(key=lambda x: (-x.motivation, x.slot))
            self.contacted |= {x.slot for x in eligible[:k_contacts]}
        self.week_key = step_key(self.seed_value, STREAM_STEP, t)
        if sc.structure.peers and sc.learning.tutor_capacity > 0:
            for c, members in enumerate(self.members):
                self._match(members, c)
        self.agents.do("decide")
        self.agents.do("advance")
        self.history.append(self._observe())

    def _observe(self) -> dict:
        """Aggregates by plain loops (the kernel computes them by blocks)."""
        learners = list(self.agents)
        active = [x for x in learners if x.active]
        roles = [getattr(x, "roles", {}) for x in learners if getattr(x, "roles", None)]
        tutee = [r["tutee"] for r in roles if r["tutee"] > 0.0]
        tutor = [r["tutor"] for r in roles if r["tutor"] > 0.0]
        partnered = [r for r in roles if r["up_e"] > 0.0]
        mean = sum(x.skill for x in active) / len(active) if active else 0.0
        return {
            "active": len(active),
            "active_fraction": len(active) / len(learners),
            "dropouts": sum(1 for r in roles if r["dropout"]),
            "mean_skill": mean,
            "mean_skill_exact": mean,
            "competent_fraction": (
                sum(1 for x in active if x.skill >= sc_threshold(self, "competent"))
                / max(len(active), 1)
            ),
            "mean_tutee_gain": sum(tutee) / len(tutee) if tutee else 0.0,
            "mean_tutor_gain": sum(tutor) / len(tutor) if tutor else 0.0,
            "mean_partner_efficacy": (
                sum(r["up_e"] for r in partnered) / len(partnered) if partnered else 0.0
            ),
            "expert_sessions": sum(1 for r in roles if r["expert"] is not None),
            "expert_contacts": len(getattr(self, "contacted", ())),
            **left_behind(learners, self.scenario),
        }

    def skills(self) -> np.ndarray:
        """Skill of every slot, in slot order (as the kernel's array)."""
        return np.array([self.by_slot[s].skill for s in sorted(self.by_slot)], dtype=np.float32)

    def motivations(self) -> np.ndarray:
        """Motivation code of every slot, in slot order (as the kernel's array)."""
        return np.array([self.by_slot[s].motivation for s in sorted(self.by_slot)], dtype=np.uint16)

    def actives(self) -> np.ndarray:
        """Whether each slot is active, in slot order."""
        return np.array([self.by_slot[s].active for s in sorted(self.by_slot)])


def left_behind(learners: list[Learner], scenario: Scenario) -> dict[str, float]:
    """Intention to treat and outcomes by starting band (kernels/cohort.py), by plain loops.

    Everyone present counts, drop-outs included, at their skill now; a learner's starting band
    is the equal-width band of metrics.bands its starting skill fell in.
    """
    competent = scenario.metrics.competent
    bands = scenario.metrics.bands
    n = len(learners)
    out = {
        "itt_mean_skill": sum(x.skill for x in learners) / n,
        "itt_gain": sum(x.skill - x.start for x in learners) / n,
        "itt_competent_fraction": sum(1 for x in learners if x.skill >= competent) / n,
    }
    for k in range(bands):
        group = [x for x in learners if min(int(x.start * bands), bands - 1) == k]
        size = max(len(group), 1)
        out[f"start_band_{k}_active_fraction"] = sum(1 for x in group if x.active) / size
        out[f"start_band_{k}_gain"] = sum(x.skill - x.start for x in group) / size
        out[f"start_band_{k}_competent_fraction"] = (
            sum(1 for x in group if x.skill >= competent) / size
        )
    return out


def sc_threshold(model: ReferenceModel, name: str) -> float:
    """A metrics threshold of the model's scenario (metrics.competent or metrics.expert)."""
    return getattr(model.scenario.metrics, name)
