"""Replicates and scenario comparisons, with 95% confidence intervals across replicates.

Replicate r of a run uses seed + r, so scenarios compared with one seed share their random
numbers replicate by replicate (common random numbers): their difference is the mechanism.
"""

from __future__ import annotations

import gc
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import structures
from ..config.schema import Scenario
from ..model import PeerLearningModel

if TYPE_CHECKING:
    from ..scale.checkpoint import Checkpoints
    from ..scale.sharding import ShardedRun
    from .ensemble import Ensemble

# Final-week aggregates reported in summaries and comparison tables, with their labels.
SUMMARY_METRICS = {
    "mean_skill": "mean skill",
    "competent_fraction": "competent fraction",
    "expert_fraction": "expert fraction",
    "active_fraction": "active fraction (retention)",
    "gain_per_capita": "skill gained per capita",
    "mean_tutee_gain": "mean tutee gain / week",
    "mean_tutor_gain": "mean tutor gain / week",
    "expert_hours": "expert hours / week",
    "gain_per_expert_hour": "gain per expert hour",
    "peer_hours": "peer tutor hours / week",
    # Who is reached by experts (the format's sessions; connectivity's contacts).
    "expert_sessions": "learners taught by experts / week",
    "expert_contacts_per_learner": "expert contacts per learner / week",
    # Who is left behind: everyone who started, drop-outs included (core/aggregates.py).
    "itt_mean_skill": "mean skill, everyone who started (ITT)",
    "itt_gain": "skill gained since starting, everyone (ITT)",
    "itt_competent_fraction": "competent fraction, everyone (ITT)",
    # What it costs (`run_totals`).
    "teaching_hours": "teaching hours over the run (expert + peer + preparation)",
    "hours_per_gain": "teaching hours per unit of skill gained",
}

# Per starting band (core.aggregates.START_BAND_METRICS), for the bands of the runs shown.
START_BAND_ROWS = {
    "start_band_{k}_active_fraction": "started in {band}: still active",
    "start_band_{k}_gain": "started in {band}: skill gained (ITT)",
    "start_band_{k}_competent_fraction": "started in {band}: competent (ITT)",
}

# The weekly metrics that are hours spent teaching that week, all learners together: a run's
# cost is their sum over the weeks (`run_totals`). `peer_hours` is the peer tutors' time (where
# a structure reports it); `preparation_hours_total` the study groups' session preparation.
COST_HOURS = ("expert_hours", "peer_hours", "preparation_hours_total")


def start_band_rows(bands: int) -> dict[str, str]:
    """The summary rows of each starting band (bottom first), with labels naming its skills."""
    rows = {}
    for k in range(bands):
        band = f"skill {k / bands:.2f}-{(k + 1) / bands:.2f}"
        rows.update({key.format(k=k): label.format(band=band)
                     for key, label in START_BAND_ROWS.items()})
    return rows


def run_totals(weeks: pd.DataFrame, peers: bool) -> dict[str, float]:
    """What one replicate gained and what it cost, from its weekly metrics (weeks 0 to the end).

    The one definition of the cost metrics:
    - `gain_per_capita`: the weekly mean gains added up (skill gained per learner present);
    - `teaching_hours`: the COST_HOURS metrics summed over the weeks;
    - `hours_per_gain`: teaching hours / total skill gained, where total skill gained is the sum
      over the weeks of mean_gain x present: every learner present, drop-outs included (their
      forgetting after leaving counts against the gain, as intention to treat counts them).
      It is the hours it takes to raise one learner by one unit of skill (novice to frontier).
      NaN where nothing was gained, and where learners teach each other but the structure
      reports no `peer_hours`: peer tutors' time is then unknown, not zero.
    """
    gained = float((weeks["mean_gain"] * weeks["present"]).sum())
    hours = float(sum(weeks[name].sum() for name in COST_HOURS if name in weeks))
    unknown = peers and "peer_hours" not in weeks
    return {
        "gain_per_capita": float(weeks["mean_gain"].sum()),
        "teaching_hours": hours,
        "hours_per_gain": hours / gained if gained > 0 and not unknown else float("nan"),
    }


