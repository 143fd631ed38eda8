"""The calibration ensemble: parameter sets that all reproduce T1-T6 inside their bands.

Usage:
    python experiments/calibration/ensemble.py [--points 224] [--members 30] [--seed 0]
        [--confirm 2] [--box-from-history fit/history.csv | --from-prior]
        [--out experiments/calibration/ensemble.csv]

One parameter set (the schema defaults) is not the only one that reproduces the six published
targets: `experts.class_size_slope` is weakly identified, and the others trade against each other
(docs/calibration.md, section 4). The ensemble keeps every such set that a simple, stated
procedure finds, so that results can carry the calibration's uncertainty
(simulation/analysis/ensemble.py; `--ensemble K` on `peerscale run`, `compare`, `trial`, `sweep`).

Method: history matching, then ABC rejection (docs/calibration.md, section 4b).

- The prior is uniform over fit.py's search box (`fit.PARAMETERS`: the five fitted parameters,
  each over a range a learning scientist would accept as plausible).
- A target's distance is z = (simulated - band centre) / half band width, so |z| <= 1 is inside
  the band; a parameter set's implausibility is the largest |z| over T1-T6.
- The refined box (history matching). By default it is the bounding box of the parameter sets
  fit.py evaluated (fit/history.csv: a Latin hypercube over the prior, then Nelder-Mead) that
  land every target inside its band, widened by 10% of its width on each side and kept inside
  the prior: the fit serves as the earlier waves. With --from-prior, two waves of its own
  instead: wave 1 evaluates a Latin-hypercube sample of `--points` sets over the prior box (one
  replicate per trial: common random numbers make each trial's d smooth in the parameters), the
  box is cut to the bounding box of the sets with implausibility below 3 (widened likewise);
  wave 2 does the same in that box with the cut-off 2. (With 224 points per wave this leaves a
  box in which few sets are accepted: docs/calibration.md, section 4b.)
- Wave 3 (ABC rejection) draws `--points` sets uniformly (a Latin hypercube) in the refined box and
  accepts those with every target inside its band (implausibility <= 1). The accepted sets are a
  sample of the prior restricted to the refined box and the in-band region: the posterior of a
  uniform prior under a likelihood that is 1 inside every band and 0 outside.
- Parameter values are rounded to 4 significant figures, and each accepted set is run again with
  `--confirm` replicates (the replicates tests/test_ensemble.py uses); only sets still inside every
  band are kept, so the file's T1-T6 values are exactly what a rerun gives.

Member 0 is always the schema defaults ("default"). The other members are put in a random order
(seeded with --seed) and the first `--members` kept, so the first K members of the file are a
simple random sample of the accepted sets: `--ensemble K` takes members 0..K-1.

Writes ensemble.csv (one row per member: member, name, how it was chosen, the parameter values,
each target's simulated value, the tutor/tutee ratio and the implausibility) and ensemble.json
(the method, the prior and refined boxes, the waves' counts and acceptance rate, provenance).
Rerun it after a change that moves the calibration (a changed default, a new mechanism), after
rerunning fit.py if the defaults moved (its history.csv gives the box); the test
tests/test_ensemble.py fails until you do. An evaluation of T1-T6 takes about 1-2 s on one core
(more on a loaded machine): about 10 minutes with the box from the fit history, 3 times that
with --from-prior.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit import PARAMETERS, current, overrides
from targets import evaluate, load_targets

from simulation.analysis import results

HERE = Path(__file__).resolve().parent
CUTOFFS = (3.0, 2.0)  # implausibility cut-offs of the history-matching waves
MARGIN = 0.1  # a refined box is widened by this share of its width on each side
DIGITS = 4  # significant figures of the parameter values written


def z_scores(table: pd.DataFrame) -> np.ndarray:
    """Each target's distance from its band's centre in half band widths (|z| <= 1: inside).

    The centre of the band, not the published value: some bands are not symmetric about it
    (T2: 0.33 in 0.25-0.45), and only the centre makes |z| <= 1 mean "inside the band".
    """
    half = (table["band_high"] - table["band_low"]) / 2.0
    centre = (table["band_high"] + table["band_low"]) / 2.0
    return ((table["simulated"] - centre) / half).to_numpy()


def round_sig(x: float, digits: int = DIGITS) -> float:
    """`x` rounded to `digits` significant figures."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


