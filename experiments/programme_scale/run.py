"""Does a tutoring programme's effect hold as it scales from hundreds to 100,000 learners?

One command (a few minutes on 2 cores):

    python experiments/programme_scale/run.py [--replicates 3] [--strong 1000]
        [--sizes 300 3000 30000 100000] [--out results/programme_scale]

The programme is the cross-age tutoring trial of experiments/programmes/cross_age_tutees.toml
(classes of 30 with a teacher; the top half of each class tutors the rest; the class alone as
control; effect on the tutees after a term, d in SDs of the control). It grows by recruiting
more tutors: a region has `--strong` strong tutors (learning.strong_tutors; they narrow the gap
above Z by learning.strong_tutor_skill, 0.5), recruited first, and every later tutor teaches as
an untrained peer (peer_teaching_skill 0). So the share of strong tutors is min(1, strong /
tutors needed), and the question is how the effect on tutees moves with programme size. Two
reference lines bracket it: every tutor strong, and no strong tutor. Each point is the mean of
`--replicates` replicates (seed + r, common random numbers) with a 95% CI. Writes, atomically,
into a new results folder: figure.png/.pdf, table.csv/.md and manifest.json (provenance).
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

from simulation import trial
from simulation.analysis.results import atomic_folder, free_folder, provenance, write_json
from simulation.core.population import strong_share

ROOT = Path(__file__).resolve().parents[2]
TRIAL = ROOT / "experiments" / "programmes" / "cross_age_tutees.toml"
SIZES = (300, 3_000, 30_000, 100_000)
ALL_STRONG = 10**10  # more strong tutors than any programme needs


def point(size: int, strong: int, replicates: int, seed: int) -> dict:
    """The tutees' effect (d, 95% CI) of the programme at one size with `strong` strong tutors."""
    both = {"population.size": size, "learning.strong_tutors": strong}
    result = trial(TRIAL, control_overrides=both, treatment_overrides=both,
                   replicates=replicates, seed=seed)
    mean, low, high = result.statistic("d")
    treated = result.trial.arm("treatment")
    assert treated.population.size == size and treated.learning.strong_tutors == strong
    return {"size": size, "strong_tutors": strong, "strong_share": strong_share(treated),
            "d": mean, "d_ci_low": low, "d_ci_high": high, "replicates": replicates}


def table_of(sizes: tuple[int, ...], strong: int, replicates: int, seed: int) -> pd.DataFrame:
    """Every size under three recruitment pools: `strong` strong tutors, all strong, none."""
    rows = []
    for series, pool in (("region", strong), ("all strong", ALL_STRONG), ("none strong", 0)):
        for size in sizes:
            rows.append({"series": series} | point(size, pool, replicates, seed))
    return pd.DataFrame(rows)


def plot(table: pd.DataFrame, stem: Path, strong: int, replicates: int) -> list[Path]:
    """The tutees' d against programme size, one line per recruitment pool."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8), constrained_layout=True)
    labels = {"region": f"{strong:,} strong tutors in the region", "all strong": "every tutor "
              "strong (no scarcity)", "none strong": "no strong tutor (untrained peers)"}
    styles = {"region": ("C0", "o-"), "all strong": ("C2", "s--"), "none strong": ("C3", "^--")}
    for series, part in table.groupby("series", sort=False):
        colour, style = styles[series]
        part = part.sort_values("size")
        ax.plot(part["size"], part["d"], style, color=colour, label=labels[series])
        ax.fill_between(part["size"], part["d_ci_low"], part["d_ci_high"], color=colour,
                        alpha=0.2, linewidth=0)
    ax.set_xscale("log")
    ax.set_xlabel("learners in the programme (classes of 30; half of them tutor)")
    ax.set_ylabel("effect on tutees, d (control SD)")
    ax.set_title(f"Cross-age tutoring as it scales ({replicates} replicates, 95% CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table: series, size, share of strong tutors, d [95% CI]."""
    lines = ["| pool | learners | strong share | d [95% CI] |", "|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['series']} | {r['size']:,} | {r['strong_share']:.3f} | "
                     f"{r['d']:.2f} [{r['d_ci_low']:.2f}, {r['d_ci_high']:.2f}] |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> Path:
    """Run every point; write the results folder and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=3, help="replicates per point")
    parser.add_argument("--strong", type=int, default=1000,
                        help="strong tutors in the region (learning.strong_tutors)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="programme sizes (learners)")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default results/programme_scale[-k])")
    args = parser.parse_args(argv)
    target = args.out or free_folder(ROOT / "results" / "programme_scale")
    start = time.perf_counter()
    table = table_of(tuple(args.sizes), args.strong, args.replicates, args.seed)
    with atomic_folder(target) as tmp:
        plot(table, tmp / "figure", args.strong, args.replicates)
        table.to_csv(tmp / "table.csv", index=False)
        (tmp / "table.md").write_text(markdown(table), encoding="utf-8")
        write_json(provenance() | {
            "kind": "experiment", "experiment": "programme_scale", "trial_file": str(TRIAL),
            "replicates": args.replicates, "strong_tutors": args.strong, "sizes": args.sizes,
            "seeds": [args.seed + r for r in range(args.replicates)],
            "wall_time_s": round(time.perf_counter() - start, 3),
        }, tmp / "manifest.json")
    print(markdown(table))
    print(f"results written to {target}")
    return target


if __name__ == "__main__":
    main(sys.argv[1:])