def summary_metrics(runs: Sequence[RunSet]) -> dict[str, str]:
    """The summary metrics of `runs` with their labels: the common ones, then each structure's."""
    keys = dict(SUMMARY_METRICS)
    for run in runs:
        keys.update(run.scenario.structure.summary_rows)
    for bands in sorted({run.scenario.metrics.bands for run in runs}):
        keys.update(start_band_rows(bands))
    return keys


def t_critical(df: int, confidence: float = 0.95) -> float:
    """Two-sided Student t quantile (scipy-free: exact table for small df, normal beyond)."""
    if df <= 0:
        return float("nan")
    table = {
        1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
        18: 2.101, 19: 2.093, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
    }
    if confidence != 0.95:
        raise ValueError("only 95% intervals are tabulated")
    if df in table:
        return table[df]
    keys = sorted(table)
    for lo, hi in pairwise(keys):
        if lo < df < hi:  # interpolate in 1/df, accurate to 1e-3
            w = (1 / df - 1 / hi) / (1 / lo - 1 / hi)
            return table[hi] + w * (table[lo] - table[hi])
    return 1.96


def mean_ci(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and the 95% t confidence interval across replicates (nan width for one replicate)."""
    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan"), float("nan")
    half = t_critical(x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half


@dataclass
class RunSet:
    """The per-week metrics of every replicate of one scenario."""

    scenario: Scenario
    seeds: list[int]
    frame: pd.DataFrame
    wall_time: float
    final_models: list[PeerLearningModel | ShardedRun] = field(default_factory=list, repr=False)

    def final(self) -> pd.DataFrame:
        """One row per replicate: the last week's metrics, plus skill gained per capita."""
        last = self.frame[self.frame["step"] == self.frame["step"].max()].copy()
        peers = self.scenario.structure.peers
        totals = {r: run_totals(weeks, peers) for r, weeks in self.frame.groupby("replicate")}
        for name in ("gain_per_capita", "teaching_hours", "hours_per_gain"):
            last[name] = [totals[r][name] for r in last["replicate"]]
        return last.reset_index(drop=True)

    def summary(self) -> dict:
        """Mean and 95% CI of each summary metric this run reports, at the final week."""
        final = self.final()
        out = {}
        for key in summary_metrics([self]):
            mean, lo, hi = mean_ci(final[key])
            out[key] = {"mean": mean, "ci95": [lo, hi]}
        return out


def run_scenario(
    scenario: Scenario,
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    progress: Callable[[int], None] | None = None,
    keep_models: bool = False,
    shards: int = 1,
    client=None,
    checkpoints: Checkpoints | None = None,
    ensemble: int | Ensemble | None = None,
) -> RunSet:
    """Run replicates of one scenario; progress(agent_updates) is called after every week.

    With `ensemble` (a member count K, or an analysis.ensemble.Ensemble) the scenario runs under
    the first K members of the calibration ensemble, the same seeds in each, and the result is an
    EnsembleRunSet whose summary combines parametric and stochastic uncertainty.

    With shards > 1 (or a dask.distributed `client`) each replicate is a sharding.ShardedRun:
    the same numbers, the population split into shards (on the client's workers, if given).

    With `checkpoints` (scale/checkpoint.py) the run continues from their newest checkpoint
    (finished replicates are not run again) and writes one every `checkpoints.every` weeks and
    at the start of each replicate; the metrics are those of an uninterrupted run, bit for bit.
    """
    if ensemble is not None:
        if checkpoints is not None:
            raise ValueError("checkpoints are not kept for ensemble runs")
        from .ensemble import run_ensemble

        return run_ensemble(scenario, ensemble, replicates, seed, steps, progress,
                            keep_models=keep_models, shards=shards, client=client)
    replicates = replicates or scenario.run.replicates
    seed = scenario.run.seed if seed is None else seed
    if steps is not None:
        scenario = scenario.with_overrides({"run.steps": steps})
    start = time.perf_counter()
    frames: list[pd.DataFrame] = []
    models: list[PeerLearningModel | ShardedRun] = []
    seeds = [seed + r for r in range(replicates)]
    saved = checkpoints.latest() if checkpoints is not None else None
    first = 0
    if saved is not None:
        frames, first = saved.completed(), saved.replicate
    for r in range(first, replicates):
        s = seeds[r]
        if shards > 1 or client is not None:
            from ..scale.sharding import ShardedRun

            model: PeerLearningModel | ShardedRun = ShardedRun(
                scenario, seed=s, shards=shards, client=client
            )
        else:
            model = PeerLearningModel(scenario, seed=s)
        if saved is not None and saved.replicate == r and saved.started:
            model.read_checkpoint(saved.folder, saved.current())
        model.run(progress=_weekly(model, r, s, frames, progress, checkpoints))
        frames.append(_replicate_frame(model, r, s))
        if checkpoints is not None:  # this replicate is done: the next starts from here
            checkpoints.save(r + 1, 0, s + 1, pd.concat(frames, ignore_index=True))
        if keep_models:
            models.append(model)
        # Let this replicate's arrays go before the next is allocated: at 10^9 agents two
        # models (12 GB each) would not fit, and the memory guard would refuse the second. A
        # mesa.Model sits in reference cycles, so only the cycle collector frees it.
        del model
        gc.collect()
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "scenario", scenario.name)
    return RunSet(scenario, seeds, frame, time.perf_counter() - start, models)


