"""Study groups: completion and group survival versus group size and facilitation load, by mode.

One command (about a minute on 2 cores):

    python experiments/study_groups/run.py [--replicates 10] [--size 20000]
        [--out results/study_groups]

Runs the three shipped course scenarios (scenarios/solo_online.toml, study_groups_organiser.toml,
study_groups_rotating.toml: the same registrants, course and seeds, differing only in mode) over
two sweeps, each point with `--replicates` replicates (seed + r, common random numbers):
- group size 4-8 at the default facilitation load;
- facilitation load (the motivation a session's leader loses that week: the organiser's hazard)
  0-0.10 at the default group size;
- drop-out contagion (the motivation each member of a meeting group loses per member who dropped
  out the week before) 0-0.08 at the default size and load: gradual attrition that spreads,
  against organiser collapse.
It also checks calibration target T5 (solo completion of a 6-12 week course, goal scaled with the
course's length). Writes, atomically, into a new results folder: figure.png/.pdf, sweeps.csv/.md,
t5.csv/.md and manifest.json (provenance).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from simulation import PeerLearningModel, load
from simulation.analysis.results import atomic_folder, free_folder, provenance, write_json
from simulation.analysis.runner import mean_ci

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {
    "solo": ROOT / "scenarios" / "solo_online.toml",
    "organiser_led": ROOT / "scenarios" / "study_groups_organiser.toml",
    "rotating": ROOT / "scenarios" / "study_groups_rotating.toml",
}
LABELS = {
    "solo": "solo (no group)", "organiser_led": "organiser-led", "rotating": "rotating leadership",
}
GROUP_SIZES = (4, 5, 6, 7, 8)
LOADS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10)
CONTAGION = (0.0, 0.02, 0.04, 0.06, 0.08)
T5_WEEKS = (6, 8, 12)
METRICS = (
    "completion", "group_survival", "active_fraction", "organiser_gain", "member_gain",
    "leadership_gini",
)


def replicate_finals(path: Path, overrides: dict, replicates: int, seed: int) -> list[dict]:
    """Final-week metrics of each replicate of one scenario point."""
    scenario = load(path, overrides)
    finals = []
    for r in range(replicates):
        model = PeerLearningModel(scenario, seed=seed + r)
        model.run()
        finals.append(model.metrics)
    return finals


def summarise(finals: list[dict], **columns: object) -> dict:
    """One table row: `columns`, then each metric's mean and 95% CI across the replicates."""
    row = dict(columns, replicates=len(finals))
    for key in METRICS:
        mean, lo, hi = mean_ci([f[key] for f in finals])
        row[key], row[f"{key}_ci_low"], row[f"{key}_ci_high"] = mean, lo, hi
    return row


def sweeps(replicates: int, size: int, seed: int) -> pd.DataFrame:
    """Every mode over the group-size, facilitation-load and drop-out contagion sweeps."""
    rows = []
    for mode, path in SCENARIOS.items():
        base = load(path).study_groups
        for group_size in GROUP_SIZES:
            overrides = {"population.size": size, "study_groups.group_size": group_size}
            finals = replicate_finals(path, overrides, replicates, seed)
            rows.append(summarise(finals, sweep="group_size", mode=mode, group_size=group_size,
                                  facilitation_load=base.facilitation_load,
                                  dropout_contagion=base.dropout_contagion))
        for load_value in LOADS:
            overrides = {"population.size": size, "study_groups.facilitation_load": load_value}
            finals = replicate_finals(path, overrides, replicates, seed)
            rows.append(summarise(finals, sweep="facilitation_load", mode=mode,
                                  group_size=base.group_size, facilitation_load=load_value,
                                  dropout_contagion=base.dropout_contagion))
        for contagion in CONTAGION:
            overrides = {"population.size": size, "study_groups.dropout_contagion": contagion}
            finals = replicate_finals(path, overrides, replicates, seed)
            rows.append(summarise(finals, sweep="dropout_contagion", mode=mode,
                                  group_size=base.group_size,
                                  facilitation_load=base.facilitation_load,
                                  dropout_contagion=contagion))
    return pd.DataFrame(rows)


def t5(replicates: int, size: int, seed: int) -> pd.DataFrame:
    """Solo completion for 6, 8 and 12 week courses (the goal scales with the course's length)."""
    path = SCENARIOS["solo"]
    base = load(path).study_groups
    rows = []
    for weeks in T5_WEEKS:
        goal = base.goal * weeks / base.course_weeks
        overrides = {"population.size": size, "study_groups.course_weeks": weeks,
                     "run.steps": weeks, "study_groups.goal": goal}
        finals = replicate_finals(path, overrides, replicates, seed)
        mean, lo, hi = mean_ci([f["completion"] for f in finals])
        rows.append({"course_weeks": weeks, "goal": goal, "replicates": replicates,
                     "completion": mean, "completion_ci_low": lo, "completion_ci_high": hi,
                     "target": 0.126, "band_low": 0.05, "band_high": 0.15,
                     "in_band": bool(0.05 <= mean <= 0.15)})
    return pd.DataFrame(rows)


