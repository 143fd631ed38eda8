"""One week of learning for every agent: the peer step with experts (docs/ODD.md section 3).

For each active agent: draw `k` contacts from its own community plus contacts from the global
pool (7.1 Candidates), choose as source the candidate above with the highest learning efficacy
and as tutee a candidate below, within the choice agency allows (7.2 Choice, 7.3 Efficacy), add
expert input where the structure has experts (7.6 Experts), then apply gains and forgetting
(7.5 Gains), motivation and drop-out (7.7, core/motivation.py). Every agent reads last week's
state (`skill`, `flags`) and writes this week's (`skill_next`, `flags_next`), so the result does
not depend on the order agents are visited, nor on the thread count.

How the week is cut (docs/performance.md, "Kernel layout"): `week` is the one parallel loop, over
blocks of whole communities (core/blocks.py); its body only calls `_block_week`, which takes the
block's communities in chunks of agents, the lanes, and runs the sections of the week over them
as small helpers inlined into it: `_load_lanes`, `_local_candidates`, `_pool_contacts`,
`_expert_input`, `_gains_and_motivation` and `_add_block_sums`. Each section is one or a few
passes over the lanes, written without branches where the choice is a coin flip so that the
passes vectorise. Programmes whose contacts differ by role or by tutor quality
(learning.roles = split, learning.strong_tutors) weigh their candidates in `_checked_contacts`
instead, and programmes whose tutors have a capacity (learning.tutor_capacity) match each
community's learners to tutors first (`_match_community`, with its `Matching` scratch), so the
plain path runs as before. The arrays travel in bundles: the agent state, the communities and
the block sums (kernels/bundles.py), the pool (kernels/pool.py), the expert classes
(kernels/experts.py), and here the lanes' scratch and the week's set-up.

Aggregates are accumulated per block (float64 sums, integer histogram) and combined in block
order afterwards (core/blocks.py, core/aggregates.py), so no population-sized pass is needed.
Every floating-point operation is the one the rules prescribe, in the same order per agent and
per block sum, so the results equal the plain reference implementation (reference/peers.py) bit
for bit.
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
    DRAW_PRIORITY,
    agent_key,
    below,
    draw,
    uniform,
)
from ..core.efficacy import (
    class_input,
    content_level,
    effective_gap,
    efficacy,
    efficacy_or_zero,
)
from ..core.encoding import (
    ACTIVE,
    IN_PROGRAMME,
    MOTIVATION_SCALE,
    NOT_ACTIVE,
    TUTOR_ROLE,
    WAS_EXPERT_TAUGHT,
    WAS_TUTEE,
    WAS_TUTOR,
)
from ..core.motivation import NO_EXTRA, practised, weekly_motivation
from ..core.population import is_strong_tutor
from .bundles import AgentState, BlockSums, Communities, block_function, clear_block
from .experts import CONTACTS_BROKERED, Classes
from .pool import Pool, dealt_slot

EXPERTS_NONE, EXPERTS_CLASS, EXPERTS_MENTORING, EXPERTS_BROADCAST = 0, 1, 2, 3

# The scalars of one week's rules, with each level already resolved to its magnitude.
StepRules = namedtuple(
    "StepRules",
    [
        "peers",  # int: 1 if agents learn from and teach each other
        "candidates",  # int: k local contacts
        "choice",  # int: local candidates a learner may choose among; 0: first above assigned
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
        # How experts reach many learners (experts branch: formats, brokered contacts).
        "broadcast_input",  # float: per-learner input of a recorded broadcast (broadcast)
        "expert_contacts",  # int: expert contacts per community this week (hyper-connectivity)
        "contact_mode",  # int: experts.CONTACTS_BROKERED (expert's own level) / CONTACTS_SOUGHT
        "domain_narrowing",  # float: a domain expert's teaching skill
        "split_roles",  # int: 1 if each participant has one role (learning.roles = split)
        "tutor_capacity",  # int: tutees a tutor takes a week (learning.tutor_capacity); 0: no limit
        "strong_share",  # float: chance a tutor is strong (learning.strong_tutors); 0: all alike
        "strong_narrowing",  # float: a strong tutor's teaching skill with responsiveness
        "quality_key",  # uint64: key_for(seed, STREAM_INIT_PROGRAMME, 0), for DRAW_QUALITY
        "pool_per_community",  # int: members each community puts into the pool
        "matched_teaching",  # int: 1 if learning by teaching follows matched tutees only
    ],
)

# The lanes' scratch: this week's state of the agents of the current chunk, one row per block
# (so no dependence on the thread count), and each block's row of contact skills.
Scratch = namedtuple(
    "Scratch",
    [
        "skill",  # float64: skill at the start of the week
        "key",  # uint64: the agent's key in this week's step stream
        "motivation",  # uint16: motivation code at the start of the week
        "up_e",  # float64: efficacy of the best source above so far
        "up_gap",  # float64: its gap
        "down_e",  # float64: efficacy of the best tutee below so far
        "up_keep",  # float64: 1 - the chosen source's narrowing (tutor quality; else unused)
        "seen_up",  # int64: contacts above seen (agency 0-1)
        "seen_down",  # int64: contacts below seen
        "pool_skill",  # float32: the current pool contact's skill
        "expert_quality",  # float64: efficacy of expert input times the class-size factor
        "expert_gain",  # float64
        "had_expert",  # uint8
        "tutee",  # float64: what the block sums add (zero where an agent does not count)
        "tutor",
        "partner_e",
        "misfit",
        "gain",
        "new_skill",
        "new_motivation",
        "status",  # uint8: still active
        "contact_skill",  # float32 [block, member]: the current community as contacts see it
    ],
)

# What one week needs beside the rules, worked out once before the block loop.
WeekSetup = namedtuple(
    "WeekSetup",
    [
        "key",  # uint64: this week's step key (counter_rng.key_for(seed, STREAM_STEP, step))
        "Z",  # float: the optimal gap
        "keep",  # float: 1 - peer narrowing (the part of a gap above Z that is left)
        "limit_local",  # int: local contacts above (below) a learner may weigh
        "limit_pool",  # int: pool contacts a learner may weigh
        "counted",  # bool: whether counts of contacts seen matter
        "width",  # int: lanes per chunk
        "contact_width",  # int: the largest community copied into the contact row (0: no peers)
        "prefetch_pool",  # bool
        "mentoring_factor",  # float: per-learner expert input in a mentoring group
        "class_factor",  # float64 [class]: per-learner expert input in each class
        "match_width",  # int: the largest community matched under a tutor capacity (0: none)
        "strong_keep",  # float: 1 - a strong tutor's narrowing (learning.strong_tutors)
        "deal_width",  # int: pool slots dealt to each community (capacity x pool_per_community)
    ],
)

# Matching under a tutor capacity (learning.tutor_capacity > 0): one row per block, one column
# per member of the block's current community (`_match_community`).
Matching = namedtuple(
    "Matching",
    [
        "priority",  # uint64: each member's priority draw this week (DRAW_PRIORITY)
        "order",  # int64: members in priority order (sorted with `priority`)
        "load",  # int64: tutees matched to each member so far
        "up_e",  # float64: efficacy of the matched tutor (0: none)
        "up_gap",  # float64: its gap
        "down_e",  # float64: efficacy of teaching the best-fitting matched tutee (0: none)
        "up_keep",  # float64: 1 - the matched tutor's narrowing
        # One column per pool slot dealt to the current community (pool contacts; else none):
        "slot_skill",  # float32: the slot's pool tutor's skill (-1: none offered)
        "slot_keep",  # float64: 1 - that tutor's narrowing
        "slot_free",  # uint8: 1 while the slot has not been taken this week
    ],
)
# Bytes of `Matching` per member of the largest community, and per dealt slot, per block.
MATCH_BYTES = 7 * 8
SLOT_BYTES = 4 + 8 + 1

# A block's running sums and counts, in the order of the columns of `stats` (core/blocks.py).
Totals = namedtuple(
    "Totals",
    [
        "sum_skill", "n_active", "n_present", "sum_tutee", "n_tutee", "sum_tutor", "n_tutor",
        "sum_expert", "n_expert", "sum_efficacy", "n_partnered", "sum_misfit", "n_dropout",
        "sum_gain", "sum_motivation", "sum_skill_sq",
    ],
)

# Agents are processed in chunks of at most CHUNK members of one community: each pass over a
# chunk handles one candidate for every agent (lanes), which vectorises; a chunk's lanes take
# about 35 kB, so they stay in the core's caches whatever the community size.
CHUNK = 256
# Communities of up to CONTACT_WIDTH members are copied into a scratch row of contact skills
# (at most 512 blocks x 16 kB); larger ones are read from the state arrays directly.
CONTACT_WIDTH = 4096
# Pools of more members than this (4 MB) are prefetched: beyond the caches, a random read costs
# a trip to main memory.
POOL_PREFETCH_MEMBERS = 1 << 20

# Bytes of scratch per lane: 17 float64/int64/uint64 arrays, a float32, a uint16, two uint8.
LANE_BYTES = 17 * 8 + 4 + 2 + 2 * 1


def scratch_bytes(blocks: int, largest_community: int, peers: bool, capacity: bool = False,
                  dealt: int = 0) -> int:
    """Bytes the weekly kernel allocates for its lanes and contact rows (freed after the week).

    Args:
        blocks: blocks of the layout (one row of scratch each).
        largest_community: members of the largest community.
        peers: whether the structure has peer learning (else no contact rows).
        capacity: whether tutors have a capacity (learning.tutor_capacity > 0): a `Matching`
            row per block.
        dealt: pool slots dealt to each community (kernels/pool.py; 0 without pool contacts).

    Returns:
        The bytes of `Scratch` (and `Matching`) for one week.
    """
    width = min(CHUNK, max(1, largest_community))
    contact_width = min(CONTACT_WIDTH, max(1, largest_community)) if peers else 0
    match_width = max(1, largest_community) if peers and capacity else 0
    slots = dealt * SLOT_BYTES if match_width else 0
    return blocks * (width * LANE_BYTES + contact_width * 4 + match_width * MATCH_BYTES + slots)


@intrinsic
def _prefetch(typingctx, array, index):
    """Hint the CPU to bring array[index] into its caches (llvm.prefetch: no fault, no result)."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, data, [args[1]], wraparound=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        # read, high temporal locality, data cache
        builder.call(
            function, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)]
        )
        return context.get_dummy_value()

    return types.void(array, index), codegen


