"""Study groups (learning circles): organiser-led versus rotating leadership (docs/study_groups.md).

A study group is a few learners (`study_groups.group_size`, about 4-8) taking one course together,
one session a week for `course_weeks` weeks. Each community's first members are split into groups
of contiguous slots whose sizes differ by at most one. Three modes share everything else:

- organiser_led: one member (the organiser: the most motivated, or a random member) designs the
  course before the first session (a one-off motivation cost and a skill gain: preparing to teach is
  learning), then leads every session and carries the facilitation load every week. When the
  organiser drops out, the group dissolves: every remaining member loses motivation once
  (`collapse_motivation_loss`) and goes on solo, or stops if that pushes them below the threshold.
- rotating: each session the next active member in turn prepares (a smaller per-session cost and
  gain) and leads (the same facilitation load, but only in the weeks one leads). Losing a member
  removes only that member; the group dissolves when fewer than `min_group_size` remain active
  (the same rule applies to organiser-led groups).
- solo: the same learners with no group: the unsupported self-paced online course (T5).

Drop-out that spreads (`dropout_contagion`, 0 = off): in a week its group meets, each enrolled
member loses that much motivation per member of the group who dropped out the week before
(members leaving disheartens those who stay; an assumption no study measures,
docs/study_groups.md).
When the group dissolves instead, the collapse loss applies and the contagion does not.

In a session, members learn from the leader's prepared content: the gap is the leader's skill
(after this week's preparation) minus the member's, narrowed above Z by `preparation_narrowing`,
with the model's efficacy e(gap) and the peer rate; a member takes whichever teaches more, the
session or the fixed course material. Solo learners learn from the course material alone,
pitched like an unresponsive course (efficacy.content_level at the programme's responsiveness,
around the registrants' mean skill at the start). The leader gains from the course material, from
preparing and from teaching (learning.tutor_rate times teaching_expectancy times the session's
fit). Motivation follows the model's rule, shared with the peer step (core/motivation.py,
docs/ODD.md 7.7): progress raises it, agency sets its decay, a week without practice (no
session taken part in, no gain) costs the no-contact penalty, plus the same weekly shock draw as
the other structures (common random
numbers); here meeting one's group adds `social_support` and leading costs `facilitation_load`
plus the preparation cost (the rule's `extra`). Motivation below the threshold is
drop-out for good, so the hazard is highest in the first weeks (heterogeneous initial motivation).

Course progress (skill gained through the course, forgetting not deducted) counts toward the
completion `goal`. The collapse and load magnitudes are assumptions (no study measures them;
docs/calibration.md): they are parameters, varied in experiments/study_groups.

State (compact, beside the population's 12 bytes per agent): per agent `sessions_led` (uint8) and
`progress` (uint16, 1/65535 skill steps) = 3 bytes; per group `state`, `organiser`, `rotation`
and `dropped` (uint8 each): the `Groups` bundle. Aggregates are summed per block of whole
communities and combined in block order, so results are identical for any thread count.

How the week is cut (as the peer step's, docs/performance.md "Kernel layout"): `course_week` is
one parallel loop over blocks whose body calls the block function `_block_course_week`
(kernels/bundles.py: why bundles are opened only there); per group, `_group_week` decides who
leads and what the session offers (`Session`), then `_update` advances each member in its role.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..core.blocks import (
    N_DROPOUT,
    N_PARTNERED,
    N_TUTEE,
    N_TUTOR,
    SUM_GAIN,
    SUM_MISFIT,
    SUM_PARTNER_EFFICACY,
    SUM_TUTEE_GAIN,
    SUM_TUTOR_GAIN,
    record_state,
)
from ..core.counter_rng import agent_key, below, draw
from ..core.efficacy import content_level, effective_gap, efficacy
from ..core.encoding import ACTIVE, IN_PROGRAMME, MOTIVATION_SCALE, NOT_ACTIVE, WAS_TUTEE, WAS_TUTOR
from ..core.motivation import practised, weekly_motivation
from .bundles import AgentState, BlockSums, Communities, block_function, clear_block

MODES = {"organiser_led": 0, "rotating": 1, "solo": 2}
ORGANISER_LED, ROTATING, SOLO = 0, 1, 2
ORGANISER_CHOICES = {"most_motivated": 0, "random": 1}

# Group states (uint8). "Planned" groups are all but NOT_FORMED: the same groups in every mode.
GROUP_NOT_FORMED = 0  # fewer enrolled members than min_group_size at the start: members go solo
GROUP_MEETING = 1
GROUP_DISSOLVED_ORGANISER = 2  # organiser_led: the organiser dropped out
GROUP_DISSOLVED_SMALL = 3  # fewer than min_group_size active members
GROUP_SOLO = 4  # mode solo: the would-be group, never meeting (for like-for-like comparisons)

ROLE_SOLO, ROLE_MEMBER, ROLE_LEADER = 0, 1, 2
BOTH = ACTIVE | IN_PROGRAMME
PROGRESS_SCALE = 65535.0  # course progress in uint16 steps of 1/65535 skill (saturates at 1)
MAX_SESSIONS = 255  # sessions_led is uint8

# Columns of the per-block group statistics (float64).
(GS_PLANNED, GS_MEETING, GS_DISSOLVED_ORGANISER, GS_MET, GS_REGISTRANTS, GS_ACTIVE, GS_IN_GROUP,
 GS_COMPLETED, GS_SUM_PROGRESS, GS_SUM_NET_GAIN, GS_N_ORGANISER, GS_ORGANISER_ACTIVE,
 GS_SUM_ORGANISER_GAIN, GS_N_MEMBER, GS_SUM_MEMBER_GAIN, GS_SUM_GINI, GS_N_GINI,
 GS_PREPARATION_HOURS) = range(18)
N_GROUP_STATS = 18

# The scalars of one week's group rules, each level already resolved to its magnitude.
GroupRules = namedtuple(
    "GroupRules",
    [
        "mode",  # int: ORGANISER_LED / ROTATING / SOLO
        "min_group_size",
        "course_weeks",
        "goal_code",  # int: goal in progress units (1/65535 skill)
        "optimal_gap",
        "peer_rate",  # member gain per session at peak efficacy (learning.peer_rate)
        "tutor_rate",
        "teaching_expectancy",
        "course_rate",
        "course_pitch",  # float: registrants' mean skill at the start (reference of the content)
        "responsiveness",
        "module_spacing",
        "preparation_narrowing",
        "organiser_preparation_gain",
        "organiser_preparation_cost",
        "organiser_preparation_hours",
        "session_preparation_gain",
        "session_preparation_cost",
        "session_preparation_hours",
        "facilitation_load",
        "social_support",
        "collapse_motivation_loss",
        "dropout_contagion",  # float: motivation lost per member who dropped out last week
        "forgetting",
        "motivation_decay",
        "progress_reward",
        "no_contact_penalty",
        "shock",
        "threshold",
    ],
)


# The study groups' own state: per group, the first group of each community (int64[C + 1], then
# the total), `state`, `organiser` and `rotation` (uint8: slot offsets within the group); per
# slot, `sessions_led` (uint8) and course `progress` (uint16); the per-block group statistics
# (float64, GS_* columns), overwritten every week; and per group `dropped` (uint8: enrolled
# members who dropped out in the group's last course week, for `dropout_contagion`).
Groups = namedtuple(
    "Groups",
    ["start", "state", "organiser", "rotation", "sessions_led", "progress", "stats", "dropped"],
)

# Which course week it is: the step key (counter_rng.key_for(seed, STREAM_STEP, week)), the
# week's number and whether it is a learning week (1..course_weeks).
CourseWeek = namedtuple("CourseWeek", ["key", "number", "learning"])

# What a group's session offers this week, the same for every member: the leader's prepared
# content (skill level), the session's mean fit for the members (efficacy), and the leader's
# preparation rate (used by the leader only).
Session = namedtuple("Session", ["leader_content", "fit", "preparation_rate"])


def community_groups(community_initial: np.ndarray, group_size: int) -> np.ndarray:
    """First group id of each community, then the total: ceil(initial / group_size) groups each."""
    counts = np.maximum(1, -(-community_initial // group_size))
    start = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return start


@njit(cache=True, inline="always")
def _group_span(first, initial, k, n_groups):
    """Slots [lo, hi) of the k-th of n_groups groups over a community's initial members."""
    return first + (k * initial) // n_groups, first + ((k + 1) * initial) // n_groups


