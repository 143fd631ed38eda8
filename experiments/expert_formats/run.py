"""How experts reach a large audience: who is reached and who is left behind, by expert format.

Usage:
    python experiments/expert_formats/run.py [--sizes 100000 10000000] [--weeks 26] [--seed 7]
        [--replicates 1] [--out DIR]

`scenarios/expert_only.toml` (10 experts) under each value of experts.format, at each population
size, every run with the same seed (common random numbers):

    class            each expert teaches one class of at most experts.class_cap (30) learners;
                     the learners beyond the 300 seats get no expert input (the default)
    class_log_law    everyone sits in one of 10 classes, per-learner input 1/(1 + b ln n)
                     extrapolated to classes of 10^4-10^6 (evidence: classes of about 15-40)
    broadcast        one recorded pitch a week for everyone (experts.broadcast_input)
    mentoring        each expert sees experts.capacity (30) learners a week

The output folder (default experiments/expert_formats/output) receives table.md and table.csv
(one row per format and size: who is reached, who is left behind, what it costs; values at the
final week, means over replicates) and manifest.json (provenance, arguments, seeds), written
beside it and renamed into place when complete (the folder is replaced as a whole).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from simulation import load  # noqa: E402
from simulation.analysis import results  # noqa: E402
from simulation.analysis.runner import run_scenario  # noqa: E402

FORMATS = ("class", "class_log_law", "broadcast", "mentoring")

# Column -> (heading, how it is read from a replicate's final row and weekly frame).
COLUMNS = {
    "format": "format",
    "learners": "learners",
    "reached_per_week": "learners taught / week (mean over weeks)",
    "reached_share": "share of all who started taught / week",
    "expert_hours": "expert hours / week",
    "active_fraction": "still active",
    "itt_mean_skill": "mean skill, all who started (ITT)",
    "itt_gain": "gain, all who started (ITT)",
    "itt_competent_fraction": "competent, all who started (ITT)",
    "start_band_0_gain": "gain, bottom starting band",
    "start_band_0_active_fraction": "still active, bottom band",
    "start_band_4_active_fraction": "still active, top band",
    "hours_per_gain": "expert hours per unit of skill gained (n/a: skill fell)",
}


def row(fmt: str, size: int, weeks: pd.DataFrame, final: pd.Series) -> dict:
    """One replicate's row of the table."""
    taught = weeks[weeks["step"] > 0]
    return {
        "format": fmt,
        "learners": size,
        "reached_per_week": float(taught["expert_sessions"].mean()),
        "reached_share": float((taught["expert_sessions"] / taught["present"]).mean()),
        "expert_hours": float(taught["expert_hours"].mean()),
        **{k: float(final[k]) for k in COLUMNS if k in final.index
           and k not in ("format", "learners", "expert_hours")},
    }


def main(argv: list[str] | None = None) -> int:
    """Run every format at every size; write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 10_000_000])
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--replicates", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/expert_formats/output")
    args = parser.parse_args(argv)
    rows = []
    start = time.perf_counter()
    for size in args.sizes:
        for fmt in FORMATS:
            scenario = load(ROOT / "scenarios/expert_only.toml", {
                "population.size": size, "run.steps": args.weeks, "experts.format": fmt,
            })
            run = run_scenario(scenario, replicates=args.replicates, seed=args.seed)
            final = run.final()
            for r, weeks in run.frame.groupby("replicate"):
                rows.append(row(fmt, size, weeks, final[final["replicate"] == r].iloc[0]))
            print(f"{fmt} at {size:,}: {run.wall_time:.0f} s", flush=True)
            del run
            gc.collect()
    table = pd.DataFrame(rows).groupby(["learners", "format"], sort=False).mean().reset_index()
    table = table[list(COLUMNS)]
    lines = ["| " + " | ".join(COLUMNS.values()) + " |", "|" + "---|" * len(COLUMNS)]
    for _, r in table.iterrows():
        cells = [str(r["format"]), f"{int(r['learners']):,}"]
        cells += ["n/a" if pd.isna(r[k]) else f"{r[k]:.4g}" for k in list(COLUMNS)[2:]]
        lines.append("| " + " | ".join(cells) + " |")
    # The tracked output is replaced as a whole: written beside it, then renamed into place.
    with results.replaced_folder(args.out) as tmp:
        table.to_csv(tmp / "table.csv", index=False)
        (tmp / "table.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        results.write_json(results.provenance() | {
            "kind": "expert_formats", "sizes": args.sizes, "weeks": args.weeks,
            "seeds": [args.seed + r for r in range(args.replicates)], "formats": list(FORMATS),
            "scenario": "scenarios/expert_only.toml",
            "wall_time_s": round(time.perf_counter() - start, 1),
        }, tmp / "manifest.json")
    print((args.out / "table.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
