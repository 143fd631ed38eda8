"""Does learning scale? Per-capita gain and competent fraction against population size.

Usage:
    python experiments/scaling/run.py [--max-exponent 7] [--replicates 5] [--weeks 26] [--seed 0]
        [--out DIR]

Four arms, each run at populations from 10^3 to 10^max-exponent (half-decade steps) for a fixed
horizon, every replicate r with seed + r in every arm (common random numbers):

    expert_only, fixed experts   scenarios/practised/expert_only.toml with experts.format =
                                 class_log_law: 10 experts teach everyone in classes, so
                                 classes grow with the population
    expert_only, expert share    the same with one expert per --learners-per-expert learners
                                 (default 30: a school class), so class size stays fixed
    peer_only                    scenarios/practised/peer_only.toml
    mixed                        scenarios/practised/mixed.toml: peers plus 10 capacity-limited
                                 mentors

The output folder (default results/scaling, or the first free results/scaling-N) receives

    figure.png, figure.pdf   per-capita gain and competent fraction vs population size
                             (log axis; lines: means over replicates; bands: 95% CIs)
    table.csv, table.md      one row per arm and size: both outcomes with their 95% CIs
    metrics.parquet          every week of every run (the aggregates of PeerLearningModel)
    manifest.json            provenance (version to cite, commit, packages, machine), arguments,
                             seeds

written into a temporary folder and renamed into place when complete (analysis/results.py).
With --max-exponent 9 the largest runs hold 10^9 agents (12.3 GB each; minutes per week on 2
cores): use --replicates 1 and a shorter --weeks there.
"""

from __future__ import annotations

import argparse
import gc
import sys
import textwrap
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from simulation import load  # noqa: E402
from simulation.analysis import results  # noqa: E402
from simulation.analysis.runner import mean_ci, run_scenario  # noqa: E402

# The files "as typically practised" (each structure at its usual levels: lectures 0/0/0, peer
# learning 1/2/1, mentoring 2/2/1), which the committed output and the README's numbers come
# from; so the arms differ in levels as well as structure (scenarios/practised/*.toml). The
# comparison at matched levels is experiments/levels/ (and a scaling v2, to come).
SCENARIOS = ROOT / "scenarios" / "practised"
OUTCOMES = {
    "gain_per_capita": "skill gained per capita",
    "competent_fraction": "competent fraction",
}


def arms(learners_per_expert: int) -> dict[str, tuple[str, dict]]:
    """Arm label -> (scenario file, overrides)."""
    return {
        # The log law extrapolated (experts.format = class_log_law): the format the committed
        # output/ was made with; seat-capped classes, a broadcast and mentoring at 10^5 and 10^7
        # are compared in experiments/expert_formats/.
        "expert_only, fixed experts": ("expert_only.toml", {"experts.format": "class_log_law"}),
        f"expert_only, 1 expert per {learners_per_expert}": (
            "expert_only.toml", {"experts.learners_per_expert": learners_per_expert,
                                 "experts.format": "class_log_law"},
        ),
        "peer_only": ("peer_only.toml", {}),
        "mixed": ("mixed.toml", {}),
    }


def sizes(max_exponent: int) -> list[int]:
    """10^3, 3x10^3, 10^4, ... up to 10^max_exponent (half-decade steps)."""
    out = []
    for e in range(3, max_exponent + 1):
        out.append(10**e)
        if e < max_exponent:
            out.append(3 * 10**e)
    return out


def run_arm(label: str, path: str, overrides: dict, size: int, weeks: int, replicates: int,
            seed: int) -> tuple[list[dict], list[pd.DataFrame]]:
    """Every replicate of one arm at one size; one row per replicate of final-week outcomes."""
    scenario = load(
        SCENARIOS / path,
        overrides | {"population.size": size, "run.steps": weeks, "run.replicates": 1},
    )
    frames, rows = [], []
    for r in range(replicates):
        # One replicate at a time, collected in between: at 10^9 agents two models would not fit.
        runset = run_scenario(scenario, replicates=1, seed=seed + r)
        final = runset.final().iloc[0]
        rows.append({"arm": label, "size": size, "replicate": r, "seed": seed + r,
                     **{key: float(final[key]) for key in OUTCOMES}})
        frame = runset.frame.assign(arm=label, size=size, replicate=r)
        frames.append(frame)
        del runset
        gc.collect()
    return rows, frames


def summarise(replicates: pd.DataFrame, arm_order: list[str]) -> pd.DataFrame:
    """Mean and 95% CI of each outcome for every arm and size."""
    rows = []
    for (arm, size), group in replicates.groupby(["arm", "size"], sort=False):
        row = {"arm": arm, "size": int(size), "replicates": len(group)}
        for key in OUTCOMES:
            mean, lo, hi = mean_ci(group[key].to_numpy())
            row |= {key: mean, f"{key}_ci_low": lo, f"{key}_ci_high": hi}
        rows.append(row)
    table = pd.DataFrame(rows)
    table["arm"] = pd.Categorical(table["arm"], arm_order, ordered=True)
    return table.sort_values(["arm", "size"]).reset_index(drop=True)