class Evaluator:
    """Runs T1-T6 under parameter vectors; keeps every evaluation."""

    def __init__(self, replicates: int, seed: int):
        self.trials = load_targets()
        self.replicates, self.seed = replicates, seed
        self.rows: list[dict] = []

    def __call__(self, x: np.ndarray, wave: str, replicates: int | None = None) -> dict:
        """One evaluation: the parameter values, each target's value, the implausibility."""
        table = evaluate(overrides(x), replicates=replicates or self.replicates, seed=self.seed,
                         trials=self.trials)
        z = z_scores(table)
        row = {"wave": wave}
        row |= {p.label: float(v) for p, v in zip(PARAMETERS, x, strict=True)}
        row |= {f"sim_{t}": float(v) for t, v in zip(table["target"], table["simulated"],
                                                     strict=True)}
        row |= {
            "tutor_tutee_ratio": float(
                table.set_index("target")["tutor_tutee_gain_ratio"].get("t2_tutors", math.nan)
            ),
            "implausibility": float(np.max(np.abs(z))),
        }
        self.rows.append(row)
        return row


def design_points(n: int, low: np.ndarray, high: np.ndarray, seed: int) -> np.ndarray:
    """`n` Latin-hypercube points in the box [low, high] (a space-filling design)."""
    unit = qmc.LatinHypercube(d=len(low), seed=seed).random(n)
    return qmc.scale(unit, low, high)


