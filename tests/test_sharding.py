"""Sharded runs give the single-process numbers bit for bit (docs/ODD.md, section 7.9)."""

import hashlib
import os
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import PeerLearningModel, Scenario, ScenarioError
from simulation.scale import memory
from simulation.scale.sharding import (
    Shard,
    ShardedRun,
    _worker_threads,
    cluster,
    local_workers,
    shard_blocks,
)
from simulation.structures.expert_arrangement import ExpertArrangement

from .helpers import SCENARIOS, run_cli, small

CASES = {
    "peer_only": small("peer_only", size=20_000, steps=4),
    "mixed": small("mixed", size=20_000, steps=4),
    # 3 experts: classes of 6,667 slots, so a class straddles every shard boundary
    "expert_only, classes across shards": small(
        "expert_only", size=20_000, steps=4, experts__count=3, experts__format="class_log_law"
    ),
    # 400 classes of at most 30: 12,000 seats, so shards beyond them hold no taught class
    "expert_only, seat-capped classes across shards": small(
        "expert_only", size=20_000, steps=4, experts__count=400, experts__format="class"
    ),
    "ideal-gap pool, arrivals, agency 0": small(
        "peer_only", size=20_000, steps=4, program__connectivity=2,
        population__arrival_rate=0.01, program__agency=0,
    ),
    # Split roles by starting skill and through the pool of tutors (sorted: connectivity 2).
    "split roles, pool of tutors": small(
        "peer_only", size=20_000, steps=4, program__connectivity=2, learning__roles="split",
        learning__participation=0.8,
    ),
    # Tutors' capacity (matching within each community in priority order) and strong tutors.
    "tutor capacity, strong tutors": small(
        "mixed", size=20_000, steps=4, program__connectivity=0, learning__tutor_capacity=2,
        learning__strong_tutors=4000,
    ),
    "strong tutors": small(
        "peer_only", size=20_000, steps=4, program__connectivity=0, learning__strong_tutors=4000,
    ),
    # Tutors met through the pool: capacity dealt as slots, and their quality (sorted pool).
    "pool tutors' capacity and quality": small(
        "peer_only", size=20_000, steps=4, program__connectivity=2, learning__tutor_capacity=2,
        learning__strong_tutors=4000,
    ),
}


def single(scenario: Scenario, seed: int = 3) -> PeerLearningModel:
    """The single-process run every sharded run must equal."""
    model = PeerLearningModel(scenario, seed=seed)
    model.run()
    return model


@pytest.mark.parametrize("shards", [2, 3])
@pytest.mark.parametrize("case", list(CASES))
def test_sharded_run_equals_the_single_process_run(case, shards):
    """Two or three shards give the single-process metrics and agents, bit for bit."""
    scenario = CASES[case]
    model = single(scenario)
    run = ShardedRun(scenario, seed=3, shards=shards)
    run.run()
    assert len(run.shards) == shards
    pd.testing.assert_frame_equal(model.metrics_frame().reset_index(drop=True), run.metrics_frame(),
                                  check_dtype=False, check_exact=True)
    state = run.state()
    for key in ("skill", "motivation", "flags"):
        assert np.array_equal(getattr(model.population, key), state[key]), key


@pytest.mark.parametrize("case", ["expert_only, classes across shards",
                                  "expert_only, seat-capped classes across shards"])
def test_an_expert_class_really_spans_shards_in_the_class_case(case):
    """The class cases exercise the sums carried between shards (else they prove nothing)."""
    scenario = CASES[case]
    run = ShardedRun(scenario, seed=3, shards=2)
    arrangement = ExpertArrangement.for_scenario(scenario, run.capacity)
    boundary = run.shards[1].population.slot_offset
    assert boundary % arrangement.class_span != 0
    assert boundary < arrangement.class_span * arrangement.classes  # inside a taught class


def test_a_different_seed_differs():
    """Another seed gives other skills (the equality above is not vacuous)."""
    scenario = CASES["peer_only"]
    a, b = ShardedRun(scenario, seed=3, shards=2), ShardedRun(scenario, seed=4, shards=2)
    a.run()
    b.run()
    assert not np.array_equal(a.state()["skill"], b.state()["skill"])