def course_week_of(key: np.uint64, number: int, rules: GroupRules) -> CourseWeek:
    """The `CourseWeek` of week `number` (week 0 and weeks after the course change nothing)."""
    return CourseWeek(np.uint64(key), np.int64(number), bool(1 <= number <= rules.course_weeks))


@block_function
def _form_community_groups(c, state, communities, groups, key, mode, min_group_size,
                           random_organiser):
    """Split community c's initial members into groups and choose each group's organiser."""
    flags, motivation = state.flags, state.motivation
    first = communities.start[c]
    initial = communities.initial[c]
    g0 = groups.start[c]
    n_groups = groups.start[c + 1] - g0
    for k in range(n_groups):
        g = g0 + k
        lo, hi = _group_span(first, initial, k, n_groups)
        size = hi - lo
        enrolled = 0
        for i in range(lo, hi):
            if flags[i] & IN_PROGRAMME:
                enrolled += 1
        bits = draw(agent_key(key, g), 0)
        start = below(bits, max(size, 1))
        offset = start
        if random_organiser:
            # Uniform among the enrolled members. (The first enrolled member from a random
            # offset was not: one after k members not enrolled was chosen k + 1 times as often;
            # found by the plain reference, reference/study_groups.py.)
            pick = below(bits, max(enrolled, 1))
            seen = 0
            for j in range(size):
                if flags[lo + j] & IN_PROGRAMME:
                    if seen == pick:
                        offset = j
                        break
                    seen += 1
        else:
            best = np.int64(-1)
            for d in range(size):
                j = (start + d) % size
                if flags[lo + j] & IN_PROGRAMME and np.int64(motivation[lo + j]) > best:
                    best = np.int64(motivation[lo + j])
                    offset = j
        groups.organiser[g] = np.uint8(offset)
        groups.rotation[g] = np.uint8(offset)
        if enrolled < min_group_size:
            groups.state[g] = np.uint8(GROUP_NOT_FORMED)
        elif mode == SOLO:
            groups.state[g] = np.uint8(GROUP_SOLO)
        else:
            groups.state[g] = np.uint8(GROUP_MEETING)


