"""Blocks of whole communities: the unit of every reproducible sum.

A kernel visits the population block by block (one block per parallel task) and adds what the
week's aggregates need into its block's row of `stats` (float64 sums and integer counts, columns
below) and `histogram` (active agents per skill bin). The blocks are fixed by the population
layout alone, never by the thread count, and the rows are combined in block order
(core/aggregates.py), so every aggregate is identical on any thread count or shard layout.

Both weekly kernels (kernels/peer_week.py, kernels/study_groups.py) fill these columns; they
import them from here, so neither kernel imports the other.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Columns of the per-block statistics (float64; counts are exact below 2**53).
SUM_SKILL, N_ACTIVE, N_PRESENT, SUM_TUTEE_GAIN, N_TUTEE, SUM_TUTOR_GAIN, N_TUTOR = range(7)
SUM_EXPERT_GAIN, N_EXPERT, SUM_PARTNER_EFFICACY, N_PARTNERED, SUM_MISFIT, N_DROPOUT = range(7, 13)
SUM_GAIN, SUM_MOTIVATION, SUM_SKILL_SQ = range(13, 16)
# Who is left behind (kernels/cohort.py): everyone who has entered, drop-outs included
# (intention to treat): skill now, starting skill, competent now; then per starting band (up to
# MAX_BANDS, the largest metrics.bands) BAND_COLUMNS columns from BAND_BASE + band * BAND_COLUMNS.
ITT_SUM_SKILL, ITT_SUM_START, ITT_N_COMPETENT = range(16, 19)
BAND_PRESENT, BAND_ACTIVE, BAND_COMPETENT, BAND_SUM_SKILL, BAND_SUM_START = range(5)
BAND_COLUMNS = 5
BAND_BASE = 19
MAX_BANDS = 20
# Expert contacts made this week (hyper-connectivity, kernels/experts.py select_contacts).
N_EXPERT_CONTACT = BAND_BASE + BAND_COLUMNS * MAX_BANDS
N_STATS = N_EXPERT_CONTACT + 1
HISTOGRAM_BINS = 1000  # skill bins of width 0.001: quantiles and pyramid bands come from them


def block_layout(
    communities: int,
    capacity: int,
    slots_per_block: int = 4096,
    max_blocks: int = 512,
    min_blocks: int = 8,
) -> np.ndarray:
    """First community of each block, then the end: blocks of whole communities.

    The layout depends on the population alone (never on the thread count), so sums over blocks
    are reproducible; up to 512 blocks keep both cores busy and the histograms small (4 MB). At
    least 8 blocks (where there are 8 communities): with 3 blocks, as 10^4 agents had at 4,096
    slots per block, one of two threads did two thirds of the work.
    """
    blocks = max(1, min(communities, max_blocks, max(min_blocks, -(-capacity // slots_per_block))))
    return np.linspace(0, communities, blocks + 1).round().astype(np.int64)


def block_arrays(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zeroed per-block `stats` and `histogram` for a block layout."""
    rows = blocks.size - 1
    return np.zeros((rows, N_STATS)), np.zeros((rows, HISTOGRAM_BINS), dtype=np.int64)


@njit(cache=True, inline="always")
def record_state(stats, histogram, b, s, m, active):
    """Add one agent's new state (skill s, motivation m) to block b's aggregates."""
    stats[b, N_PRESENT] += 1.0
    if active:
        stats[b, N_ACTIVE] += 1.0
        stats[b, SUM_SKILL] += s
        stats[b, SUM_SKILL_SQ] += s * s
        stats[b, SUM_MOTIVATION] += m
        k = int(s * HISTOGRAM_BINS)
        histogram[b, min(max(k, 0), HISTOGRAM_BINS - 1)] += 1
