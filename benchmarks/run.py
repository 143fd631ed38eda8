"""PeerScale benchmarks: how fast, against plain Mesa and against the memory bandwidth.

    python benchmarks/run.py             # about 5 minutes on 2 cores
    python benchmarks/run.py --quick     # a smoke version, well under a minute
    python benchmarks/run.py --billion   # adds a 10^9-agent run of 10 weeks (minutes, 13 GB)
    python benchmarks/run.py --prefer-256-bit  # the same with LLVM's 256-bit default
                                               # (see simulation/scale/vector_width.py)
    python benchmarks/run.py --sweep     # only the sweep benchmark, benchmarks/sweep.py (about 3
                                         # minutes): sweep runs/s against mesa.batch_run and one
                                         # process per run

Measures, on this machine and in one run:
- agent-updates per second of the weekly step for each structure at N = 10^5 .. 10^8;
- the ratio to the plain-Mesa reference implementation of the same rule (reference/peers.py,
  one mesa.Agent per learner) at N = 10^4 and 10^5;
- the ratio of one weekly step to one streaming pass that reads and writes every state array once
  (the least any step must do), at N = 10^8;
- with --billion, `peerscale run scenarios/billion.toml`: wall time and peak resident memory.
Every measurement runs in a fresh process, so each reports its own peak resident memory (RSS).
The table is printed and written to benchmarks/results/<date>.json with the core count, the
machine's load and the versions used. docs/performance.md records and discusses the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
STRUCTURES = ("expert_only", "peer_only", "mixed")

# Targets of issue 3, reported beside each figure.
TARGET_UPDATES = 1e8  # agent-updates/s, peer_only at 10^8 on 2 cores
TARGET_REFERENCE_RATIO = 1000.0
TARGET_STREAM_RATIO = 10.0
TARGET_BILLION_S = 300.0
TARGET_BILLION_BYTES = 16e9


# Environment of the measuring processes (--prefer-256-bit adds PEERSCALE_VECTOR_WIDTH=256).
CHILD_ENV = dict(os.environ)


def measure(spec: dict) -> dict:
    """Run benchmarks/measure.py with `spec` in a fresh process; its JSON result."""
    result = subprocess.run(
        [sys.executable, str(HERE / "measure.py"), json.dumps(spec)], cwd=ROOT, capture_output=True,
        text=True, env=CHILD_ENV, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark {spec} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def steps_for(size: int) -> int:
    """Enough weeks for about a second of work, at least 3."""
    return max(3, min(100, int(3e8 // size)))


def billion_run() -> dict:
    """`peerscale run scenarios/billion.toml` in a child process: wall time and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="peerscale-billion-") as tmp:
        out = Path(tmp) / "run"
        scenario = ROOT / "scenarios" / "billion.toml"
        command = [sys.executable, "-m", "simulation.cli", "run", str(scenario), "--out", str(out)]
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=CHILD_ENV)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        manifest = json.loads((out / "manifest.json").read_text()) if code == 0 else {}
    return {
        "command": "peerscale run scenarios/billion.toml", "exit_code": code, "wall_s": wall,
        "run_s": manifest.get("wall_time_s"), "peak_rss_bytes": usage.ru_maxrss * 1024,
        "size": 10**9, "steps": 10,
    }


def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo or the platform gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (empty where unknown)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def gb(n: float) -> str:
    """Bytes in GB (10^9), to two decimals."""
    return f"{n / 1e9:.2f} GB"


def rate(x: float) -> str:
    """A rate to three significant figures."""
    return f"{x:.3g}"


def verdict(ok: bool) -> str:
    """'met' or 'missed', for a target."""
    return "met" if ok else "missed"


def table(report: dict) -> str:
    """The report as the text table printed at the end of a run."""
    lines = [
        (f"PeerScale benchmarks, {report['date']} (UTC), {report['cores']} cores, numba threads "
         f"{report['threads']}, {report['cpu']}, {report['vector_width']}"),
        f"load average at start {report['load_start']}, at end {report['load_end']}",
        "",
        "Agent-updates per second of the weekly step (peak RSS of the process in brackets)",
    ]
    sizes = report["sizes"]
    header = f"{'structure':<12}" + "".join(f"{'N=' + f'{s:.0e}':>24}" for s in sizes)
    lines += [header, "-" * len(header)]
    for structure in STRUCTURES:
        row = f"{structure:<12}"
        for s in sizes:
            r = report["throughput"][structure][str(s)]
            row += f"{rate(r['updates_per_s']) + ' (' + gb(r['peak_rss_bytes']) + ')':>24}"
        lines.append(row)
    lines += [
        "",
        "Agent-updates per CPU-second (all threads; times the core count: what the cores give "
        "unshared)",
    ]
    lines += [header, "-" * len(header)]
    for structure in STRUCTURES:
        row = f"{structure:<12}"
        for s in sizes:
            row += f"{rate(report['throughput'][structure][str(s)]['updates_per_cpu_s']):>24}"
        lines.append(row)
    big = report["throughput"]["peer_only"].get(str(10**8))
    if big:
        lines.append(
            f"peer_only at 10^8: {rate(big['updates_per_s'])} agent-updates/s, "
            f"target >= {TARGET_UPDATES:.0e}: {verdict(big['updates_per_s'] >= TARGET_UPDATES)}"
        )
    lines += [
        "",
        "Against the plain-Mesa reference implementation of the same rule "
        "(simulation/reference/peers.py)",
    ]
    for r in report["reference"]:
        lines.append(
            f"  {r['structure']:<10} N={r['size']:.0e}: "
            f"kernels {rate(r['kernel_updates_per_s'])}/s, "
            f"plain Mesa {rate(r['updates_per_s'])}/s, ratio {r['ratio']:,.0f}x "
            f"(target >= {TARGET_REFERENCE_RATIO:,.0f}x: "
            f"{verdict(r['ratio'] >= TARGET_REFERENCE_RATIO)}; "
            f"reference peak RSS {gb(r['peak_rss_bytes'])})"
        )
    s = report["streaming"]
    lines += [
        "",
        (
            f"One peer_only step against one streaming pass over the state, "
            f"N={s['size']:.0e}: step {s['step_s']:.3f} s, pass {s['stream_s']:.3f} s "
            f"({s['stream_gb_per_s']:.1f} GB/s), ratio {s['ratio']:.1f} "
            f"(target <= {TARGET_STREAM_RATIO:.0f}: {verdict(s['ratio'] <= TARGET_STREAM_RATIO)}; "
            f"peak RSS {gb(s['peak_rss_bytes'])})"
        ),
    ]
    b = report.get("billion")
    if b:
        lines += [
            "",
            (
                f"Billion: {b['command']} ({b['size']:.0e} agents, {b['steps']} weeks): "
                f"exit {b['exit_code']}, wall {b['wall_s']:.0f} s "
                f"(target <= {TARGET_BILLION_S:.0f} s: "
                f"{verdict(b['wall_s'] <= TARGET_BILLION_S)}), "
                f"peak RSS {gb(b['peak_rss_bytes'])} (target <= {gb(TARGET_BILLION_BYTES)}: "
                f"{verdict(b['peak_rss_bytes'] <= TARGET_BILLION_BYTES)})"
            ),
        ]
    return "\n".join(lines)