def markdown(table: pd.DataFrame, weeks: int) -> str:
    """The table as Markdown: each outcome's mean and 95% CI per arm and size."""

    def cell(row: pd.Series, key: str) -> str:
        lo, hi = row[f"{key}_ci_low"], row[f"{key}_ci_high"]
        ci = "" if np.isnan(lo) else f" [{lo:.4f}, {hi:.4f}]"
        return f"{row[key]:.4f}{ci}"

    lines = [
        f"Outcomes after {weeks} weeks: mean across replicates [95% CI].",
        "",
        "| arm | population | replicates | " + " | ".join(OUTCOMES.values()) + " |",
        "|---|---:|---:|" + "---:|" * len(OUTCOMES),
    ]
    for _, row in table.iterrows():
        cells = [str(row["arm"]), f"{int(row['size']):,}", str(int(row["replicates"]))]
        cells += [cell(row, key) for key in OUTCOMES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figure(table: pd.DataFrame, weeks: int, replicates: int, stem: Path,
           bands: str | None = None) -> None:
    """Both outcomes against population size, one line and 95% band per arm.

    `bands` says what the bands are (default: a 95% CI over replicates).
    """
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6), constrained_layout=True)
    markers = "osD^v"
    for ax, (key, label) in zip(axes, OUTCOMES.items(), strict=True):
        for k, (arm, group) in enumerate(table.groupby("arm", sort=True, observed=True)):
            x = group["size"].to_numpy()
            ax.plot(x, group[key], marker=markers[k % len(markers)], markersize=4, color=f"C{k}",
                    label=arm)
            lo, hi = group[f"{key}_ci_low"].to_numpy(), group[f"{key}_ci_high"].to_numpy()
            if np.isfinite(lo).all():
                ax.fill_between(x, lo, hi, color=f"C{k}", alpha=0.2, linewidth=0)
        ax.set_xscale("log")
        ax.set_xlabel("population (learners)")
        ax.set_ylabel(label)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_title(f"Skill gained per learner in {weeks} weeks")
    axes[1].set_title(f"Competent learners after {weeks} weeks")
    # Beside the axes, not on them: with many arms a legend inside hides lines.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize="small")
    plural = "s" if replicates > 1 else ""
    if bands is None:
        bands = "95% CI over replicates" if replicates > 1 else "one replicate: no CI"
        bands = f"{replicates} replicate{plural} ({bands})"
    fig.suptitle(textwrap.fill(f"Does learning scale? PeerScale, {bands}", 120),
                 fontsize="medium")
    for suffix in (".png", ".pdf"):
        fig.savefig(stem.with_suffix(suffix), dpi=150)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    """Run every arm at every size; write the results folder and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-exponent", type=int, default=7, choices=range(3, 10),
                        help="largest population is 10^this (default 7; 9 runs a billion agents)")
    parser.add_argument("--replicates", type=int, default=5,
                        help="replicates per arm and size (default 5)")
    parser.add_argument("--weeks", type=int, default=26, help="horizon in weeks (default 26)")
    parser.add_argument("--seed", type=int, default=0, help="replicate r uses seed + r (default 0)")
    parser.add_argument("--learners-per-expert", type=int, default=30,
                        help="the expert-share arm's learners per expert (default 30)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (must not exist or be empty)")
    args = parser.parse_args(argv)
    if args.replicates < 1 or args.weeks < 1:
        parser.error("--replicates and --weeks must be at least 1")

    target = args.out or results.free_folder(ROOT / "results" / "scaling")
    if target.exists() and any(target.iterdir()):
        parser.error(f"{target}: results folder exists and is not empty")
    arm_specs = arms(args.learners_per_expert)
    start = time.perf_counter()
    rows, frames = [], []
    for size in sizes(args.max_exponent):
        for label, (path, overrides) in arm_specs.items():
            t = time.perf_counter()
            arm_rows, arm_frames = run_arm(
                label, path, overrides, size, args.weeks, args.replicates, args.seed
            )
            rows += arm_rows
            frames += arm_frames
            print(f"{label:<32} N={size:>13,}: {time.perf_counter() - t:7.1f} s", flush=True)
    replicates = pd.DataFrame(rows)
    table = summarise(replicates, list(arm_specs))
    with results.atomic_folder(target) as tmp:
        figure(table, args.weeks, args.replicates, tmp / "figure")
        table.to_csv(tmp / "table.csv", index=False)
        (tmp / "table.md").write_text(markdown(table, args.weeks), encoding="utf-8")
        arguments = vars(args) | {"out": str(target)}
        results.write_parquet(pd.concat(frames, ignore_index=True), tmp / "metrics.parquet",
                              {"experiment": "scaling", "arguments": arguments})
        manifest = results.provenance() | {
            "kind": "experiment", "experiment": "scaling", "arguments": arguments,
            "sizes": sizes(args.max_exponent),
            "arms": {k: {"file": f, "overrides": o} for k, (f, o) in arm_specs.items()},
            "seeds": [args.seed + r for r in range(args.replicates)],
            "wall_time_s": round(time.perf_counter() - start, 3),
        }
        results.write_json(manifest, tmp / "manifest.json")
    print(markdown(table, args.weeks))
    print(f"results written to {target}")
    return target


if __name__ == "__main__":
    main()
