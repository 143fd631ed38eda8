"""The calibration targets T1-T6 as virtual trials, run under one parameter set.

Each target is a trial file in trials/ (two arms, a horizon, a group and the published value with
its band). `evaluate(parameters)` runs every trial with the same calibrated-parameter overrides
applied to both arms (none: the schema defaults) and returns one row per target, with the
simulated statistic and its 95% CI across replicates. run.py tabulates and plots the rows;
fit.py searches for the parameters that bring every row inside its band.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.analysis.trial import Trial, TrialResult, load_trial, run_trial

HERE = Path(__file__).resolve().parent
TRIALS = HERE / "trials"

# A secondary check from the same literature (docs/calibration.md): in the school programme of T2
# (both roles), tutors' weekly gains from teaching are of the same order as tutees' (ratio 0.8-1.2).
RATIO_BAND = (0.8, 1.2)


def load_targets() -> list[Trial]:
    """Every trial file in trials/, in file order (t1 ... t6)."""
    return [load_trial(path) for path in sorted(TRIALS.glob("t*.toml"))]


def with_parameters(trial: Trial, parameters: Mapping[str, Any] | None) -> Trial:
    """The trial with the same parameter overrides applied to both arms."""
    if not parameters:
        return trial
    source = f"{trial.source} (calibration parameters)"
    return trial.with_changes(
        control=trial.control.with_overrides(dict(parameters), source=source),
        treatment=trial.treatment.with_overrides(dict(parameters), source=source),
    )


def row(result: TrialResult) -> dict:
    """One table row: target, published value and band, source, simulated value and 95% CI."""
    trial = result.trial
    target = trial.target
    mean, low, high = result.statistic(target.statistic)
    tutor = result.summary["tutor_gain_treatment"]["mean"]
    tutee = result.summary["tutee_gain_treatment"]["mean"]
    return {
        "target": trial.name,
        "statistic": target.statistic,
        "published": target.value,
        "band_low": target.low,
        "band_high": target.high,
        "source": target.source,
        "setting": target.setting,
        "weeks": trial.weeks,
        "group": trial.group,
        "simulated": mean,
        "ci_low": low,
        "ci_high": high,
        "inside": bool(target.inside(mean)),
        "replicates": len(result.replicates),
        "tutor_tutee_gain_ratio": tutor / tutee if tutee > 0 else float("nan"),
    }


def evaluate(parameters: Mapping[str, Any] | None = None, replicates: int | None = None,
             seed: int | None = None, trials: list[Trial] | None = None) -> pd.DataFrame:
    """Run every target trial under `parameters`; one row per target."""
    rows = []
    for trial in trials or load_targets():
        result = run_trial(with_parameters(trial, parameters), replicates=replicates, seed=seed)
        rows.append(row(result))
    return pd.DataFrame(rows)