@njit(parallel=True, cache=True)
def form_groups(state, communities, groups, key, mode, min_group_size, random_organiser):
    """Split each community's initial members into groups and choose each group's organiser.

    The organiser is the most motivated enrolled member (the volunteer; ties go to the first
    from a random offset keyed by group id) or, with `random_organiser`, an enrolled member drawn
    uniformly (the r-th of them in slot order, r drawn with the same key: with every member
    enrolled, the member at that offset). The same learner is the organiser (organiser_led), the
    first leader (rotating) and the would-be organiser (solo) under one seed: like-for-like
    comparisons.

    Args:
        state: the population's `AgentState` (kernels/bundles.py): flags and motivation are read.
        communities: its `Communities` (the initial members are grouped).
        groups: the `Groups` to fill (state, organiser, rotation).
        key: the groups' key, `key_for(seed, STREAM_GROUPS, 0)` (draws keyed by group id).
        mode: ORGANISER_LED, ROTATING or SOLO.
        min_group_size: fewer enrolled members than this: the group is not formed.
        random_organiser: 1 for a random organiser, 0 for the most motivated member.
    """
    state, communities, groups = AgentState(*state), Communities(*communities), Groups(*groups)
    n = communities.initial.size
    for c in prange(n):
        _form_community_groups(c, state, communities, groups, key, mode, min_group_size,
                               random_organiser)


@njit(cache=True, inline="always")
def _course(s, m, rules, table):
    """Efficacy and gain of a week with the fixed course material (an unresponsive course)."""
    Z = rules.optimal_gap
    content = content_level(s, rules.course_pitch, Z, rules.responsiveness, rules.module_spacing)
    gap = content - s
    if gap <= 0.0:
        return 0.0, 0.0
    e = efficacy(gap, Z, table)
    return e, min(rules.course_rate * e * m * (1.0 - s), gap)