def _replicate_frame(model: PeerLearningModel | ShardedRun, r: int, seed: int) -> pd.DataFrame:
    """The weekly metrics of replicate `r` so far, with its replicate number and seed."""
    frame = model.metrics_frame().reset_index(drop=True)
    frame.insert(0, "replicate", r)
    frame.insert(1, "seed", seed)
    return frame


def _weekly(
    model: PeerLearningModel | ShardedRun, r: int, seed: int, frames: list[pd.DataFrame],
    progress: Callable[[int], None] | None, checkpoints: Checkpoints | None,
) -> Callable[[int], None] | None:
    """What runs after each week: the progress report (agents updated), and a checkpoint when due.

    Returns None if there is nothing to do.
    """
    if progress is None and checkpoints is None:
        return None
    steps = model.scenario.run.steps

    def after(week: int) -> None:
        if progress is not None:
            progress(model.metrics["present"])
        if checkpoints is not None and checkpoints.due(week, steps):
            records = pd.concat([*frames, _replicate_frame(model, r, seed)], ignore_index=True)
            checkpoints.save(r, week, seed, records, model)

    return after


def compare(
    scenarios: Sequence[Scenario],
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    progress: Callable[[int], None] | None = None,
    ensemble: int | Ensemble | None = None,
) -> list[RunSet]:
    """Run scenarios with the same seeds (common random numbers), one RunSet each.

    With `ensemble`, each scenario runs under the same first K members (EnsembleRunSets).
    """
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names must differ to be compared: {names}")
    return [
        run_scenario(s, replicates, seed, steps, progress, ensemble=ensemble) for s in scenarios
    ]


def comparison_table(runs: Sequence[RunSet]) -> pd.DataFrame:
    """One row per scenario: final-week metrics as mean and 95% CI across replicates."""
    rows = []
    keys = summary_metrics(runs)
    for run in runs:
        summary = run.summary()
        row = {"scenario": run.scenario.name, "structure": run.scenario.program.structure,
               "replicates": len(run.seeds)}
        if hasattr(run, "runs"):  # an ensemble run (analysis/ensemble.py): how many members
            row["members"] = len(run.runs)
        missing = {"mean": float("nan"), "ci95": [float("nan"), float("nan")]}
        for key in keys:
            row[key] = summary.get(key, missing)["mean"]
            row[f"{key}_ci_low"], row[f"{key}_ci_high"] = summary.get(key, missing)["ci95"]
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame) -> str:
    """The comparison table as Markdown, each cell 'mean [low, high]'."""
    labels = dict(SUMMARY_METRICS)
    for structure in structures.all_structures():
        labels.update(structure.summary_rows)
    bands = sum(1 for column in table.columns if re.fullmatch(r"start_band_\d+_gain", column))
    labels.update(start_band_rows(bands))
    keys = {k: v for k, v in labels.items() if k in table.columns}
    header = ["scenario", "structure", *keys.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [str(row["scenario"]), str(row["structure"])]
        for key in keys:
            lo, hi = row[f"{key}_ci_low"], row[f"{key}_ci_high"]
            ci = "" if np.isnan(lo) else f" [{_fmt(lo)}, {_fmt(hi)}]"
            cells.append(_fmt(row[key]) + ci)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{x:.4g}"
