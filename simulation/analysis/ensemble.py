"""The calibration ensemble: results under K parameter sets that all reproduce T1-T6.

The ensemble file (experiments/calibration/ensemble.csv, made by
experiments/calibration/ensemble.py; docs/calibration.md, section 4b) holds one row per member:
its number, name, how it was chosen, the value of every calibrated parameter (the columns with a
dot: `learning.peer_rate`, ...) and its simulated T1-T6 (`sim_*`). Member 0 is the schema
defaults ("default"); the others are in a random order, so the first K are a simple random
sample of the accepted sets. `--ensemble K` runs members 0..K-1.

A member's values are overrides applied on top of a scenario (only the calibrated keys), after
the scenario file and `--set`; a `--set` (or a sweep parameter) on a calibrated key together with
`--ensemble` is refused (one line, exit code 2): the member's value would silently replace it, and
a calibrated parameter moved by hand is no longer a member of the ensemble.

The interval (`ensemble_interval`) combines the parametric and the stochastic uncertainty. Each
member m gives a mean over its R replicates, y_m (with a 95% t interval of its own); the output
is reported as the mean of the member means, with the 95% prediction interval of the output
under a parameter set drawn from the ensemble:

    mean(y_m) +- t(K-1) * s_B * sqrt(1 + 1/K),   s_B^2 = the variance of the K member means.

s_B^2 estimates the parametric variance plus the stochastic variance of an R-replicate mean
(s_W^2 / R, reported beside it as `sd_within`), so the interval covers both; it does not shrink
as K grows (the calibration's uncertainty does not go away with more members), only its estimate
steadies. With K = 1 the interval is the usual t interval across replicates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.errors import ScenarioError
from ..config.schema import Scenario, parameter_keys
from .runner import RunSet, mean_ci, run_scenario, summary_metrics, t_critical

# Where the ensemble lives: beside the calibration that made it (the package is installed from
# the source tree; PEERSCALE_ENSEMBLE or `path=` name another file).
ENSEMBLE_FILE = (
    Path(__file__).resolve().parents[2] / "experiments" / "calibration" / "ensemble.csv"
)
ENSEMBLE_ENV = "PEERSCALE_ENSEMBLE"
ENSEMBLE_HELP = (
    "run under the first K members of the calibration ensemble "
    "(experiments/calibration/ensemble.csv; member 0 = the defaults) and report intervals that "
    "combine parametric and stochastic uncertainty"
)


@dataclass(frozen=True)
class Member:
    """One calibrated parameter set: its overrides and the T1-T6 values it gave."""

    index: int
    name: str
    chosen_by: str
    values: dict[str, float]
    targets: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The member as the manifests record it."""
        return {"member": self.index, "name": self.name, "chosen_by": self.chosen_by,
                "values": dict(self.values)}


@dataclass(frozen=True)
class Ensemble:
    """Members in the file's order, the calibrated keys they set, and the file they came from."""

    members: tuple[Member, ...]
    keys: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.members)

    def first(self, k: int) -> Ensemble:
        """Members 0..k-1 (the file's order); a k the file cannot give is a ScenarioError."""
        if not 1 <= k <= len(self.members):
            raise ScenarioError(
                "--ensemble", f"{k} members asked for: allowed 1 to {len(self.members)} "
                f"(the members of {self.source})",
            )
        return Ensemble(self.members[:k], self.keys, self.source)

    def apply(self, scenario: Scenario, member: Member) -> Scenario:
        """The scenario with the member's calibrated values (nothing else changes)."""
        return scenario.with_overrides(
            dict(member.values), source=f"{self.source} (member {member.index})"
        )

    def refuse(self, keys: Iterable[str], source: str) -> None:
        """Refuse overrides of calibrated keys together with the ensemble (one line)."""
        clash = sorted({k.split("=")[0].split("[")[0].strip() for k in keys} & set(self.keys))
        if clash:
            raise ScenarioError(
                source, f"{', '.join(clash)} is set by every ensemble member: drop it, or drop "
                f"--ensemble (calibrated keys: {', '.join(self.keys)})",
            )

    def refuse_scenario(self, scenario: Scenario, source: str) -> None:
        """Refuse a scenario that moves a calibrated key from its default (file or --set)."""
        here, default = scenario.model_dump(), Scenario().model_dump()
        moved = [
            k for k in self.keys
            if here[k.split(".")[0]][k.split(".")[1]] != default[k.split(".")[0]][k.split(".")[1]]
        ]
        self.refuse(moved, source)

    def to_json(self) -> dict[str, Any]:
        """Which members ran, with their values (manifests record this)."""
        return {"file": self.source, "members": [m.to_json() for m in self.members],
                "interval": "mean of member means +- t(K-1) s_B sqrt(1 + 1/K) "
                            "(simulation/analysis/ensemble.py)"}


