"""The weekly global pool: a few members of every community, for contacts beyond it.

Interaction outside one's community goes only through this small shared array (docs/ODD.md
sections 3 and 7.1): each community puts `pool_per_community` random members (their skill, or -1
if they have dropped out or are not enrolled in peer learning) into the pool each week. Agents
at connectivity 1 draw random pool contacts (brokered introductions); at connectivity 2 the pool
is sorted by skill, so a contact at the ideal gap is found at once. A sharded run exchanges only
this pool between shards (docs/ODD.md 7.9).

Two programme rules need more than a pool member's skill, and only they pay for it:
- strong tutors (learning.strong_tutors): whether each member is a strong tutor (`strong`, one
  byte each, and its sorted copy at connectivity 2), so a contact's teaching skill is known in
  any block;
- a tutor capacity (learning.tutor_capacity) with pool contacts: each offered member's position
  in its community (`origin`), and the week's key for dealing the pool tutors' slots to the
  communities (`dealt_slot`). A pool tutor takes at most c tutees a week, wherever they are: its
  c slots are dealt, by a pseudo-random permutation keyed by the week, one each to positions of
  the communities' shares of the pool (c x pool_per_community positions per community), so a
  slot's contention is resolved inside the one block that holds it, on any thread or shard count
  (docs/ODD.md 7.2).
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange, uint64

from ..core.counter_rng import (
    STREAM_DEAL,
    STREAM_INIT_PROGRAMME,
    STREAM_POOL,
    agent_key,
    below,
    draw,
    key_for,
)
from ..core.encoding import ACTIVE, IN_PROGRAMME, TUTOR_ROLE
from ..core.population import is_strong_tutor, strong_share

if TYPE_CHECKING:
    from ..config.schema import Scenario

# This week's pool as the weekly kernel takes it (kernels/bundles.py: arrays and one integer).
Pool = namedtuple(
    "Pool",
    [
        "members",  # float32: each member's skill (-1: dropped out, not enrolled, or not offered)
        "sorted",  # float32: the offered members' skills, ascending (connectivity 2; else 1 value)
        "strong",  # uint8: 1 if the member is a strong tutor (learning.strong_tutors; else empty)
        "sorted_strong",  # uint8: `strong` in the order of `sorted` (connectivity 2; else empty)
        "origin",  # int32: the member's position in its community, -1 if not offered (dealt)
        "deal_key",  # uint64: this week's key of the dealt slots (STREAM_DEAL)
    ],
)
# One shard's part of the pool, in its communities' order (the coordinator concatenates them).
PoolPart = namedtuple("PoolPart", ["members", "strong", "origin"])


def pool_used(scenario: Scenario) -> bool:
    """Whether learners make contacts through the pool: pool contacts, or the ideal-gap search."""
    level = scenario.program.connectivity
    used = scenario.levels.pool_contacts[level] > 0 or level == 2
    return bool(scenario.structure.peers and used)


def pool_dealt(scenario: Scenario) -> bool:
    """Whether pool tutors' slots are dealt: a tutor capacity, and pool contacts to use it."""
    return pool_used(scenario) and scenario.learning.tutor_capacity > 0


def sort_pool(scenario: Scenario) -> bool:
    """Whether this week's pool is sorted: at connectivity 2, to find the ideal gap at once."""
    return scenario.program.connectivity == 2


@njit(parallel=True, cache=True)
def _gather(skill, flags, community_start, community_present, key, per_community, community_offset,
            require, quality_key, share, slot_offset, pool, strong, origin):
    once = origin.size > 0
    for c in prange(community_present.size):
        a = agent_key(key, c + community_offset)  # keyed by the global community id (shards)
        for p in range(per_community):
            q = below(draw(a, p), community_present[c])
            j = community_start[c] + q
            offered = (flags[j] & require) == require
            if once:
                # Dealt slots: a member drawn twice is offered once (its capacity counts once).
                for earlier in range(p):
                    if below(draw(a, earlier), community_present[c]) == q:
                        offered = False
                origin[c * per_community + p] = np.int32(q) if offered else np.int32(-1)
            pool[c * per_community + p] = skill[j] if offered else np.float32(-1.0)
            if strong.size > 0:
                strong[c * per_community + p] = np.uint8(
                    is_strong_tutor(quality_key, j + slot_offset, share)
                )


