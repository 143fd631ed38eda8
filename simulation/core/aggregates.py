"""The weekly aggregates (what is observed; docs/ODD.md, Observation), from per-block sums.

Blocks are groups of whole communities fixed by the population layout alone (core/blocks.py),
summed in block order, so every aggregate is identical for any thread count. Quantiles and the
pyramid come from the 1000-bin skill histogram (resolution 0.001), never from sorting the
population.

`METRICS` declares every weekly metric, in the column order of the results, with its meaning;
`aggregate` computes exactly these names (a name declared and not computed, or computed and not
declared, fails on the first week, never later). docs/CONTRIBUTING.md (section 4) says how to add
a metric.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from .blocks import (
    BAND_ACTIVE,
    BAND_BASE,
    BAND_COLUMNS,
    BAND_COMPETENT,
    BAND_PRESENT,
    BAND_SUM_SKILL,
    BAND_SUM_START,
    HISTOGRAM_BINS,
    ITT_N_COMPETENT,
    ITT_SUM_SKILL,
    ITT_SUM_START,
    N_ACTIVE,
    N_DROPOUT,
    N_EXPERT,
    N_EXPERT_CONTACT,
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
)

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)

# Every weekly metric of every structure, in the order of the results' columns (after "step";
# the pyramid's band_0 ... band_{bands-1} follow, then any metrics of the structure's own).
METRICS: dict[str, str] = {
    "present": "agents present (arrived), active or not",
    "active": "agents still active (not dropped out)",
    "active_fraction": "active / present: retention",
    "dropouts": "agents who dropped out this week",
    "mean_skill": "mean skill of active agents",
    "sd_skill": "standard deviation of skill among active agents",
    "mean_motivation": "mean motivation of active agents",
    "skill_q10": "10th percentile of skill among active agents (histogram, resolution 0.001)",
    "skill_q25": "25th percentile of skill among active agents",
    "skill_q50": "median skill of active agents",
    "skill_q75": "75th percentile of skill among active agents",
    "skill_q90": "90th percentile of skill among active agents",
    "competent_fraction": "share of active agents at or above metrics.competent",
    "expert_fraction": "share of active agents at or above metrics.expert",
    "mean_gain": "skill change this week per agent present (drop-outs' forgetting included)",
    "mean_tutee_gain": "mean gain from a peer of agents who learned from one this week",
    "mean_tutor_gain": "mean gain from teaching of agents who taught this week",
    "tutee_fraction": "share of active agents who learned from a peer this week",
    "tutor_fraction": "share of active agents who taught a peer this week",
    "mean_partner_efficacy": "mean efficacy of the chosen source (1 = at the optimal gap)",
    "mean_partner_misfit": "mean distance of the chosen source's effective gap from Z",
    "expert_sessions": "learners taught by an expert this week",
    "expert_hours": "expert hours used this week",
    "expert_load": "learners taught per designated expert this week",
    "expert_gain": "skill gained from experts this week, all learners together",
    "gain_per_expert_hour": "expert_gain / expert_hours",
    "peer_hours": (
        "peer tutors' hours this week: learners taught by a peer times learning.tutor_hours"
    ),
    # Who is left behind (kernels/cohort.py): everyone who has entered, drop-outs included, at
    # their skill now (a drop-out's skill keeps decaying by forgetting after they leave).
    "itt_mean_skill": "mean skill now of everyone who has entered, drop-outs included "
    "(intention to treat)",
    "itt_gain": "mean skill gained since starting (skill now - starting skill) of everyone who "
    "has entered, drop-outs included",
    "itt_competent_fraction": "share of everyone who has entered, drop-outs included, at or "
    "above metrics.competent now",
    # Hyper-connectivity to experts (levels.expert_contacts; their hours are in expert_hours).
    "expert_contacts": "learners who met a domain expert through connectivity this week",
    "expert_contacts_per_learner": "expert_contacts per learner present",
}
METRIC_NAMES = tuple(METRICS)

# Per starting band k (0 = bottom; the equal-width band of metrics.bands that the agent's
# starting skill fell in), after the pyramid's band_k columns.
START_BAND_METRICS: dict[str, str] = {
    "start_band_{k}_active_fraction": "share still active of those who started in band k",
    "start_band_{k}_gain": "mean skill gained since starting by those who started in band k, "
    "drop-outs included",
    "start_band_{k}_competent_fraction": "share competent now of those who started in band k, "
    "drop-outs included",
}


def cohort_metrics(bands: int) -> tuple[str, ...]:
    """The metrics the cohort pass (kernels/cohort.py) decides: intention to treat, start bands."""
    itt = ("itt_mean_skill", "itt_gain", "itt_competent_fraction")
    return itt + tuple(name.format(k=k) for k in range(bands) for name in START_BAND_METRICS)


def without_cohort(values: dict, bands: int) -> dict:
    """`values` with the cohort metrics unknown (NaN): a week whose cohort pass did not run."""
    return values | dict.fromkeys(cohort_metrics(bands), float("nan"))


def band_columns(bands: int) -> list[str]:
    """The columns after METRICS: the pyramid's band_k, then the START_BAND_METRICS of each k."""
    pyramid = [f"band_{k}" for k in range(bands)]
    return pyramid + [name.format(k=k) for k in range(bands) for name in START_BAND_METRICS]