def test_shards_are_contiguous_ranges_of_whole_blocks():
    """Shards cover the blocks in order without gaps, and are never more than the blocks."""
    scenario = small("peer_only", size=100_000, steps=1)
    blocks, ranges = shard_blocks(scenario, 4)
    assert ranges[0][0] == 0 and ranges[-1][1] == blocks.size - 1
    assert all(b0 < b1 for b0, b1 in ranges)
    assert all(r[1] == s[0] for r, s in pairwise(ranges))
    # about equal slots per shard
    sizes = [blocks[b1] - blocks[b0] for b0, b1 in ranges]
    assert max(sizes) - min(sizes) <= 2 * np.diff(blocks).max()
    # never more shards than blocks
    tiny = small("peer_only", size=900, steps=1)
    assert len(shard_blocks(tiny, 50)[1]) == blocks_of(tiny)


def blocks_of(scenario: Scenario) -> int:
    """Blocks of the whole population of `scenario`."""
    return shard_blocks(scenario, 1)[0].size - 1


def test_study_groups_are_refused_in_one_line():
    """Study groups cannot be sharded yet: a ScenarioError says so."""
    with pytest.raises(ScenarioError, match="cannot be sharded"):
        ShardedRun(small("study_groups", size=2000, steps=2), shards=2)


def test_a_shard_too_large_for_its_worker_is_refused(monkeypatch):
    """A shard checks its own share against the worker's memory before allocating."""
    monkeypatch.setattr(memory, "available_bytes", lambda: (10_000, "test"))
    with pytest.raises(memory.MemoryBudgetError, match="a shard of"):
        Shard(small("peer_only", size=20_000, steps=2), 1, 0, 4)


def test_dask_worker_processes_give_the_same_numbers():
    """Shards as actors on two dask worker processes give the single-process numbers."""
    distributed = pytest.importorskip("distributed")
    scenario = CASES["expert_only, classes across shards"]
    model = single(scenario)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None, silence_logs=40) as cluster,
        distributed.Client(cluster) as client,
    ):
        run = ShardedRun(scenario, seed=3, shards=2, client=client)
        run.run()
        frame, state = run.metrics_frame(), run.state()
    pd.testing.assert_frame_equal(model.metrics_frame().reset_index(drop=True), frame,
                                  check_dtype=False, check_exact=True)
    assert np.array_equal(model.population.skill, state["skill"])


def _threads_here() -> tuple[str | None, int]:
    """A worker's share of numba's threads, as a Shard method sees it."""
    import numba

    from simulation.scale.sharding import WORKER_THREADS

    return os.environ.get(WORKER_THREADS), _worker_threads(numba.get_num_threads)()


def test_the_cluster_gives_workers_a_share_of_the_threads_and_leaves_this_process_alone():
    """cluster(): each worker uses cores // workers threads; this process's environment is kept.

    distributed writes pre-spawn variables into the parent's os.environ; a NUMBA_NUM_THREADS
    written there made numba raise at this process's next compilation (seen in CI).
    """
    import numba

    before = dict(os.environ)
    with cluster(2) as client:
        shares = set(client.run(_threads_here).values())
        numba.njit(lambda x: x + 1)(1)  # compiles: rereads this process's environment
    expected = str(max(1, (os.cpu_count() or 1) // local_workers(2)))
    assert shares == {(expected, int(expected))}
    assert dict(os.environ) == before


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_shards_write_the_same_metrics_file(tmp_path):
    """`peerscale run --shards 2` writes a metrics file byte-identical to the unsharded one."""
    args = ["run", str(SCENARIOS / "peer_only.toml"), "--set", "population.size=20000",
            "--steps", "3", "--replicates", "2"]
    one = run_cli(*args, "--out", str(tmp_path / "one"))
    two = run_cli(*args, "--shards", "2", "--out", str(tmp_path / "two"))
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    one_file, two_file = (tmp_path / name / "metrics.parquet" for name in ("one", "two"))
    assert digest(one_file) == digest(two_file)


def test_cli_refuses_sharded_study_groups_and_a_dead_scheduler(tmp_path):
    """Sharded study groups and an unreachable scheduler: exit 2, no traceback, nothing written."""
    groups = run_cli("run", str(SCENARIOS / "study_groups_rotating.toml"), "--shards", "2",
                     "--out", str(tmp_path / "a"))
    assert groups.returncode == 2 and "cannot be sharded" in groups.stderr
    assert "Traceback" not in groups.stderr
    dead = run_cli("run", str(SCENARIOS / "peer_only.toml"), "--set", "population.size=2000",
                   "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "b"))
    assert dead.returncode == 2 and "--scheduler" in dead.stderr and "Traceback" not in dead.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
