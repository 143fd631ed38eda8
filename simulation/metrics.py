"""Per-week aggregates (MODEL.md section 7) from the per-block sums and skill histogram.

Blocks are groups of whole communities fixed by the population layout alone, summed in block
order, so every aggregate is identical for any thread count. Quantiles and the pyramid come from
the 1000-bin skill histogram (resolution 0.001), never from sorting the population.
"""

from __future__ import annotations

import numpy as np

from . import learning as L

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def block_layout(
    communities: int, capacity: int, slots_per_block: int = 4096, max_blocks: int = 512, min_blocks: int = 8
) -> np.ndarray:
    """First community of each block, then the end: blocks of whole communities.

    The layout depends on the population alone (never on the thread count), so sums over blocks
    are reproducible; up to 512 blocks keep both cores busy and the histograms small (4 MB). At
    least 8 blocks (where there are 8 communities): with 3 blocks, as 10^4 agents had at 4,096
    slots per block, one of two threads did two thirds of the work.
    """
    blocks = max(1, min(communities, max_blocks, max(min_blocks, -(-capacity // slots_per_block))))
    return np.linspace(0, communities, blocks + 1).round().astype(np.int64)


def histogram_quantile(histogram: np.ndarray, q: float, cumulative: np.ndarray | None = None) -> float:
    """The q-quantile of skill, linearly interpolated within a histogram bin.

    `cumulative` (np.cumsum(histogram)) may be passed in to share it between quantiles.
    """
    if cumulative is None:
        cumulative = np.cumsum(histogram)
    total = cumulative[-1]
    if total == 0:
        return float("nan")
    target = q * total
    k = int(np.searchsorted(cumulative, target))
    before = cumulative[k - 1] if k > 0 else 0
    within = (target - before) / histogram[k] if histogram[k] else 0.0
    return (k + within) / L.HISTOGRAM_BINS


def pyramid_counts(histogram: np.ndarray, bands: int) -> np.ndarray:
    """Active agents per skill band (equal-width bands over 0-1, bottom first)."""
    return histogram.reshape(bands, -1).sum(axis=1)


def band_fraction_at_least(histogram: np.ndarray, threshold: float) -> float:
    total = histogram.sum()
    k = int(round(threshold * L.HISTOGRAM_BINS))
    return float(histogram[k:].sum() / total) if total else 0.0


def aggregate(stats: np.ndarray, histogram: np.ndarray, bands: int, competent: float, expert: float) -> dict:
    """Combine per-block sums (in block order) into the week's aggregates."""
    s = np.zeros(stats.shape[1])
    for b in range(stats.shape[0]):  # fixed order: identical on any thread count
        s += stats[b]
    hist = histogram.sum(axis=0)  # integers: order does not matter
    active = s[L.N_ACTIVE]
    present = s[L.N_PRESENT]

    def ratio(a, b):
        return float(a / b) if b > 0 else 0.0

    mean = ratio(s[L.SUM_SKILL], active)
    variance = max(0.0, ratio(s[L.SUM_SKILL_SQ], active) - mean * mean)
    out = {
        "present": int(present),
        "active": int(active),
        "active_fraction": ratio(active, present),
        "dropouts": int(s[L.N_DROPOUT]),
        "mean_skill": mean,
        "sd_skill": float(np.sqrt(variance)),
        "mean_motivation": ratio(s[L.SUM_MOTIVATION], active),
        "competent_fraction": band_fraction_at_least(hist, competent),
        "expert_fraction": band_fraction_at_least(hist, expert),
        "mean_gain": ratio(s[L.SUM_GAIN], present),
        "mean_tutee_gain": ratio(s[L.SUM_TUTEE_GAIN], s[L.N_TUTEE]),
        "mean_tutor_gain": ratio(s[L.SUM_TUTOR_GAIN], s[L.N_TUTOR]),
        "tutee_fraction": ratio(s[L.N_TUTEE], active),
        "tutor_fraction": ratio(s[L.N_TUTOR], active),
        "mean_partner_efficacy": ratio(s[L.SUM_PARTNER_EFFICACY], s[L.N_PARTNERED]),
        "mean_partner_misfit": ratio(s[L.SUM_MISFIT], s[L.N_PARTNERED]),
        "expert_sessions": int(s[L.N_EXPERT]),
        "expert_gain": float(s[L.SUM_EXPERT_GAIN]),
    }
    cumulative = np.cumsum(hist)
    for q in QUANTILES:
        out[f"skill_q{int(q * 100):02d}"] = histogram_quantile(hist, q, cumulative)
    for k, count in enumerate(pyramid_counts(hist, bands)):
        out[f"band_{k}"] = int(count)
    return out