def histogram_quantile(
    histogram: np.ndarray, q: float, cumulative: np.ndarray | None = None
) -> float:
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
    return float((k + within) / HISTOGRAM_BINS)


def pyramid_counts(histogram: np.ndarray, bands: int) -> np.ndarray:
    """Active agents per skill band (equal-width bands over 0-1, bottom first)."""
    return histogram.reshape(bands, -1).sum(axis=1)


def band_fraction_at_least(histogram: np.ndarray, threshold: float) -> float:
    """Share of the histogram's agents at or above a skill threshold."""
    total = histogram.sum()
    k = round(threshold * HISTOGRAM_BINS)
    return float(histogram[k:].sum() / total) if total else 0.0


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else 0.0


def _quantiles(histogram: np.ndarray, cumulative: np.ndarray) -> list[float]:
    """`histogram_quantile` at every q of QUANTILES, with one search (the same numbers)."""
    total = cumulative[-1]
    if total == 0:
        return [float("nan")] * len(QUANTILES)
    targets = np.array(QUANTILES) * total
    out = []
    for target, k in zip(targets, np.searchsorted(cumulative, targets).tolist(), strict=True):
        before = cumulative[k - 1] if k > 0 else 0
        within = (target - before) / histogram[k] if histogram[k] else 0.0
        out.append(float((k + within) / HISTOGRAM_BINS))
    return out


@cache
def _band_names(bands: int) -> tuple[tuple[str, ...], tuple[tuple[str, str, str], ...]]:
    """The pyramid's band_k names and each band's START_BAND_METRICS names, made once."""
    order = ("start_band_{k}_active_fraction", "start_band_{k}_gain",
             "start_band_{k}_competent_fraction")  # the order `aggregate` fills them in
    declared(dict.fromkeys(order), START_BAND_METRICS, "aggregate (bands)")
    per_band = tuple(
        (order[0].format(k=k), order[1].format(k=k), order[2].format(k=k)) for k in range(bands)
    )
    return tuple(f"band_{k}" for k in range(bands)), per_band


