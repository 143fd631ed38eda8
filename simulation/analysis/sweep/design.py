"""Designs: the points of a sweep, from a full factorial grid or from SALib's samplers.

SALib samples the unit hypercube (one [0, 1] axis per parameter); each parameter maps its axis to
its values (spec.Parameter.from_unit): ranges of numbers affinely, whole numbers and lists of
values in equal shares. Sobol and Morris indices are invariant under these maps (Morris effects
are per unit of the normalised axis, so parameters of different units compare). The samplers are
seeded with the sweep's seed, so a sweep file always gives the same points.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...config.errors import ScenarioError
from ...scale import memory
from .spec import Sweep, SweepError, available_metrics

# Parameters that change how much memory a run needs (the population, its length and structure,
# the experts' classes and the study groups).
MEMORY_SECTIONS = ("population.", "run.", "program.", "experts.", "study_groups.")


@dataclass
class Design:
    """The points of a sweep: their overrides, and the unit-hypercube sample behind them."""

    kind: str
    overrides: list[dict[str, Any]]  # per point: parameter key -> value
    unit: np.ndarray | None  # (points, parameters) in [0, 1] for sampled designs; None for grids

    def __len__(self) -> int:
        return len(self.overrides)

    def frame(self, keys: list[str]) -> pd.DataFrame:
        """One row per point: its number and the value of every parameter (design.parquet)."""
        frame = pd.DataFrame({"point": np.arange(len(self), dtype=np.int64)})
        for key in keys:
            frame[key] = [o[key] for o in self.overrides]
        return frame


def problem(sweep: Sweep) -> dict[str, Any]:
    """The SALib problem: one unit axis per parameter, named by its key."""
    keys = [p.key for p in sweep.parameters]
    return {"num_vars": len(keys), "names": keys, "bounds": [[0.0, 1.0]] * len(keys)}


def make_design(sweep: Sweep) -> Design:
    """The design's points, deterministic for a sweep (its seed seeds the sampler)."""
    d, params = sweep.design, sweep.parameters
    if d.kind == "grid":
        axes = [p.grid(sweep.steps.get(p.key)) for p in params]
        overrides = [
            dict(zip([p.key for p in params], combo, strict=True))
            for combo in itertools.product(*axes)
        ]
        return Design(d.kind, overrides, None)
    # SALib is imported here: grids and the rest of PeerScale do not need it.
    from SALib.sample import latin, morris, sobol

    spec = problem(sweep)
    if d.kind == "latin_hypercube":
        unit = latin.sample(spec, d.n, seed=sweep.seed)
    elif d.kind == "morris":
        unit = morris.sample(spec, d.trajectories, num_levels=d.levels, seed=sweep.seed)
    else:  # sobol: Saltelli's scheme over a scrambled Sobol' sequence
        unit = sobol.sample(
            spec, d.n, calc_second_order=d.second_order, scramble=True, seed=sweep.seed
        )
    unit = np.asarray(unit, dtype=np.float64)
    overrides = [
        {p.key: p.from_unit(float(u)) for p, u in zip(params, row, strict=True)} for row in unit
    ]
    return Design(d.kind, overrides, unit)


def check_points(sweep: Sweep, design: Design) -> None:
    """Every point is a valid scenario in every arm, reporting every output (before any run).

    Ranges are checked at their ends when the file is read; this catches what only a combination
    can break (motivation.initial_min above initial_max, a structure without a metric, a week
    beyond a varied run.steps), and a point too large for this machine's memory (the guard of
    scale/memory.py, checked once per distinct population size, length and structure).
    """
    seen: set[tuple] = set()
    sized: set[tuple] = set()
    for point, overrides in enumerate(design.overrides):
        key = tuple(sorted((k, repr(v)) for k, v in overrides.items()))
        if key in seen:  # designs repeat values (Morris levels, grids of one parameter): check once
            continue
        seen.add(key)
        for arm in sweep.arms:
            try:
                scenario = sweep.scenario(arm, overrides)
            except ScenarioError as exc:
                raise SweepError(
                    sweep.source, f"point {point} ({_words(overrides)}): {exc.message}", key=exc.key
                ) from None
            size = (
                arm,
                *(v for k, v in sorted(overrides.items()) if k.startswith(MEMORY_SECTIONS)),
            )
            if size not in sized:
                sized.add(size)
                try:
                    memory.check(scenario)
                except ScenarioError as exc:
                    raise SweepError(sweep.source, f"point {point}: {exc}") from None
            known = None
            for output in sweep.outputs:
                if arm not in output.arms:
                    continue
                known = known or available_metrics(scenario)
                if output.metric not in known:
                    raise SweepError(
                        sweep.source,
                        f"point {point} ({_words(overrides)}): structure "
                        f"{scenario.program.structure} does not report {output.metric}",
                        key="outputs",
                    )
                if output.week is not None and output.week > scenario.run.steps:
                    raise SweepError(
                        sweep.source,
                        f"point {point} ({_words(overrides)}): week "
                        f"{output.week} is beyond run.steps = {scenario.run.steps}",
                        key="outputs",
                    )


def _words(overrides: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in overrides.items())
