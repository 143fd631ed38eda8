"""Does learning scale? v2: the structures at matched levels, with calibration-ensemble bands.

Usage:
    python experiments/scaling/v2.py [--max-exponent 7] [--billion] [--ensemble 5]
        [--replicates 2] [--weeks 10] [--seed 0] [--out DIR]

Unlike run.py (v1: the files as typically practised, bands over replicates of the defaults), every
arm here starts from the comparison files, which differ only in the structure (the same levels
1/2/1; tests/test_comparisons.py), and every arm runs under the first K members of the
calibration ensemble (docs/calibration.md, section 4b), so the bands combine the calibration's
uncertainty with the replicates' noise. The arms:

    expert_only, <format>    scenarios/expert_only.toml with experts.format = each choice the
                             schema offers except "auto" (read from the schema, so a format added
                             there is an arm here with no change to this script), 10 experts
    expert_only, 1 per N     the class format with one expert per --learners-per-expert learners
    peer_only                scenarios/peer_only.toml
    mixed                    scenarios/mixed.toml
    peer_only, 2 tutees ...  the same with learning.tutor_capacity = 2 (tutors' time limited)
    mixed, 2 tutees ...      likewise

at populations 10^3, 3x10^3, ... 10^--max-exponent (--billion adds 10^9: 12 GB a run, minutes a
week on 2 cores; use --replicates 1 and --ensemble 2 there). Writes table.md, table.csv (gain per
capita and competent fraction, mean and combined 95% interval, member range) and figure.png/.pdf
into --out (default results/scaling-v2...), atomically, with manifest.json (the members run).

The README's "Does learning scale?" quotes its committed output (output_v2/).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from run import OUTCOMES, figure, markdown, sizes  # noqa: E402

from simulation import load  # noqa: E402
from simulation.analysis import results  # noqa: E402
from simulation.analysis.ensemble import choose  # noqa: E402
from simulation.analysis.runner import run_scenario  # noqa: E402
from simulation.config.schema import choices  # noqa: E402

SCENARIOS = ROOT / "scenarios"  # the comparison files: matched levels
# The capacity of the capped peer arms (scenarios/peer_capacity.toml's: one or two sessions a
# week; an assumption, no study measures it).
TUTEES_PER_TUTOR = 2


def arms(learners_per_expert: int) -> dict[str, tuple[str, dict]]:
    """Arm label -> (comparison file, overrides); one expert_only arm per expert format."""
    formats = [f for f in choices("experts.format") or ("class",) if f != "auto"]
    out: dict[str, tuple[str, dict]] = {
        f"expert_only, {f}": ("expert_only.toml", {"experts.format": f}) for f in formats
    }
    out[f"expert_only, 1 per {learners_per_expert}"] = (
        "expert_only.toml",
        {"experts.format": "class", "experts.learners_per_expert": learners_per_expert},
    )
    out["peer_only"] = ("peer_only.toml", {})
    out["mixed"] = ("mixed.toml", {})
    # Peer tutors' time limited: each takes at most TUTEES_PER_TUTOR tutees a week, tutors met
    # through the pool included (docs/ODD.md 7.2); otherwise the same files.
    capped = {"learning.tutor_capacity": TUTEES_PER_TUTOR}
    out[f"peer_only, {TUTEES_PER_TUTOR} tutees per tutor"] = ("peer_only.toml", capped)
    out[f"mixed, {TUTEES_PER_TUTOR} tutees per tutor"] = ("mixed.toml", capped)
    return out


def main(argv: list[str] | None = None) -> Path:
    """Run every arm at every size under the ensemble; write the results folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-exponent", type=int, default=7, choices=range(3, 9),
                        help="largest population is 10^this (default 7)")
    parser.add_argument("--billion", action="store_true", help="also run 10^9 learners")
    parser.add_argument("--ensemble", type=int, default=5,
                        help="calibration-ensemble members per arm and size (default 5)")
    parser.add_argument("--replicates", type=int, default=2, help="replicates per member")
    parser.add_argument("--weeks", type=int, default=10, help="horizon in weeks (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="replicate r uses seed + r")
    parser.add_argument("--learners-per-expert", type=int, default=30,
                        help="the expert-share arm's learners per expert (default 30)")
    parser.add_argument("--out", type=Path, default=None, help="results folder (new or empty)")
    args = parser.parse_args(argv)
    chosen = choose(args.ensemble)  # checked before anything runs
    target = args.out or results.free_folder(ROOT / "results" / "scaling-v2")
    if target.exists() and any(target.iterdir()):
        parser.error(f"{target}: results folder exists and is not empty")
    population = sizes(args.max_exponent) + ([10**9] if args.billion else [])
    arm_specs = arms(args.learners_per_expert)
    start = time.perf_counter()
    rows = []
    for size in population:
        for label, (path, overrides) in arm_specs.items():
            t = time.perf_counter()
            scenario = load(SCENARIOS / path, overrides | {
                "population.size": size, "run.steps": args.weeks, "run.replicates": 1})
            runs = run_scenario(scenario, args.replicates, args.seed, ensemble=chosen)
            summary = runs.summary()
            row = {"arm": label, "size": size, "replicates": args.replicates * len(chosen)}
            for key in OUTCOMES:
                row |= {key: summary[key]["mean"], f"{key}_ci_low": summary[key]["ci95"][0],
                        f"{key}_ci_high": summary[key]["ci95"][1],
                        f"{key}_member_min": min(summary[key]["members"]),
                        f"{key}_member_max": max(summary[key]["members"])}
            rows.append(row)
            print(f"{label:<32} N={size:>13,}: {time.perf_counter() - t:7.1f} s", flush=True)
    table = pd.DataFrame(rows)
    table["arm"] = pd.Categorical(table["arm"], list(arm_specs), ordered=True)
    with results.atomic_folder(target) as tmp:
        figure(table, args.weeks, args.replicates * len(chosen), tmp / "figure",
               bands=f"matched levels, {len(chosen)} ensemble members x {args.replicates} "
               "replicate(s) (bands: 95% interval, parametric + stochastic)")
        table.to_csv(tmp / "table.csv", index=False)
        text = markdown(table, args.weeks).replace(
            "mean across replicates [95% CI]",
            f"mean over {len(chosen)} calibration-ensemble members x {args.replicates} "
            "replicate(s) [95% interval, parametric + stochastic]; levels 1/2/1 in every arm",
        )
        (tmp / "table.md").write_text(text, encoding="utf-8")
        results.write_json(results.provenance() | {
            "kind": "experiment", "experiment": "scaling v2",
            "arguments": vars(args) | {"out": str(target)}, "sizes": population,
            "arms": {k: {"file": f, "overrides": o} for k, (f, o) in arm_specs.items()},
            "ensemble": chosen.to_json(),
            "seeds": [args.seed + r for r in range(args.replicates)],
            "wall_time_s": round(time.perf_counter() - start, 3),
        }, tmp / "manifest.json")
    print(text)
    print(f"results written to {target}")
    return target


if __name__ == "__main__":
    main()
