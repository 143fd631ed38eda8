"""Sweeps: validated before anything runs, the same bytes on any workers, honest indices.

Sweep files are validated before anything runs, points are the same bytes on any number of
workers and after any interruption, and the indices find what drives an output.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import ScenarioError, load, run_scenario
from simulation.analysis.sweep import SweepError, load_sweep, sweep
from simulation.analysis.sweep.execute import WORKER_NAME
from simulation.analysis.sweep.spec import with_element_overrides

from .helpers import ROOT, SCENARIOS, run_cli

# 24 points x 2 replicates of 2,000 agents x 8 weeks: a few milliseconds a run, enough points
# to stop a sweep part-way.
GRID = f"""
name = "tiny"
seed = 11
replicates = 2

[base]
scenario = "{SCENARIOS / "peer_only.toml"}"
set = {{ "population.size" = 2000, "run.steps" = 8 }}

[design]
kind = "grid"

[parameters]
"learning.optimal_gap" = {{ range = [0.05, 0.2], steps = 4 }}
"program.connectivity" = {{ values = [0, 1, 2] }}
"levels.agency_decay[2]" = {{ values = [0.0, 0.02] }}

[[outputs]]
metric = "gain_per_capita"

[[outputs]]
metric = "competent_fraction"
week = 4

[[outputs]]
metric = "active_fraction"
"""


def _write(folder: Path, text: str, name: str = "sweep.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _dataset(folder: Path) -> dict[str, bytes]:
    """Every file of the partitioned dataset, and points.parquet, by name: their bytes."""
    files = {p.name: p.read_bytes() for p in sorted((folder / "dataset").iterdir())}
    return files | {"points.parquet": (folder / "points.parquet").read_bytes()}


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory) -> Path:
    """The 3x3 grid sweep file of the tests."""
    return _write(tmp_path_factory.mktemp("sweep"), GRID)


@pytest.fixture(scope="module")
def reference(grid_file, tmp_path_factory):
    """The grid swept without interruption on two local workers."""
    return sweep(grid_file, out=tmp_path_factory.mktemp("ref") / "out", workers=2)


@pytest.fixture(scope="module")
def dask_client():
    """A local Dask cluster of two worker processes, kept warm for the module's sweeps."""
    from simulation.scale.sharding import cluster

    with cluster(2) as client:  # its scheduler takes a free port: runs side by side never clash
        yield client


def test_a_grid_sweep_writes_points_summary_figure_and_manifest(reference):
    """One row per point and replicate with every parameter and output; the summary per point."""
    folder = reference.folder
    for name in (
        "points.parquet",
        "summary.csv",
        "summary.md",
        "design.png",
        "design.pdf",
        "manifest.json",
        "sweep.json",
        "design.parquet",
    ):
        assert (folder / name).is_file(), name
    points = pd.read_parquet(folder / "points.parquet")
    assert len(points) == 24 * 2
    assert list(points.columns) == [
        "point",
        "replicate",
        "seed",
        "learning.optimal_gap",
        "program.connectivity",
        "levels.agency_decay[2]",
        "gain_per_capita",
        "competent_fraction@4",
        "active_fraction",
    ]
    assert sorted(points["seed"].unique()) == [11, 12]
    summary = pd.read_csv(folder / "summary.csv")
    assert len(summary) == 24
    assert (summary["gain_per_capita_ci_low"] <= summary["gain_per_capita"]).all()
    assert len(list((folder / "dataset").iterdir())) == 24


def test_a_point_reports_what_run_scenario_reports_for_the_same_scenario_and_seeds(reference):
    """Gain per capita (sum of mean_gain over the weeks) and the metrics match RunSet.final."""
    row = reference.summary.iloc[17]
    scenario = load(
        SCENARIOS / "peer_only.toml",
        {
            "population.size": 2000,
            "run.steps": 8,
            "learning.optimal_gap": row["learning.optimal_gap"],
            "program.connectivity": int(row["program.connectivity"]),
        },
    )
    scenario = with_element_overrides(
        scenario, {"levels.agency_decay[2]": row["levels.agency_decay[2]"]}, "t"
    )
    runs = run_scenario(scenario, replicates=2, seed=11)
    final = runs.final()
    points = reference.points[reference.points["point"] == 17]
    assert points["gain_per_capita"].to_numpy() == pytest.approx(
        final["gain_per_capita"].to_numpy(), rel=1e-12
    )
    assert points["active_fraction"].to_numpy().tolist() == final["active_fraction"].tolist()
    week4 = runs.frame[runs.frame["step"] == 4]["competent_fraction"].tolist()
    assert points["competent_fraction@4"].tolist() == week4


