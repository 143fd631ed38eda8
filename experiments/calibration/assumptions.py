"""How the calibration targets move when a modelling assumption takes the ends of its range.

Usage:
    python experiments/calibration/assumptions.py [--replicates 3]
        [--out experiments/calibration/assumptions]

No study measures these magnitudes (docs/calibration.md), so they are not fitted: each is kept
at its default and varied here, one at a time, to its low and high plausible value, with the
fitted parameters held at their defaults (no refit). The table shows which targets depend on
which assumption, and whether the calibration survives it ("(out)": outside the band). Writes
assumptions.md and assumptions.csv into --out (the files are replaced). About a minute.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from targets import evaluate, load_targets, with_parameters

from simulation.analysis.trial import run_trial

HERE = Path(__file__).resolve().parent

# (label, schema key, default, low, high, trials it applies to (None: all), why it is an assumption)
ASSUMPTIONS = (
    ("optimal gap Z", "learning.optimal_gap", 0.1, 0.05, 0.2, None,
     "no study measures gain against the tutor-tutee gap"),
    ("expert teaching skill", "experts.teaching_skill", 0.5, 0.25, 0.75, None,
     "how far an expert narrows a large gap"),
    ("peer teaching skill", "learning.peer_teaching_skill", 0.0, 0.0, 0.5, None,
     "untrained peers; trained tutors narrow the gap"),
    ("motivation decay at agency 0", "levels.agency_decay[0]", 0.03, 0.015, 0.06, None,
     "level mapping of 'constraining'"),
    ("no-contact penalty", "motivation.no_contact_penalty", 0.05, 0.025, 0.1, None,
     "motivation lost in a week without a useful contact"),
    ("forgetting", "learning.forgetting", 0.002, 0.0, 0.01, None,
     "skill lost in a week without practice"),
    ("lab spread (T6 setting)", "pyramid.top_skill", 0.02, 0.01, 0.05, ["t6_preparation"],
     "participants new to the material"),
    ("lab engagement (T6 setting)", "motivation.initial_min", 1.0, 0.3, 1.0, ["t6_preparation"],
     "a supervised session: everyone engaged"),
    ("compulsory school (T1-T4 setting)", "motivation.threshold", 0.0, 0.0, 0.2,
     ["t1_tutees", "t2_tutors", "t3_one_to_one", "t4_class_size"],
     "pupils cannot drop out of school"),
)


def _override(trial, key: str, value: float) -> dict:
    if key.endswith("]"):
        name, index = key[:-1].split("[")
        section, field = name.split(".")
        current = list(getattr(getattr(trial.treatment, section), field))
        current[int(index)] = value
        return {name: current}
    return {key: value}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    """Vary each assumption to both ends of its range; write and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=3, help="replicates per trial")
    parser.add_argument("--out", type=Path, default=HERE / "assumptions",
                        help="folder for assumptions.md/.csv")
    args = parser.parse_args(argv)

    trials = load_targets()
    base = evaluate(None, replicates=args.replicates, trials=trials).set_index("target")
    rows = []
    for label, key, default, low, high, applies, why in ASSUMPTIONS:
        for end, value in (("low", low), ("high", high)):
            row = {"assumption": label, "key": key, "default": default, "end": end,
                   "value": value, "why": why}
            for trial in trials:
                if applies is not None and trial.name not in applies:
                    row[trial.name] = base.loc[trial.name, "simulated"]
                    continue
                varied = with_parameters(trial, _override(trial, key, value))
                result = run_trial(varied, replicates=args.replicates)
                row[trial.name] = result.statistic(trial.target.statistic)[0]
            rows.append(row)
    table = pd.DataFrame(rows)
    names = [t.name for t in trials]
    inside = {t.name: (t.target.low, t.target.high) for t in trials}
    lines = [
        "| assumption, default | value | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
        "| fitted defaults | | "
        + " | ".join(f"{base.loc[n, 'simulated']:.3f}" for n in names) + " |",
    ]
    for _, r in table.iterrows():
        cells = []
        for n in names:
            low, high = inside[n]
            mark = "" if low <= r[n] <= high else " (out)"
            cells.append(f"{r[n]:.3f}{mark}")
        head = f"| {r['assumption']}, {r['default']:g} | {r['value']:g} | "
        lines.append(head + " | ".join(cells) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "assumptions.csv", index=False)
    (args.out / "assumptions.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return table


if __name__ == "__main__":
    main()
