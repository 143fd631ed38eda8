"""Run every calibration target (T1-T6) with the schema defaults; write the table and the figure.

Usage:
    python experiments/calibration/run.py [--replicates 10] [--seed 0]
        [--out experiments/calibration/output]

Each target is a virtual trial in trials/ (docs/calibration.md: two arms with the same seeds, the
study's horizon, the effect on final skill in SDs of the control arm, a 95% CI across
replicates). No parameter is overridden here: the table shows what the defaults in
simulation/config/schema.py give. The output folder receives

    table.md, table.csv   target, published value and band, source, simulated value [95% CI],
                          inside?
    figure.png, .pdf      simulated vs published: bands shaded, published values as diamonds
    manifest.json         provenance (version to cite, commit, packages) and the defaults used

and is replaced as a whole (written beside it, then renamed), since it is a tracked, derived
artefact whose history lives in git.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from targets import RATIO_BAND, evaluate, load_targets

from simulation import Scenario
from simulation.analysis import results

HERE = Path(__file__).resolve().parent
LABELS = {
    "d": "d", "g": "g", "d_pooled": "d (pooled SD)", "g_pooled": "g (pooled SD)",
    "completion_control": "completion", "completion_treatment": "completion",
    "completion_difference": "completion difference",
}
# The parameters fitted to the targets (experiments/calibration/fit.py), reported with the table.
FITTED = ("learning.peer_rate", "learning.tutor_rate", "experts.rate", "experts.class_size_slope")


def _weeks(n: int) -> str:
    return f"{n} week" if n == 1 else f"{n} weeks"


def fitted_defaults() -> dict:
    """The current defaults of the fitted parameters (FITTED), by dotted key."""
    defaults = Scenario().model_dump()
    return {key: defaults[key.split(".")[0]][key.split(".")[1]] for key in FITTED}


def markdown(table: pd.DataFrame) -> str:
    """The calibration table as Markdown."""
    lines = [
        "| target | statistic | published (band) | source | setting, horizon "
        "| simulated [95% CI] | inside |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        percent = r["statistic"].startswith("completion")
        fmt = (lambda x: f"{100 * x:.1f}%") if percent else (lambda x: f"{x:.2f}")
        lines.append(
            f"| {r['target']} | {LABELS.get(r['statistic'], r['statistic'])} "
            f"| {fmt(r['published'])} ({fmt(r['band_low'])}-{fmt(r['band_high'])}) "
            f"| {r['source']} | {r['setting']}; {_weeks(r['weeks'])}, group: {r['group']} "
            f"| {fmt(r['simulated'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}] "
            f"| {'yes' if r['inside'] else '**no**'} |"
        )
    ratio = table.loc[table["target"].str.startswith("t2"), "tutor_tutee_gain_ratio"]
    if len(ratio):
        low, high = RATIO_BAND
        value = float(ratio.iloc[0])
        verdict = "inside" if low <= value <= high else "outside"
        note = (
            f"Secondary check (docs/calibration.md): in T2's programme (both roles), "
            f"tutors' mean weekly gain from teaching is {value:.2f} times tutees' mean weekly gain "
            f"from being tutored (literature: about {low}-{high}; {verdict})."
        )
        lines += ["", note]
    return "\n".join(lines) + "\n"


def figure(table: pd.DataFrame, path: Path) -> None:
    """Simulated (dot, 95% CI) vs published (diamond) and band (shaded), one row per target."""
    effects = table[~table["statistic"].str.startswith("completion")]
    completion = table[table["statistic"].str.startswith("completion")]
    fig, axes = plt.subplots(
        1, 2, figsize=(10, 0.5 + 0.55 * len(table)), gridspec_kw={"width_ratios": [3, 1.3]},
        constrained_layout=True,
    )
    for ax, part, xlabel, scale in (
        (axes[0], effects, "effect size (SDs of the control arm)", 1.0),
        (axes[1], completion, "completion (% of registrants)", 100.0),
    ):
        for y, (_, r) in enumerate(part.iloc[::-1].iterrows()):
            first = y == 0
            ax.fill_betweenx([y - 0.3, y + 0.3], r["band_low"] * scale, r["band_high"] * scale,
                             color="#bcd7ee", label="published band" if first else None)
            ax.plot(r["published"] * scale, y, "D", color="#1f4e79",
                    label="published value" if first else None)
            below, above = r["simulated"] - r["ci_low"], r["ci_high"] - r["simulated"]
            ax.errorbar(r["simulated"] * scale, y, xerr=[[below * scale], [above * scale]],
                        fmt="o", color="#c0392b", capsize=3,
                        label="simulated, 95% CI" if first else None)
        ax.set_yticks(range(len(part)))
        ax.set_yticklabels(
            [
                f"{r['target']}\n({LABELS.get(r['statistic'], r['statistic'])}, "
                f"{_weeks(r['weeks'])})"
                for _, r in part.iloc[::-1].iterrows()
            ],
            fontsize=8,
        )
        ax.set_xlabel(xlabel)
        ax.set_ylim(-0.7, len(part) - 0.3)
        ax.grid(axis="x", alpha=0.3)
    axes[0].axvline(0.0, color="grey", lw=0.8)
    axes[1].set_xlim(0, 40)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(
        "PeerScale calibration: virtual trials with the default parameters vs published effects",
        fontsize=10,
    )
    fig.savefig(path.with_suffix(".png"), dpi=150)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)


def write(table: pd.DataFrame, out: Path, extra: dict) -> None:
    """Write the table, figure and manifest into `out`, replacing it as a whole."""
    with results.replaced_folder(out) as tmp:
        table.to_csv(tmp / "table.csv", index=False)
        (tmp / "table.md").write_text(markdown(table), encoding="utf-8")
        figure(table, tmp / "figure")
        results.write_json(results.provenance() | extra, tmp / "manifest.json")


def main(argv: list[str] | None = None) -> pd.DataFrame:
    """Run every target with the defaults; write and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=None,
                        help="replicates per trial (default: each file's)")
    parser.add_argument("--seed", type=int, default=None,
                        help="first seed (default: each file's)")
    parser.add_argument("--out", type=Path, default=HERE / "output",
                        help="output folder (replaced)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    trials = load_targets()
    table = evaluate(None, replicates=args.replicates, seed=args.seed, trials=trials)
    extra = {
        "kind": "calibration",
        "trial_files": [
            str(Path(t.source).relative_to(HERE.parent.parent))
            if Path(t.source).is_absolute() else t.source
            for t in trials
        ],
        "fitted_parameters": fitted_defaults(),
        "replicates": args.replicates,
        "seed": args.seed,
        "wall_time_s": round(time.perf_counter() - start, 1),
    }
    write(table, args.out, extra)
    print(markdown(table))
    inside = int(table["inside"].sum())
    print(f"{inside} of {len(table)} targets inside their bands; written to {args.out}")
    return table


if __name__ == "__main__":
    main()