def pool_part(pop, scenario: Scenario, seed: int, step: int) -> PoolPart:
    """This week's pool members from `pop`'s communities, in community order (a shard's part).

    In a split programme (learning.roles = split) only tutors are offered through the pool
    (tutees' contacts beyond their community; docs/ODD.md 7.1): the others count as -1.
    """
    per_community = scenario.levels.pool_per_community
    size = pop.communities * per_community
    pool = np.empty(size, dtype=np.float32)
    share = strong_share(scenario) if pool_used(scenario) else 0.0
    strong = np.zeros(size if share > 0.0 else 0, dtype=np.uint8)
    origin = np.zeros(size if pool_dealt(scenario) else 0, dtype=np.int32)
    key = key_for(seed, STREAM_POOL, step)
    split = scenario.learning.roles == "split"
    require = (ACTIVE | IN_PROGRAMME | TUTOR_ROLE) if split else (ACTIVE | IN_PROGRAMME)
    _gather(pop.skill, pop.flags, pop.community_start, pop.community_present, key, per_community,
            np.int64(pop.community_offset), np.uint8(require),
            key_for(seed, STREAM_INIT_PROGRAMME, 0), float(share), np.int64(pop.slot_offset),
            pool, strong, origin)
    return PoolPart(pool, strong, origin)


def ordered_pool(pool: np.ndarray, strong: np.ndarray, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    """The offered pool members' skills sorted ascending (connectivity 2), or a placeholder.

    With strong tutors, also whether each sorted member is strong (equal skills in pool order).
    """
    # Only offered members (skill >= 0) can be found at the ideal gap; sorted in place, so the
    # pool costs at most three float32 copies of its size (docs/performance.md).
    sorted_strong = strong[:0]
    if sort and strong.size > 0:
        offered = np.flatnonzero(pool >= 0.0)
        order = offered[np.argsort(pool[offered], kind="stable")]
        ordered, sorted_strong = pool[order], strong[order]
    elif sort:
        ordered = pool[pool >= 0.0]
        ordered.sort()
    else:
        ordered = pool[:1]
    if ordered.size == 0:
        ordered = np.full(1, -1.0, dtype=np.float32)
        sorted_strong = np.zeros(1 if strong.size > 0 else 0, dtype=np.uint8)
    return ordered, sorted_strong


def assemble_pool(parts: list[PoolPart], scenario: Scenario, seed: int, step: int) -> Pool:
    """This week's `Pool` from the parts of every shard, in shard order (one part: one process)."""
    members = np.concatenate([p.members for p in parts])
    strong = np.concatenate([p.strong for p in parts])
    origin = np.concatenate([p.origin for p in parts])
    ordered, sorted_strong = ordered_pool(members, strong, sort_pool(scenario))
    return Pool(members, ordered, strong, sorted_strong, origin, key_for(seed, STREAM_DEAL, step))


def gather_pool(pop, scenario: Scenario, seed: int, step: int) -> Pool:
    """This week's `Pool` of a whole population."""
    return assemble_pool([pool_part(pop, scenario, seed, step)], scenario, seed, step)


@njit(cache=True, inline="always")
def dealt_slot(key, position, slots):
    """The pool slot dealt to `position`: a pseudo-random permutation of [0, slots), keyed.

    Slot g is the (g mod c)-th of pool member g // c (capacity c). A four-round Feistel network
    on the smallest even number of bits that holds `slots`, walking the cycle until the value
    falls inside [0, slots) (Black & Rogaway 2002): a bijection, so every slot is dealt exactly
    once, computed from its position alone (no table, no communication between blocks).
    """
    n = uint64(slots)
    half = uint64(1)
    while (uint64(1) << (uint64(2) * half)) < n:
        half += uint64(1)
    mask = (uint64(1) << half) - uint64(1)
    x = uint64(position)
    while True:
        left, right = x >> half, x & mask
        for r in range(4):
            left, right = right, left ^ (draw(agent_key(key, right), r) & mask)
        x = (left << half) | right
        if x < n:
            return np.int64(x)
