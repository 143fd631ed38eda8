"""Sweep throughput: runs per second of `simulation.sweep` against the two ways without it.

    python benchmarks/sweep.py            # about 3 minutes on 2 cores
    python benchmarks/sweep.py --quick    # a smoke version (10^3 agents, few points)

The same points (a Latin hypercube over four parameters of scenarios/peer_only.toml, 10^4
agents, 26 weeks, one replicate) are run three ways on this machine's cores:

- `simulation.sweep` with its default workers (one per core, numba threads shared out);
- `mesa.batch_run` (number_processes = cores) over the plain-Mesa reference implementation of the
  same rule (simulation/reference/peers.py, one mesa.Agent per learner), on the first points;
- one `peerscale run` process per point (as many at once as there are cores), on the first points.

Runs per second count wall time from start to the last result, start-up included (the sweep's
also without its start-up: from its first stored point to its last). Targets (issue 11): at least
100 runs/s, 300 times mesa.batch_run, 50 times one process per run. Prints the table and writes
benchmarks/results/sweep-<date>.json; docs/performance.md discusses the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mesa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from simulation import Scenario  # noqa: E402
from simulation.analysis.sweep import Sweep  # noqa: E402
from simulation.reference.peers import ReferenceModel  # noqa: E402

TARGET_RUNS_PER_S = 100.0
TARGET_BATCH_RUN_RATIO = 300.0
TARGET_PROCESS_RATIO = 50.0

SWEEP = """
name = "benchmark"
seed = 1
replicates = 1

[base]
scenario = "{scenario}"
set = {{ "population.size" = {size}, "run.steps" = {steps} }}

[design]
kind = "latin_hypercube"
n = {points}

[parameters]
"learning.optimal_gap" = {{ range = [0.05, 0.2] }}
"learning.peer_rate" = {{ range = [0.007, 0.021] }}
"learning.tutor_rate" = {{ range = [0.007, 0.021] }}
"levels.agency_decay[2]" = {{ range = [0.0, 0.015] }}

[[outputs]]
metric = "gain_per_capita"

[[outputs]]
metric = "competent_fraction"

[[outputs]]
metric = "active_fraction"
"""


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the sweep's workers): user + system."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def sweep_throughput(file: Path, folder: Path) -> dict:
    """The sweep end to end, from its first stored point to its last, and per CPU-second."""
    from simulation import sweep

    stamps: list[float] = []
    cpu = _cpu_seconds()
    start = time.perf_counter()
    result = sweep(file, out=folder, progress=lambda *_: stamps.append(time.perf_counter()))
    wall = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    runs = len(result.points)
    steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    # On a machine shared with other work, runs per CPU-second times the core count is what the
    # cores would give unshared (as benchmarks/run.py reports for the kernels).
    return {
        "runs": runs,
        "wall_s": wall,
        "runs_per_s": runs / wall,
        "steady_runs_per_s": steady,
        "cpu_s": cpu,
        "runs_per_cpu_s": runs / cpu,
        "to_first_point_s": stamps[0] - start,
        "sweep": result.sweep,
    }


def _last(name: str) -> Callable[[ReferenceModel], float]:
    def report(model: ReferenceModel) -> float:
        return model.history[-1][name]

    report.__name__ = name
    return report


REPORTED = ("mean_skill", "competent_fraction", "active_fraction")


class BatchReference(ReferenceModel):
    """The plain-Mesa reference with what batch_run needs: keyword parameters, a DataCollector.

    At module level: batch_run's pool may spawn its processes, which import this module.
    """

    def __init__(self, scenario: Scenario | None = None, seed: int = 0):
        super().__init__(scenario, seed=seed)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _last(name) for name in REPORTED}
        )
        self.running = True

    def step(self) -> None:
        """One week, recorded the way mesa.batch_run reads it."""
        super().step()
        self.datacollector.collect(self)
        self.running = self.steps < self.scenario.run.steps


def _points(sweep: Sweep, count: int) -> list:
    """The first `count` points of the sweep's design, as scenarios of its one arm."""
    from simulation.analysis.sweep.design import make_design

    (arm,) = sweep.arms
    return [sweep.scenario(arm, o) for o in make_design(sweep).overrides[:count]]


def batch_run_throughput(sweep: Sweep, points: int, processes: int) -> dict:
    """mesa.batch_run over the plain-Mesa reference at the sweep's first points."""
    scenarios = _points(sweep, points)
    start = time.perf_counter()
    rows = mesa.batch_run(
        BatchReference,
        {"scenario": scenarios, "seed": [sweep.seed]},
        number_processes=processes,
        max_steps=scenarios[0].run.steps,
        display_progress=False,
    )
    wall = time.perf_counter() - start
    return {
        "runs": points,
        "rows": len(rows),
        "wall_s": wall,
        "runs_per_s": points / wall,
        "processes": processes,
    }


