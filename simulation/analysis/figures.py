"""Figures of runs and comparisons: lines are replicate means, bands their 95% CIs."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; the dashboard builds its own figures
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..config.errors import one_line
from .runner import RunSet, t_critical

PANELS = (
    ("mean_skill", "Mean skill of active learners", "skill (0 novice, 1 frontier)"),
    ("competent_fraction", "Competent learners", "fraction of active learners"),
    ("active_fraction", "Retention", "fraction still active"),
    ("mean_tutee_gain", "Peer learning: tutee gain", "skill per week per tutee"),
    ("mean_tutor_gain", "Learning by teaching: tutor gain", "skill per week per tutor"),
    ("gain_per_expert_hour", "Gain per expert hour", "skill per expert hour"),
)


# Flows within a week (gains, efficacy, expert output) have no value before the first week.
FLOWS = {"mean_tutee_gain", "mean_tutor_gain", "gain_per_expert_hour", "mean_partner_efficacy"}


# Longest name shown in a legend or title: longer ones leave no room for the panels.
LABEL_CHARACTERS = 60


def literal(text: str, limit: int = LABEL_CHARACTERS) -> str:
    """A scenario name or title as matplotlib should show it: literally, on one line, short.

    Control characters are escaped (config/errors.py, one_line), '$' is escaped so a name such
    as 'cost $5' is not parsed as mathematics (where an unbalanced '$' is an error), and text
    beyond `limit` characters is cut with '...' (the full name is in the results files).
    """
    text = one_line(text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.replace("$", r"\$")


def _band(
    frame: pd.DataFrame, column: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weekly mean of a metric across replicates and its 95% CI."""
    if column in FLOWS:
        frame = frame[frame["step"] > 0]
    if "member" in frame and frame["member"].nunique() > 1:
        # An ensemble run: the spread of the member means (analysis/ensemble.py), not a t
        # interval over every run, which would treat members as replicates.
        frame = frame.groupby(["step", "member"], as_index=False)[column].mean()
        members = frame.groupby("step")[column]
        mean, sd, k = members.mean(), members.std(ddof=1).fillna(0.0), members.count()
        t = np.array([t_critical(int(n) - 1) for n in k])
        half = t * sd.to_numpy() * np.sqrt(1.0 + 1.0 / k.to_numpy())
        centre = mean.to_numpy()
        return mean.index.to_numpy(), centre, centre - half, centre + half
    grouped = frame.groupby("step")[column]
    mean = grouped.mean()
    n = grouped.count()
    sd = grouped.std(ddof=1).fillna(0.0)
    t = np.array([t_critical(int(k) - 1) if k > 1 else 0.0 for k in n])
    half = t * sd.to_numpy() / np.sqrt(n.to_numpy())
    return mean.index.to_numpy(), mean.to_numpy(), mean.to_numpy() - half, mean.to_numpy() + half


def _pyramid(ax, runs: Sequence[RunSet]) -> None:
    """Final pyramid: active learners per skill band, bottom band at the bottom."""
    bands = runs[0].scenario.metrics.bands
    height = 0.8 / len(runs)
    for k, run in enumerate(runs):
        last = run.frame[run.frame["step"] == run.frame["step"].max()]
        counts = np.array([last[f"band_{b}"].mean() for b in range(bands)])
        share = counts / max(counts.sum(), 1)
        y = np.arange(bands) - 0.4 + height * (k + 0.5)
        ax.barh(y, share, height=height, label=_name(run), color=f"C{k}")
    ax.set_yticks(range(bands), [f"{b / bands:.1f}-{(b + 1) / bands:.1f}" for b in range(bands)])
    ax.set_xlabel("share of active learners")
    ax.set_ylabel("skill band")
    ax.set_title("Expertise pyramid at the end")


