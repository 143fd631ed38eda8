"""Sharded runs survive a lost Dask worker: the lost shards restart and the numbers stay the same.

A worker process of a real LocalCluster is killed (SIGKILL) in the middle of a run; its shards
are started again on a live or restarted worker from the last checkpoint (or from week 0, which
the seed alone determines), the weeks since then run again, and the metrics equal those of a
single-process run bit for bit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from simulation import PeerLearningModel
from simulation.analysis.runner import run_scenario
from simulation.cli import main
from simulation.scale.checkpoint import FOLDER, Checkpoints
from simulation.scale.sharding import ShardedRun, WorkerLostError, cluster

from .helpers import SCENARIOS, small
from .test_checkpoint import digest, finish, start, wait_for

# Classes of 6,667 slots: a class spans the shard boundary, so restarts must rebuild carried sums.
SCENARIO = small("expert_only", size=20_000, steps=6, experts__count=3)


@pytest.fixture(scope="module")
def client():
    """A local cluster of two worker processes, as `peerscale run --shards 2` starts."""
    with cluster(2) as dask_client:
        yield dask_client


def single_process() -> pd.DataFrame:
    """The weekly metrics every sharded run must equal."""
    model = PeerLearningModel(SCENARIO, seed=3)
    model.run()
    return model.metrics_frame().reset_index(drop=True)


def kill_after(week: int, client, run: list[ShardedRun]):
    """A progress callback that kills the worker holding shard 2 after `week` weeks."""
    weeks = [0]

    def after(_agents: int) -> None:
        weeks[0] += 1
        if weeks[0] == week:
            pids = client.run(os.getpid)
            os.kill(pids[run[0].shards[1]._address], signal.SIGKILL)

    return after


class Keep(ShardedRun):
    """A ShardedRun that remembers itself, so the test can find its shards' workers."""

    made: ClassVar[list[ShardedRun]] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Keep.made[:] = [self]


@pytest.mark.parametrize(
    ("every", "kill", "restart"), [(2, 3, "week 2"), (2, 4, "week 2"), (0, 3, "week 0")]
)
def test_a_killed_worker_s_shards_restart_and_the_numbers_stay_the_same(
    every, kill, restart, client, tmp_path, monkeypatch, caplog
):
    """Killed after week 3 or 4 (a checkpoint week), with or without checkpoints: same metrics."""
    import simulation.scale.sharding as sharding

    monkeypatch.setattr(sharding, "ShardedRun", Keep)
    checkpoints = (Checkpoints.create(tmp_path / FOLDER, {"seed": 3, "every": every})
                   if every else None)
    done = run_scenario(SCENARIO, replicates=1, seed=3, shards=2, client=client, keep_models=True,
                        progress=kill_after(kill, client, Keep.made), checkpoints=checkpoints)
    (model,) = done.final_models
    assert isinstance(model, ShardedRun) and model.recoveries == 1
    frame = done.frame.drop(columns=["scenario", "replicate", "seed"])
    pd.testing.assert_frame_equal(frame, single_process(), check_dtype=False, check_exact=True)
    (note,) = [r.getMessage() for r in caplog.records if "worker was lost" in r.getMessage()]
    assert f"restarting from the checkpoint of {restart}" in note or (
        restart == "week 0" and "from week 0 (no checkpoint yet)" in note
    ), note


def test_a_run_that_may_not_restart_stops_with_one_line(client):
    """With no restarts left, a lost worker stops the run: WorkerLostError, one line."""
    run = ShardedRun(SCENARIO, seed=3, shards=2, client=client, retries=0)
    run.run(2)
    os.kill(client.run(os.getpid)[run.shards[0]._address], signal.SIGKILL)
    with pytest.raises(WorkerLostError, match="lost at week 3") as info:
        run.run()
    assert "\n" not in str(info.value) and info.value.week == 0 and info.value.folder is None


PEER = str(SCENARIOS / "peer_only.toml")
RUN = [PEER, "--set", "population.size=100000", "--steps", "16", "--replicates", "1",
       "--seed", "2"]


def workers_of(pid: int) -> list[int]:
    """The Dask worker processes a `peerscale` process started (its spawned children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def sharded_run(tmp_path: Path, week: int) -> tuple[subprocess.Popen[str], Path]:
    """A reference run here, then `run --shards 2` in a process, up to its checkpoint of `week`."""
    main(["run", *RUN, "--out", str(tmp_path / "reference")])
    out = tmp_path / "sharded"
    run = start("run", *RUN, "--shards", "2", "--checkpoint-every", "2", "--out", str(out),
                cwd=tmp_path)
    wait_for((out / FOLDER / f"r000000-w{week:06d}").exists, run)
    return run, out


def test_cli_sharded_run_survives_a_killed_worker_with_the_same_bytes(tmp_path):
    """`peerscale run --shards 2`: a worker killed mid-run, one note line, the same bytes."""
    run, out = sharded_run(tmp_path, 2)
    workers = workers_of(run.pid)
    assert len(workers) == 2
    os.kill(workers[1], signal.SIGKILL)
    returncode, lines = finish(run)
    assert returncode == 0, lines
    assert len(lines) == 2 and lines[0].startswith("note: checkpoints every 2 weeks"), lines
    assert lines[1].startswith("note: a Dask worker was lost at week "), lines
    assert digest(out / "metrics.parquet") == digest(tmp_path / "reference" / "metrics.parquet")


@pytest.mark.slow  # with the benchmarks: sharded resume is checked in this process in CI
def test_cli_sharded_run_killed_outright_resumes_to_the_same_bytes(tmp_path):
    """The whole sharded run killed (its workers too), then resumed: the same bytes."""
    run, out = sharded_run(tmp_path, 6)
    os.killpg(run.pid, signal.SIGKILL)
    finish(run)
    time.sleep(0.5)
    resumed = subprocess.run([sys.executable, "-m", "simulation.cli", "resume", str(out)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert digest(out / "metrics.parquet") == digest(tmp_path / "reference" / "metrics.parquet")