def ensemble_path(path: str | Path | None = None) -> Path:
    """The ensemble file: `path`, else $PEERSCALE_ENSEMBLE, else the calibration's own."""
    import os

    return Path(path or os.environ.get(ENSEMBLE_ENV) or ENSEMBLE_FILE)


def load_ensemble(path: str | Path | None = None) -> Ensemble:
    """Read an ensemble file; a missing or malformed one is a ScenarioError (one line)."""
    file = ensemble_path(path)
    source = str(file)
    if not file.is_file():
        raise ScenarioError(
            source, "no ensemble file here: make it with "
            "`python experiments/calibration/ensemble.py`",
        )
    try:
        frame = pd.read_csv(file)
    except (OSError, ValueError) as exc:
        raise ScenarioError(source, f"not a readable ensemble file ({exc})") from None
    keys = tuple(c for c in frame.columns if "." in c)
    unknown = sorted(set(keys) - set(parameter_keys()))
    if not keys or unknown or not {"member", "name"} <= set(frame.columns) or frame.empty:
        which = f" (unknown: {', '.join(unknown)})" if unknown else ""
        raise ScenarioError(
            source, "not an ensemble file: it needs member and name columns, rows, and "
            f"schema keys as parameter columns{which}",
        )
    if list(frame["member"]) != list(range(len(frame))):
        raise ScenarioError(source, "members must be numbered 0, 1, 2, ... in order", key="member")
    members = tuple(
        Member(
            index=int(row["member"]), name=str(row["name"]),
            chosen_by=str(row.get("chosen_by", "")),
            values={k: float(row[k]) for k in keys},
            targets={c[4:]: float(row[c]) for c in frame.columns if c.startswith("sim_")},
        )
        for _, row in frame.iterrows()
    )
    return Ensemble(members, keys, source)


def choose(k: int, path: str | Path | None = None) -> Ensemble:
    """The first `k` members of the ensemble file."""
    return load_ensemble(path).first(k)


# ----------------------------------------------------------------------------------------------
# The combined interval


def ensemble_interval(values: Sequence[Sequence[float]] | np.ndarray) -> dict[str, Any]:
    """Mean and 95% interval of an output over members (rows) and their replicates (columns).

    Returns mean, ci95 (the combined interval, see the module docstring), the member means,
    sd_between (SD of the member means), sd_within (the typical SD of one member's mean over its
    replicates: the stochastic part), and stochastic_ci95 (member 0's own t interval).
    """
    rows = [np.asarray(v, dtype=np.float64) for v in values]
    means = np.array([r.mean() for r in rows])
    k = len(means)
    own = mean_ci(rows[0].tolist())
    within = [r.var(ddof=1) / r.size for r in rows if r.size > 1]
    sd_within = math.sqrt(float(np.mean(within))) if within else float("nan")
    if k == 1:
        return {"mean": own[0], "ci95": [own[1], own[2]], "members": means.tolist(),
                "sd_between": float("nan"), "sd_within": sd_within,
                "stochastic_ci95": [own[1], own[2]]}
    mean = float(means.mean())
    sd_between = float(means.std(ddof=1))
    half = t_critical(k - 1) * sd_between * math.sqrt(1.0 + 1.0 / k)
    return {"mean": mean, "ci95": [mean - half, mean + half], "members": means.tolist(),
            "sd_between": sd_between, "sd_within": sd_within,
            "stochastic_ci95": [own[1], own[2]]}