def plot(table: pd.DataFrame, stem: Path, replicates: int, size: int) -> list[Path]:
    """Completion (top) and group survival (bottom) versus group size, load and contagion."""
    defaults = load(SCENARIOS["organiser_led"]).study_groups
    fig, axes = plt.subplots(2, 3, figsize=(16, 8), constrained_layout=True, sharey="row")
    for col, (sweep, xlabel) in enumerate((
        ("group_size", "group size (members at the start)"),
        ("facilitation_load", "facilitation load (leader's motivation loss per session led)"),
        ("dropout_contagion", "drop-out contagion (motivation lost per member who left)"),
    )):
        for row, (metric, ylabel) in enumerate((
            ("completion", "completion (fraction of registrants)"),
            ("group_survival", "groups still meeting at the end"),
        )):
            ax = axes[row, col]
            for k, mode in enumerate(SCENARIOS):
                part = table[(table["sweep"] == sweep) & (table["mode"] == mode)].sort_values(sweep)
                x = part[sweep].to_numpy()
                ax.plot(x, part[metric], "o-", color=f"C{k}", label=LABELS[mode])
                ax.fill_between(x, part[f"{metric}_ci_low"], part[f"{metric}_ci_high"],
                                color=f"C{k}", alpha=0.25, linewidth=0)
            ax.axvline(getattr(defaults, sweep), color="black", linestyle=":", linewidth=1)
            if metric == "completion":
                ax.axhspan(0.05, 0.15, color="grey", alpha=0.12, linewidth=0)
                ax.axhline(0.126, color="grey", linestyle=":", linewidth=1)
                ax.text(x[0], 0.16, "T5 target: unsupported online course, 12.6% (band 5-15%)",
                        fontsize=8, color="dimgrey")
            if sweep == "group_size":
                ax.set_xticks(GROUP_SIZES)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
    at_load = f"(facilitation load {defaults.facilitation_load:g})"
    at_size = f"(groups of {defaults.group_size})"
    axes[0, 0].set_title(f"Completion vs group size {at_load}")
    axes[0, 1].set_title(f"Completion vs facilitation load {at_size}")
    axes[1, 0].set_title(f"Group survival vs group size {at_load}")
    axes[1, 1].set_title(f"Group survival vs facilitation load {at_size}")
    axes[0, 2].set_title("Completion vs drop-out contagion")
    axes[1, 2].set_title("Group survival vs drop-out contagion")
    axes[0, 0].legend(loc="center right", fontsize="small")
    fig.suptitle(f"Study groups: organiser-led vs rotating vs solo ({size:,} registrants, "
                 f"{replicates} replicates; bands: 95% CI; dotted: the scenarios' default)")
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths


def markdown(table: pd.DataFrame, columns: list[str], metrics: list[str]) -> str:
    """A Markdown table; each metric as 'mean [low, high]'."""
    header = columns + metrics
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [str(row[c]) for c in columns]
        for m in metrics:
            cells.append(f"{row[m]:.3f} [{row[f'{m}_ci_low']:.3f}, {row[f'{m}_ci_high']:.3f}]")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> Path:
    """Run both sweeps and the T5 check; write the results folder and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10,
                        help="replicates per point (default 10)")
    parser.add_argument("--size", type=int, default=20_000,
                        help="registrants per run (default 20,000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="first seed; replicate r uses seed + r")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default results/study_groups[-k])")
    args = parser.parse_args(argv)
    target = args.out or free_folder(ROOT / "results" / "study_groups")
    start = time.perf_counter()
    table = sweeps(args.replicates, args.size, args.seed)
    calibration = t5(args.replicates, args.size, args.seed)
    with atomic_folder(target) as tmp:
        plot(table, tmp / "figure", args.replicates, args.size)
        table.to_csv(tmp / "sweeps.csv", index=False)
        columns = ["sweep", "mode", "group_size", "facilitation_load", "dropout_contagion"]
        metrics = ["completion", "group_survival", "organiser_gain", "member_gain",
                   "leadership_gini"]
        (tmp / "sweeps.md").write_text(markdown(table, columns, metrics), encoding="utf-8")
        calibration.to_csv(tmp / "t5.csv", index=False)
        t5_table = markdown(calibration, ["course_weeks", "goal"], ["completion"])
        (tmp / "t5.md").write_text(t5_table, encoding="utf-8")
        write_json(provenance() | {
            "kind": "experiment", "experiment": "study_groups",
            "scenario_files": [str(p) for p in SCENARIOS.values()],
            "replicates": args.replicates, "size": args.size,
            "seeds": [args.seed + r for r in range(args.replicates)],
            "group_sizes": GROUP_SIZES, "facilitation_loads": LOADS,
            "dropout_contagion": CONTAGION,
            "wall_time_s": round(time.perf_counter() - start, 3),
        }, tmp / "manifest.json")
    print(markdown(calibration, ["course_weeks", "goal"], ["completion"]))
    shown = table[(table["sweep"] == "facilitation_load")]
    print(markdown(shown, ["mode", "facilitation_load"], ["completion", "group_survival"]))
    shown = table[(table["sweep"] == "dropout_contagion")]
    print(markdown(shown, ["mode", "dropout_contagion"], ["completion", "group_survival"]))
    print(f"results written to {target}")
    return target


if __name__ == "__main__":
    main(sys.argv[1:])
