"""The memory budget: the estimate matches a run's allocations; the guard refuses what won't fit."""

import json
import os
import subprocess
import sys
import time

import pytest

from simulation import PeerLearningModel, Scenario, load
from simulation.scale import memory

from .helpers import ROOT, SCENARIOS, run_cli, small

# Measured in a fresh interpreter: warm the kernels up on a tiny model, reset the peak resident
# size (/proc/self/clear_refs), then build a model and run two weeks; report the peak's growth.
RSS_PROBE = """
import gc, json, sys
from simulation import PeerLearningModel
from simulation.scale import memory
from tests.helpers import small

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

structure, size = sys.argv[1], int(sys.argv[2])
PeerLearningModel(small(structure, size=2000, steps=2)).run()
gc.collect()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
scenario = small(structure, size=size, steps=2)
model = PeerLearningModel(scenario)
model.run()
print(json.dumps({"grown": status("VmHWM") - before, "estimate": memory.estimate_bytes(scenario)}))
"""


def test_budget_is_at_most_sixteen_bytes_per_agent_at_a_billion():
    """At 10^9 agents every structure's estimate, double buffers included, is <= 16 bytes/agent."""
    for name in ("billion.toml", "billion_mixed.toml"):
        scenario = load(SCENARIOS / name)
        assert scenario.population.size == 10**9
        assert memory.estimate_bytes(scenario) <= 16 * 10**9, name
    fixed_share = small("expert_only", size=10**9, experts__learners_per_expert=30)
    assert memory.estimate_bytes(fixed_share) <= 16 * 10**9


def test_estimate_matches_the_arrays_a_model_holds_at_ten_million():
    """The persistent parts of the estimate are within 10% of the arrays' bytes at 10^7 agents."""
    scenario = small("expert_only", size=10**7, steps=1, experts__learners_per_expert=30)
    model = PeerLearningModel(scenario)
    pop = model.population
    arrays = (pop.skill, pop.skill_next, pop.motivation, pop.flags, pop.flags_next,
              pop.community_start, pop.community_present, pop.community_initial)
    held = sum(a.nbytes for a in arrays)
    held += model._stats.nbytes + model._histogram.nbytes
    held += model.engine.class_mean.nbytes + model.engine.class_count.nbytes
    persistent = sum(v for k, v in memory.budget(scenario).items() if k not in memory.WEEKLY_PARTS)
    assert abs(persistent - held) <= 0.1 * held


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("structure", ["peer_only", "mixed"])
def test_estimate_matches_the_peak_resident_memory_of_a_run_at_ten_million(structure):
    """A run of 10^7 agents grows the process's peak resident memory by the estimate, within 10%."""
    result = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, structure, str(10**7)], cwd=ROOT, capture_output=True,
        text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert abs(probe["grown"] - probe["estimate"]) <= 0.1 * probe["estimate"], probe


def test_guard_refuses_a_population_too_large_for_the_machine(monkeypatch):
    """Before allocating anything, the model refuses a population needing more than is available.

    It says how much is needed, how much is available and the largest population that fits.
    """
    monkeypatch.setenv(memory.ENV_AVAILABLE, "1G")
    with pytest.raises(memory.MemoryBudgetError) as info:
        PeerLearningModel(small("peer_only", size=10**8))
    message = str(info.value)
    assert "\n" not in message and "population.size" in message
    assert "100,000,000 agents need about 1.2 GiB" in message
    assert "only 1.0 GiB is available (PEERSCALE_MEMORY_AVAILABLE)" in message
    fits = int(message.rsplit("about ", 1)[1].split()[0].replace(",", ""))
    scenario = small("peer_only", size=10**8)
    estimate = memory.estimate_bytes
    assert estimate(scenario, fits) <= 2**30 < estimate(scenario, fits + 1)


def test_guard_lets_a_population_that_fits_through(monkeypatch):
    """A population that fits passes the guard, which returns the bytes it needs."""
    monkeypatch.setenv(memory.ENV_AVAILABLE, "1G")
    scenario = small("peer_only", size=10**5)
    assert memory.check(scenario) == memory.estimate_bytes(scenario) < 2**30


def test_cli_reports_a_population_too_large_in_one_line_with_exit_2(tmp_path):
    """`peerscale run` with a population too large: one line, exit code 2, no results written."""
    out = tmp_path / "out"
    result = run_cli(
        "run", str(SCENARIOS / "peer_only.toml"), "--set", "population.size=300000000",
        "--out", str(out), env={memory.ENV_AVAILABLE: "2G"},
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "need about" in lines[0] and "available" in lines[0]
    assert "largest population that fits" in lines[0]
    assert not out.exists()


def test_memory_sizes_are_read_with_units():
    """Byte counts may carry units (8G, 512MiB) or be written in exponent notation."""
    assert memory.parse_bytes("8G") == 8 * 2**30
    assert memory.parse_bytes("512MiB") == 512 * 2**20
    assert memory.parse_bytes("1.5e9") == 1_500_000_000


def test_replicates_hold_one_model_at_a_time(monkeypatch):
    """run_scenario frees each replicate's model before the next (two 10^9 models won't fit)."""
    import weakref

    from simulation.analysis import runner

    alive = weakref.WeakSet()
    seen = []

    class Counting(PeerLearningModel):
        def __init__(self, *args, **kwargs):
            seen.append(len(alive))  # models still alive while this one is built
            super().__init__(*args, **kwargs)
            alive.add(self)

    monkeypatch.setattr(runner, "PeerLearningModel", Counting)
    runner.run_scenario(small("peer_only", size=500, steps=2), replicates=3)
    assert seen == [0, 0, 0]
    scenario = small("peer_only", size=500, steps=2)
    kept = runner.run_scenario(scenario, replicates=2, keep_models=True)
    assert len(kept.final_models) == 2


def test_only_a_sweep_reuses_a_recent_reading_and_only_for_a_small_model(monkeypatch):
    """Outside `recent_readings` every check reads afresh; inside, a tiny model may reuse one."""
    guard = memory
    small_scenario = Scenario().with_overrides({"population.size": 1000})
    guard.check(small_scenario)  # a real reading, now recent
    monkeypatch.setattr(guard, "available_bytes", lambda: (10_000, "test"))
    with pytest.raises(guard.MemoryBudgetError):
        guard.check(small_scenario)  # outside a sweep: afresh, and refused
    reading = (time.monotonic(), os.environ.get(guard.ENV_AVAILABLE), 2**40, "earlier")
    monkeypatch.setattr(guard, "_RECENT", reading)
    with guard.recent_readings():
        guard.check(small_scenario)  # reused: 1,000 agents are far below 1 TiB
        big = Scenario().with_overrides({"population.size": 10**10})  # about 120 GB
        with pytest.raises(guard.MemoryBudgetError):
            guard.check(big)  # not far below the reading: afresh, and refused