# --- the choice of one contact (7.1 Candidates, 7.2 Choice, 7.3 Efficacy) -----------------------

@njit(cache=True, inline="always")
def _pool_ideal_index(pool_sorted, target):
    """The index of the sorted-pool member nearest to `target` skill (ties: the lower)."""
    n = pool_sorted.size
    p = np.searchsorted(pool_sorted, target)
    if p >= n:
        return n - 1
    if p == 0:
        return 0
    lo, hi = pool_sorted[p - 1], pool_sorted[p]
    return p - 1 if target - lo <= hi - target else p


@njit(cache=True, inline="always")
def _pool_ideal(pool_sorted, target):
    """The sorted-pool member nearest to `target` skill (connectivity 2: found at once)."""
    return pool_sorted[_pool_ideal_index(pool_sorted, target)]


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


@njit(cache=True, inline="always")
def _consider_lane(lanes, row, q, gap, limit, table, setup):
    """`_consider` for lane q, reading and writing its choice state in the scratch."""
    (lanes.seen_up[row, q], lanes.seen_down[row, q], lanes.up_e[row, q], lanes.up_gap[row, q],
     lanes.down_e[row, q]) = _consider(
        gap, setup.Z, setup.keep, table, limit, lanes.seen_up[row, q], lanes.seen_down[row, q],
        lanes.up_e[row, q], lanes.up_gap[row, q], lanes.down_e[row, q],
    )


@njit(cache=True, inline="always")
def _consider_lane_uncounted(lanes, row, q, gap, table, setup):
    """`_consider_lane` when every contact may be weighed: the counts compile away."""
    _, _, lanes.up_e[row, q], lanes.up_gap[row, q], lanes.down_e[row, q] = _consider(
        gap, setup.Z, setup.keep, table, 1, 0, 0,
        lanes.up_e[row, q], lanes.up_gap[row, q], lanes.down_e[row, q],
    )


# --- the sections of a week, each over the lanes of one chunk ------------------------------------

@njit(cache=True, inline="always")
def _contact_row(state, lanes, row, first, size):
    """Copy a community into the block's contact row, as contacts see it.

    Skill, or NaN (no contact) for members who dropped out or are not enrolled. Oneself is a
    contact at gap 0, which is neither above nor below: no contact either. One gather per
    candidate instead of two.
    """
    enrolled = ACTIVE | IN_PROGRAMME
    nan32 = np.float32(np.nan)
    for q in range(size):
        i = first + q
        lanes.contact_skill[row, q] = (
            state.skill[i] if (state.flags[i] & enrolled) == enrolled else nan32
        )


@njit(cache=True, inline="always")
def _load_lanes(state, lanes, row, chunk, n_lanes, key, slot_offset):
    """Set-up: each lane's skill, motivation and random key, and an empty choice."""
    for q in range(n_lanes):
        i = chunk + q
        lanes.skill[row, q] = np.float64(state.skill[i])
        lanes.motivation[row, q] = state.motivation[i]
        lanes.key[row, q] = agent_key(key, i + slot_offset)
        lanes.up_e[row, q] = 0.0
        lanes.up_gap[row, q] = 0.0
        lanes.down_e[row, q] = 0.0
        lanes.seen_up[row, q] = 0
        lanes.seen_down[row, q] = 0


@njit(cache=True, inline="always")
def _prefetch_pool_contacts(pool, lanes, row, n_lanes, rules):
    """Ask for the chunk's pool contacts now, so they arrive while the candidates compute.

    A pool larger than the caches is read from main memory (docs/performance.md).
    """
    n_pool = pool.members.size
    for p in range(rules.pool_contacts):
        for q in range(n_lanes):
            j = below(draw(lanes.key[row, q], DRAW_POOL_BASE + p), n_pool)
            # An intrinsic: numba passes its typing context, so mypy sees one argument missing.
            _prefetch(pool.members, j)  # type: ignore[call-arg]


