"""Who is left behind: outcomes by starting skill band and by intention to treat (ODD 4).

The active-learner metrics describe those still learning; a structure that loses its
strongest learners can look as good as one that keeps them. This pass counts everyone who has
entered (the initial population and every arrival), drop-outs included, at their skill now. In
this model a drop-out keeps forgetting (skill x (1 - forgetting) each week, docs/ODD.md 7.5),
so "last skill" is the skill at the end of the week observed, after the forgetting since they
left: what they would show on a test that week.

Starting skill is recomputed, never stored (the memory budget, docs/ODD.md section 2): it is a
pure function of the seed and the agent's global slot, the initial pyramid's counter-based draw
(core/population.py `initial_skill`) for the initial population, and for an arrival the draw of
its week of arrival, which follows from the community's own arrival draws of weeks 1 to now
(`arrivals_in_week`: the same whole numbers `_arrive` drew, so the same slots).

Per block of whole communities, in agent order (core/blocks.py): for everyone present the sum
of skill now, of starting skill and the count competent now; and per
starting band (equal-width bands of metrics.bands over 0-1, the band of the starting skill) the
counts present, active and competent now, and the sums of skill now and starting skill. It runs
after each week's kernel, on the state that kernel wrote, for every structure (the peer step and
study groups alike), so it reads a few bytes per agent and changes no number of the week.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..core.blocks import (
    BAND_ACTIVE,
    BAND_BASE,
    BAND_COLUMNS,
    BAND_COMPETENT,
    BAND_PRESENT,
    BAND_SUM_SKILL,
    BAND_SUM_START,
    ITT_N_COMPETENT,
    ITT_SUM_SKILL,
    ITT_SUM_START,
)
from ..core.counter_rng import STREAM_ARRIVALS, STREAM_INIT_SKILL, step_key
from ..core.encoding import ACTIVE
from ..core.population import arrival_skill, arrivals_in_week, initial_skill

# Agents whose starting skill is recomputed in one pass (a row of float64 per block).
CHUNK = 256


@njit(cache=True, inline="always")
def band_of(s0, bands):
    """The starting band of a starting skill s0 (equal-width bands over 0-1; 0 = bottom)."""
    return min(np.int64(s0 * bands), bands - 1)


@njit(cache=True, inline="always")
def _add(stats, b, s, s0, active, competent, bands):
    """Add one agent (skill now s, starting skill s0) to block b's cohort columns."""
    good = s >= competent
    col = BAND_BASE + BAND_COLUMNS * band_of(s0, bands)
    stats[b, ITT_SUM_SKILL] += s
    stats[b, ITT_SUM_START] += s0
    stats[b, ITT_N_COMPETENT] += 1.0 if good else 0.0
    stats[b, col + BAND_PRESENT] += 1.0
    stats[b, col + BAND_ACTIVE] += 1.0 if active else 0.0
    stats[b, col + BAND_COMPETENT] += 1.0 if good else 0.0
    stats[b, col + BAND_SUM_SKILL] += s
    stats[b, col + BAND_SUM_START] += s0


def _observe(skill, flags, community_start, community_present, community_initial, blocks,
            slot_offset, community_offset, seed, step, shape, cumulative, decay, top_skill,
            novice_layers, arrival_rate, bands, competent, stats):
    """Fill the cohort columns of `stats` (one row per block) from the state given.

    Args:
        skill: float32 skill now (the week's new skill: skill_next before the swap).
        flags: uint8 flags now (flags_next before the swap).
        community_start: int64 first slot of each community (and the end).
        community_present: int64 slots filled in each community.
        community_initial: int64 agents each community started with.
        blocks: int64 first community of each block, then the end.
        slot_offset: global id of slot 0 (a shard's first slot).
        community_offset: global id of community 0 (a shard's first community).
        seed: the run's seed (uint64).
        step: the week observed (arrivals of weeks 1 to `step` have entered).
        shape: the pyramid's shape code (core/population.pyramid_code).
        cumulative: the layers' cumulative shares (core/pyramid.layer_cumulative).
        decay: pyramid.decay (exponential shape).
        top_skill: pyramid.top_skill.
        novice_layers: the layers whose bottom one arrivals enter (population.novice_layers).
        arrival_rate: population.arrival_rate.
        bands: starting bands (metrics.bands, at most MAX_BANDS).
        competent: skill at or above which a learner counts as competent (metrics.competent).
        stats: float64 [block, N_STATS]; only the cohort columns are written.
    """
    rows = blocks.size - 1
    last = BAND_BASE + BAND_COLUMNS * bands
    key_skill = step_key(seed, STREAM_INIT_SKILL, 0)
    # Starting skills are recomputed a chunk at a time (the hashes of a chunk in one pass, which
    # vectorises), then added in agent order (a scalar pass: the sums' order is fixed).
    lanes = np.empty((rows, CHUNK))
    for b in prange(rows):
        for k in range(ITT_SUM_SKILL, last):
            stats[b, k] = 0.0
        for c in range(blocks[b], blocks[b + 1]):
            first = community_start[c]
            filled = first + community_initial[c]
            for chunk in range(first, filled, CHUNK):
                n = min(CHUNK, filled - chunk)
                for q in range(n):
                    lanes[b, q] = np.float64(initial_skill(
                        key_skill, chunk + q + slot_offset, shape, cumulative, decay, top_skill
                    ))
                for q in range(n):
                    i = chunk + q
                    active = (flags[i] & ACTIVE) != 0
                    _add(stats, b, np.float64(skill[i]), lanes[b, q], active, competent, bands)
            # Arrivals: the slots each week's draws filled, in the order they were filled.
            end = first + community_present[c]
            capacity = community_start[c + 1] - first
            week = 1
            while filled < end and week <= step:
                key = step_key(seed, STREAM_ARRIVALS, week)
                room = capacity - (filled - first)
                n_new = arrivals_in_week(key, c + community_offset, community_initial[c],
                                         arrival_rate, room)
                for i in range(filled, filled + n_new):
                    s0 = np.float64(arrival_skill(key, i + slot_offset, top_skill, novice_layers))
                    active = (flags[i] & ACTIVE) != 0
                    _add(stats, b, np.float64(skill[i]), s0, active, competent, bands)
                filled += n_new
                week += 1


# The pass in parallel over blocks, and the same pass in one thread (prange is range there): the
# same sums in the same order. A parallel region costs a barrier, which on a loaded machine can
# wait a scheduler time slice (docs/performance.md): more than the whole pass at small sizes.
observe = njit(parallel=True, cache=True)(_observe)
observe_serial = njit(cache=True)(_observe)
# Slots from which the parallel pass is used (about 5 ms of work in one thread).
PARALLEL_SLOTS = 1 << 17
