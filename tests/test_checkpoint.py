"""Checkpoints: a run stopped at any week and resumed gives the uninterrupted run's bytes.

In this process a run is stopped by an exception after a chosen week; through the command line
it is killed for real (SIGKILL, SIGTERM, SIGINT) and resumed with `peerscale resume`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import structures
from simulation.analysis.results import MARKER
from simulation.analysis.runner import run_scenario
from simulation.cli import main
from simulation.scale.checkpoint import (
    BYTES_PER_SLOT,
    FOLDER,
    CheckpointError,
    Checkpoints,
    checkpoint_bytes,
    read_part,
)
from simulation.structures.base import Structure
from simulation.structures.peer_learning import PeerEngine, peer_memory

from .helpers import SCENARIOS, small

PEER = str(SCENARIOS / "peer_only.toml")

CASES = {
    "mixed, arrivals, ideal-gap pool": small(
        "mixed", size=3000, steps=7, population__arrival_rate=0.01, program__connectivity=2
    ),
    "expert_only, classes": small("expert_only", size=3000, steps=7, experts__count=3),
    "study_groups, rotating": small("study_groups", size=3000, steps=7,
                                    study_groups__mode="rotating"),
}


class Stop(Exception):
    """Stands for a crash after a given week."""


def request(every: int = 2) -> dict:
    """The smallest run request a Checkpoints folder needs."""
    return {"scenario": {}, "seed": 4, "replicates": 3, "steps": 7, "every": every}


def stopped_at(week_count: int):
    """A progress callback that raises Stop after `week_count` weeks in all."""
    weeks = [0]

    def after(_agents: int) -> None:
        weeks[0] += 1
        if weeks[0] == week_count:
            raise Stop

    return after


@pytest.mark.parametrize(
    ("case", "shards"),
    [(case, 1) for case in CASES]
    + [(case, 2) for case in CASES if CASES[case].structure.shardable],
)
def test_a_run_resumed_from_its_last_checkpoint_equals_the_uninterrupted_run(
    case, shards, tmp_path
):
    """Stopped mid-way through or at the end of a replicate and resumed: the same metrics."""
    scenario = CASES[case]
    whole = run_scenario(scenario, replicates=2, seed=4).frame
    for stop in (7, 10):  # 7 weeks a replicate: at the end of the first, mid-way in the second
        folder = tmp_path / f"stop{stop}" / FOLDER
        checkpoints = Checkpoints.create(folder, request())
        with pytest.raises(Stop):
            run_scenario(scenario, replicates=2, seed=4, progress=stopped_at(stop),
                         checkpoints=checkpoints, shards=shards)
        resumed = run_scenario(scenario, replicates=2, seed=4, shards=shards,
                               checkpoints=Checkpoints.open(folder.parent))
        pd.testing.assert_frame_equal(resumed.frame, whole, check_exact=True)


def test_a_resumed_run_starts_from_the_checkpoint_and_reads_its_arrays(tmp_path):
    """Only the weeks after the checkpoint run again, from the saved arrays.

    A changed skill array changes the result, so the equality above is not vacuous.
    """
    scenario = CASES["mixed, arrivals, ideal-gap pool"]
    checkpoints = Checkpoints.create(tmp_path / "a" / FOLDER, request(every=2))
    with pytest.raises(Stop):
        run_scenario(scenario, replicates=3, seed=4, progress=stopped_at(12),
                     checkpoints=checkpoints)
    saved = checkpoints.latest()
    assert (saved.replicate, saved.week) == (1, 4)  # 12 weeks = replicate 0 and 5 of the next
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    weeks: list[int] = []
    whole = run_scenario(scenario, replicates=3, seed=4).frame
    resumed = run_scenario(scenario, replicates=3, seed=4, progress=weeks.append,
                           checkpoints=Checkpoints.open(tmp_path / "a"))
    assert len(weeks) == (7 - 4) + 7  # the rest of replicate 1, then replicate 2
    pd.testing.assert_frame_equal(resumed.frame, whole, check_exact=True)

    skill = tmp_path / "b" / FOLDER / saved.folder.name / "model" / "population.skill.npy"
    changed = np.load(skill)
    changed[changed > 0] *= np.float32(0.5)
    np.save(skill, changed)
    tampered = run_scenario(scenario, replicates=3, seed=4,
                            checkpoints=Checkpoints.open(tmp_path / "b"))
    assert not tampered.frame["mean_skill"].equals(whole["mean_skill"])


class CountingEngine(PeerEngine):
    """The peer step plus a per-agent count of active weeks: engine state added by declaring it."""

    STATE = (*PeerEngine.STATE, "active_weeks")

    def __init__(self, population, scenario, seed, blocks, stats, histogram):
        super().__init__(population, scenario, seed, blocks, stats, histogram)
        self.active_weeks = np.zeros(population.capacity, dtype=np.uint16)

    def week(self, step: int) -> None:
        """The peer week, then one more week for every agent still active."""
        super().week(step)
        self.active_weeks += (self.population.flags_next & 2) != 0


@pytest.fixture
def counting():
    """A structure whose engine holds an array of its own (registered for this test only)."""
    structure = structures.register(Structure(
        name="test_counting", label="peers, counting active weeks", engine=CountingEngine,
        peers=True, experts=False, memory=peer_memory, shardable=False,
    ))
    yield structure
    structures.unregister(structure.name)


def test_new_engine_state_is_checkpointed_by_declaring_it(counting, tmp_path):
    """An engine array named in STATE is saved and restored with no change to checkpoint code."""
    scenario = small("peer_only", size=3000, steps=7).with_overrides(
        {"program.structure": counting.name}
    )
    checkpoints = Checkpoints.create(tmp_path / FOLDER, request(every=2))
    with pytest.raises(Stop):
        run_scenario(scenario, replicates=1, seed=4, progress=stopped_at(5),
                     checkpoints=checkpoints)
    part = read_part(checkpoints.latest().folder / "model")
    assert part["engine.active_weeks"].max() == 4  # saved after week 4
    whole = run_scenario(scenario, replicates=1, seed=4, keep_models=True)
    resumed = run_scenario(scenario, replicates=1, seed=4, keep_models=True,
                           checkpoints=Checkpoints.open(tmp_path))
    final = [run.final_models[0].engine.active_weeks for run in (whole, resumed)]
    assert final[0].max() == 7 and np.array_equal(final[0], final[1])


def test_a_checkpoint_takes_the_documented_bytes_per_agent(tmp_path):
    """About 7 bytes per agent slot plus the community and block arrays (docs/performance.md)."""
    scenario = small("peer_only", size=200_000, steps=3)
    checkpoints = Checkpoints.create(tmp_path / FOLDER, request(every=2))
    with pytest.raises(Stop):
        run_scenario(scenario, replicates=1, seed=4, progress=stopped_at(3),
                     checkpoints=checkpoints)
    folder = checkpoints.latest().folder
    size = sum(p.stat().st_size for p in (folder / "model").iterdir())
    assert size == pytest.approx(checkpoint_bytes(scenario), rel=0.05)
    skill_and_state = sum((folder / "model" / f"population.{k}.npy").stat().st_size
                          for k in ("skill", "motivation", "flags"))
    assert skill_and_state / 200_000 == pytest.approx(BYTES_PER_SLOT, rel=0.01)


def test_a_damaged_checkpoint_is_refused_in_one_line(tmp_path, capsys):
    """A truncated array file: `peerscale resume` names the file, exit 2, no traceback."""
    from simulation.cli import _request

    scenario = small("peer_only", size=3000, steps=6)
    out = tmp_path / "run"
    checkpoints = Checkpoints.create(out / FOLDER, _request(scenario, Path(PEER), 4, 1, 1, None, 2))
    with pytest.raises(Stop):  # as `peerscale run --checkpoint-every 2` stopped after week 4
        run_scenario(scenario, replicates=1, seed=4, progress=stopped_at(5),
                     checkpoints=checkpoints)
    skill = checkpoints.latest().folder / "model" / "population.skill.npy"
    skill.write_bytes(skill.read_bytes()[:-10])
    with pytest.raises(SystemExit) as exit_:
        main(["resume", str(out)])
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and "Traceback" not in err
    assert "unreadable checkpoint part" in err and "population.skill.npy" in err
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        Checkpoints.open(tmp_path)


# ----------------------------------------------------------------------------------------------
# Real processes, real signals


def digest(path: Path) -> str:
    """SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """`peerscale args` as a process of its own (a session of its own: killable as a group)."""
    env = os.environ | {"PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, "-m", "simulation.cli", *args], cwd=cwd, env=env, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )


def wait_for(condition, process: subprocess.Popen[str], timeout: float = 120.0) -> None:
    """Poll until `condition()` holds (fail if the process ends first or time runs out)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"ended before the moment to stop it: {process.stderr}"
        assert time.monotonic() < deadline, "the moment to stop it never came"
        time.sleep(0.005)


def finish(process: subprocess.Popen[str]) -> tuple[int, list[str]]:
    """Exit code and non-empty stderr lines of a process."""
    _, err = process.communicate(timeout=300)
    return process.returncode, [line for line in err.splitlines() if line.strip()]


def reference(tmp_path: Path, args: list[str]) -> str:
    """The metrics.parquet digest of an uninterrupted run (in this process)."""
    main(["run", *args, "--out", str(tmp_path / "reference")])
    return digest(tmp_path / "reference" / "metrics.parquet")


RUN = [PEER, "--set", "population.size=150000", "--steps", "20", "--replicates", "2",
       "--seed", "5"]


def test_a_run_killed_at_a_random_week_resumes_to_the_same_bytes(tmp_path):
    """SIGKILL after a random week, then `peerscale resume`: the uninterrupted run's bytes.

    metrics.parquet and summary.json are byte-identical to those of a run never stopped; a
    resume while the run is still going on is refused.
    """
    expected = reference(tmp_path, RUN)
    replicate, week = random.randrange(2), random.randrange(2, 20, 2)
    out = tmp_path / "killed"
    run = start("run", *RUN, "--checkpoint-every", "2", "--out", str(out), cwd=tmp_path)
    mark = out / FOLDER / f"r{replicate:06d}-w{week:06d}"
    wait_for(mark.exists, run)
    with pytest.raises(SystemExit) as refused:  # not while the run is still going on
        main(["resume", str(out)])
    os.killpg(run.pid, signal.SIGKILL)
    assert refused.value.code == 2
    assert finish(run)[0] == -signal.SIGKILL
    assert not (out / "metrics.parquet").exists()
    main(["resume", str(out)])
    assert digest(out / "metrics.parquet") == expected, (replicate, week)
    assert digest(out / "summary.json") == digest(tmp_path / "reference" / "summary.json")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed"]["from_replicate"] >= replicate
    uninterrupted = json.loads((tmp_path / "reference" / "manifest.json").read_text())
    differs = {k for k in manifest.keys() | uninterrupted.keys()
               if manifest.get(k) != uninterrupted.get(k)}
    # Timing, the command (argv of this test for the reference) and how the run went on.
    assert differs <= {"created_utc", "wall_time_s", "command", "checkpoint_every", "resumed"}
    assert not (out / FOLDER).exists()  # the checkpoints go once the results are written


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_a_run_with_one_line_and_leaves_nothing(sig, code, tmp_path):
    """SIGTERM (exit 143) and SIGINT (130): one line, no results, no .partial folder left."""
    run = start("run", *RUN, "--out", "out", cwd=tmp_path)
    wait_for(lambda: any(p.name.endswith(".partial") for p in tmp_path.iterdir()), run)
    time.sleep(0.5)  # in the middle of the weeks
    run.send_signal(sig)
    returncode, lines = finish(run)
    assert returncode == code
    assert lines == [f"error: interrupted by {signal.Signals(sig).name}; nothing was written"]
    assert list(tmp_path.iterdir()) == []


def test_a_folder_left_by_sigkill_is_removed_by_the_next_run_beside_it(tmp_path):
    """SIGKILL leaves a marked .partial folder; the next run writing there removes it, says so.

    Folders that are not ours (another name, or not empty without a marker) stay.
    """
    run = start("run", *RUN, "--out", "out", cwd=tmp_path)
    wait_for(lambda: any((p / MARKER).is_file() for p in tmp_path.iterdir()), run)
    os.killpg(run.pid, signal.SIGKILL)
    finish(run)
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".out.")
    unmarked = tmp_path / ".someone-else.partial"
    unmarked.mkdir()
    old_but_not_empty = tmp_path / ".x.0123abcd.partial"
    old_but_not_empty.mkdir()
    (old_but_not_empty / "data").write_text("kept")
    os.utime(old_but_not_empty, (0, 0))
    again = subprocess.run(
        [sys.executable, "-m", "simulation.cli", "run", PEER, "--set", "population.size=2000",
         "--steps", "2", "--replicates", "1", "--out", "next"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert again.returncode == 0, again.stderr
    (line,) = again.stderr.strip().splitlines()
    assert line.startswith(f"note: removed {left.name}: unfinished results of a run that was "
                           f"killed (pid {run.pid}, ")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".someone-else.partial", ".x.0123abcd.partial", "next"
    ]


def test_an_empty_unmarked_folder_of_a_run_killed_as_it_started_is_removed_later(tmp_path):
    """Killed between making its folder and marking it: removed once older than a minute."""
    from simulation.analysis.results import UNMARKED_SECONDS, sweep_partials

    young, old = tmp_path / ".run-a.0123abcd.partial", tmp_path / ".run-b.4567cdef.partial"
    young.mkdir()
    old.mkdir()
    os.utime(old, (time.time() - UNMARKED_SECONDS - 1,) * 2)
    (line,) = sweep_partials(tmp_path)
    assert line.startswith(f"removed {old}: an empty folder of a run killed as it started")
    assert [p.name for p in tmp_path.iterdir()] == [young.name]


def test_a_checkpointed_run_stopped_by_sigterm_says_how_to_resume(tmp_path):
    """SIGTERM keeps the checkpoints and names the command that resumes to the same bytes."""
    expected = reference(tmp_path, RUN)
    out = tmp_path / "stopped"
    run = start("run", *RUN, "--checkpoint-every", "4", "--out", str(out), cwd=tmp_path)
    wait_for((out / FOLDER / "r000000-w000008").exists, run)
    run.send_signal(signal.SIGTERM)
    returncode, lines = finish(run)
    assert returncode == 143
    assert lines[0].startswith("note: checkpoints every 4 weeks") and len(lines) == 2
    assert lines[1].startswith("error: interrupted by SIGTERM; no results written; resume from")
    assert lines[1].endswith(f"peerscale resume {out}")
    main(["resume", str(out)])
    assert digest(out / "metrics.parquet") == expected


def test_an_experiment_folder_is_replaced_whole_or_left_as_it_was(tmp_path):
    """results.replaced_folder: success replaces the old folder; a failure leaves it untouched."""
    from simulation.analysis.results import replaced_folder

    out = tmp_path / "output"
    out.mkdir()
    (out / "old.csv").write_text("old")
    def interrupted() -> None:
        with replaced_folder(out) as tmp:
            (tmp / "new.csv").write_text("new")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output"]
    assert [p.name for p in out.iterdir()] == ["old.csv"]
    with replaced_folder(out) as tmp:
        (tmp / "new.csv").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output"]
    assert [p.name for p in out.iterdir()] == ["new.csv"]
