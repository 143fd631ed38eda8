"""What a finished sweep reports: per-point means with 95% CIs, Morris and Sobol indices (SALib).

The indices are computed on each point's mean across replicates. Replicates share their seeds
across points (common random numbers), so the noise left in a point's mean is mostly common to
all points and adds little variance of its own; what it adds is attributed to no parameter
(first-order indices then sum to less than one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..ensemble import ensemble_interval
from ..runner import mean_ci
from .design import Design, problem
from .spec import Sweep

# Rows of summary.md at most (summary.csv holds every point).
MARKDOWN_ROWS = 200


def point_means(sweep: Sweep, points: pd.DataFrame) -> pd.DataFrame:
    """One row per point: each output's mean across replicates (points in design order)."""
    names = [o.name for o in sweep.outputs]
    return points.groupby("point", sort=True)[names].mean()


def summary(sweep: Sweep, points: pd.DataFrame) -> pd.DataFrame:
    """Per point: the parameters, then each output's mean and 95% t interval across replicates."""
    keys = [p.key for p in sweep.parameters]
    rows = []
    for point, group in points.groupby("point", sort=True):
        row: dict[str, Any] = {"point": int(point), "replicates": len(group)}
        row.update({k: group[k].iloc[0] for k in keys})
        if sweep.ensemble:  # parametric and stochastic uncertainty (analysis/ensemble.py)
            row["members"] = group["member"].nunique()
        for output in sweep.outputs:
            if sweep.ensemble:
                combined = ensemble_interval(
                    [g[output.name].to_numpy() for _, g in group.groupby("member", sort=True)]
                )
                mean, (lo, hi) = combined["mean"], combined["ci95"]
            else:
                mean, lo, hi = mean_ci(group[output.name].to_numpy())
            row[output.name], row[f"{output.name}_ci_low"], row[f"{output.name}_ci_high"] = (
                mean,
                lo,
                hi,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def summary_markdown(sweep: Sweep, table: pd.DataFrame) -> str:
    """summary.csv as Markdown, each output 'mean [low, high]' (the first MARKDOWN_ROWS points)."""
    keys = [p.key for p in sweep.parameters]
    names = [o.name for o in sweep.outputs]
    header = ["point", *keys, *names]
    lines = [
        f"# Sweep {sweep.name}: mean [95% CI] across {sweep.replicates} replicate(s)"
        + (f" of each of {sweep.members} calibration-ensemble members (95% interval: "
           "parametric + stochastic)" if sweep.ensemble else ""),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for _, row in table.head(MARKDOWN_ROWS).iterrows():
        cells = [str(int(row["point"]))] + [_fmt(row[k]) for k in keys]
        for name in names:
            lo, hi = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
            cells.append(_fmt(row[name]) + ("" if np.isnan(lo) else f" [{_fmt(lo)}, {_fmt(hi)}]"))
        lines.append("| " + " | ".join(cells) + " |")
    if len(table) > MARKDOWN_ROWS:
        lines += [
            "",
            f"The first {MARKDOWN_ROWS} of {len(table)} points; summary.csv holds them all.",
        ]
    return "\n".join(lines) + "\n"


def _fmt(x: object) -> str:
    if isinstance(x, float | np.floating):
        return "n/a" if np.isnan(x) else f"{x:.4g}"
    return str(x)


def morris(sweep: Sweep, design: Design, points: pd.DataFrame) -> pd.DataFrame:
    """Morris elementary effects per output and parameter: mu*, mu, sigma, with bootstrap CIs.

    SALib gives mu* and its bootstrap interval; sigma's interval comes from the same bootstrap
    over trajectories (SALib's analysis of trajectories drawn with replacement).
    """
    from SALib.analyze import morris as salib_morris

    d = sweep.design
    spec = problem(sweep)
    k = len(sweep.parameters)
    means = point_means(sweep, points)
    steps = k + 1  # points per trajectory
    trajectories = len(design) // steps
    rng = np.random.default_rng(sweep.seed)
    draws = rng.integers(0, trajectories, size=(d.resamples, trajectories))
    alpha = (1 - d.confidence) / 2
    rows = []
    for output in sweep.outputs:
        y = means[output.name].to_numpy()
        result = salib_morris.analyze(
            spec,
            design.unit,
            y,
            num_resamples=d.resamples,
            conf_level=d.confidence,
            num_levels=d.levels,
            seed=sweep.seed,
        )
        sigmas = np.empty((d.resamples, k))
        assert design.unit is not None  # a Morris design is sampled
        x3, y2 = design.unit.reshape(trajectories, steps, k), y.reshape(trajectories, steps)
        for b, pick in enumerate(draws):
            boot = salib_morris.analyze(
                spec,
                x3[pick].reshape(-1, k),
                y2[pick].reshape(-1),
                num_resamples=10,
                num_levels=d.levels,
                seed=sweep.seed,
            )
            sigmas[b] = boot["sigma"]
        for i, key in enumerate(spec["names"]):
            half = float(result["mu_star_conf"][i])
            rows.append(
                {
                    "output": output.name,
                    "parameter": key,
                    "mu_star": float(result["mu_star"][i]),
                    "mu_star_ci_low": float(result["mu_star"][i]) - half,
                    "mu_star_ci_high": float(result["mu_star"][i]) + half,
                    "mu": float(result["mu"][i]),
                    "sigma": float(result["sigma"][i]),
                    "sigma_ci_low": float(np.nanquantile(sigmas[:, i], alpha)),
                    "sigma_ci_high": float(np.nanquantile(sigmas[:, i], 1 - alpha)),
                    "trajectories": trajectories,
                }
            )
    return pd.DataFrame(rows)


def sobol(sweep: Sweep, points: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Sobol first-order (S1) and total (ST) indices with bootstrap CIs (SALib), per output.

    Returns the S1/ST table and, with design.second_order, the S2 table. SALib's intervals are
    symmetric: the index +- the normal quantile times the bootstrap standard deviation.
    """
    from SALib.analyze import sobol as salib_sobol

    d = sweep.design
    spec = problem(sweep)
    means = point_means(sweep, points)
    rows, pairs = [], []
    for output in sweep.outputs:
        y = means[output.name].to_numpy()
        if np.ptp(y) == 0.0:  # a constant output has no variance to apportion
            result = {
                key: np.full(spec["num_vars"], np.nan) for key in ("S1", "S1_conf", "ST", "ST_conf")
            }
        else:
            result = salib_sobol.analyze(
                spec,
                y,
                calc_second_order=d.second_order,
                num_resamples=d.resamples,
                conf_level=d.confidence,
                seed=sweep.seed,
            )
        for i, key in enumerate(spec["names"]):
            s1, s1c, st, stc = (float(result[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
            rows.append(
                {
                    "output": output.name,
                    "parameter": key,
                    "S1": s1,
                    "S1_ci_low": s1 - s1c,
                    "S1_ci_high": s1 + s1c,
                    "ST": st,
                    "ST_ci_low": st - stc,
                    "ST_ci_high": st + stc,
                    "N": d.n,
                    "variance": float(np.var(y)),
                }
            )
        if d.second_order and "S2" in result:
            for i, a in enumerate(spec["names"]):
                for j in range(i + 1, spec["num_vars"]):
                    s2, s2c = float(result["S2"][i, j]), float(result["S2_conf"][i, j])
                    pairs.append(
                        {
                            "output": output.name,
                            "parameter": a,
                            "with": spec["names"][j],
                            "S2": s2,
                            "S2_ci_low": s2 - s2c,
                            "S2_ci_high": s2 + s2c,
                        }
                    )
    return pd.DataFrame(rows), (pd.DataFrame(pairs) if d.second_order else None)