def aggregate(
    stats: np.ndarray,
    histogram: np.ndarray,
    bands: int,
    competent: float,
    expert: float,
    expert_hours: float = 0.0,
    experts: int = 0,
    peer_hours: float = 0.0,
) -> dict:
    """The week's METRICS and pyramid bands from per-block sums (combined in block order).

    `expert_hours` and `experts` (designated experts) come from the structure's engine: hours are
    decided by how experts are organised, not by the agents' sums; so do `peer_hours` (peer
    sessions times learning.tutor_hours).

    Runs every week of every run, so it is written for a small cost (a sweep's runs take about
    20 ms): the block sums become Python floats once (the same IEEE operations as on numpy
    scalars, without their overhead) and the quantiles share one search.
    """
    total = np.zeros(stats.shape[1])
    for b in range(stats.shape[0]):  # fixed order: identical on any thread count
        total += stats[b]
    s = total.tolist()
    hist = histogram.sum(axis=0)  # integers: order does not matter
    active = s[N_ACTIVE]
    present = s[N_PRESENT]
    mean = _ratio(s[SUM_SKILL], active)
    variance = max(0.0, _ratio(s[SUM_SKILL_SQ], active) - mean * mean)
    cumulative = np.cumsum(hist)
    sessions = int(s[N_EXPERT])
    expert_gain = float(s[SUM_EXPERT_GAIN])
    q10, q25, q50, q75, q90 = _quantiles(hist, cumulative)
    values = {
        "present": int(present),
        "active": int(active),
        "active_fraction": _ratio(active, present),
        "dropouts": int(s[N_DROPOUT]),
        "mean_skill": mean,
        "sd_skill": math.sqrt(variance),
        "mean_motivation": _ratio(s[SUM_MOTIVATION], active),
        "skill_q10": q10,
        "skill_q25": q25,
        "skill_q50": q50,
        "skill_q75": q75,
        "skill_q90": q90,
        "competent_fraction": band_fraction_at_least(hist, competent),
        "expert_fraction": band_fraction_at_least(hist, expert),
        "mean_gain": _ratio(s[SUM_GAIN], present),
        "mean_tutee_gain": _ratio(s[SUM_TUTEE_GAIN], s[N_TUTEE]),
        "mean_tutor_gain": _ratio(s[SUM_TUTOR_GAIN], s[N_TUTOR]),
        "tutee_fraction": _ratio(s[N_TUTEE], active),
        "tutor_fraction": _ratio(s[N_TUTOR], active),
        "mean_partner_efficacy": _ratio(s[SUM_PARTNER_EFFICACY], s[N_PARTNERED]),
        "mean_partner_misfit": _ratio(s[SUM_MISFIT], s[N_PARTNERED]),
        "expert_sessions": sessions,
        "expert_hours": float(expert_hours),
        "expert_load": sessions / experts if experts else 0.0,
        "expert_gain": expert_gain,
        "gain_per_expert_hour": expert_gain / expert_hours if expert_hours > 0 else 0.0,
        "peer_hours": float(peer_hours),
        "itt_mean_skill": _ratio(s[ITT_SUM_SKILL], present),
        "itt_gain": _ratio(s[ITT_SUM_SKILL] - s[ITT_SUM_START], present),
        "itt_competent_fraction": _ratio(s[ITT_N_COMPETENT], present),
        "expert_contacts": int(s[N_EXPERT_CONTACT]),
        "expert_contacts_per_learner": _ratio(s[N_EXPERT_CONTACT], present),
    }
    out = declared(values, METRICS, "core.aggregates.aggregate")
    pyramid, per_band = _band_names(bands)
    for name, count in zip(pyramid, pyramid_counts(hist, bands).tolist(), strict=True):
        out[name] = int(count)
    for k, (active_name, gain_name, competent_name) in enumerate(per_band):
        col = BAND_BASE + BAND_COLUMNS * k
        n = s[col + BAND_PRESENT]
        out[active_name] = _ratio(s[col + BAND_ACTIVE], n)
        out[gain_name] = _ratio(s[col + BAND_SUM_SKILL] - s[col + BAND_SUM_START], n)
        out[competent_name] = _ratio(s[col + BAND_COMPETENT], n)
    return out


def declared(values: dict, names: dict[str, str] | tuple[str, ...], where: str) -> dict:
    """`values` in the declared order; raises at once if a name is missing or undeclared."""
    if len(values) == len(names) and all(a == b for a, b in zip(values, names, strict=True)):
        return values  # already in the declared order (the common case: no copy)
    if len(values) != len(names) or any(name not in values for name in names):
        missing = [n for n in names if n not in values]
        extra = [n for n in values if n not in names]
        raise RuntimeError(
            f"{where}: metrics computed and declared differ "
            f"(missing {missing}, undeclared {extra})"
        )
    return {name: values[name] for name in names}
