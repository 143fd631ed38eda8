"""One week of learning for every agent, as one synchronous numba kernel (MODEL.md section 4).

For each active agent: draw `k` contacts from its own community plus contacts from the global
pool (connectivity), choose as learner the candidate above with the highest learning efficacy and
as tutor a candidate below (within the choice agency allows), add expert input where the
structure has experts, then apply gains, forgetting, motivation and drop-out. Every agent reads
last week's state (`skill`, `flags`) and writes this week's (`skill_next`, `flags_next`), so the
result does not depend on the order agents are visited, nor on the thread count.

Aggregates are accumulated per block of whole communities (float64 sums, integer histogram) and
combined in a fixed order afterwards (metrics.py), so no population-sized pass is needed.

For speed (docs/performance.md) each community is taken in chunks of agents, the lanes, with one
pass per contact weighed for every lane; the choice is written without branches so that the
passes vectorise. Every floating-point operation is the one the rules prescribe, in the same
order per agent and per block sum, so the results equal the plain reference implementation
(reference.py) bit for bit.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from ..core.blocks import (
    HISTOGRAM_BINS,
    N_ACTIVE,
    N_DROPOUT,
    N_EXPERT,
    N_PARTNERED,
    N_PRESENT,
    N_TUTEE,
    N_TUTOR,
    SUM_EXPERT_GAIN,
    SUM_GAIN,
    SUM_MISFIT,
    SUM_MOTIVATION,
    SUM_PARTNER_EFFICACY,
    SUM_SKILL,
    SUM_SKILL_SQ,
    SUM_TUTEE_GAIN,
    SUM_TUTOR_GAIN,
    record_state,
)
from ..core.counter_rng import (
    DRAW_EXPERT_SESSION,
    DRAW_POOL_BASE,
    DRAW_SHOCK,
    agent_key,
    below,
    draw,
    uniform,
)
from ..core.efficacy import class_input, content_level, effective_gap, efficacy, efficacy_or_zero
from ..core.encoding import (
    ACTIVE,
    IN_PROGRAMME,
    MOTIVATION_SCALE,
    NOT_ACTIVE,
    WAS_EXPERT_TAUGHT,
    WAS_TUTEE,
    WAS_TUTOR,
)

EXPERTS_NONE, EXPERTS_CLASS, EXPERTS_MENTORING = 0, 1, 2

# The scalars of one week's rules, with each level already resolved to its magnitude.
StepRules = namedtuple(
    "StepRules",
    [
        "peers",  # int: 1 if agents learn from and teach each other
        "candidates",  # int: k local contacts
        "choice",  # int: local candidates a learner may choose among; 0 = the first above is assigned
        "pool_contacts",  # int: random contacts from the global pool
        "pool_ideal",  # int: 1 if the sorted pool gives a contact at the ideal gap (connectivity 2)
        "optimal_gap",  # float
        "peer_rate",
        "tutor_rate",
        "teaching_expectancy",
        "peer_narrowing",  # float: peer teaching skill combined with responsiveness
        "forgetting",
        "expert_mode",  # int: EXPERTS_NONE / CLASS / MENTORING
        "expert_skill",
        "expert_rate",
        "expert_narrowing",  # float: expert teaching skill
        "class_size_slope",
        "class_span",  # int: slots per class (class format)
        "mentoring_probability",  # float: chance of an expert session this week (mentoring)
        "mentoring_group",  # float: learners per mentoring session
        "population_mean",  # float: mean active skill last week (pitch of mentoring content)
        "responsiveness",  # int level
        "module_spacing",
        "motivation_decay",  # float: per agency level
        "progress_reward",
        "no_contact_penalty",
        "shock",
        "threshold",
    ],
)


@njit(cache=True, inline="always")
def _pool_ideal(pool_sorted, target):
    """The sorted-pool member nearest to `target` skill (connectivity 2: found at once)."""
    n = pool_sorted.size
    p = np.searchsorted(pool_sorted, target)
    if p >= n:
        return pool_sorted[n - 1]
    if p == 0:
        return pool_sorted[0]
    lo, hi = pool_sorted[p - 1], pool_sorted[p]
    return lo if target - lo <= hi - target else hi


@njit(cache=True, inline="always")
def _consider(gap, Z, keep, table, limit, seen_up, seen_down, up_e, up_gap, down_e):
    """Weigh one contact at skill gap `gap` (NaN: no contact) as source above or tutee below.

    A contact above is weighed while fewer than `limit` contacts above have been seen and kept if
    its efficacy beats the best so far (strictly: the first of equals wins); likewise below.
    Written without branches (the sign of a gap is a coin flip, so branches would mostly
    mispredict) so that the candidate loop vectorises; every value is computed with the same
    floating-point operations as `effective_gap` and `efficacy`, so the choice is bit-identical.
    Returns the updated choice state.
    """
    above = gap > 0.0
    under = gap < 0.0
    # effective_gap(gap): the part above Z shrinks (keep = 1 - narrowing).
    narrowed = Z + (gap - Z) * keep
    effective = gap if gap <= Z else narrowed
    x = max(effective, -gap)  # the effective gap above, the plain gap (taught) below; NaN: none
    e = efficacy_or_zero(x, Z, table)
    take_up = above & (seen_up < limit) & (e > up_e)
    take_down = under & (seen_down < limit) & (e > down_e)
    up_e = e if take_up else up_e
    up_gap = gap if take_up else up_gap
    down_e = e if take_down else down_e
    return seen_up + np.int64(above), seen_down + np.int64(under), up_e, up_gap, down_e


@njit(cache=True, inline="always")
def _weigh(contact_skill, row, size, akey, d, s, Z, keep, table, up_e, up_gap, down_e):
    """`_consider` for local candidate d of an agent of skill s, when every contact is weighed."""
    gap = contact_skill[row, below(draw(akey, d), size)] - s
    _, _, up_e, up_gap, down_e = _consider(gap, Z, keep, table, 1, 0, 0, up_e, up_gap, down_e)
    return up_e, up_gap, down_e

# Agents are processed in chunks of at most CHUNK members of one community: each pass over a
# chunk handles one candidate for every agent (lanes), which vectorises; a chunk's lanes take
# about 35 kB, so they stay in the core's caches whatever the community size.
CHUNK = 256
# Communities of up to CONTACT_WIDTH members are copied into a scratch row of contact skills
# (at most 512 blocks x 16 kB); larger ones are read from the state arrays directly.
CONTACT_WIDTH = 4096
# Pools of more members than this (4 MB) are prefetched: beyond the caches, a random read costs a
# trip to main memory.
POOL_PREFETCH_MEMBERS = 1 << 20


@intrinsic
def _prefetch(typingctx, array, index):
    """Hint the CPU to bring array[index] into its caches (llvm.prefetch: no fault, no result)."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, data, [args[1]], wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]), "llvm.prefetch.p0"
        )
        # read, high temporal locality, data cache
        builder.call(function, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


# Bytes of scratch per lane: 16 float64/int64/uint64 arrays, a float32, a uint16, two uint8 (week).
LANE_BYTES = 16 * 8 + 4 + 2 + 2 * 1


def scratch_bytes(blocks: int, largest_community: int, peers: bool) -> int:
    """Bytes the weekly kernel allocates for its lanes and contact rows (freed after the week)."""
    width = min(CHUNK, max(1, largest_community))
    contact_width = min(CONTACT_WIDTH, max(1, largest_community)) if peers else 0
    return blocks * (width * LANE_BYTES + contact_width * 4)


@njit(parallel=True, cache=True)
def week(skill, skill_next, motivation, flags, flags_next, community_start, community_present,
         block_community, pool_skill, pool_sorted, class_mean, class_count, key, rules, table,
         stats, histogram, slot_offset=0):
    """Advance every present agent by one week; fill per-block `stats` and `histogram`.

    `slot_offset` is the global id of slot 0 (a shard's first slot; simulation/sharding.py):
    random numbers and classes are keyed by global ids.
    """
    Z = rules.optimal_gap
    keep = 1.0 - rules.peer_narrowing
    # One parallel region only (the block loop): under a loaded machine each region's barrier can
    # wait a scheduler time slice, which at small populations costs more than the work itself.
    n_pool = pool_skill.size
    # Agency: with choice 0 the first contact above (below) is assigned, which is the same as
    # keeping the best of the first one (a later contact never replaces it); pool contacts are
    # always weighed when choice > 0, and only if no contact above (below) was seen otherwise.
    limit_local = rules.choice if rules.choice > 0 else 1
    limit_pool = np.int64(1 << 62) if rules.choice > 0 else 1
    # Counts of contacts seen matter only if a learner may not weigh every contact (or, in a
    # community too large for the scratch row, where the count is kept anyway).
    counted = rules.choice < rules.candidates
    enrolled = ACTIVE | IN_PROGRAMME
    nan = np.nan
    # Lanes: this week's state of the agents of the current chunk, one row per block (no
    # dependence on the thread count); LANE_BYTES per lane, see scratch_bytes.
    rows = block_community.size - 1
    largest = 1
    for c in range(community_present.size):  # a plain loop: np.max would be a parallel region
        largest = max(largest, community_present[c])
    width = min(CHUNK, largest)
    lane_skill = np.empty((rows, width))
    lane_key = np.empty((rows, width), dtype=np.uint64)
    lane_motivation = np.empty((rows, width), dtype=np.uint16)
    lane_up_e = np.empty((rows, width))
    lane_up_gap = np.empty((rows, width))
    lane_down_e = np.empty((rows, width))
    lane_seen_up = np.empty((rows, width), dtype=np.int64)
    lane_seen_down = np.empty((rows, width), dtype=np.int64)
    lane_expert_quality = np.empty((rows, width))
    lane_expert_gain = np.empty((rows, width))
    lane_had_expert = np.empty((rows, width), dtype=np.uint8)
    lane_tutee = np.empty((rows, width))
    lane_tutor = np.empty((rows, width))
    lane_partner_e = np.empty((rows, width))
    lane_misfit = np.empty((rows, width))
    lane_gain = np.empty((rows, width))
    lane_new_skill = np.empty((rows, width))
    lane_new_motivation = np.empty((rows, width))
    lane_status = np.empty((rows, width), dtype=np.uint8)
    lane_pool_skill = np.empty((rows, width), dtype=np.float32)
    # Per-learner expert input depends on the class size alone: once per class (or per week for
    # mentoring), not once per learner.
    mentoring_factor = class_input(rules.mentoring_group, rules.class_size_slope)
    class_factor = np.empty(class_count.size if rules.expert_mode == EXPERTS_CLASS else 0)
    for k in range(class_factor.size):
        class_factor[k] = class_input(np.float64(class_count[k]), rules.class_size_slope)
    peers = rules.peers != 0
    has_experts = rules.expert_mode != EXPERTS_NONE
    prefetch_pool = n_pool > POOL_PREFETCH_MEMBERS
    # Contacts: each block's current community (see below), if it has at most CONTACT_WIDTH members.
    contact_width = min(CONTACT_WIDTH, largest) if rules.peers else 0
    contact_skill = np.empty((rows, contact_width), dtype=np.float32)
    nan32 = np.float32(np.nan)
    for b in prange(block_community.size - 1):
        row = b  # this block's row of lanes and contacts
        # Block sums kept in registers and written once at the end: the same additions in the
        # same order as adding into stats[b] agent by agent, so the same sums bit for bit.
        for k in range(HISTOGRAM_BINS):
            histogram[b, k] = 0
        sum_skill = 0.0
        n_active = 0
        n_present = 0
        sum_tutee = 0.0
        n_tutee = 0
        sum_tutor = 0.0
        n_tutor = 0
        sum_expert = 0.0
        n_expert = 0
        sum_efficacy = 0.0
        n_partnered = 0
        sum_misfit = 0.0
        n_dropout = 0
        sum_gain = 0.0
        sum_motivation = 0.0
        sum_skill_sq = 0.0
        for c in range(block_community[b], block_community[b + 1]):
            first = community_start[c]
            size = community_present[c]
            if rules.peers and size <= contact_width:
                # The community as contacts see it: skill, or NaN (no contact) for members who
                # dropped out or are not enrolled. Oneself is a contact at gap 0, which is neither
                # above nor below: no contact either. One gather per candidate instead of two.
                for q in range(size):
                    i = first + q
                    contact_skill[row, q] = skill[i] if (flags[i] & enrolled) == enrolled else nan32
            for chunk in range(first, first + size, width):
                lanes = min(width, first + size - chunk)
                for q in range(lanes):
                    i = chunk + q
                    lane_skill[row, q] = np.float64(skill[i])
                    lane_motivation[row, q] = motivation[i]
                    lane_key[row, q] = agent_key(key, i + slot_offset)
                    lane_up_e[row, q] = 0.0
                    lane_up_gap[row, q] = 0.0
                    lane_down_e[row, q] = 0.0
                    lane_seen_up[row, q] = 0
                    lane_seen_down[row, q] = 0

                # --- peers: candidates, choice, efficacy (every lane; used if enrolled) ----
                # Each pass weighs one contact for every lane. When agency lets a learner choose
                # among all its contacts, no count of contacts seen is needed (`counted` False):
                # _consider then gets limit 1 and a count of 0, and the counts compile away.
                if rules.peers:
                    if prefetch_pool:
                        # A pool larger than the caches is read from main memory: ask for this
                        # chunk's pool contacts now, so they arrive while the candidates compute.
                        for p in range(rules.pool_contacts):
                            for q in range(lanes):
                                _prefetch(pool_skill, below(draw(lane_key[row, q], DRAW_POOL_BASE + p), n_pool))
                    # The common case (every contact may be weighed, community in the contact
                    # row) weighs 8 candidates per pass (any rest one by one): a lane's choice
                    # state stays in registers between them instead of a load and store per
                    # candidate. The same candidates in the same order: the same choice bit for bit.
                    by8 = 0
                    if size <= contact_width and not counted:  # not a bool variable: see "Integers" below
                        by8 = rules.candidates // 8 * 8
                    # (Written out: numba leaves a loop over the 8 unvectorised; measured at 10^7,
                    # 8 per pass take 35 CPU-ns per agent and week, one per pass 44.)
                    for d in range(0, by8, 8):
                        for q in range(lanes):
                            k = lane_key[row, q]
                            s = lane_skill[row, q]
                            c = (lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q])
                            c = _weigh(contact_skill, row, size, k, d + 0, s, Z, keep, table, c[0], c[1], c[2])
                            c = _weigh(contact_skill, row, size, k, d + 1, s, Z, keep, table, c[0], c[1], c[2])
                            c = _weigh(contact_skill, row, size, k, d + 2, s, Z, keep, table, c[0], c[1], c[2])
                            c = _weigh(contact_skill, row, size, k, d + 3, s, Z, keep, table, c[0], c[1], c[2])
                            c = _weigh(contact_skill, row, size, k, d + 4, s, Z, keep, table, c[0], c[1], c[2])
                            c = _weigh(contact_skill, row, size, k, d + 5, s, Z, keep, table, c[0], c[1], c[2])
                            c = _weigh(contact_skill, row, size, k, d + 6, s, Z, keep, table, c[0], c[1], c[2])
                            c = _weigh(contact_skill, row, size, k, d + 7, s, Z, keep, table, c[0], c[1], c[2])
                            lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q] = c
                    for d in range(by8, rules.candidates):
                        if size > contact_width:  # too large for the scratch row: read the state arrays
                            for q in range(lanes):
                                j = first + below(draw(lane_key[row, q], d), size)
                                usable = (flags[j] & enrolled) == enrolled
                                gap = (skill[j] - lane_skill[row, q]) if usable else nan
                                (lane_seen_up[row, q], lane_seen_down[row, q], lane_up_e[row, q], lane_up_gap[row, q],
                                 lane_down_e[row, q]) = _consider(
                                    gap, Z, keep, table, limit_local, lane_seen_up[row, q], lane_seen_down[row, q],
                                    lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q],
                                )
                        elif counted:
                            for q in range(lanes):
                                gap = contact_skill[row, below(draw(lane_key[row, q], d), size)] - lane_skill[row, q]
                                (lane_seen_up[row, q], lane_seen_down[row, q], lane_up_e[row, q], lane_up_gap[row, q],
                                 lane_down_e[row, q]) = _consider(
                                    gap, Z, keep, table, limit_local, lane_seen_up[row, q], lane_seen_down[row, q],
                                    lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q],
                                )
                        else:
                            for q in range(lanes):
                                gap = contact_skill[row, below(draw(lane_key[row, q], d), size)] - lane_skill[row, q]
                                _, _, lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q] = _consider(
                                    gap, Z, keep, table, 1, 0, 0, lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q]
                                )
                    # Contacts beyond the community, through the small global pool.
                    for p in range(rules.pool_contacts):
                        # First only the loads: a large pool is read from main memory, and a loop of
                        # loads alone keeps many of them in flight.
                        for q in range(lanes):
                            lane_pool_skill[row, q] = pool_skill[below(draw(lane_key[row, q], DRAW_POOL_BASE + p), n_pool)]
                        if counted:
                            for q in range(lanes):
                                sj = lane_pool_skill[row, q]
                                gap = (sj - lane_skill[row, q]) if sj >= 0.0 else nan  # -1: dropped out
                                (lane_seen_up[row, q], lane_seen_down[row, q], lane_up_e[row, q], lane_up_gap[row, q],
                                 lane_down_e[row, q]) = _consider(
                                    gap, Z, keep, table, limit_pool, lane_seen_up[row, q], lane_seen_down[row, q],
                                    lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q],
                                )
                        else:
                            for q in range(lanes):
                                sj = lane_pool_skill[row, q]
                                gap = (sj - lane_skill[row, q]) if sj >= 0.0 else nan
                                _, _, lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q] = _consider(
                                    gap, Z, keep, table, 1, 0, 0, lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q]
                                )
                    if rules.pool_ideal:
                        # Connectivity 2: the pool members nearest to s + Z and s - Z (sorted pool).
                        for q in range(lanes):
                            s = lane_skill[row, q]
                            seen_up, seen_down = lane_seen_up[row, q], lane_seen_down[row, q]
                            up_e, up_gap, down_e = lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q]
                            for target in (s + Z, s - Z):
                                sj = _pool_ideal(pool_sorted, target)
                                gap = (sj - s) if sj >= 0.0 else nan
                                seen_up, seen_down, up_e, up_gap, down_e = _consider(
                                    gap, Z, keep, table, limit_pool, seen_up, seen_down, up_e, up_gap, down_e
                                )
                            lane_seen_up[row, q], lane_seen_down[row, q] = seen_up, seen_down
                            lane_up_e[row, q], lane_up_gap[row, q], lane_down_e[row, q] = up_e, up_gap, down_e

                # --- experts: class or mentoring (lanes) -----------------------------------------
                if rules.expert_mode == EXPERTS_CLASS:
                    # Everyone sits in a class: one vectorised pass.
                    for q in range(lanes):
                        cls = (chunk + q + slot_offset) // rules.class_span
                        s = lane_skill[row, q]
                        m = lane_motivation[row, q] / MOTIVATION_SCALE
                        content = min(
                            content_level(s, class_mean[cls], Z, rules.responsiveness, rules.module_spacing),
                            rules.expert_skill,
                        )
                        gap = content - s
                        e = efficacy(effective_gap(gap, Z, rules.expert_narrowing), Z, table)
                        quality = e * class_factor[cls]
                        gain = min(rules.expert_rate * quality * m * (1.0 - s), gap) if gap > 0.0 else 0.0
                        had_expert = np.uint8(class_count[cls] > 0)
                        lane_expert_quality[row, q] = quality if had_expert else 0.0
                        lane_expert_gain[row, q] = gain if had_expert else 0.0
                        lane_had_expert[row, q] = had_expert
                elif rules.expert_mode == EXPERTS_MENTORING:
                    # Who has a session this week (a draw: few learners, at scale)...
                    for q in range(lanes):
                        lane_had_expert[row, q] = np.uint8(
                            uniform(draw(lane_key[row, q], DRAW_EXPERT_SESSION)) < rules.mentoring_probability
                        )
                    # ...and what they gain: only those learners are computed.
                    for q in range(lanes):
                        quality = 0.0
                        gain = 0.0
                        if lane_had_expert[row, q]:
                            s = lane_skill[row, q]
                            m = lane_motivation[row, q] / MOTIVATION_SCALE
                            content = min(
                                content_level(s, rules.population_mean, Z, rules.responsiveness, rules.module_spacing),
                                rules.expert_skill,
                            )
                            gap = content - s
                            e = efficacy(effective_gap(gap, Z, rules.expert_narrowing), Z, table)
                            quality = e * mentoring_factor
                            if gap > 0.0:
                                gain = min(rules.expert_rate * quality * m * (1.0 - s), gap)
                        lane_expert_quality[row, q] = quality
                        lane_expert_gain[row, q] = gain

                # --- each agent: gains, motivation, drop-out (lanes) -------------------------------
                for q in range(lanes):
                    i = chunk + q
                    f = flags[i]
                    s = lane_skill[row, q]
                    was_active = (f & ACTIVE) != 0
                    # Motivation is read from the lane copy: reading and writing motivation[i] in
                    # one loop would keep it from vectorising.
                    m = lane_motivation[row, q] / MOTIVATION_SCALE
                    # Peer choices count only for enrolled agents (all lanes were computed).
                    in_peers = peers & ((f & IN_PROGRAMME) != 0)
                    up_e = lane_up_e[row, q] if in_peers else 0.0
                    up_gap = lane_up_gap[row, q] if in_peers else 0.0
                    # The chosen source's effective gap, as _consider computed it from its gap.
                    up_effgap = effective_gap(up_gap, Z, rules.peer_narrowing)
                    down_e = lane_down_e[row, q] if in_peers else 0.0
                    # Shrinks near the frontier; a peer cannot carry a learner past the peer.
                    tutee_gain = min(rules.peer_rate * up_e * m * (1.0 - s), up_gap) if up_e > 0.0 else 0.0
                    # Learning by teaching needs preparation or teaching expectancy (Kobayashi 2024).
                    tutor_gain = (
                        rules.tutor_rate * rules.teaching_expectancy * down_e * m * (1.0 - s) if down_e > 0.0 else 0.0
                    )
                    # Integers, not bools, here and above: numba's alias analysis takes copies of
                    # a bool for possible array aliases, which would cost the loops vectorisation.
                    had_expert = np.uint8(0)
                    expert_quality = 0.0
                    expert_gain = 0.0
                    if rules.expert_mode != EXPERTS_NONE:
                        had_expert = lane_had_expert[row, q]
                        expert_quality = lane_expert_quality[row, q]
                        expert_gain = lane_expert_gain[row, q]

                    gain = tutee_gain + tutor_gain + expert_gain
                    # Practice (and only practice) adds skill; otherwise, and after drop-out, forgetting.
                    practised = was_active & (gain > 0.0)
                    learned = np.float32(min(1.0, s + gain))
                    forgot = np.float32(s * (1.0 - rules.forgetting))
                    s_new = learned if practised else forgot
                    skill_next[i] = s_new

                    # Motivation and drop-out.
                    progress = max(up_e, expert_quality)
                    m_new = m + rules.progress_reward * progress - rules.motivation_decay
                    m_new = m_new if practised else m_new - rules.no_contact_penalty
                    m_new += rules.shock * (2.0 * uniform(draw(lane_key[row, q], DRAW_SHOCK)) - 1.0)
                    m_new = min(1.0, max(0.0, m_new))
                    code = np.uint16(np.floor(m_new * MOTIVATION_SCALE + 0.5))
                    motivation[i] = code if was_active else lane_motivation[row, q]
                    still_active = was_active & (m_new >= rules.threshold)
                    f_new = f
                    f_new |= WAS_TUTEE if tutee_gain > 0.0 else np.uint8(0)
                    f_new |= WAS_TUTOR if tutor_gain > 0.0 else np.uint8(0)
                    f_new |= WAS_EXPERT_TAUGHT if had_expert != 0 else np.uint8(0)
                    f_new = f_new if still_active else f_new & NOT_ACTIVE
                    flags_next[i] = f_new if was_active else f

                    # What the block sums need: zero where an agent does not count (it dropped out
                    # before this week, or had no partner, tutee or expert): adding +0.0 leaves a
                    # sum exactly as it was. Counts are integers, summed here in any order.
                    sn = np.float64(s_new)
                    partnered = up_e > 0.0
                    lane_tutee[row, q] = tutee_gain if was_active else 0.0
                    lane_tutor[row, q] = tutor_gain if was_active else 0.0
                    lane_partner_e[row, q] = up_e if was_active else 0.0
                    lane_misfit[row, q] = abs(up_effgap - Z) if was_active & partnered else 0.0
                    lane_gain[row, q] = sn - s if was_active else 0.0
                    lane_expert_gain[row, q] = expert_gain if was_active else 0.0
                    lane_new_skill[row, q] = sn
                    lane_new_motivation[row, q] = m_new
                    lane_status[row, q] = np.uint8(still_active)
                    n_tutee += np.int64(was_active & (tutee_gain > 0.0))
                    n_tutor += np.int64(was_active & (tutor_gain > 0.0))
                    n_partnered += np.int64(was_active & partnered)
                    n_expert += np.int64(was_active & (had_expert != 0))
                    n_active += np.int64(still_active)
                    n_dropout += np.int64(was_active & (not still_active))
                n_present += lanes

                # --- block sums, in agent order (floating-point sums are not reordered) -------------
                for q in range(lanes):
                    sum_tutee += lane_tutee[row, q]
                    sum_efficacy += lane_partner_e[row, q]
                    sum_misfit += lane_misfit[row, q]
                    sum_tutor += lane_tutor[row, q]
                    sum_gain += lane_gain[row, q]
                    if has_experts:
                        sum_expert += lane_expert_gain[row, q]
                    if lane_status[row, q]:  # still active: the state the aggregates describe
                        sn = lane_new_skill[row, q]
                        sum_skill += sn
                        sum_skill_sq += sn * sn
                        sum_motivation += lane_new_motivation[row, q]
                        k = int(sn * HISTOGRAM_BINS)
                        histogram[b, min(max(k, 0), HISTOGRAM_BINS - 1)] += 1
        stats[b, SUM_SKILL] = sum_skill
        stats[b, N_ACTIVE] = n_active
        stats[b, N_PRESENT] = n_present
        stats[b, SUM_TUTEE_GAIN] = sum_tutee
        stats[b, N_TUTEE] = n_tutee
        stats[b, SUM_TUTOR_GAIN] = sum_tutor
        stats[b, N_TUTOR] = n_tutor
        stats[b, SUM_EXPERT_GAIN] = sum_expert
        stats[b, N_EXPERT] = n_expert
        stats[b, SUM_PARTNER_EFFICACY] = sum_efficacy
        stats[b, N_PARTNERED] = n_partnered
        stats[b, SUM_MISFIT] = sum_misfit
        stats[b, N_DROPOUT] = n_dropout
        stats[b, SUM_GAIN] = sum_gain
        stats[b, SUM_MOTIVATION] = sum_motivation
        stats[b, SUM_SKILL_SQ] = sum_skill_sq


@njit(parallel=True, cache=True)
def summarise(skill, motivation, flags, community_start, community_present, block_community, stats, histogram):
    """Per-block aggregates of the current state (used before the first step)."""
    stats[:, :] = 0.0
    histogram[:, :] = 0
    for b in prange(block_community.size - 1):
        for c in range(block_community[b], block_community[b + 1]):
            first = community_start[c]
            for i in range(first, first + community_present[c]):
                record_state(
                    stats, histogram, b, np.float64(skill[i]), motivation[i] / MOTIVATION_SCALE,
                    (flags[i] & ACTIVE) != 0,
                )