@njit(cache=True, inline="always")
def _update(i, b, role, extra, session, state, groups, week, rules, table, sums):
    """One week of agent i in its role; fills its block's aggregates; returns (net gain, active).

    `extra` is the group's term of the motivation rule (core/motivation.py): social support,
    the leader's load, or the loss when the group has just dissolved.
    """
    skill, motivation, progress = state.skill, state.motivation, groups.progress
    stats, histogram = sums.stats, sums.histogram
    f = state.flags[i]
    s = np.float64(skill[i])
    if not week.learning or not (f & ACTIVE):
        # Outside the course nothing changes; a drop-out only forgets (as in the peer step).
        s_new = np.float32(s * (1.0 - rules.forgetting)) if week.learning else np.float32(s)
        state.skill_next[i] = s_new
        state.flags_next[i] = f
        active = (f & ACTIVE) != 0
        record_state(stats, histogram, b, np.float64(s_new), motivation[i] / MOTIVATION_SCALE,
                     active)
        _record_registrant(groups.stats, b, active, progress[i], np.float64(s_new) - s, rules)
        return np.float64(s_new) - s, active
    Z = rules.optimal_gap
    m = motivation[i] / MOTIVATION_SCALE
    e_course, course_gain = _course(s, m, rules, table)
    gain = course_gain
    e_progress = e_course
    tutee_gain = 0.0
    tutor_gain = 0.0
    lead_e = 0.0
    lead_effgap = 0.0
    if role == ROLE_MEMBER:
        gap = session.leader_content - s
        if gap > 0.0:
            lead_effgap = effective_gap(gap, Z, rules.preparation_narrowing)
            lead_e = efficacy(lead_effgap, Z, table)
            session_gain = min(rules.peer_rate * lead_e * m * (1.0 - s), gap)
            if session_gain > course_gain:  # whichever teaches more this week
                gain = session_gain
                e_progress = lead_e
                tutee_gain = session_gain
    elif role == ROLE_LEADER:
        # Preparing to teach is learning; teaching adds learning by teaching (Kobayashi 2024).
        preparation = session.preparation_rate * m * (1.0 - s)
        teaching = rules.tutor_rate * rules.teaching_expectancy * session.fit * m * (1.0 - s)
        tutor_gain = preparation + teaching
        gain = course_gain + tutor_gain
        e_progress = max(e_course, session.fit)
    # A leader teaches with the session's fit; a member is taught by the leader (lead_e) and the
    # course material, a solo learner by the material (core/motivation.py, `practised`).
    did_practise = practised(
        gain, max(e_progress, lead_e), session.fit if role == ROLE_LEADER else 0.0
    )
    if did_practise:
        s_new = np.float32(min(1.0, s + gain))
    else:
        s_new = np.float32(s * (1.0 - rules.forgetting))
    state.skill_next[i] = s_new
    if gain > 0.0:
        code = np.int64(progress[i]) + np.int64(np.floor(gain * PROGRESS_SCALE + 0.5))
        progress[i] = np.uint16(min(code, np.int64(65535)))

    # The model's motivation rule (core/motivation.py), with the same shock draw as the peer
    # step: one learner's week is equally lucky in every structure.
    m_new, m_code, active = weekly_motivation(
        m, e_progress, extra, did_practise, agent_key(week.key, i), rules
    )
    motivation[i] = m_code
    f_new = f
    if tutee_gain > 0.0:
        f_new |= WAS_TUTEE
    if tutor_gain > 0.0:
        f_new |= WAS_TUTOR
    if not active:
        f_new &= NOT_ACTIVE
        stats[b, N_DROPOUT] += 1.0
    state.flags_next[i] = f_new

    if tutee_gain > 0.0:
        stats[b, SUM_TUTEE_GAIN] += tutee_gain
        stats[b, N_TUTEE] += 1.0
    if lead_e > 0.0:
        stats[b, SUM_PARTNER_EFFICACY] += lead_e
        stats[b, SUM_MISFIT] += abs(lead_effgap - Z)
        stats[b, N_PARTNERED] += 1.0
    if tutor_gain > 0.0:
        stats[b, SUM_TUTOR_GAIN] += tutor_gain
        stats[b, N_TUTOR] += 1.0
    stats[b, SUM_GAIN] += np.float64(s_new) - s
    record_state(stats, histogram, b, np.float64(s_new), m_new, active)
    _record_registrant(groups.stats, b, active, progress[i], np.float64(s_new) - s, rules)
    return np.float64(s_new) - s, active


@njit(cache=True, inline="always")
def _record_registrant(group_stats, b, active, progress_code, net_gain, rules):
    group_stats[b, GS_REGISTRANTS] += 1.0
    group_stats[b, GS_SUM_PROGRESS] += progress_code / PROGRESS_SCALE
    group_stats[b, GS_SUM_NET_GAIN] += net_gain
    if active:
        group_stats[b, GS_ACTIVE] += 1.0
        if progress_code >= rules.goal_code:
            group_stats[b, GS_COMPLETED] += 1.0