def refine(points: np.ndarray, implausibility: np.ndarray, cutoff: float, low: np.ndarray,
           high: np.ndarray, prior: tuple[np.ndarray, np.ndarray],
           margin: float = MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box of the points below `cutoff`, widened by MARGIN, inside the prior.

    With fewer points below the cut-off than parameters plus one, the box is kept: cutting it on
    so few points would throw away region the sample simply missed.
    """
    keep = points[implausibility < cutoff]
    if len(keep) < points.shape[1] + 1:
        return low, high
    lo, hi = keep.min(axis=0), keep.max(axis=0)
    width = hi - lo
    return np.maximum(prior[0], lo - margin * width), np.minimum(prior[1], hi + margin * width)


def history_box(path: Path, prior: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The refined box from earlier evaluations (fit.py's history.csv) instead of waves 1-2.

    The bounding box of the evaluations with every target inside its band, widened by MARGIN.
    """
    history = pd.read_csv(path)
    inside = history[history["inside"] == len(load_targets())]
    if len(inside) < len(PARAMETERS) + 1:
        raise SystemExit(f"{path}: fewer than {len(PARAMETERS) + 1} in-band evaluations; "
                         "run the waves instead (drop --box-from-history)")
    points = inside[[p.label for p in PARAMETERS]].to_numpy()
    return refine(points, np.zeros(len(points)), 1.0, *prior, prior)


def build(points: int, members: int, seed: int, confirm: int, box_from: Path | None = None,
          log=lambda message: print(message, flush=True)) -> tuple[pd.DataFrame, dict]:
    """The ensemble (one row per member) and its method record."""
    prior = (np.array([p.low for p in PARAMETERS]), np.array([p.high for p in PARAMETERS]))
    low, high = prior
    evaluator = Evaluator(replicates=1, seed=seed)
    waves: list[dict] = []
    if box_from is not None:
        low, high = history_box(box_from, prior)
        waves.append({"waves 1-2": f"replaced by the in-band evaluations of {box_from.name}",
                      "box_after": {p.label: [float(a), float(b)]
                                    for p, a, b in zip(PARAMETERS, low, high, strict=True)}})
        log(f"refined box from {box_from}: {waves[-1]['box_after']}")
    for w, cutoff in enumerate(() if box_from is not None else CUTOFFS, start=1):
        xs = design_points(points, low, high, seed + w)
        imp = np.array([evaluator(x, f"wave {w}")["implausibility"] for x in xs])
        low, high = refine(xs, imp, cutoff, low, high, prior)
        waves.append({"wave": w, "points": points, "cutoff": cutoff,
                      "below_cutoff": int((imp < cutoff).sum()), "inside": int((imp <= 1).sum()),
                      "box_after": {p.label: [float(a), float(b)]
                                    for p, a, b in zip(PARAMETERS, low, high, strict=True)}})
        log(f"wave {w}: {waves[-1]['below_cutoff']} of {points} below {cutoff:g}, "
            f"{waves[-1]['inside']} inside every band")
    final = len(CUTOFFS) + 1
    xs = design_points(points, low, high, seed + final)
    candidates = []
    for k, x in enumerate(xs):
        rounded = np.array([round_sig(float(v)) for v in x])
        if evaluator(rounded, f"wave {final}")["implausibility"] <= 1.0:
            candidates.append(rounded)
        if (k + 1) % 16 == 0:
            log(f"wave {final}: {k + 1}/{points}, {len(candidates)} accepted")
    waves.append({"wave": final, "points": points, "cutoff": 1.0, "accepted": len(candidates)})
    # Confirmation with more replicates: the file's values are what a rerun (and the test) gives.
    order = np.random.default_rng(seed).permutation(len(candidates))
    default = current()
    rows = []
    for source, x in [("schema defaults", default)] + [
        (f"ABC rejection, wave {final}", candidates[i]) for i in order
    ]:
        if len(rows) > members:
            break
        row = evaluator(x, "confirm", replicates=confirm)
        if row["implausibility"] > 1.0:
            if source == "schema defaults":
                raise SystemExit(f"the schema defaults leave a band with {confirm} replicates: "
                                 "refit first (fit.py), then rerun this script")
            log(f"dropped on confirmation (implausibility {row['implausibility']:.2f})")
            continue
        rows.append({"member": len(rows), "name": "default" if not rows else f"m{len(rows):02d}",
                     "chosen_by": source} | {k: v for k, v in row.items() if k != "wave"})
    table = pd.DataFrame(rows)
    method = {
        "method": "history matching (waves 1-2: implausibility cut-offs) then ABC rejection "
                  "(wave 3: every target inside its band), uniform prior over the search box",
        "prior": {p.label: [p.low, p.high, p.why] for p in PARAMETERS},
        "refined_box": {p.label: [float(a), float(b)]
                        for p, a, b in zip(PARAMETERS, low, high, strict=True)},
        "implausibility": "max over T1-T6 of |simulated - band centre| / half band width",
        "waves": waves,
        "acceptance_rate": len(candidates) / points,
        "confirm_replicates": confirm,
        "trial_seed": seed,
        "order": "member 0 = schema defaults; then the accepted sets in a random order "
                 f"(numpy default_rng({seed}).permutation): the first K are a simple random sample",
        "members": len(table),
        "evaluations": len(evaluator.rows),
        "settings": {"points": points, "members": members, "seed": seed, "confirm": confirm,
                     "box_from_history": None if box_from is None else _relative(box_from)},
    }
    return table, method


def _relative(path: Path) -> str:
    """A path relative to the repository if it lies inside it (no machine's folders in files)."""
    try:
        return str(path.resolve().relative_to(HERE.parents[1]))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    """Build the ensemble and write ensemble.csv and ensemble.json (atomically)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=224, help="parameter sets per wave")
    parser.add_argument("--members", type=int, default=30,
                        help="members kept besides the defaults (member 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the designs and trials")
    parser.add_argument("--confirm", type=int, default=2,
                        help="replicates of the confirmation run of each member")
    parser.add_argument(
        "--box-from-history", type=Path, default=HERE / "fit" / "history.csv", metavar="CSV",
        help="take the refined box from the in-band rows of a fit history made by the same code "
        "(default: fit/history.csv, fit.py's evaluations) instead of running waves 1-2",
    )
    parser.add_argument(
        "--from-prior", action="store_true",
        help="run history-matching waves 1-2 from the prior box instead of using a fit history",
    )
    parser.add_argument("--out", type=Path, default=HERE / "ensemble.csv",
                        help="the ensemble file (ensemble.json is written beside it)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    box_from = None if args.from_prior else args.box_from_history
    table, method = build(args.points, args.members, args.seed, args.confirm, box_from)
    method["wall_time_s"] = round(time.perf_counter() - start, 1)
    method["provenance"] = results.provenance()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    table.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(args.out)
    meta = args.out.with_suffix(".json")
    results.write_json(method, meta.with_name(f".{meta.name}.tmp"))
    meta.with_name(f".{meta.name}.tmp").replace(meta)
    columns = [c for c in table.columns if c.startswith("sim_")]
    print(table[columns].describe().loc[["min", "max"]].round(3).to_string())
    print(f"{len(table)} members written to {args.out}")
    return table


if __name__ == "__main__":
    main()
