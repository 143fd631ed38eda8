"""The committed tables and figures of the sensitivity analysis, from two finished sweeps.

Usage:
    peerscale sweep experiments/sensitivity/morris.toml --out results/sensitivity-morris
    peerscale sweep experiments/sensitivity/sobol.toml --out results/sensitivity-sobol
    python experiments/sensitivity/report.py [--morris DIR] [--sobol DIR] [--out DIR]

Writes into --out (default experiments/sensitivity/output/; files are replaced):
- morris.csv, sobol.csv: the sweeps' indices (mu*, sigma; S1, ST; with their 95% CIs);
- convergence.csv: S1 and ST from the first half of the Saltelli sample (N/2) beside all of it
  (N); the first N/2 base points of a scrambled Sobol' sequence are the N/2-point design, so this
  is the same analysis with half the points, at no extra cost;
- noise.csv: per output, the variance across points of the point means against the variance
  left in a point's mean by the replicates (what no parameter explains);
- ranges.csv: per output, the spread of the point means over the design (5%, 50%, 95%, min,
  max, and the share of points below zero);
- table.md: per output, the parameters with ST >= 0.05, S1 and ST with CIs, ranked by ST, and
  the spread of each output;
- morris.png, sobol.png: the sweeps' figures; manifest-*.json: their provenance.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

import pandas as pd

from simulation.analysis.sweep import Sweep, analyse
from simulation.analysis.sweep.store import SweepFolder

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SHOWN = 0.05  # table.md lists the parameters whose total index reaches this


def _load(folder: Path) -> tuple[Sweep, pd.DataFrame]:
    stored = SweepFolder.stored_sweep(folder)
    if stored is None or not (folder / "manifest.json").is_file():
        raise SystemExit(f"{folder}: not a finished sweep (run the peerscale sweep commands above)")
    sweep = Sweep.from_json(stored["sweep"], str(folder / "sweep.json"))
    return sweep, pd.read_parquet(folder / "points.parquet")


def convergence(sweep: Sweep, points: pd.DataFrame) -> pd.DataFrame:
    """S1 and ST with all N base points beside those with the first N/2."""
    full, _ = analyse.sobol(sweep, points)
    half_n = sweep.design.n // 2
    half_sweep = dataclasses.replace(sweep, design=sweep.design.model_copy(update={"n": half_n}))
    per_point = len(sweep.parameters) + 2
    half, _ = analyse.sobol(half_sweep, points[points["point"] < half_n * per_point])
    keys = ["output", "parameter"]
    merged = full[[*keys, "S1", "ST", "ST_ci_low", "ST_ci_high"]].merge(
        half[[*keys, "S1", "ST"]], on=keys, suffixes=("", f"_N{half_n}")
    )
    merged["ST_change"] = merged["ST"] - merged[f"ST_N{half_n}"]
    return merged


def noise(sweep: Sweep, points: pd.DataFrame) -> pd.DataFrame:
    """Variance of the point means across the design, and what the replicates leave in a mean."""
    rows = []
    for output in sweep.outputs:
        grouped = points.groupby("point")[output.name]
        between = float(grouped.mean().var(ddof=1))
        within = float(grouped.var(ddof=1).mean()) / sweep.replicates
        rows.append(
            {
                "output": output.name,
                "variance_of_point_means": between,
                "replicate_noise_in_a_mean": within,
                "noise_share": within / between if between else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def ranges(sweep: Sweep, points: pd.DataFrame) -> pd.DataFrame:
    """How far each output moves over the design: quantiles of the point means."""
    means = analyse.point_means(sweep, points)
    rows = []
    for output in sweep.outputs:
        y = means[output.name]
        rows.append(
            {
                "output": output.name,
                "min": y.min(),
                "q05": y.quantile(0.05),
                "median": y.median(),
                "q95": y.quantile(0.95),
                "max": y.max(),
                "share_below_zero": float((y < 0).mean()),
            }
        )
    return pd.DataFrame(rows)


def table(indices: pd.DataFrame, noise_table: pd.DataFrame, spread: pd.DataFrame) -> str:
    """Markdown: each output's influential parameters, S1 and ST [95% CI], by ST."""
    lines = [
        "# Sobol indices of the headline outputs (parameters with ST >= 0.05)",
        "",
        "| output | parameter | S1 [95% CI] | ST [95% CI] |",
        "|---|---|---|---|",
    ]
    shares = noise_table.set_index("output")["noise_share"]
    for output, part in indices.groupby("output", sort=False):
        part = part.sort_values("ST", ascending=False)
        shown = part[part["ST"] >= SHOWN]
        first = True
        for _, r in shown.iterrows():
            name = (
                f"{output} (S1 sum {part['S1'].sum():.2f}; noise {shares[output]:.2%})"
                if first
                else ""
            )
            lines.append(
                f"| {name} | {r['parameter']} | {r['S1']:.3f} [{r['S1_ci_low']:.3f}, "
                f"{r['S1_ci_high']:.3f}] | {r['ST']:.3f} [{r['ST_ci_low']:.3f}, "
                f"{r['ST_ci_high']:.3f}] |"
            )
            first = False
    lines += [
        "",
        "## Spread of each output over the design (point means)",
        "",
        "| output | 5% | median | 95% | min | max |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in spread.iterrows():
        lines.append(
            f"| {r['output']} | {r['q05']:.4g} | {r['median']:.4g} | {r['q95']:.4g} | "
            f"{r['min']:.4g} | {r['max']:.4g} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Write the committed outputs of the sensitivity analysis."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--morris", type=Path, default=ROOT / "results" / "sensitivity-morris")
    parser.add_argument("--sobol", type=Path, default=ROOT / "results" / "sensitivity-sobol")
    parser.add_argument("--out", type=Path, default=HERE / "output")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    _load(args.morris)
    sweep, points = _load(args.sobol)
    indices = pd.read_csv(args.sobol / "sobol.csv")
    noise_table = noise(sweep, points)
    convergence(sweep, points).to_csv(
        args.out / "convergence.csv", index=False, float_format="%.5g"
    )
    noise_table.to_csv(args.out / "noise.csv", index=False, float_format="%.5g")
    spread = ranges(sweep, points)
    spread.to_csv(args.out / "ranges.csv", index=False, float_format="%.5g")
    (args.out / "table.md").write_text(table(indices, noise_table, spread), encoding="utf-8")
    for folder, name in ((args.morris, "morris"), (args.sobol, "sobol")):
        pd.read_csv(folder / f"{name}.csv").to_csv(
            args.out / f"{name}.csv", index=False, float_format="%.5g"
        )
        shutil.copyfile(folder / f"{name}.png", args.out / f"{name}.png")
        shutil.copyfile(folder / "manifest.json", args.out / f"manifest-{name}.json")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