def process_throughput(sweep: Sweep, points: int, concurrent: int, scratch: Path) -> dict:
    """One `peerscale run` process per point (scenario file and --set), `concurrent` at once."""
    from simulation.analysis.sweep.design import make_design

    (arm,) = sweep.arms
    size = sweep.arms[arm].population.size
    overrides = make_design(sweep).overrides[:points]
    decay = list(sweep.arms[arm].levels.agency_decay)

    def one(k: int) -> int:
        sets = [f"population.size={size}"]
        for key, value in overrides[k].items():
            if key == "levels.agency_decay[2]":
                sets.append(f"levels.agency_decay={[decay[0], decay[1], value]}")
            else:
                sets.append(f"{key}={value}")
        command = [
            sys.executable,
            "-m",
            "simulation.cli",
            "run",
            str(ROOT / "scenarios" / "peer_only.toml"),
            "--replicates",
            "1",
            "--seed",
            str(sweep.seed),
            "--steps",
            "26",
            "--out",
            str(scratch / f"run-{k}"),
        ]
        for text in sets:
            command += ["--set", text]
        return subprocess.run(command, cwd=ROOT, capture_output=True, check=False).returncode

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrent) as pool:
        codes = list(pool.map(one, range(points)))
    wall = time.perf_counter() - start
    if any(codes):
        raise RuntimeError(f"peerscale run failed: exit codes {codes}")
    return {"runs": points, "wall_s": wall, "runs_per_s": points / wall, "concurrent": concurrent}


def verdict(ok: bool) -> str:
    """'met' or 'missed'."""
    return "met" if ok else "missed"


def main(argv: list[str] | None = None) -> dict:
    """Measure the three throughputs, print the ratios, write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="10^3 agents and few points: a smoke test"
    )
    parser.add_argument("--points", type=int, default=None, help="sweep points (default 2000)")
    parser.add_argument(
        "--no-save", action="store_true", help="print the table but write no results file"
    )
    args = parser.parse_args(argv)
    from simulation.analysis.results import provenance

    cores = os.cpu_count() or 1
    size, points = (1000, 200) if args.quick else (10_000, 2000)
    points = args.points or points
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "cores": cores,
        "size": size,
        "steps": 26,
        "load_start": list(os.getloadavg()),
        "provenance": provenance(),
    }
    with tempfile.TemporaryDirectory(prefix="peerscale-sweep-bench-") as tmp:
        scratch = Path(tmp)
        file = scratch / "benchmark.toml"
        file.write_text(
            SWEEP.format(
                scenario=ROOT / "scenarios" / "peer_only.toml", size=size, steps=26, points=points
            ),
            encoding="utf-8",
        )
        print(f"sweep: {points} points of {size} agents x 26 weeks ...", flush=True)
        swept = sweep_throughput(file, scratch / "sweep")
        spec = swept.pop("sweep")
        report["sweep"] = swept
        print(
            f"  {swept['runs_per_s']:.1f} runs/s end to end, "
            f"{swept['steady_runs_per_s']:.1f} steady",
            flush=True,
        )
        print(f"mesa.batch_run over the plain-Mesa reference: {cores} points ...", flush=True)
        report["batch_run"] = batch_run_throughput(spec, cores, cores)
        print(f"  {report['batch_run']['runs_per_s']:.3g} runs/s", flush=True)
        per_process = 2 * cores if args.quick else 4 * cores
        print(f"one peerscale run process per point: {per_process} points ...", flush=True)
        report["process"] = process_throughput(spec, per_process, cores, scratch)
        print(f"  {report['process']['runs_per_s']:.3g} runs/s", flush=True)
    report["load_end"] = list(os.getloadavg())
    rate = swept["runs_per_s"]
    batch_ratio = rate / report["batch_run"]["runs_per_s"]
    process_ratio = rate / report["process"]["runs_per_s"]
    report["ratios"] = {"batch_run": batch_ratio, "process": process_ratio}
    lines = [
        f"Sweep throughput, {report['date']} (UTC), {cores} cores, {size} agents x 26 weeks, "
        f"load {report['load_start']} -> {report['load_end']}",
        f"  simulation.sweep: {rate:.1f} runs/s end to end over {swept['runs']} runs "
        f"({swept['steady_runs_per_s']:.1f} runs/s after start-up; first point after "
        f"{swept['to_first_point_s']:.1f} s; {swept['runs_per_cpu_s'] * cores:.1f} runs/s as "
        f"{cores} unshared cores: runs per CPU-second x cores); target >= {TARGET_RUNS_PER_S:.0f}: "
        f"{verdict(rate >= TARGET_RUNS_PER_S)}",
        f"  mesa.batch_run, plain-Mesa reference: {report['batch_run']['runs_per_s']:.3g} runs/s; "
        f"ratio {batch_ratio:,.0f}x (target >= {TARGET_BATCH_RUN_RATIO:.0f}x: "
        f"{verdict(batch_ratio >= TARGET_BATCH_RUN_RATIO)})",
        f"  one peerscale run process per point: {report['process']['runs_per_s']:.3g} runs/s; "
        f"ratio {process_ratio:,.0f}x (target >= {TARGET_PROCESS_RATIO:.0f}x: "
        f"{verdict(process_ratio >= TARGET_PROCESS_RATIO)})",
    ]
    text = "\n".join(lines)
    print()
    print(text)
    if not args.no_save:
        results = HERE / "results"
        results.mkdir(exist_ok=True)
        path = results / f"sweep-{time.strftime('%Y-%m-%d-%H%M', time.gmtime())}.json"
        path.write_text(
            json.dumps(report | {"table": text}, indent=2, default=str) + "\n", encoding="utf-8"
        )
        print(f"\nwritten to {path.relative_to(ROOT)}")
    return report


if __name__ == "__main__":
    main()
