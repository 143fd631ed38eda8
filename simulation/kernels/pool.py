"""The weekly global pool: a few members of every community, for contacts beyond it.

Interaction outside one's community goes only through this small shared array (docs/ODD.md
sections 3 and 7.1): each community puts `pool_per_community` random members (their skill, or -1
if they have dropped out or are not enrolled in peer learning) into the pool each week. Agents
at connectivity 1 draw random pool contacts (brokered introductions); at connectivity 2 the pool
is sorted by skill, so a contact at the ideal gap is found at once. A sharded run exchanges only
this pool between shards (docs/ODD.md 7.9).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..core.counter_rng import STREAM_POOL, agent_key, below, draw, key_for
from ..core.encoding import ACTIVE, IN_PROGRAMME, TUTOR_ROLE

# This week's pool as the weekly kernel takes it: the members' skills (-1: dropped out or not
# enrolled) and, at connectivity 2, the enrolled members' skills sorted ascending.
Pool = namedtuple("Pool", ["members", "sorted"])


@njit(parallel=True, cache=True)
def _gather(skill, flags, community_start, community_present, key, per_community, community_offset,
            require, pool):
    for c in prange(community_present.size):
        a = agent_key(key, c + community_offset)  # keyed by the global community id (shards)
        for p in range(per_community):
            j = community_start[c] + below(draw(a, p), community_present[c])
            enrolled = (flags[j] & require) == require
            pool[c * per_community + p] = skill[j] if enrolled else np.float32(-1.0)


def pool_part(pop, seed: int, step: int, per_community: int, split: bool = False) -> np.ndarray:
    """This week's pool members from `pop`'s communities, in community order (a shard's part).

    In a split programme (learning.roles = split) only tutors are offered through the pool
    (tutees' contacts beyond their community; docs/ODD.md 7.1): the others count as -1.
    """
    pool = np.empty(pop.communities * per_community, dtype=np.float32)
    key = key_for(seed, STREAM_POOL, step)
    require = (ACTIVE | IN_PROGRAMME | TUTOR_ROLE) if split else (ACTIVE | IN_PROGRAMME)
    _gather(pop.skill, pop.flags, pop.community_start, pop.community_present, key, per_community,
            np.int64(pop.community_offset), np.uint8(require), pool)
    return pool


def ordered_pool(pool: np.ndarray, sort: bool) -> np.ndarray:
    """The enrolled pool members sorted ascending (connectivity 2), or a placeholder."""
    # Only enrolled members (skill >= 0) can be found at the ideal gap; sorted in place, so the
    # pool costs at most three float32 copies of its size (docs/performance.md).
    if sort:
        ordered = pool[pool >= 0.0]
        ordered.sort()
    else:
        ordered = pool[:1]
    if ordered.size == 0:
        ordered = np.full(1, -1.0, dtype=np.float32)
    return ordered


def gather_pool(pop, seed: int, step: int, per_community: int, sort: bool,
                split: bool = False) -> Pool:
    """This week's `Pool` of a whole population: its members, and sorted if `sort`."""
    pool = pool_part(pop, seed, step, per_community, split)
    return Pool(pool, ordered_pool(pool, sort))
