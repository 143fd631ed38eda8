"""Structure or levels? Each structure at all 27 level combinations, and what each factor explains.

Usage:
    python experiments/levels/run.py [--ensemble K] [--workers N] [--sweep-out DIR]
        [--out experiments/levels/output]

The comparison files (scenarios/expert_only.toml, peer_only.toml, mixed.toml) differ only in the
structure; the files "as typically practised" (scenarios/practised/) also differ in the program
levels (responsiveness/agency/connectivity: lectures 0/0/0, peer learning 1/2/1, mentoring
2/2/1). This experiment runs the sweep levels.toml (a full factorial: 3 structures x 3 x 3 x 3
levels, 10^4 learners, 26 weeks, common random numbers; with --ensemble K under the first K
members of the calibration ensemble) and splits each output's variation over the 81 cells into
the parts that come from the structure, from each level, and from their interactions.

The decomposition is the classical one of a balanced full factorial (one value per cell: the mean
over replicates, and over members with --ensemble): the effect of a set S of factors at a cell is
sum over subsets T of S of (-1)^(|S|-|T|) times the mean over the cells that share the cell's
values of T; its sum of squares over the cells, divided by the total sum of squares, is the
share of the variation it explains (shares sum to 1 over all 15 sets). Shares are reported for
the main effects, the two-way interactions, and the three- and four-way interactions together.

The output folder receives

    table.md, table.csv    the shares of variation per output (structure, each level, the
                           interactions), then each structure's outcome at the matched levels
                           1/2/1, at its practised levels, and over the 27 combinations
    cells.csv              every cell: structure, levels, each output's mean and 95% interval
    figure.png, .pdf       gain per capita of each structure at every level combination, and
                           the shares of variation
    manifest.json          provenance, the sweep's manifest, the ensemble members if any

and is replaced as a whole (written beside it, then renamed).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from simulation import sweep  # noqa: E402
from simulation.analysis import results  # noqa: E402

FACTORS = ("program.structure", "program.responsiveness", "program.agency",
           "program.connectivity")
SHORT = {"program.structure": "structure", "program.responsiveness": "responsiveness",
         "program.agency": "agency", "program.connectivity": "connectivity"}
OUTPUTS = {"gain_per_capita": "skill gained per capita", "competent_fraction":
           "competent fraction", "active_fraction": "active fraction (retention)"}
MATCHED = (1, 2, 1)  # the levels of the comparison files
PRACTISED = {"expert_only": (0, 0, 0), "peer_only": (1, 2, 1), "mixed": (2, 2, 1)}


def shares(cells: pd.DataFrame, output: str) -> dict[str, float]:
    """Share of the variation of `output` over the cells explained by each set of factors."""
    y = cells[output].to_numpy()
    grand = y.mean()
    total = float(((y - grand) ** 2).sum())
    marginal = {(): np.full(len(y), grand)}
    for r in range(1, len(FACTORS) + 1):
        for subset in itertools.combinations(FACTORS, r):
            marginal[subset] = cells.groupby(list(subset))[output].transform("mean").to_numpy()
    out = {}
    for r in range(1, len(FACTORS) + 1):
        for subset in itertools.combinations(FACTORS, r):
            effect = np.zeros(len(y))
            for k in range(len(subset) + 1):
                for t in itertools.combinations(subset, k):
                    effect += (-1) ** (len(subset) - k) * marginal[t]
            out[" x ".join(SHORT[f] for f in subset)] = (
                float((effect**2).sum()) / total if total > 0 else float("nan")
            )
    return out


def share_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Rows: main effects, two-way interactions, higher-order interactions; columns: outputs."""
    rows: dict[str, dict[str, float]] = {}
    for output in OUTPUTS:
        for name, share in shares(cells, output).items():
            key = name if name.count(" x ") <= 1 else "three- and four-way interactions"
            rows.setdefault(key, {}).setdefault(output, 0.0)
            rows[key][output] += share
    return pd.DataFrame(rows).T