@njit(cache=True, inline="always")
def _local_candidates(state, lanes, row, first, size, n_lanes, rules, table, setup):
    """7.1-7.2: weigh the k local candidates of every lane, one pass per candidate (or 8).

    When agency lets a learner choose among all its contacts, no count of contacts seen is
    needed (`counted` False): _consider then gets limit 1 and a count of 0, and the counts
    compile away. The common case (every contact may be weighed, community in the contact row)
    weighs 8 candidates per pass (any rest one by one): a lane's choice state stays in registers
    between them instead of a load and store per candidate. The same candidates in the same
    order: the same choice bit for bit.
    """
    Z, keep = setup.Z, setup.keep
    contact_width = setup.contact_width
    enrolled = ACTIVE | IN_PROGRAMME
    nan = np.nan
    by8 = 0
    if size <= contact_width and not setup.counted:  # an `if`, not a bool variable (see below)
        by8 = rules.candidates // 8 * 8
    # (Written out: numba leaves a loop over the 8 unvectorised; measured at 10^7, 8 per pass
    # take 35 CPU-ns per agent and week, one per pass 44.)
    contact_skill = lanes.contact_skill
    for d in range(0, by8, 8):
        for q in range(n_lanes):
            k = lanes.key[row, q]
            s = lanes.skill[row, q]
            c = (lanes.up_e[row, q], lanes.up_gap[row, q], lanes.down_e[row, q])
            c = _weigh(contact_skill, row, size, k, d + 0, s, Z, keep, table, c[0], c[1], c[2])
            c = _weigh(contact_skill, row, size, k, d + 1, s, Z, keep, table, c[0], c[1], c[2])
            c = _weigh(contact_skill, row, size, k, d + 2, s, Z, keep, table, c[0], c[1], c[2])
            c = _weigh(contact_skill, row, size, k, d + 3, s, Z, keep, table, c[0], c[1], c[2])
            c = _weigh(contact_skill, row, size, k, d + 4, s, Z, keep, table, c[0], c[1], c[2])
            c = _weigh(contact_skill, row, size, k, d + 5, s, Z, keep, table, c[0], c[1], c[2])
            c = _weigh(contact_skill, row, size, k, d + 6, s, Z, keep, table, c[0], c[1], c[2])
            c = _weigh(contact_skill, row, size, k, d + 7, s, Z, keep, table, c[0], c[1], c[2])
            lanes.up_e[row, q], lanes.up_gap[row, q], lanes.down_e[row, q] = c
    for d in range(by8, rules.candidates):
        if size > contact_width:  # too large for the scratch row: read the state arrays
            for q in range(n_lanes):
                j = first + below(draw(lanes.key[row, q], d), size)
                usable = (state.flags[j] & enrolled) == enrolled
                gap = (state.skill[j] - lanes.skill[row, q]) if usable else nan
                _consider_lane(lanes, row, q, gap, setup.limit_local, table, setup)
        elif setup.counted:
            for q in range(n_lanes):
                sj = contact_skill[row, below(draw(lanes.key[row, q], d), size)]
                gap = sj - lanes.skill[row, q]
                _consider_lane(lanes, row, q, gap, setup.limit_local, table, setup)
        else:
            for q in range(n_lanes):
                sj = contact_skill[row, below(draw(lanes.key[row, q], d), size)]
                gap = sj - lanes.skill[row, q]
                _consider_lane_uncounted(lanes, row, q, gap, table, setup)


@njit(cache=True, inline="always")
def _pool_contacts(pool, lanes, row, n_lanes, rules, table, setup):
    """7.1: contacts beyond the community, through the small global pool.

    At connectivity 2 also the sorted pool's members nearest to s + Z and s - Z.
    """
    n_pool = pool.members.size
    nan = np.nan
    for p in range(rules.pool_contacts):
        # First only the loads: a large pool is read from main memory, and a loop of loads
        # alone keeps many of them in flight.
        for q in range(n_lanes):
            lanes.pool_skill[row, q] = pool.members[
                below(draw(lanes.key[row, q], DRAW_POOL_BASE + p), n_pool)
            ]
        if setup.counted:
            for q in range(n_lanes):
                sj = lanes.pool_skill[row, q]
                gap = (sj - lanes.skill[row, q]) if sj >= 0.0 else nan  # -1: dropped out
                _consider_lane(lanes, row, q, gap, setup.limit_pool, table, setup)
        else:
            for q in range(n_lanes):
                sj = lanes.pool_skill[row, q]
                gap = (sj - lanes.skill[row, q]) if sj >= 0.0 else nan
                _consider_lane_uncounted(lanes, row, q, gap, table, setup)
    if rules.pool_ideal:
        Z, keep, limit = setup.Z, setup.keep, setup.limit_pool
        for q in range(n_lanes):
            s = lanes.skill[row, q]
            seen_up, seen_down = lanes.seen_up[row, q], lanes.seen_down[row, q]
            up_e, up_gap, down_e = lanes.up_e[row, q], lanes.up_gap[row, q], lanes.down_e[row, q]
            for target in (s + Z, s - Z):
                sj = _pool_ideal(pool.sorted, target)
                gap = (sj - s) if sj >= 0.0 else nan
                seen_up, seen_down, up_e, up_gap, down_e = _consider(
                    gap, Z, keep, table, limit, seen_up, seen_down, up_e, up_gap, down_e
                )
            lanes.seen_up[row, q], lanes.seen_down[row, q] = seen_up, seen_down
            lanes.up_e[row, q], lanes.up_gap[row, q], lanes.down_e[row, q] = up_e, up_gap, down_e


@njit(cache=True, inline="always")
def _tutor_keep(rules, setup, agent):
    """1 - the teaching narrowing of the tutor with global id `agent` (learning.strong_tutors).

    A tutor is strong with probability `strong_share`, by its own draw (DRAW_QUALITY of the
    programme stream): a pure function of seed and id, so nothing is stored. Its draw is also
    its place in the programme's recruitment order: the first `strong_tutors` recruited (those
    with the lowest draws, in expectation) are strong.
    """
    strong = is_strong_tutor(rules.quality_key, agent, rules.strong_share)
    return setup.strong_keep if strong else setup.keep


@njit(cache=True, inline="always")
def _consider_lane_keep(lanes, row, q, gap, keep, limit, table, setup):
    """`_consider_lane` for a contact who narrows by `keep`; records it if it became the source."""
    before = lanes.up_e[row, q]
    (lanes.seen_up[row, q], lanes.seen_down[row, q], lanes.up_e[row, q], lanes.up_gap[row, q],
     lanes.down_e[row, q]) = _consider(
        gap, setup.Z, keep, table, limit, lanes.seen_up[row, q], lanes.seen_down[row, q],
        lanes.up_e[row, q], lanes.up_gap[row, q], lanes.down_e[row, q],
    )
    if lanes.up_e[row, q] > before:  # this contact became the source
        lanes.up_keep[row, q] = keep