def free_path(date: str) -> Path:
    """benchmarks/results/<date>.json, or <date>-2.json, ...: the first name not yet taken."""
    path = RESULTS / f"{date}.json"
    k = 2
    while path.exists():
        path = RESULTS / f"{date}-{k}.json"
        k += 1
    return path


def main(argv: list[str] | None = None) -> dict:
    """Run every benchmark, print the table and write it to benchmarks/results/."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes only: a smoke test in well under a minute")
    parser.add_argument("--billion", action="store_true",
                        help="also run scenarios/billion.toml (10^9 agents, minutes)")
    parser.add_argument("--no-save", action="store_true",
                        help="print the table but write no results file")
    parser.add_argument("--prefer-256-bit", action="store_true",
                        help="keep LLVM's 256-bit vectors on AVX-512 CPUs "
                        "(same numbers; simulation/scale/vector_width.py)")
    parser.add_argument("--sweep", action="store_true",
                        help="run only the sweep benchmark (benchmarks/sweep.py): runs/s and the "
                        "two ratios")
    args = parser.parse_args(argv)
    if args.sweep:  # its own measurements and report (benchmarks/results/sweep-<date>.json)
        sys.path.insert(0, str(HERE))
        import sweep as sweep_benchmark

        return sweep_benchmark.main(["--no-save"] if args.no_save else [])
    if args.prefer_256_bit:
        os.environ["PEERSCALE_VECTOR_WIDTH"] = CHILD_ENV["PEERSCALE_VECTOR_WIDTH"] = "256"

    sys.path.insert(0, str(ROOT))
    from simulation.analysis.results import provenance

    started = time.gmtime()
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M", started),
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "quick": args.quick,
        "load_start": load_average(),
        "provenance": provenance(),
    }
    report["threads"] = report["provenance"]["numba_threads"]
    report["vector_width"] = report["provenance"]["vector_width"]  # the children decide alike
    sizes = [10**4, 10**5] if args.quick else [10**5, 10**6, 10**7, 10**8]
    report["sizes"] = sizes
    report["throughput"] = {}
    for structure in STRUCTURES:
        report["throughput"][structure] = {}
        for size in sizes:
            steps = 3 if args.quick else steps_for(size)
            spec = {"kind": "throughput", "structure": structure, "size": size, "steps": steps}
            r = measure(spec)
            report["throughput"][structure][str(size)] = r
            print(f"  {structure:<12} N={size:.0e}: {rate(r['updates_per_s'])} agent-updates/s",
                  flush=True)
    report["reference"] = []
    for size, steps in ([(10**3, 1), (10**4, 1)] if args.quick else [(10**4, 2), (10**5, 1)]):
        r = measure({"kind": "reference", "structure": "peer_only", "size": size, "steps": steps})
        kernel = report["throughput"]["peer_only"].get(str(size))
        if kernel is None:
            kernel = measure({"kind": "throughput", "structure": "peer_only", "size": size,
                              "steps": steps_for(size)})
        r["kernel_updates_per_s"] = kernel["updates_per_s"]
        r["ratio"] = kernel["updates_per_s"] / r["updates_per_s"]
        report["reference"].append(r)
        print(f"  reference    N={size:.0e}: ratio {r['ratio']:,.0f}x", flush=True)
    streaming_size = 10**6 if args.quick else 10**8
    report["streaming"] = measure({"kind": "streaming", "size": streaming_size, "steps": 3})
    print(f"  streaming: ratio {report['streaming']['ratio']:.1f}", flush=True)
    if args.billion:
        print("  billion: peerscale run scenarios/billion.toml ...", flush=True)
        report["billion"] = billion_run()
    report["load_end"] = load_average()
    text = table(report)
    print()
    print(text)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        path = free_path(time.strftime("%Y-%m-%d", started))
        path.write_text(json.dumps(report | {"table": text}, indent=2) + "\n", encoding="utf-8")
        print(f"\nwritten to {path.relative_to(ROOT)}")
    return report


if __name__ == "__main__":
    main()