def member_cells(points: pd.DataFrame) -> list[pd.DataFrame]:
    """Per ensemble member: one row per cell, each output's mean over the member's replicates."""
    if "member" not in points:
        return []
    names = list(FACTORS) + list(OUTPUTS)
    return [part.groupby("point", sort=True)[names].agg(
                {**dict.fromkeys(FACTORS, "first"), **dict.fromkeys(OUTPUTS, "mean")})
            for _, part in points.groupby("member", sort=True)]


def member_ranges(per_member: list[pd.DataFrame]) -> pd.DataFrame:
    """The lowest and highest share of each factor over the members (each decomposed alone)."""
    tables = [share_table(cells) for cells in per_member]
    stacked = pd.concat(tables, keys=range(len(tables)))
    return stacked.groupby(level=1, sort=False).agg(["min", "max"])


def gaps(cells: pd.DataFrame) -> dict[str, float]:
    """peer_only minus expert_only gain: as practised, at matched levels, over the 27 combos."""
    gain = cells.set_index(list(FACTORS))["gain_per_capita"]
    per_level = [gain[("peer_only", *lv)] - gain[("expert_only", *lv)]
                 for lv in itertools.product(range(3), repeat=3)]
    return {
        "practised": gain[("peer_only", *PRACTISED["peer_only"])]
        - gain[("expert_only", *PRACTISED["expert_only"])],
        "matched": gain[("peer_only", *MATCHED)] - gain[("expert_only", *MATCHED)],
        "lowest": min(per_level), "highest": max(per_level),
        "favour_peer": sum(g > 0 for g in per_level),
    }