@njit(cache=True, inline="always")
def _checked_contacts(state, pool, lanes, row, chunk, first, size, n_lanes, slot_offset, rules,
                      table, setup):
    """7.1-7.2 when contacts differ: by role (learning.roles = split) or by tutor quality.

    The same candidates (draws 0..k-1), pool contacts and ideal-gap search, weighed in the same
    order as `_local_candidates` and `_pool_contacts`, except that in a split programme a
    contact counts only if its role differs from the learner's (a tutee weighs tutors, a tutor
    tutees) and only tutees make pool contacts (the pool offers tutors alone, kernels/pool.py),
    and that with strong tutors (learning.strong_tutors > 0) each contact above narrows the gap
    by its own teaching skill (`_tutor_keep`; a pool contact's, from the pool's `strong`). The
    sides a role may not use (a tutee teaching, a tutor taught) are dropped in
    `_gains_and_motivation`. A slower path
    than the reciprocal one (a gather from the state arrays per candidate), kept apart so that
    the plain programmes run exactly as fast as before.
    """
    both = ACTIVE | IN_PROGRAMME
    nan = np.nan
    split = rules.split_roles != 0
    quality = rules.strong_share > 0.0
    for q in range(n_lanes):
        lanes.up_keep[row, q] = setup.keep
    for d in range(rules.candidates):
        for q in range(n_lanes):
            role = state.flags[chunk + q] & TUTOR_ROLE
            qj = below(draw(lanes.key[row, q], d), size)
            fj = state.flags[first + qj]
            usable = ((fj & both) == both) & ((not split) | ((fj & TUTOR_ROLE) != role))
            gap = (state.skill[first + qj] - lanes.skill[row, q]) if usable else nan
            keep = _tutor_keep(rules, setup, first + qj + slot_offset) if quality else setup.keep
            _consider_lane_keep(lanes, row, q, gap, keep, setup.limit_local, table, setup)
    n_pool = pool.members.size
    rated = pool.strong.size > 0  # strong tutors through the pool (kernels/pool.py)
    for q in range(n_lanes):
        if split and (state.flags[chunk + q] & TUTOR_ROLE):
            continue  # the pool offers tutors: only tutees look there
        s = lanes.skill[row, q]
        for p in range(rules.pool_contacts):
            j = below(draw(lanes.key[row, q], DRAW_POOL_BASE + p), n_pool)
            sj = pool.members[j]
            gap = (sj - s) if sj >= 0.0 else nan
            keep = setup.strong_keep if rated and pool.strong[j] else setup.keep
            _consider_lane_keep(lanes, row, q, gap, keep, setup.limit_pool, table, setup)
        if rules.pool_ideal:
            for target in (s + setup.Z, s - setup.Z):
                k = _pool_ideal_index(pool.sorted, target)
                sj = pool.sorted[k]
                gap = (sj - s) if sj >= 0.0 else nan
                keep = setup.strong_keep if rated and pool.sorted_strong[k] else setup.keep
                _consider_lane_keep(lanes, row, q, gap, keep, setup.limit_pool, table, setup)


@njit(cache=True, inline="always")
def _before(match, b, x, y):
    """Whether position x comes before y: lower priority draw first, then the lower member."""
    px, py = match.priority[b, x], match.priority[b, y]
    return px < py or (px == py and match.order[b, x] < match.order[b, y])


@njit(cache=True, inline="always")
def _swap(match, b, x, y):
    match.priority[b, x], match.priority[b, y] = match.priority[b, y], match.priority[b, x]
    match.order[b, x], match.order[b, y] = match.order[b, y], match.order[b, x]


@njit(cache=True, inline="always")
def _sift_down(match, b, root, end):
    while 2 * root + 1 < end:
        child = 2 * root + 1
        if child + 1 < end and _before(match, b, child, child + 1):
            child += 1
        if not _before(match, b, root, child):
            return
        _swap(match, b, root, child)
        root = child