@njit(cache=True, inline="always")
def _leadership_gini(sessions_led, flags, lo, hi):
    """Gini of sessions led among a group's active members: sum_{i<j}|x_i-x_j| / (n sum x).

    0 when every active member has led equally often; (n-1)/n when one member led every session.
    Members who have left are not counted: the measure is how hierarchical the group is now.
    """
    n = 0
    total = 0.0
    spread = 0.0
    for i in range(lo, hi):
        if (flags[i] & BOTH) == BOTH:
            n += 1
            x = np.float64(sessions_led[i])
            total += x
            for j in range(i + 1, hi):
                if (flags[j] & BOTH) == BOTH:
                    spread += abs(x - np.float64(sessions_led[j]))
    if total <= 0.0:
        return -1.0  # the group has not met
    return spread / (n * total)


@njit(cache=True, inline="always")
def _group_week(g, lo, hi, b, state, groups, week, rules, table, sums):
    """One week of one group: who leads, the leader's preparation, then every member's update."""
    Z = rules.optimal_gap
    skill, motivation, flags = state.skill, state.motivation, state.flags
    group_stats = groups.stats
    size = hi - lo
    status = np.int64(groups.state[g])
    planned = status != GROUP_NOT_FORMED
    organiser = lo + np.int64(groups.organiser[g])
    meeting = False
    dissolved_now = False
    leader = np.int64(-1)
    leader_content = 0.0
    session_fit = 0.0
    preparation_rate = 0.0
    leader_cost = 0.0
    if week.learning and status == GROUP_MEETING:
        n_active = 0
        for i in range(lo, hi):
            if (flags[i] & BOTH) == BOTH:
                n_active += 1
        if rules.mode == ORGANISER_LED:
            if flags[organiser] & ACTIVE:
                leader = organiser
            else:
                status = np.int64(GROUP_DISSOLVED_ORGANISER)  # it falls apart with its organiser
        if status == GROUP_MEETING and n_active < rules.min_group_size:
            status = np.int64(GROUP_DISSOLVED_SMALL)
        if status == GROUP_MEETING and rules.mode == ROTATING:
            start = np.int64(groups.rotation[g])
            for d in range(size):
                j = lo + (start + d) % size
                if (flags[j] & BOTH) == BOTH:
                    leader = j
                    break
            groups.rotation[g] = np.uint8((leader - lo + 1) % size)
        if status != GROUP_MEETING:
            groups.state[g] = np.uint8(status)
            dissolved_now = True
            leader = np.int64(-1)
        else:
            meeting = True
            hours = 0.0
            if rules.mode == ORGANISER_LED:
                if week.number == 1:  # the whole course is designed before the first session
                    preparation_rate = rules.organiser_preparation_gain
                    leader_cost = rules.organiser_preparation_cost
                    hours = rules.organiser_preparation_hours
            else:
                preparation_rate = rules.session_preparation_gain
                leader_cost = rules.session_preparation_cost
                hours = rules.session_preparation_hours
            leader_cost += rules.facilitation_load
            s_leader = np.float64(skill[leader])
            m_leader = motivation[leader] / MOTIVATION_SCALE
            leader_content = s_leader + preparation_rate * m_leader * (1.0 - s_leader)
            fit_sum = 0.0
            fit_n = 0
            for i in range(lo, hi):
                if i != leader and (flags[i] & BOTH) == BOTH:
                    gap = leader_content - skill[i]
                    if gap > 0.0:
                        fit_sum += efficacy(
                            effective_gap(gap, Z, rules.preparation_narrowing), Z, table
                        )
                    fit_n += 1
            session_fit = fit_sum / fit_n if fit_n > 0 else 0.0
            groups.sessions_led[leader] = np.uint8(
                min(np.int64(groups.sessions_led[leader]) + 1, np.int64(MAX_SESSIONS))
            )
            group_stats[b, GS_MET] += 1.0
            group_stats[b, GS_PREPARATION_HOURS] += hours

    # Only the leader uses the preparation rate (role ROLE_LEADER in _update).
    session = Session(leader_content, session_fit, preparation_rate)
    # Members who dropped out last week dishearten those who still meet (dropout_contagion).
    lost = np.int64(groups.dropped[g])
    dropped = 0
    for i in range(lo, hi):
        enrolled = (flags[i] & IN_PROGRAMME) != 0
        was_attending = (flags[i] & BOTH) == BOTH
        extra = 0.0
        role = ROLE_SOLO
        if meeting and enrolled:
            role = ROLE_MEMBER
            extra = rules.social_support
            if lost > 0:
                extra -= rules.dropout_contagion * lost
            if i == leader:
                role = ROLE_LEADER
                extra -= leader_cost
        elif dissolved_now and enrolled:
            extra = -rules.collapse_motivation_loss
        net, active = _update(i, b, role, extra, session, state, groups, week, rules, table, sums)
        if week.learning and was_attending and not active:
            dropped += 1
        if planned and enrolled:
            if i == organiser:
                group_stats[b, GS_N_ORGANISER] += 1.0
                group_stats[b, GS_SUM_ORGANISER_GAIN] += net
                if active:
                    group_stats[b, GS_ORGANISER_ACTIVE] += 1.0
            else:
                group_stats[b, GS_N_MEMBER] += 1.0
                group_stats[b, GS_SUM_MEMBER_GAIN] += net
            if active and groups.state[g] == GROUP_MEETING:
                group_stats[b, GS_IN_GROUP] += 1.0

    groups.dropped[g] = np.uint8(min(dropped, 255))
    if planned:
        group_stats[b, GS_PLANNED] += 1.0
        if groups.state[g] == GROUP_MEETING:
            group_stats[b, GS_MEETING] += 1.0
        elif groups.state[g] == GROUP_DISSOLVED_ORGANISER:
            group_stats[b, GS_DISSOLVED_ORGANISER] += 1.0
    if groups.state[g] == GROUP_MEETING:
        # This week's flags of the group's own slots, written above by this same thread.
        gini = _leadership_gini(groups.sessions_led, state.flags_next, lo, hi)
        if gini >= 0.0:
            group_stats[b, GS_SUM_GINI] += gini
            group_stats[b, GS_N_GINI] += 1.0