# ----------------------------------------------------------------------------------------------
# Runs under the ensemble


def resolve(ensemble: int | Ensemble) -> Ensemble:
    """An Ensemble from a member count (the first K of the file) or an Ensemble itself."""
    return ensemble if isinstance(ensemble, Ensemble) else choose(int(ensemble))


@dataclass
class EnsembleRunSet(RunSet):
    """One scenario under K members: each member's RunSet, and their frames with `member`.

    `scenario` is the scenario as given (without any member's values); `frame` and `final()` hold
    every member's replicates with a `member` column; `summary()` gives the combined interval.
    """

    ensemble: Ensemble | None = None
    runs: list[RunSet] = field(default_factory=list)

    def final(self) -> pd.DataFrame:
        """One row per member and replicate: the last week's metrics and gain per capita."""
        frames = []
        for member, run in zip(self.members, self.runs, strict=True):
            final = run.final()
            final.insert(0, "member", member.index)
            frames.append(final)
        return pd.concat(frames, ignore_index=True)

    @property
    def members(self) -> tuple[Member, ...]:
        """The members that ran, in order."""
        assert self.ensemble is not None
        return self.ensemble.members

    def summary(self) -> dict:
        """Each summary metric's mean and combined interval (`ensemble_interval`) at the end."""
        finals = [run.final() for run in self.runs]
        return {
            key: ensemble_interval([final[key] for final in finals])
            for key in summary_metrics([self]) if key in finals[0]
        }


def run_ensemble(scenario: Scenario, ensemble: int | Ensemble, replicates: int | None = None,
                 seed: int | None = None, steps: int | None = None, progress=None,
                 **options: Any) -> EnsembleRunSet:
    """Run `scenario` under every member (replicates within each, the same seeds for all)."""
    chosen = resolve(ensemble)
    chosen.refuse_scenario(scenario, scenario.name)
    runs = [
        run_scenario(chosen.apply(scenario, member), replicates, seed, steps, progress, **options)
        for member in chosen.members
    ]
    frames = []
    for member, run in zip(chosen.members, runs, strict=True):
        frame = run.frame.copy()
        frame.insert(1, "member", member.index)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame["scenario"] = scenario.name
    return EnsembleRunSet(
        scenario.with_overrides({"run.steps": steps}) if steps is not None else scenario,
        runs[0].seeds, frame, sum(r.wall_time for r in runs), ensemble=chosen, runs=runs,
    )


def differences(runs: Sequence[EnsembleRunSet], metrics: Sequence[str]) -> pd.DataFrame:
    """Each scenario minus the first, with the combined interval: a row per scenario and metric.

    Differences are taken member by member and replicate by replicate (the same seeds: common
    random numbers). A difference whose interval includes 0 is not established under the
    calibration's uncertainty, whatever the single-set interval says.
    """
    base = runs[0].final()
    rows = []
    for run in runs[1:]:
        other = run.final()
        for key in metrics:
            if key not in base or key not in other:
                continue
            gaps = [
                other.loc[other["member"] == m.index, key].to_numpy()
                - base.loc[base["member"] == m.index, key].to_numpy()
                for m in run.members
            ]
            combined = ensemble_interval(gaps)
            means = combined["members"]
            rows.append({
                "scenario": run.scenario.name, "minus": runs[0].scenario.name, "metric": key,
                "difference": combined["mean"], "ci_low": combined["ci95"][0],
                "ci_high": combined["ci95"][1], "member0_ci_low": combined["stochastic_ci95"][0],
                "member0_ci_high": combined["stochastic_ci95"][1],
                "members_positive": int(sum(g > 0 for g in means)), "members": len(means),
            })
    return pd.DataFrame(rows)
