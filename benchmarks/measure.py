"""One measurement, run in a process of its own so that its peak resident memory is its own.

    python benchmarks/measure.py '{"kind": "throughput", "structure": "peer_only", "size": 1000000}'
    python benchmarks/measure.py '{"kind": "throughput", "structure": "peer_capacity",
        "size": 1000000, "steps": 4, "settings": {"learning.tutor_capacity": 0}}'

prints one JSON line: the measurement, the process's peak resident memory (VmHWM) and the numba
thread count. benchmarks/run.py calls it once per row of its table.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from numba import get_num_threads, njit, prange

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulation import PeerLearningModel, load  # noqa: E402  (after sys.path, from a checkout)

SCENARIOS = ROOT / "scenarios"


def peak_rss() -> int:
    """Peak resident memory of this process in bytes (Linux; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def scenario(structure: str, size: int, steps: int, settings: dict | None = None):
    """The shipped scenario of a structure (or any scenarios/ file) at another size.

    `settings`: further dotted keys to set (e.g. {"learning.tutor_capacity": 0}) for an A/B of
    one mechanism; its rules are otherwise unchanged.
    """
    return load(
        SCENARIOS / f"{structure}.toml",
        {"population.size": size, "run.steps": steps, "run.replicates": 1} | (settings or {}),
    )


def throughput(structure: str, size: int, steps: int, settings: dict | None = None) -> dict:
    """Agent-updates per second of the model's weekly step (kernels warmed up by one week first)."""
    start = time.perf_counter()
    model = PeerLearningModel(scenario(structure, size, steps + 1, settings), seed=1)
    built = time.perf_counter() - start
    model.step()  # loads the compiled kernels; not timed
    times = []
    cpu = time.process_time()
    for _ in range(steps):
        t = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - t)
    cpu = time.process_time() - cpu
    total = sum(times)
    return {
        "structure": structure, "size": size, "steps": steps, "build_s": built,
        "step_s": total / steps, "fastest_step_s": min(times),
        "updates_per_s": size * steps / total,
        # CPU time of all threads: on a machine shared with other work, updates per CPU-second times
        # the core count is what the cores would give unshared.
        "cpu_s": cpu, "updates_per_cpu_s": size * steps / cpu,
    }


def reference(structure: str, size: int, steps: int) -> dict:
    """The same rule in plain Mesa (one mesa.Agent per learner): agent-updates per second."""
    from simulation.reference.peers import ReferenceModel

    sc = scenario(structure, size, steps)
    start = time.perf_counter()
    model = ReferenceModel(sc, seed=1)
    built = time.perf_counter() - start
    t = time.perf_counter()
    for _ in range(steps):
        model.step()
    total = time.perf_counter() - t
    return {
        "structure": structure, "size": size, "steps": steps, "build_s": built,
        "step_s": total / steps, "updates_per_s": size * steps / total,
    }


@njit(parallel=True, cache=True)
def _stream(skill, skill_next, motivation, flags, flags_next):
    """Read and write every state array once: the least any weekly step must do."""
    for i in prange(skill.size):
        skill_next[i] = skill[i]
        flags_next[i] = flags[i]
        motivation[i] = motivation[i] ^ np.uint16(1)


def streaming(size: int, steps: int) -> dict:
    """One weekly step of peer_only against one streaming pass over the same state."""
    model = PeerLearningModel(scenario("peer_only", size, steps + 1), seed=1)
    pop = model.population
    model.step()
    step_times = []
    for _ in range(steps):
        t = time.perf_counter()
        model.step()
        step_times.append(time.perf_counter() - t)
    pass_times = []
    for _ in range(steps + 2):
        t = time.perf_counter()
        _stream(pop.skill, pop.skill_next, pop.motivation, pop.flags, pop.flags_next)
        pass_times.append(time.perf_counter() - t)
    pass_times = pass_times[1:]  # the first call loads the kernel
    state = (pop.skill, pop.skill_next, pop.motivation, pop.flags, pop.flags_next)
    state_bytes = sum(a.nbytes for a in state)
    step = float(np.median(step_times))
    stream = float(np.median(pass_times))
    return {
        "size": size, "step_s": step, "stream_s": stream, "ratio": step / stream,
        "stream_gb_per_s": (state_bytes + pop.motivation.nbytes) / stream / 1e9,
    }


def main() -> None:
    """Run the measurement its JSON argument names; print the result as one JSON line."""
    spec = json.loads(sys.argv[1])
    kind = spec.pop("kind")
    measures = {"throughput": throughput, "reference": reference, "streaming": streaming}
    result = measures[kind](**spec)
    result |= {"kind": kind, "peak_rss_bytes": peak_rss(), "threads": get_num_threads()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
