"""Figures of a sweep, one kind per design.

Lines with 95% CI bands for a one-parameter grid, heatmaps for two, each output against each
parameter otherwise; Morris mu*-sigma plots and Sobol bar charts with their confidence
intervals. Each is written as PNG and PDF.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .spec import Sweep


def _per_output(sweep: Sweep, width: float, height: float) -> tuple[Figure, list[tuple[Axes, str]]]:
    """A figure with one panel per output (3 columns); returns it and (axes, output name) pairs."""
    names = [o.name for o in sweep.outputs]
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False, constrained_layout=True
    )
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    return fig, list(zip(axes.flat, names, strict=False))


def _save(fig: Figure, stem: Path) -> list[Path]:
    """Write the figure as PNG and PDF (each atomically) and close it."""
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    try:  # closed on every path: pyplot keeps an unclosed figure for the process's life
        for path in paths:
            tmp = path.with_name(f".{path.name}.tmp")
            fig.savefig(tmp, dpi=120, format=path.suffix[1:])
            tmp.replace(path)
    finally:
        plt.close(fig)
    return paths


def _label(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)


def plot_design(sweep: Sweep, table: pd.DataFrame, stem: Path) -> list[Path]:
    """The per-point summary as lines (one parameter), heatmaps (two) or scatter panels."""
    keys = [p.key for p in sweep.parameters]
    names = [o.name for o in sweep.outputs]
    grid = sweep.design.kind == "grid"
    lines = grid and len(keys) == 1
    if lines:
        fig, panels = _per_output(sweep, 5, 3.8)
        key = keys[0]
        numeric = pd.api.types.is_numeric_dtype(table[key])
        x = table[key].to_numpy() if numeric else np.arange(len(table))
        for ax, name in panels:
            ax.plot(x, table[name], marker="o")
            if sweep.replicates > 1:
                ax.fill_between(
                    x, table[f"{name}_ci_low"], table[f"{name}_ci_high"], alpha=0.25, linewidth=0
                )
            if not numeric:
                ax.set_xticks(x, [str(v) for v in table[key]])
            ax.set_xlabel(key)
            ax.set_title(name)
    elif grid and len(keys) == 2:
        fig, panels = _per_output(sweep, 5.2, 4.4)
        a, b = keys
        for ax, name in panels:
            pivot = table.pivot_table(index=b, columns=a, values=name, aggfunc="mean")
            image = ax.imshow(pivot.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(pivot.shape[1]), [_label(v) for v in pivot.columns])
            ax.set_yticks(range(pivot.shape[0]), [_label(v) for v in pivot.index])
            values = pivot.to_numpy()
            middle = (np.nanmin(values) + np.nanmax(values)) / 2
            for (i, j), value in np.ndenumerate(values):  # dark text on the bright half of viridis
                colour = "black" if value > middle else "white"
                ax.text(j, i, f"{value:.3g}", ha="center", va="center", color=colour, fontsize=8)
            ax.set_xlabel(a)
            ax.set_ylabel(b)
            ax.set_title(name)
            fig.colorbar(image, ax=ax, shrink=0.8)
    else:
        fig, axes = plt.subplots(
            len(names),
            len(keys),
            figsize=(3.2 * len(keys), 2.8 * len(names)),
            squeeze=False,
            constrained_layout=True,
        )
        for i, name in enumerate(names):
            for j, key in enumerate(keys):
                ax = axes[i, j]
                ax.scatter(table[key], table[name], s=6, alpha=0.6)
                if i == len(names) - 1:
                    ax.set_xlabel(key, fontsize=8)
                if j == 0:
                    ax.set_ylabel(name, fontsize=8)
                ax.tick_params(labelsize=7)
    fig.suptitle(
        f"Sweep {sweep.name} ({sweep.design.kind}, {len(table)} points, {sweep.replicates} "
        f"replicate(s){'; bands: 95% CI' if lines and sweep.replicates > 1 else ''})"
    )
    return _save(fig, stem)


def plot_morris(sweep: Sweep, table: pd.DataFrame, stem: Path) -> list[Path]:
    """mu* against sigma per output, with the bootstrap intervals of both."""
    fig, panels = _per_output(sweep, 5.2, 4.4)
    for ax, name in panels:
        part = table[table["output"] == name]
        xerr = [part["mu_star"] - part["mu_star_ci_low"], part["mu_star_ci_high"] - part["mu_star"]]
        yerr = [part["sigma"] - part["sigma_ci_low"], part["sigma_ci_high"] - part["sigma"]]
        ax.errorbar(
            part["mu_star"],
            part["sigma"],
            xerr=np.clip(xerr, 0, None),
            yerr=np.clip(yerr, 0, None),
            fmt="o",
            ms=4,
            elinewidth=0.8,
            capsize=2,
        )
        # Labels only for parameters with a visible effect: the rest sit together near zero.
        visible = part["mu_star"] >= 0.05 * part["mu_star"].max()
        for _, row in part[visible].iterrows():
            ax.annotate(
                row["parameter"],
                (row["mu_star"], row["sigma"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set_xlabel("mu* (mean |elementary effect| per full range)")
        ax.set_ylabel("sigma (spread: interactions, nonlinearity)")
        ax.set_title(name)
    fig.suptitle(
        f"Morris screening: {sweep.name} ({sweep.design.trajectories} trajectories, "
        f"{sweep.design.levels} levels; bars: {sweep.design.confidence:.0%} bootstrap CIs)"
    )
    return _save(fig, stem)


def plot_sobol(sweep: Sweep, table: pd.DataFrame, stem: Path) -> list[Path]:
    """S1 and ST per parameter and output, with their confidence intervals."""
    keys = [p.key for p in sweep.parameters]
    fig, panels = _per_output(sweep, 5.6, 0.32 * len(keys) + 1.5)
    y = np.arange(len(keys))
    for ax, name in panels:
        part = table[table["output"] == name].set_index("parameter").loc[keys]
        for offset, index, colour in ((-0.2, "S1", "C0"), (0.2, "ST", "C3")):
            err = [part[index] - part[f"{index}_ci_low"], part[f"{index}_ci_high"] - part[index]]
            ax.barh(
                y + offset,
                part[index],
                height=0.38,
                color=colour,
                label=index,
                xerr=np.nan_to_num(err),
                error_kw={"elinewidth": 0.8, "capsize": 2},
            )
        ax.set_yticks(y, keys, fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_xlabel("share of the output's variance")
        ax.set_title(name)
    panels[0][0].legend(loc="lower right", fontsize="small")
    fig.suptitle(
        f"Sobol indices: {sweep.name} (N = {sweep.design.n}, {sweep.replicates} replicate(s) "
        f"per point; bars: {sweep.design.confidence:.0%} bootstrap CIs)"
    )
    return _save(fig, stem)