def outcome_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Each structure at matched levels, at its practised levels, and over the 27 combinations."""
    rows = []
    for structure, part in cells.groupby("program.structure", sort=False):
        levels = part.set_index(list(FACTORS[1:]))
        for output in OUTPUTS:
            rows.append({
                "structure": structure,
                "output": output,
                "matched 1/2/1": levels.loc[MATCHED, output],
                "practised": levels.loc[PRACTISED[str(structure)], output],
                "practised levels": "/".join(map(str, PRACTISED[str(structure)])),
                "lowest of 27": part[output].min(),
                "highest of 27": part[output].max(),
                "best levels": "/".join(map(str, levels[output].idxmax())),
            })
    return pd.DataFrame(rows)


def markdown(share: pd.DataFrame, outcomes: pd.DataFrame, cells: pd.DataFrame,
             per_member: list[pd.DataFrame]) -> str:
    """The two tables as Markdown, with the gaps the README's comparisons show."""
    members = len(per_member) or 1
    spread = f"over {members} calibration-ensemble members" if members > 1 else ""
    ranges = member_ranges(per_member) if per_member else None
    within = " [lowest-highest share when each member is decomposed alone]" if spread else ""
    means = f" (cells: means {spread})" if spread else ""
    lines = [
        "Share of the variation over the 81 cells (3 structures x 27 level combinations) "
        f"explained by each factor and interaction{means}{within}",
        "",
        "| factor | " + " | ".join(OUTPUTS.values()) + " |",
        "|---|" + "---|" * len(OUTPUTS),
    ]
    for name, row in share.iterrows():
        cells_text = []
        for o in OUTPUTS:
            text = f"{row[o]:.1%}"
            if ranges is not None:
                text += f" [{ranges.loc[name, (o, 'min')]:.0%}-{ranges.loc[name, (o, 'max')]:.0%}]"
            cells_text.append(text)
        lines.append(f"| {name} | " + " | ".join(cells_text) + " |")
    over = f"mean of replicates{' and ' + spread if spread else ''}"
    lines += [
        "", f"Each structure's outcome ({over})", "",
        "| structure | output | matched 1/2/1 | practised (levels) | lowest-highest of 27 "
        "| best levels |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in outcomes.iterrows():
        lines.append(
            f"| {r['structure']} | {r['output']} | {r['matched 1/2/1']:.3f} | "
            f"{r['practised']:.3f} ({r['practised levels']}) | "
            f"{r['lowest of 27']:.3f}-{r['highest of 27']:.3f} | {r['best levels']} |"
        )
    g = gaps(cells)
    lines += [
        "",
        f"Gap in skill gained per capita, peer_only minus expert_only{means}: "
        f"{g['practised']:.3f} as practised (1/2/1 against 0/0/0), {g['matched']:.3f} at the "
        f"matched levels 1/2/1, {g['lowest']:.3f} to {g['highest']:.3f} over the 27 matched "
        f"combinations ({g['favour_peer']} of 27 favour peer_only).",
    ]
    if per_member:
        lines += [
            "", "The same gap member by member (each member's replicates; member 0 = the "
            "defaults):", "",
            "| member | as practised | matched 1/2/1 | lowest-highest of 27 matched "
            "| matched combinations favouring peer_only |",
            "|---|---|---|---|---|",
        ]
        for m, part in enumerate(per_member):
            gm = gaps(part)
            lines.append(f"| {m} | {gm['practised']:.3f} | {gm['matched']:.3f} | "
                         f"{gm['lowest']:.3f}-{gm['highest']:.3f} | {gm['favour_peer']} of 27 |")
    return "\n".join(lines) + "\n"


def figure(cells: pd.DataFrame, share: pd.DataFrame, stem: Path) -> None:
    """Gain per capita of each structure at every level combination; the shares of variation."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5.5), constrained_layout=True,
                                      gridspec_kw={"width_ratios": [2.2, 1]})
    combos = list(itertools.product(range(3), repeat=3))
    x = np.arange(len(combos))
    for k, (structure, part) in enumerate(cells.groupby("program.structure", sort=False)):
        part = part.set_index(list(FACTORS[1:])).loc[combos]
        left.plot(x, part["gain_per_capita"], "o-", color=f"C{k}", label=str(structure), ms=4)
        left.fill_between(x, part["gain_per_capita_ci_low"], part["gain_per_capita_ci_high"],
                          color=f"C{k}", alpha=0.2, linewidth=0)
    left.set_xticks(x, ["/".join(map(str, c)) for c in combos], rotation=90, fontsize=8)
    left.set_xlabel("levels: responsiveness/agency/connectivity")
    left.set_ylabel("skill gained per capita, 26 weeks")
    left.set_title("Each structure at the 27 level combinations (bands: 95% intervals)")
    left.legend()
    share[list(OUTPUTS)].plot.barh(ax=right)
    right.invert_yaxis()
    right.set_xlabel("share of the variation over the 81 cells")
    right.set_title("What explains the differences")
    right.legend([OUTPUTS[o] for o in OUTPUTS], fontsize="small")
    for suffix in (".png", ".pdf"):
        fig.savefig(stem.with_suffix(suffix), dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    """Run the sweep (or reopen it), decompose, and write the output folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ensemble", type=int, default=None,
                        help="run every cell under the first K calibration-ensemble members")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes")
    parser.add_argument("--sweep-out", type=Path, default=None,
                        help="the sweep's results folder (default: results/levels...)")
    parser.add_argument("--out", type=Path, default=HERE / "output", help="output folder")
    args = parser.parse_args(argv)
    run = sweep(HERE / "levels.toml", out=args.sweep_out, workers=args.workers,
                ensemble=args.ensemble)
    cells = run.summary
    per_member = member_cells(run.points)
    members = len(per_member) or 1
    share = share_table(cells)
    outcomes = outcome_table(cells)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".levels-", dir=args.out.parent))
    try:
        share.to_csv(tmp / "table.csv", float_format="%.4f")
        with open(tmp / "table.csv", "a", encoding="utf-8") as f:
            f.write("\n")
            outcomes.to_csv(f, index=False, float_format="%.4f")
        cells.to_csv(tmp / "cells.csv", index=False, float_format="%.5g")
        (tmp / "table.md").write_text(markdown(share, outcomes, cells, per_member),
                                      encoding="utf-8")
        figure(cells, share, tmp / "figure")
        manifest = json.loads((run.folder / "manifest.json").read_text())
        results.write_json(results.provenance() | {
            "kind": "levels experiment", "sweep_folder": str(run.folder),
            "sweep": manifest.get("sweep"), "seeds": manifest.get("seeds"),
            "members": members,
        }, tmp / "manifest.json")
        if args.out.exists():
            shutil.rmtree(args.out)
        os.replace(tmp, args.out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    print((args.out / "table.md").read_text())
    return share


if __name__ == "__main__":
    main()