def _by_start_band(ax, runs: Sequence[RunSet], metric: str, title: str, xlabel: str) -> None:
    """A final-week metric per starting band (bottom band at the bottom), one bar per run."""
    bands = runs[0].scenario.metrics.bands
    height = 0.8 / len(runs)
    for k, run in enumerate(runs):
        last = run.frame[run.frame["step"] == run.frame["step"].max()]
        columns = [f"start_band_{b}_{metric}" for b in range(bands)]
        if any(c not in last for c in columns):
            continue
        values = np.array([last[c].mean() for c in columns])
        y = np.arange(bands) - 0.4 + height * (k + 0.5)
        ax.barh(y, values, height=height, label=_name(run), color=f"C{k}")
    ax.set_yticks(range(bands), [f"{b / bands:.1f}-{(b + 1) / bands:.1f}" for b in range(bands)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("starting skill band")
    ax.set_title(title)


def _name(run: RunSet) -> str:
    """A run's label: its scenario's name (an empty name would leave the legend without one)."""
    return literal(run.scenario.name) or "(unnamed scenario)"


def _left_behind_row(axes, runs: Sequence[RunSet]) -> None:
    """Who is left behind: everyone who started (ITT), and the final week by starting band."""
    ax = axes[0]
    for k, run in enumerate(runs):
        for column, style in (("itt_mean_skill", "-"), ("mean_skill", "--")):
            x, mean, lo, hi = _band(run.frame, column)
            ax.plot(x, mean, style, color=f"C{k}",
                    label=_name(run) if style == "-" else None)
            if len(run.seeds) > 1 and style == "-":
                ax.fill_between(x, lo, hi, color=f"C{k}", alpha=0.2, linewidth=0)
    ax.set_title("Everyone who started (ITT) vs active only")
    ax.set_xlabel("week")
    ax.set_ylabel("mean skill (solid ITT, dashed active)")
    ax = axes[1]
    for k, run in enumerate(runs):
        x, mean, lo, hi = _band(run.frame, "itt_competent_fraction")
        ax.plot(x, mean, color=f"C{k}", label=_name(run))
        if len(run.seeds) > 1:
            ax.fill_between(x, lo, hi, color=f"C{k}", alpha=0.2, linewidth=0)
    ax.set_title("Competent, everyone who started (ITT)")
    ax.set_xlabel("week")
    ax.set_ylabel("fraction of all who started")
    _by_start_band(axes[2], runs, "active_fraction", "Still active, by starting band",
                   "fraction still active at the end")
    _by_start_band(axes[3], runs, "gain", "Skill gained, by starting band (ITT)",
                   "skill now - starting skill")


def _structure_row(axes, runs: Sequence[RunSet], panels) -> None:
    """A structure's own panels (its `figure_panels`): a metric over time, dashed companion."""
    for ax, panel in zip(axes, panels, strict=False):  # up to four panels on a row of four
        for k, run in enumerate(runs):
            if panel.column not in run.frame:
                continue
            name = _name(run)
            lines: list[tuple[str, str, str | None]] = [(panel.column, "-", name)]
            if panel.companion:
                lines.append((panel.companion, "--", None))
            for name, style, label in lines:
                x, mean, lo, hi = _band(run.frame, name)
                ax.plot(x, mean, style, color=f"C{k}", label=label)
                if len(run.seeds) > 1:
                    ax.fill_between(x, lo, hi, color=f"C{k}", alpha=0.2, linewidth=0)
        ax.set_title(panel.title)
        ax.set_xlabel("week")
        ax.set_ylabel(panel.ylabel)


def plot_runs(runs: Sequence[RunSet], stem: Path, title: str) -> list[Path]:
    """The main metrics over time for one or more scenarios; writes PNG and PDF."""
    # A third row for the structures' own panels (study groups: survival, completion, hierarchy).
    extra = tuple(
        dict.fromkeys(p for run in runs for p in run.scenario.structure.figure_panels)
    )[:4]
    # Rows: the common panels (two), who is left behind, then the structures' own panels.
    rows = 4 if extra else 3
    fig, axes = plt.subplots(rows, 4, figsize=(17, 3.7 * rows + 0.4), constrained_layout=True)
    try:  # closed on every path: pyplot keeps an unclosed figure for the process's life
        flat = list(axes.flat)
        # 6 of the first 8 panels
        for ax, (column, panel_title, ylabel) in zip(flat, PANELS, strict=False):
            for k, run in enumerate(runs):
                x, mean, lo, hi = _band(run.frame, column)
                ax.plot(x, mean, color=f"C{k}", label=_name(run))
                if len(run.seeds) > 1:
                    ax.fill_between(x, lo, hi, color=f"C{k}", alpha=0.25, linewidth=0)
            ax.set_title(panel_title)
            ax.set_xlabel("week")
            ax.set_ylabel(ylabel)
        _pyramid(flat[6], runs)
        ax = flat[7]
        for k, run in enumerate(runs):
            x, mean, lo, hi = _band(run.frame, "mean_partner_efficacy")
            ax.plot(x, mean, color=f"C{k}", label=_name(run))
        ax.set_title("Fit of the chosen peer")
        ax.set_xlabel("week")
        ax.set_ylabel("mean efficacy (1 = at the optimal gap)")
        _left_behind_row(flat[8:12], runs)
        if extra:
            _structure_row(flat[12:], runs, extra)
        flat[0].legend(loc="best", fontsize="small")
        replicates = len(runs[0].seeds)
        plural = "s" if replicates > 1 else ""
        what = f"{replicates} replicate{plural}; bands: 95% CI"
        members = getattr(runs[0], "runs", None)  # an ensemble run (analysis/ensemble.py)
        if members is not None and len(members) > 1:
            what = (f"{len(members)} ensemble members x {replicates} replicate{plural}; bands: 95% "
                    "interval, parametric + stochastic")
        fig.suptitle(f"{literal(title, 2 * LABEL_CHARACTERS)} ({what})")
        paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
        with warnings.catch_warnings():
            # A name in a script the font lacks is drawn as boxes; the name is in the results files.
            warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
            for path in paths:
                fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
    return paths
