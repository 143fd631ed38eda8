"""Exports of the dashboard: scenario TOML that `peerscale run` accepts, metrics, figures."""

from __future__ import annotations

import pytest

from simulation import Scenario, load
from simulation.config.saving import scenario_toml

from .helpers import SCENARIOS


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_a_scenario_written_as_toml_reads_back_equal(path, tmp_path):
    """Every parameter of every shipped scenario survives writing and reading, floats exactly."""
    scenario = load(path).with_overrides({"learning.optimal_gap": 0.1 + 0.2})  # 0.30000000000000004
    written = tmp_path / "written.toml"
    written.write_text(scenario_toml(scenario, header="a header\nof two lines"), encoding="utf-8")
    assert written.read_text(encoding="utf-8").startswith("# a header\n# of two lines\n")
    assert load(written) == scenario


def test_a_written_scenario_escapes_text():
    """Quotes, backslashes and newlines in a description stay text, not TOML syntax."""
    scenario = Scenario(description='say "hi"\\ then\nnew line')
    import tomllib

    assert tomllib.loads(scenario_toml(scenario))["description"] == scenario.description


# ----------------------------------------------------------------------------------------------
# What the dashboard exports


@pytest.fixture(scope="module")
def shown():
    """The dashboard's run of peer_only.toml at 2,000 learners and 6 weeks, shown at week 3."""
    from simulation.dashboard.board import Board

    scenario = load(SCENARIOS / "peer_only.toml").with_overrides(
        {"population.size": 2000, "run.steps": 6, "run.seed": 11, "program.agency": 1}
    )
    board = Board([scenario], ["peer_only"], width=600)
    for _ in range(3):
        board.step()
    return board


def test_the_exported_scenario_runs_unchanged_and_reproduces_the_weeks_shown(shown, tmp_path):
    """`peerscale run <exported file>` gives, in replicate 0, the dashboard's numbers exactly."""
    import pandas as pd

    from simulation.dashboard import export

    from .helpers import run_cli

    name, data = export.scenario_file(shown, "peer_only.toml")
    path = tmp_path / name
    path.write_bytes(data)
    assert load(path) == shown.scenarios[0]
    done = run_cli("run", str(path), "--replicates", "1", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    ran = pd.read_parquet(tmp_path / "out" / "metrics.parquet")
    ran = ran[(ran["replicate"] == 0) & (ran["step"] <= shown.week)].reset_index(drop=True)
    dashboard = shown.metrics_frame()
    assert list(dashboard.columns) == list(ran.columns)
    assert len(dashboard) == shown.week + 1 == 4
    for column in dashboard.columns:
        assert dashboard[column].tolist() == ran[column].tolist(), column


def test_a_comparison_exports_a_scenario_per_configuration_and_the_command(tmp_path):
    """A zip of one file per configuration (names differ, as `peerscale compare` needs)."""
    import zipfile

    from simulation.dashboard import export, session

    session.reset_session()
    session.texts.value = {**session.texts.value, "population.size": "1500"}
    session.view.value = "compare"
    session.set_configuration(2, changes="program.agency=2")
    session.apply()
    board = session.board.value
    name, data = export.scenario_file(board, session.start.value)
    assert name.endswith(".zip")
    archive = zipfile.ZipFile(__import__("io").BytesIO(data))
    files = [n for n in archive.namelist() if n.endswith(".toml")]
    assert len(files) == 3 and len(set(files)) == 3
    for member, scenario in zip(files, board.scenarios, strict=True):
        (tmp_path / member).write_bytes(archive.read(member))
        assert load(tmp_path / member) == scenario
    assert board.scenarios[2].program.agency == 2
    assert "peerscale compare " + " ".join(files) in archive.read("README.txt").decode()
    session.reset_session()


def test_the_metrics_export_reads_back_exactly(shown, tmp_path):
    """CSV and Parquet read back to the weeks shown, floats included; Parquet names the scenario."""
    import io
    import json

    import pandas as pd
    import pyarrow.parquet as pq

    frame = shown.metrics_frame()
    from_csv = pd.read_csv(io.BytesIO(shown.metrics_csv()))
    for column in frame.columns:
        assert from_csv[column].tolist() == frame[column].tolist(), column
    table = pq.read_table(io.BytesIO(shown.metrics_parquet()))
    assert table.to_pandas().equals(frame)
    meta = json.loads(table.schema.metadata[b"peerscale"])
    assert meta["scenarios"][0] == shown.scenarios[0].model_dump(mode="json")


def test_every_figure_downloads_in_one_zip(shown):
    """The zip holds one PNG per figure on the page."""
    import io
    import zipfile

    from simulation.dashboard import export

    archive = zipfile.ZipFile(io.BytesIO(export.figures_zip(shown)))
    assert len(archive.namelist()) == len(shown.charts)
    for member in archive.namelist():
        assert archive.read(member).startswith(b"\x89PNG")