@njit(cache=True, inline="always")
def _sort_by_priority(match, b, n):
    """Heap sort of row b's first n (priority, member) pairs: in place, no allocation."""
    for start in range(n // 2 - 1, -1, -1):
        _sift_down(match, b, start, n)
    for end in range(n - 1, 0, -1):
        _swap(match, b, 0, end)
        _sift_down(match, b, 0, end)


@njit(cache=True, inline="always")
def _deal_slots(pool, match, b, x, rules, setup):
    """The pool slots dealt to community x this week, into row b of the matching scratch.

    Each pool member offered this week has `tutor_capacity` slots; slot positions
    x * deal_width .. (x + 1) * deal_width - 1 belong to community x (its share: as many slots as
    its own pool members brought), and `dealt_slot` says which slot each position holds.
    Returns nothing; the members of x offered to the pool are marked full for local tutees by
    `_match_community` (their week's capacity goes to the slots).
    """
    capacity = rules.tutor_capacity
    deal = setup.deal_width
    slots = np.int64(pool.members.size) * capacity
    rated = pool.strong.size > 0
    for r in range(deal):
        j = dealt_slot(pool.deal_key, x * deal + r, slots) // capacity
        match.slot_skill[b, r] = pool.members[j]
        keep = setup.keep
        if rated:
            keep = setup.strong_keep if pool.strong[j] else setup.keep
        match.slot_keep[b, r] = keep
        match.slot_free[b, r] = np.uint8(1)


@njit(cache=True, inline="always")
def _match_community(state, pool, match, b, first, size, x, slot_offset, rules, table, setup):
    """7.2 with a tutor capacity: match a community's learners to tutors, at most c tutees each.

    Learners take turns in the order of a counter-based priority draw (DRAW_PRIORITY; equal
    draws: the lower slot first), a random serial dictatorship: each takes, among the contacts
    it may weigh (the same k draws and the same agency limit as without a capacity), the one
    above it with the highest efficacy whose tutor still has room; if every such tutor is full
    it has no peer source this week (it waits). With learning.teaching_partner = matched, a
    tutor's learning by teaching follows the best-fitting tutee matched to it (`down_e`); by
    default it is the learner's own choice below, computed as without a capacity.

    With pool contacts, the pool tutors' slots dealt to this community (global id x,
    `_deal_slots`) are weighed after the local candidates, as pool contacts are without a
    capacity: each of the learner's pool contact draws picks one of them, and at connectivity 2
    the free slot above the learner nearest to the ideal gap is found at once; a taken slot is
    full. Members offered to the pool this week give it their capacity (no local tutees); with
    matched teaching, their learning by teaching pool tutees is not credited (it happens in
    another block). All within one block: the same matching on any thread or shard count.
    """
    both = ACTIVE | IN_PROGRAMME
    split = rules.split_roles != 0
    Z, keep, limit = setup.Z, setup.keep, setup.limit_local
    capacity = rules.tutor_capacity
    deal = setup.deal_width
    for q in range(size):
        match.priority[b, q] = draw(agent_key(setup.key, first + q + slot_offset), DRAW_PRIORITY)
        match.order[b, q] = q
        match.load[b, q] = 0
        match.up_e[b, q] = 0.0
        match.up_gap[b, q] = 0.0
        match.down_e[b, q] = 0.0
        match.up_keep[b, q] = keep
    if deal > 0:
        per = rules.pool_per_community
        for p in range(per):
            o = pool.origin[x * per + p]
            if o >= 0:
                match.load[b, o] = capacity  # its week's tutees come through the pool
        _deal_slots(pool, match, b, x, rules, setup)
    _sort_by_priority(match, b, size)
    quality = rules.strong_share > 0.0
    for r in range(size):
        q = match.order[b, r]
        i = first + q
        f = state.flags[i]
        if (f & both) != both or (split and (f & TUTOR_ROLE) != 0):
            continue  # not a learner this week (or a tutor, who is never taught by a peer)
        key = agent_key(setup.key, i + slot_offset)
        s = np.float64(state.skill[i])
        seen = 0
        best_e, best_gap, best, best_keep = 0.0, 0.0, np.int64(-1), keep
        for d in range(rules.candidates):
            qj = below(draw(key, d), size)
            fj = state.flags[first + qj]
            if (fj & both) != both or (split and (fj & TUTOR_ROLE) == (f & TUTOR_ROLE)):
                continue
            gap = state.skill[first + qj] - s
            if gap > 0.0:
                if seen < limit:
                    keep_j = keep
                    if quality:
                        keep_j = _tutor_keep(rules, setup, first + qj + slot_offset)
                    effective = gap if gap <= Z else Z + (gap - Z) * keep_j
                    e = efficacy(effective, Z, table)
                    if e > best_e and match.load[b, qj] < capacity:
                        best_e, best_gap, best, best_keep = e, gap, qj, keep_j
                seen += 1
        if deal > 0:
            # Pool slots: position -2 - slot in `best` (local members are >= 0).
            n_draws = rules.pool_contacts + (1 if rules.pool_ideal else 0)
            for p in range(n_draws):
                if p < rules.pool_contacts:
                    slot = below(draw(key, DRAW_POOL_BASE + p), deal)
                else:  # connectivity 2: the free slot above nearest to the ideal gap
                    slot, nearest, target = -1, np.inf, s + Z
                    for t in range(deal):
                        st = match.slot_skill[b, t]
                        if match.slot_free[b, t] and st > s and abs(st - target) < nearest:
                            slot, nearest = t, abs(st - target)
                    if slot < 0:
                        continue
                sj = match.slot_skill[b, slot]
                if sj < 0.0:
                    continue  # no tutor offered (dropped out, not enrolled, not a tutor)
                gap = sj - s
                if gap > 0.0:
                    if seen < setup.limit_pool:
                        keep_j = match.slot_keep[b, slot]
                        effective = gap if gap <= Z else Z + (gap - Z) * keep_j
                        e = efficacy(effective, Z, table)
                        if e > best_e and match.slot_free[b, slot]:
                            best_e, best_gap, best, best_keep = e, gap, -2 - slot, keep_j
                    seen += 1
        if best >= 0:
            match.load[b, best] += 1
            if rules.matched_teaching:  # else the tutor side is the lanes' own choice below
                match.down_e[b, best] = max(match.down_e[b, best], efficacy(best_gap, Z, table))
        elif best <= -2:
            match.slot_free[b, -2 - best] = np.uint8(0)
        if best != -1:
            match.up_e[b, q] = best_e
            match.up_gap[b, q] = best_gap
            match.up_keep[b, q] = best_keep


@njit(cache=True, inline="always")
def _matched_lanes(match, lanes, row, b, offset, n_lanes, own_choice):
    """The chunk's matched sources (`_match_community`) into its lanes, and tutees if matched.

    With `own_choice` the tutor side is each learner's own choice below, already in the lanes.
    """
    for q in range(n_lanes):
        lanes.up_e[row, q] = match.up_e[b, offset + q]
        lanes.up_gap[row, q] = match.up_gap[b, offset + q]
        lanes.up_keep[row, q] = match.up_keep[b, offset + q]
        if not own_choice:
            lanes.down_e[row, q] = match.down_e[b, offset + q]


@njit(cache=True, inline="always")
def _expert_input(classes, lanes, row, c, chunk, n_lanes, slot_offset, rules, table, setup):
    """7.6: each lane's expert input this week (its format), then any expert contact."""
    Z = setup.Z
    if rules.expert_mode == EXPERTS_CLASS:
        # Every slot in a taught class (the first classes.count.size spans) has a seat: one
        # vectorised pass; a slot beyond them reads the last class and is not counted.
        last = classes.count.size - 1
        for q in range(n_lanes):
            span_index = (chunk + q + slot_offset) // rules.class_span
            cls = min(span_index, last)
            s = lanes.skill[row, q]
            m = lanes.motivation[row, q] / MOTIVATION_SCALE
            content = min(
                content_level(s, classes.mean[cls], Z, rules.responsiveness, rules.module_spacing),
                rules.expert_skill,
            )
            gap = content - s
            e = efficacy(effective_gap(gap, Z, rules.expert_narrowing), Z, table)
            quality = e * setup.class_factor[cls]
            gain = min(rules.expert_rate * quality * m * (1.0 - s), gap) if gap > 0.0 else 0.0
            had_expert = np.uint8((classes.count[cls] > 0) & (span_index <= last))
            lanes.expert_quality[row, q] = quality if had_expert else 0.0
            lanes.expert_gain[row, q] = gain if had_expert else 0.0
            lanes.had_expert[row, q] = had_expert
    elif rules.expert_mode == EXPERTS_BROADCAST:
        # One recorded pitch for everyone: at the population's mean skill plus Z (responsiveness
        # 0: a recording cannot adapt), no narrowing (nobody adapts the explanation), the
        # broadcast's per-learner input; every active learner receives it.
        for q in range(n_lanes):
            s = lanes.skill[row, q]
            m = lanes.motivation[row, q] / MOTIVATION_SCALE
            content = min(
                content_level(s, rules.population_mean, Z, 0, rules.module_spacing),
                rules.expert_skill,
            )
            gap = content - s
            e = efficacy(effective_gap(gap, Z, 0.0), Z, table)
            quality = e * rules.broadcast_input
            gain = min(rules.expert_rate * quality * m * (1.0 - s), gap) if gap > 0.0 else 0.0
            lanes.expert_quality[row, q] = quality
            lanes.expert_gain[row, q] = gain
            lanes.had_expert[row, q] = np.uint8(1)
    elif rules.expert_mode == EXPERTS_MENTORING:
        # Who has a session this week (a draw: few learners, at scale)...
        for q in range(n_lanes):
            lanes.had_expert[row, q] = np.uint8(
                uniform(draw(lanes.key[row, q], DRAW_EXPERT_SESSION)) < rules.mentoring_probability
            )
        # ...and what they gain: only those learners are computed.
        for q in range(n_lanes):
            quality = 0.0
            gain = 0.0
            if lanes.had_expert[row, q]:
                s = lanes.skill[row, q]
                m = lanes.motivation[row, q] / MOTIVATION_SCALE
                content = min(
                    content_level(
                        s, rules.population_mean, Z, rules.responsiveness, rules.module_spacing
                    ),
                    rules.expert_skill,
                )
                gap = content - s
                e = efficacy(effective_gap(gap, Z, rules.expert_narrowing), Z, table)
                quality = e * setup.mentoring_factor
                if gap > 0.0:
                    gain = min(rules.expert_rate * quality * m * (1.0 - s), gap)
            lanes.expert_quality[row, q] = quality
            lanes.expert_gain[row, q] = gain
    if rules.expert_contacts > 0:
        _expert_contacts(classes, lanes, row, c, chunk, n_lanes, rules, table, setup)


@njit(cache=True, inline="always")
def _expert_contacts(classes, lanes, row, c, chunk, n_lanes, rules, table, setup):
    """Hyper-connectivity (ODD 7.6): this week's expert contacts of community c in this chunk.

    A contact is one-to-one with a domain expert of skill `expert_skill` and teaching skill
    `domain_narrowing`: brokered, the expert shares their own level; sought, the learner found a
    practitioner at their ideal gap (capped at the expert's skill). Its gain adds to any expert
    input of the week's format.
    """
    Z = setup.Z
    if rules.expert_mode == EXPERTS_NONE:  # no format wrote the lanes: start from nothing
        for q in range(n_lanes):
            lanes.expert_quality[row, q] = 0.0
            lanes.expert_gain[row, q] = 0.0
            lanes.had_expert[row, q] = np.uint8(0)
    for j in range(rules.expert_contacts):
        i = classes.contacts[c, j]
        q = i - chunk
        if i < 0 or q < 0 or q >= n_lanes:
            continue
        s = lanes.skill[row, q]
        m = lanes.motivation[row, q] / MOTIVATION_SCALE
        brokered = rules.contact_mode == CONTACTS_BROKERED
        content = rules.expert_skill if brokered else min(s + Z, rules.expert_skill)
        gap = content - s
        e = efficacy(effective_gap(gap, Z, rules.domain_narrowing), Z, table)
        gain = min(rules.expert_rate * e * m * (1.0 - s), gap) if gap > 0.0 else 0.0
        lanes.expert_gain[row, q] = lanes.expert_gain[row, q] + gain
        lanes.expert_quality[row, q] = max(lanes.expert_quality[row, q], e)


@njit(cache=True, inline="always")
def _gains_and_motivation(state, lanes, row, chunk, n_lanes, rules, setup):
    """7.5, 7.7: each lane's gains, forgetting, motivation and drop-out; writes the next state.

    Also writes what the block sums add for each lane (zero where an agent does not count: it
    dropped out before this week, or had no partner, tutee or expert; adding +0.0 leaves a sum
    exactly as it was). Returns the chunk's counts, integers summed here in any order: tutees,
    tutors, partnered, expert-taught, still active, drop-outs.
    """
    Z = setup.Z
    peers = rules.peers != 0
    split = rules.split_roles != 0
    quality = rules.strong_share > 0.0
    n_tutee = np.int64(0)
    n_tutor = np.int64(0)
    n_partnered = np.int64(0)
    n_expert = np.int64(0)
    n_active = np.int64(0)
    n_dropout = np.int64(0)
    for q in range(n_lanes):
        i = chunk + q
        f = state.flags[i]
        s = lanes.skill[row, q]
        was_active = (f & ACTIVE) != 0
        # Motivation is read from the lane copy: reading and writing motivation[i] in one loop
        # would keep it from vectorising.
        m = lanes.motivation[row, q] / MOTIVATION_SCALE
        # Peer choices count only for enrolled agents (all lanes were computed).
        in_peers = peers & ((f & IN_PROGRAMME) != 0)
        # Split programmes: a tutor is never taught by a peer, a tutee never teaches.
        is_tutor = (f & TUTOR_ROLE) != 0
        learns = in_peers & ((not split) | (not is_tutor))
        teaches = in_peers & ((not split) | is_tutor)
        up_e = lanes.up_e[row, q] if learns else 0.0
        up_gap = lanes.up_gap[row, q] if learns else 0.0
        # The chosen source's effective gap, as _consider computed it from its gap.
        # (With strong tutors, the narrowing of the source chosen: `up_keep`.)
        keep = lanes.up_keep[row, q] if quality else setup.keep
        up_effgap = up_gap if up_gap <= Z else Z + (up_gap - Z) * keep
        down_e = lanes.down_e[row, q] if teaches else 0.0
        # Shrinks near the frontier; a peer cannot carry a learner past the peer.
        tutee_gain = min(rules.peer_rate * up_e * m * (1.0 - s), up_gap) if up_e > 0.0 else 0.0
        # Learning by teaching needs preparation or teaching expectancy (Kobayashi 2024).
        tutor_gain = (
            rules.tutor_rate * rules.teaching_expectancy * down_e * m * (1.0 - s)
            if down_e > 0.0 else 0.0
        )
        # Integers, not bools, here and above: written when this was a parallel loop's body,
        # where numba's alias analysis takes copies of a bool for possible array aliases and
        # then drops `noalias` (docs/performance.md). A block function is not analysed so;
        # the integers stay, as they cost nothing.
        had_expert = np.uint8(0)
        expert_quality = 0.0
        expert_gain = 0.0
        if rules.expert_mode != EXPERTS_NONE or rules.expert_contacts > 0:
            had_expert = lanes.had_expert[row, q]
            expert_quality = lanes.expert_quality[row, q]
            expert_gain = lanes.expert_gain[row, q]

        gain = tutee_gain + tutor_gain + expert_gain
        # Practice (a session taken part in, or a gain; core/motivation.py) adds skill;
        # otherwise, and after drop-out, forgetting.
        progress = max(up_e, expert_quality)
        did_practise = was_active & practised(gain, progress, down_e)
        learned = np.float32(min(1.0, s + gain))
        forgot = np.float32(s * (1.0 - rules.forgetting))
        s_new = learned if did_practise else forgot
        state.skill_next[i] = s_new

        # Motivation and drop-out: the rule every structure shares (core/motivation.py).
        m_new, code, stays = weekly_motivation(
            m, progress, NO_EXTRA, did_practise, lanes.key[row, q], rules
        )
        state.motivation[i] = code if was_active else lanes.motivation[row, q]
        still_active = was_active & stays
        f_new = f
        f_new |= WAS_TUTEE if tutee_gain > 0.0 else np.uint8(0)
        f_new |= WAS_TUTOR if tutor_gain > 0.0 else np.uint8(0)
        f_new |= WAS_EXPERT_TAUGHT if had_expert != 0 else np.uint8(0)
        f_new = f_new if still_active else f_new & NOT_ACTIVE
        state.flags_next[i] = f_new if was_active else f

        sn = np.float64(s_new)
        partnered = up_e > 0.0
        lanes.tutee[row, q] = tutee_gain if was_active else 0.0
        lanes.tutor[row, q] = tutor_gain if was_active else 0.0
        lanes.partner_e[row, q] = up_e if was_active else 0.0
        lanes.misfit[row, q] = abs(up_effgap - Z) if was_active & partnered else 0.0
        lanes.gain[row, q] = sn - s if was_active else 0.0
        lanes.expert_gain[row, q] = expert_gain if was_active else 0.0
        lanes.new_skill[row, q] = sn
        lanes.new_motivation[row, q] = m_new
        lanes.status[row, q] = np.uint8(still_active)
        n_tutee += np.int64(was_active & (tutee_gain > 0.0))
        n_tutor += np.int64(was_active & (tutor_gain > 0.0))
        n_partnered += np.int64(was_active & partnered)
        n_expert += np.int64(was_active & (had_expert != 0))
        n_active += np.int64(still_active)
        n_dropout += np.int64(was_active & (not still_active))
    return n_tutee, n_tutor, n_partnered, n_expert, n_active, n_dropout


@njit(cache=True, inline="always")
def _add_block_sums(lanes, row, n_lanes, counts, t, histogram, b, has_experts):
    """Add a chunk to its block's totals: the counts, then the float64 sums in agent order.

    A floating-point sum must not be reordered, so this pass is scalar; the sums stay in
    registers across a block and are written once (`_store_block_sums`): the same additions in
    the same order as adding into `stats[b]` agent by agent, so the same sums bit for bit.
    """
    n_tutee, n_tutor, n_partnered, n_expert, n_active, n_dropout = counts
    sum_tutee, sum_efficacy, sum_misfit = t.sum_tutee, t.sum_efficacy, t.sum_misfit
    sum_tutor, sum_gain, sum_expert = t.sum_tutor, t.sum_gain, t.sum_expert
    sum_skill, sum_skill_sq, sum_motivation = t.sum_skill, t.sum_skill_sq, t.sum_motivation
    for q in range(n_lanes):
        sum_tutee += lanes.tutee[row, q]
        sum_efficacy += lanes.partner_e[row, q]
        sum_misfit += lanes.misfit[row, q]
        sum_tutor += lanes.tutor[row, q]
        sum_gain += lanes.gain[row, q]
        if has_experts:
            sum_expert += lanes.expert_gain[row, q]
        if lanes.status[row, q]:  # still active: the state the aggregates describe
            sn = lanes.new_skill[row, q]
            sum_skill += sn
            sum_skill_sq += sn * sn
            sum_motivation += lanes.new_motivation[row, q]
            k = int(sn * HISTOGRAM_BINS)
            histogram[b, min(max(k, 0), HISTOGRAM_BINS - 1)] += 1
    return Totals(
        sum_skill, t.n_active + n_active, t.n_present + n_lanes, sum_tutee, t.n_tutee + n_tutee,
        sum_tutor, t.n_tutor + n_tutor, sum_expert, t.n_expert + n_expert, sum_efficacy,
        t.n_partnered + n_partnered, sum_misfit, t.n_dropout + n_dropout, sum_gain,
        sum_motivation, sum_skill_sq,
    )


@njit(cache=True, inline="always")
def _store_block_sums(stats, b, t):
    """Write a block's totals into its row of `stats` (core/blocks.py columns)."""
    stats[b, SUM_SKILL] = t.sum_skill
    stats[b, N_ACTIVE] = t.n_active
    stats[b, N_PRESENT] = t.n_present
    stats[b, SUM_TUTEE_GAIN] = t.sum_tutee
    stats[b, N_TUTEE] = t.n_tutee
    stats[b, SUM_TUTOR_GAIN] = t.sum_tutor
    stats[b, N_TUTOR] = t.n_tutor
    stats[b, SUM_EXPERT_GAIN] = t.sum_expert
    stats[b, N_EXPERT] = t.n_expert
    stats[b, SUM_PARTNER_EFFICACY] = t.sum_efficacy
    stats[b, N_PARTNERED] = t.n_partnered
    stats[b, SUM_MISFIT] = t.sum_misfit
    stats[b, N_DROPOUT] = t.n_dropout
    stats[b, SUM_GAIN] = t.sum_gain
    stats[b, SUM_MOTIVATION] = t.sum_motivation
    stats[b, SUM_SKILL_SQ] = t.sum_skill_sq


# --- the week: set-up, then one parallel loop over blocks ----------------------------------------

@njit(cache=True, inline="always")
def _setup(communities, pool, classes, key, rules):
    """What the week needs beside the rules (`WeekSetup`), worked out once per week."""
    # Agency: with choice 0 the first contact above (below) is assigned, which is the same as
    # keeping the best of the first one (a later contact never replaces it); pool contacts are
    # always weighed when choice > 0, and only if no contact above (below) was seen otherwise.
    limit_local = rules.choice if rules.choice > 0 else 1
    limit_pool = np.int64(1 << 62) if rules.choice > 0 else 1
    largest = 1
    for c in range(communities.present.size):  # a plain loop: np.max would be a parallel region
        largest = max(largest, communities.present[c])
    # Per-learner expert input depends on the class size alone: once per class (or per week for
    # mentoring), not once per learner.
    class_factor = np.empty(classes.count.size if rules.expert_mode == EXPERTS_CLASS else 0)
    for k in range(class_factor.size):
        class_factor[k] = class_input(np.float64(classes.count[k]), rules.class_size_slope)
    return WeekSetup(
        key=key,
        Z=rules.optimal_gap,
        keep=1.0 - rules.peer_narrowing,
        limit_local=limit_local,
        limit_pool=limit_pool,
        # Counts of contacts seen matter only if a learner may not weigh every contact (or, in
        # a community too large for the contact row, where the count is kept anyway).
        counted=rules.choice < rules.candidates,
        width=min(CHUNK, largest),
        # Contacts: each block's current community, if it has at most CONTACT_WIDTH members.
        contact_width=min(CONTACT_WIDTH, largest) if rules.peers else 0,
        prefetch_pool=pool.members.size > POOL_PREFETCH_MEMBERS,
        mentoring_factor=class_input(rules.mentoring_group, rules.class_size_slope),
        class_factor=class_factor,
        match_width=largest if rules.peers and rules.tutor_capacity > 0 else 0,
        strong_keep=1.0 - rules.strong_narrowing,
        # Pool slots dealt to each community: only where pool tutors have a capacity.
        deal_width=rules.tutor_capacity * rules.pool_per_community if pool.origin.size > 0 else 0,
    )


@njit(cache=True, inline="always")
def _scratch(rows, width, contact_width):
    """The lanes' scratch (`Scratch`) of `rows` blocks: LANE_BYTES per lane, see scratch_bytes."""
    return Scratch(
        skill=np.empty((rows, width)),
        key=np.empty((rows, width), dtype=np.uint64),
        motivation=np.empty((rows, width), dtype=np.uint16),
        up_e=np.empty((rows, width)),
        up_gap=np.empty((rows, width)),
        down_e=np.empty((rows, width)),
        up_keep=np.empty((rows, width)),
        seen_up=np.empty((rows, width), dtype=np.int64),
        seen_down=np.empty((rows, width), dtype=np.int64),
        pool_skill=np.empty((rows, width), dtype=np.float32),
        expert_quality=np.empty((rows, width)),
        expert_gain=np.empty((rows, width)),
        had_expert=np.empty((rows, width), dtype=np.uint8),
        tutee=np.empty((rows, width)),
        tutor=np.empty((rows, width)),
        partner_e=np.empty((rows, width)),
        misfit=np.empty((rows, width)),
        gain=np.empty((rows, width)),
        new_skill=np.empty((rows, width)),
        new_motivation=np.empty((rows, width)),
        status=np.empty((rows, width), dtype=np.uint8),
        contact_skill=np.empty((rows, contact_width), dtype=np.float32),
    )


@njit(cache=True, inline="always")
def _matching(rows, width, deal_width):
    """The `Matching` scratch: `rows` blocks, `width` members and `deal_width` pool slots each."""
    return Matching(
        priority=np.empty((rows, width), dtype=np.uint64),
        order=np.empty((rows, width), dtype=np.int64),
        load=np.empty((rows, width), dtype=np.int64),
        up_e=np.empty((rows, width)),
        up_gap=np.empty((rows, width)),
        down_e=np.empty((rows, width)),
        up_keep=np.empty((rows, width)),
        slot_skill=np.empty((rows, deal_width), dtype=np.float32),
        slot_keep=np.empty((rows, deal_width)),
        slot_free=np.empty((rows, deal_width), dtype=np.uint8),
    )


@block_function
def _block_week(b, state, communities, pool, classes, lanes, match, sums, rules, table, setup):
    """One week of block b's communities, chunk by chunk; its totals into row b of the sums."""
    row = b  # this block's row of lanes and contacts
    histogram = sums.histogram
    for k in range(HISTOGRAM_BINS):
        histogram[b, k] = 0
    t = Totals(0.0, 0, 0, 0.0, 0, 0.0, 0, 0.0, 0, 0.0, 0, 0.0, 0, 0.0, 0.0, 0.0)
    has_experts = rules.expert_mode != EXPERTS_NONE or rules.expert_contacts > 0
    slot_offset = communities.slot_offset
    for c in range(communities.blocks[b], communities.blocks[b + 1]):
        first = communities.start[c]
        size = communities.present[c]
        # With a tutor capacity, sources are matched first; the tutor side (learning by teaching)
        # is the learner's own choice below, as without a capacity, unless it follows the
        # matched tutees (learning.teaching_partner).
        matched = rules.peers and rules.tutor_capacity > 0
        own_choice = rules.peers and (not matched or rules.matched_teaching == 0)
        if matched:
            _match_community(state, pool, match, b, first, size, c + communities.community_offset,
                             slot_offset, rules, table, setup)
        if own_choice and size <= setup.contact_width:
            _contact_row(state, lanes, row, first, size)
        for chunk in range(first, first + size, setup.width):
            n_lanes = min(setup.width, first + size - chunk)
            _load_lanes(state, lanes, row, chunk, n_lanes, setup.key, slot_offset)
            if own_choice:
                if setup.prefetch_pool:
                    _prefetch_pool_contacts(pool, lanes, row, n_lanes, rules)
                if rules.split_roles or rules.strong_share > 0.0:
                    _checked_contacts(state, pool, lanes, row, chunk, first, size, n_lanes,
                                      slot_offset, rules, table, setup)
                else:
                    _local_candidates(state, lanes, row, first, size, n_lanes, rules, table, setup)
                    _pool_contacts(pool, lanes, row, n_lanes, rules, table, setup)
            if matched:
                _matched_lanes(match, lanes, row, b, chunk - first, n_lanes, own_choice)
            _expert_input(classes, lanes, row, c, chunk, n_lanes, slot_offset, rules, table,
                          setup)
            counts = _gains_and_motivation(state, lanes, row, chunk, n_lanes, rules, setup)
            t = _add_block_sums(lanes, row, n_lanes, counts, t, histogram, b, has_experts)
    _store_block_sums(sums.stats, b, t)


@njit(parallel=True, cache=True)
def week(state, communities, pool, classes, key, rules, table, sums):
    """Advance every present agent by one week; fill the per-block sums and histograms.

    Each bundle and the rules come as the namedtuple or, faster, as the plain tuple of its
    fields (kernels/bundles.py: `fields`); the kernel names them again.

    Args:
        state: the population's `AgentState` (kernels/bundles.py): reads skill and flags,
            writes skill_next, flags_next and motivation.
        communities: its `Communities` with the block layout; `slot_offset` is the global id of
            slot 0 (a shard's first slot; scale/sharding.py): random numbers and classes are
            keyed by global ids.
        pool: this week's `Pool` (kernels/pool.py).
        classes: the expert classes' `Classes` (class format; empty arrays otherwise).
        key: this week's step key (counter_rng.key_for(seed, STREAM_STEP, step)).
        rules: the week's `StepRules`.
        table: the efficacy table (core.efficacy.EFFICACY_TABLE).
        sums: `BlockSums` with a row per block, overwritten.
    """
    state, communities, sums = AgentState(*state), Communities(*communities), BlockSums(*sums)
    pool, classes, rules = Pool(*pool), Classes(*classes), StepRules(*rules)
    # Both inlined: numba passes a namedtuple into a parallel loop only if it was built in the
    # kernel itself (it rebuilds the tuple from its fields by the class's name).
    setup = _setup(communities, pool, classes, key, rules)
    rows = communities.blocks.size - 1
    lanes = _scratch(rows, setup.width, setup.contact_width)
    match = _matching(rows if setup.match_width > 0 else 0, setup.match_width, setup.deal_width)
    # One parallel region only (the block loop): under a loaded machine each region's barrier can
    # wait a scheduler time slice, which at small populations costs more than the work itself.
    # Its body is one call: bundles must not be opened inside a parallel loop (kernels/bundles.py).
    for b in prange(rows):
        _block_week(b, state, communities, pool, classes, lanes, match, sums, rules, table, setup)


@block_function
def _summarise_block(b, state, communities, sums):
    """Block b's aggregates of the current state, into its row of `sums` (cleared first)."""
    clear_block(sums, b)
    for c in range(communities.blocks[b], communities.blocks[b + 1]):
        first = communities.start[c]
        for i in range(first, first + communities.present[c]):
            record_state(
                sums.stats, sums.histogram, b, np.float64(state.skill[i]),
                state.motivation[i] / MOTIVATION_SCALE, (state.flags[i] & ACTIVE) != 0,
            )


@njit(parallel=True, cache=True)
def summarise(state, communities, sums):
    """Per-block aggregates of the current state (before the first week).

    Args:
        state: the population's `AgentState` (kernels/bundles.py; or its `fields`).
        communities: its `Communities` with the block layout.
        sums: `BlockSums` with a row per block, overwritten.
    """
    state, communities, sums = AgentState(*state), Communities(*communities), BlockSums(*sums)
    rows = communities.blocks.size - 1
    for b in prange(rows):
        _summarise_block(b, state, communities, sums)