def test_same_bytes_on_one_worker_two_workers_and_a_local_dask_cluster(
    grid_file, reference, dask_client, tmp_path
):
    """The dataset does not depend on worker count, batch size, order or engine."""
    one = sweep(grid_file, out=tmp_path / "one", workers=1, batch_size=5)
    dask = sweep(grid_file, out=tmp_path / "dask", client=dask_client, batch_size=3)
    expected = _dataset(reference.folder)
    assert _dataset(one.folder) == expected
    assert _dataset(dask.folder) == expected


def test_a_killed_worker_loses_only_its_points_which_are_run_again(grid_file, reference, tmp_path):
    """SIGKILL to a worker mid-sweep: it is replaced, and the dataset is the uninterrupted one."""
    killed = []

    def kill_one(stored, total, runs):
        if stored == 3 and not killed:
            victim = next(p for p in multiprocessing.active_children() if p.name == WORKER_NAME)
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    result = sweep(grid_file, out=tmp_path / "out", workers=2, batch_size=1, progress=kill_one)
    assert killed and result.restarts == 1
    assert _dataset(result.folder) == _dataset(reference.folder)


def _start(args: list[str]) -> subprocess.Popen:
    env = os.environ | {"PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, "-m", "simulation.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop_part_way(process: subprocess.Popen, folder: Path, sig: int, after: int) -> None:
    """Send `sig` once `after` points are stored (the sweep has 24)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (folder / "dataset").is_dir() and len(
            list((folder / "dataset").glob("part-*"))
        ) >= after:
            process.send_signal(sig)
            return
        time.sleep(0.005)
    raise AssertionError(f"the sweep ended before it could be stopped: {process.communicate()}")


def _stored(folder: Path) -> int:
    return len(list((folder / "dataset").glob("part-*")))


def test_sigterm_then_sigkill_part_way_and_resuming_give_the_uninterrupted_bytes(
    grid_file, reference, tmp_path
):
    """SIGTERM, then SIGKILL part-way, then --resume: the dataset is the uninterrupted one.

    SIGTERM exits 143 with one line saying how to resume; rerun into the folder and SIGKILL it
    part-way; --resume runs only the missing points.
    """
    out = tmp_path / "out"
    args = ["sweep", str(grid_file), "--out", str(out), "--workers", "1", "--batch", "1"]
    process = _start(args)
    _stop_part_way(process, out, signal.SIGTERM, after=3)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr
    first = _stored(out)
    assert (
        f"SIGTERM: stopped with {first} of 24 points stored in {out}; resume with: peerscale sweep "
        f"--resume {out}" in lines[0]
    )

    process = _start(args)  # rerunning into the same folder resumes it
    _stop_part_way(process, out, signal.SIGKILL, after=first + 2)
    process.communicate(timeout=60)
    second = _stored(out)
    assert first + 2 <= second < 24 and not (out / "manifest.json").exists()

    done = run_cli("sweep", "--resume", str(out), "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert f"{24 - second} points" in done.stdout
    assert _dataset(out) == _dataset(reference.folder)
    again = run_cli("sweep", str(grid_file), "--out", str(out))
    assert again.returncode == 0 and "nothing was run" in again.stdout


def test_a_folder_holding_another_sweep_is_refused(grid_file, reference, tmp_path):
    """A changed sweep file would mix two sweeps in one dataset: refused, the folder untouched."""
    changed = _write(tmp_path, GRID.replace("seed = 11", "seed = 12"), "changed.toml")
    before = _dataset(reference.folder)
    with pytest.raises(ScenarioError, match="holds another sweep"):
        sweep(changed, out=reference.folder)
    with pytest.raises(SweepError, match="is not the sweep stored"):
        sweep(changed, resume=reference.folder)
    assert _dataset(reference.folder) == before


def test_an_unreadable_point_file_is_removed_and_its_point_run_again(reference, tmp_path):
    """A part file cut short (a full disk, a lost machine) is found at the end and rerun."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(reference.folder, copy)
    (copy / "manifest.json").unlink()
    (copy / "points.parquet").unlink()
    part = copy / "dataset" / "part-0000005.parquet"
    part.write_bytes(part.read_bytes()[:100])
    result = sweep(resume=copy, workers=1)
    assert result.ran == 1
    assert _dataset(copy) == _dataset(reference.folder)


BAD = {
    "unknown top-level key": (
        "replicates = 2",
        "replicates = 2\nrepeats = 3",
        "repeats: unknown key",
    ),
    "unknown parameter": (
        '"program.connectivity" = {',
        '"program.conectivity" = {',
        "unknown parameter 'program.conectivity'; did you mean 'program.connectivity'",
    ),
    "range outside the schema's bounds": (
        "range = [0.05, 0.2]",
        "range = [0.05, 0.9]",
        "learning.optimal_gap: invalid value 0.9: allowed greater than 0.0",
    ),
    "range upside down": ("range = [0.05, 0.2]", "range = [0.2, 0.05]", "low must be below high"),
    "per-level key without a level": (
        "levels.agency_decay[2]",
        "levels.agency_decay",
        "vary one of levels.agency_decay[0], [1] or [2]",
    ),
    "level out of range": (
        "levels.agency_decay[2]",
        "levels.agency_decay[3]",
        "level index 3 out of range",
    ),
    "unknown metric": (
        'metric = "competent_fraction"',
        'metric = "competence"',
        "unknown metric 'competence'",
    ),
    "week beyond the run": ("week = 4", "week = 9", "week 9 out of range: 0 to 8"),
    "missing scenario file": ("peer_only.toml", "no_such.toml", "no such scenario file"),
    "design setting of another design": (
        'kind = "grid"',
        'kind = "grid"\nn = 8',
        "grid takes no settings",
    ),
    "Sobol N not a power of two": (
        'kind = "grid"',
        'kind = "sobol"\nn = 12',
        "needs a power of two",
    ),
    "range for a choice": (
        '"program.connectivity" = { values = [0, 1, 2] }',
        '"program.structure" = { range = [0, 1] }',
        "give values = [...], not a range",
    ),
    "malformed TOML": ("[design]", "[design", "malformed TOML"),
    "also for a value not listed": (
        '"program.connectivity" = { values = [0, 1, 2] }',
        '"program.connectivity" = { values = [0, 1, 2], also = { 3 = { "learning.candidates" = 4 '
        '} } }',
        "also.3: not one of the values (0, 1, 2)",
    ),
    "also setting a key the sweep varies": (
        '"program.connectivity" = { values = [0, 1, 2] }',
        '"program.connectivity" = { values = [0, 1, 2], also = { 2 = { "learning.optimal_gap" = '
        '0.1 } } }',
        "also sets learning.optimal_gap, which the sweep varies",
    ),
    "also with a value the schema refuses": (
        '"program.connectivity" = { values = [0, 1, 2] }',
        '"program.connectivity" = { values = [0, 1, 2], also = { 1 = { "learning.candidates" = 0 '
        '} } }',
        "also.1.learning.candidates: invalid value 0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_sweep_file_gets_one_line_and_exit_2_before_anything_runs(case, tmp_path):
    """Every mistake in a sweep file is named in one line, and no results folder is made."""
    old, new, message = BAD[case]
    assert old in GRID
    path = _write(tmp_path, GRID.replace(old, new, 1))
    with pytest.raises(SweepError) as error:
        load_sweep(path)
    assert message in str(error.value)
    out = tmp_path / "out"
    result = run_cli("sweep", str(path), "--out", str(out)) if case == "unknown metric" else None
    if result is not None:  # the CLI says the same in one line, exit 2, and writes nothing
        assert (
            result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr
        )
        assert not out.exists()


def test_a_combination_the_schema_refuses_is_found_before_anything_runs(tmp_path):
    """motivation.initial_min above initial_max at some grid point: named, and nothing written."""
    text = GRID.replace(
        '"program.connectivity" = { values = [0, 1, 2] }',
        '"motivation.initial_min" = { values = [0.3, 0.9] }\n'
        '"motivation.initial_max" = { values = [0.5, 1.0] }',
    )
    with pytest.raises(
        SweepError, match=r"point \d+ .*initial_min must not exceed motivation.initial_max"
    ):
        sweep(_write(tmp_path, text), out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_point_too_large_for_this_machine_is_refused_before_anything_runs(tmp_path):
    """The memory guard sees every population size a sweep will run: one line naming the point."""
    text = GRID.replace(
        '"program.connectivity" = { values = [0, 1, 2] }',
        '"population.size" = { values = [1000, 10000000000] }',
    )
    with pytest.raises(SweepError, match=r"point \d+: .*agents need about .* of memory"):
        sweep(_write(tmp_path, text), out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_settings_that_go_with_a_value_apply_at_that_value_only(tmp_path):
    """`also`: expert_only with the log-law class format, mixed with its own default format."""
    text = GRID.replace(
        '"program.connectivity" = { values = [0, 1, 2] }',
        '"program.structure" = { values = ["expert_only", "mixed"], also = { expert_only = '
        '{ "experts.format" = "class_log_law", "experts.count" = 3 } } }',
    )
    spec = load_sweep(_write(tmp_path, text))
    arm = next(iter(spec.arms))
    lectures = spec.scenario(arm, {"program.structure": "expert_only"})
    mixed = spec.scenario(arm, {"program.structure": "mixed"})
    assert (lectures.experts.format, lectures.experts.count) == ("class_log_law", 3)
    assert mixed.experts.format == spec.arms[arm].experts.format == "auto"
    assert mixed.experts.count == spec.arms[arm].experts.count
    assert "also" in spec.to_json()["parameters"][1]  # in the fingerprint: a resume must match


def test_a_level_parameter_changes_that_level_only():
    """levels.agency_decay[2] = 0.02 leaves levels 0 and 1 at their values."""
    base = load(SCENARIOS / "peer_only.toml")
    changed = with_element_overrides(
        base, {"levels.agency_decay[2]": 0.02, "levels.pool_contacts[1]": 4}, "t"
    )
    assert changed.levels.agency_decay == (
        base.levels.agency_decay[0],
        base.levels.agency_decay[1],
        0.02,
    )
    assert changed.levels.pool_contacts == (
        base.levels.pool_contacts[0],
        4,
        base.levels.pool_contacts[2],
    )


SENSITIVITY = f"""
seed = 5
replicates = 1

[base]
set = {{ "population.size" = 1000, "run.steps" = 6 }}

[arms.expert_only]
scenario = "{SCENARIOS / "expert_only.toml"}"

[arms.peer_only]
scenario = "{SCENARIOS / "peer_only.toml"}"

[parameters]
"learning.peer_rate" = {{ range = [0.0, 0.05] }}
"experts.class_size_slope" = {{ range = [0.2, 0.6] }}

[[outputs]]
metric = "gain_per_capita"

[[outputs]]
metric = "gain_per_capita"
difference = ["peer_only", "expert_only"]
"""


def test_sobol_and_morris_put_a_peer_only_output_on_the_peer_rate_and_not_on_the_class_slope(
    dask_client, tmp_path
):
    """peer_only has no classes: the class-size slope's indices are exactly 0, the rate's large."""
    sobol = _write(
        tmp_path, SENSITIVITY + '[design]\nkind = "sobol"\nn = 16\nresamples = 200\n', "s.toml"
    )
    result = sweep(sobol, out=tmp_path / "sobol", client=dask_client)
    table = result.indices.set_index(["output", "parameter"])
    peer = table.loc["peer_only.gain_per_capita"]
    assert peer.loc["experts.class_size_slope", "ST"] == 0.0
    assert peer.loc["experts.class_size_slope", "S1"] == 0.0
    assert peer.loc["learning.peer_rate", "S1"] > 0.8
    # The difference depends on both: the slope acts through expert_only's classes.
    assert (
        table.loc[("peer_only-expert_only.gain_per_capita", "experts.class_size_slope"), "ST"] > 0.0
    )
    points = result.points  # the difference is taken run by run, with common seeds
    assert np.array_equal(
        points["peer_only-expert_only.gain_per_capita"],
        points["peer_only.gain_per_capita"] - points["expert_only.gain_per_capita"],
    )
    for name in ("sobol.csv", "sobol.png", "sobol.pdf"):
        assert (result.folder / name).is_file()

    morris = _write(
        tmp_path,
        SENSITIVITY + '[design]\nkind = "morris"\ntrajectories = 6\nresamples = 50\n',
        "m.toml",
    )
    result = sweep(morris, out=tmp_path / "morris", client=dask_client)
    table = result.indices.set_index(["output", "parameter"]).loc["peer_only.gain_per_capita"]
    assert table.loc["experts.class_size_slope", "mu_star"] == 0.0
    assert table.loc["experts.class_size_slope", "sigma"] == 0.0
    assert table.loc["learning.peer_rate", "mu_star_ci_low"] > 0.0
    for name in ("morris.csv", "morris.png", "morris.pdf"):
        assert (result.folder / name).is_file()