@block_function
def _block_course_week(b, state, communities, groups, week, rules, table, sums):
    """One course week of block b's groups and later arrivals; its rows of the sums (cleared)."""
    clear_block(sums, b)
    for k in range(groups.stats.shape[1]):
        groups.stats[b, k] = 0.0
    for c in range(communities.blocks[b], communities.blocks[b + 1]):
        first = communities.start[c]
        initial = communities.initial[c]
        g0 = groups.start[c]
        n_groups = groups.start[c + 1] - g0
        for k in range(n_groups):
            lo, hi = _group_span(first, initial, k, n_groups)
            _group_week(g0 + k, lo, hi, b, state, groups, week, rules, table, sums)
        # Later arrivals (population.arrival_rate) register for the course on their own.
        alone = Session(0.0, 0.0, 0.0)
        for i in range(first + initial, first + communities.present[c]):
            _update(i, b, ROLE_SOLO, 0.0, alone, state, groups, week, rules, table, sums)


@njit(parallel=True, cache=True)
def course_week(state, communities, groups, week, rules, table, sums):
    """Advance every present agent by one course week; fill the per-block sums.

    Members read last week's skills and flags and write this week's (synchronous, like the peer
    step); a group's state and its leader's counters belong to the group's block, visited by
    one thread. Each bundle and the rules come as the namedtuple or, faster, as the plain tuple
    of its fields (kernels/bundles.py: `fields`).

    Args:
        state: the population's `AgentState` (kernels/bundles.py).
        communities: its `Communities` with the block layout.
        groups: the study groups' `Groups`; their per-block `stats` are overwritten.
        week: the `CourseWeek` (`course_week_of`); week 0 and weeks after the course change
            nothing and only record the state.
        rules: the `GroupRules`.
        table: the efficacy table (core.efficacy.EFFICACY_TABLE).
        sums: `BlockSums` with a row per block, overwritten.
    """
    state, communities, groups = AgentState(*state), Communities(*communities), Groups(*groups)
    week, rules, sums = CourseWeek(*week), GroupRules(*rules), BlockSums(*sums)
    rows = communities.blocks.size - 1
    for b in prange(rows):
        _block_course_week(b, state, communities, groups, week, rules, table, sums)
