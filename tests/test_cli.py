"""The command line: results folders, one-line errors with exit code 2, nothing overwritten."""

import json

import pandas as pd
import pytest

from simulation.cli import main

from .helpers import SCENARIOS, run_cli

FAST = ["--set", "population.size=3000", "--steps", "4", "--replicates", "2"]


def _exit_code(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


def test_run_writes_metrics_summary_manifest_and_figure(tmp_path):
    """`peerscale run` writes Parquet metrics, a summary, provenance and a PNG+PDF figure."""
    out = tmp_path / "run"
    main(["run", str(SCENARIOS / "peer_only.toml"), *FAST, "--seed", "3", "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == [
        "figure.pdf", "figure.png", "manifest.json", "metrics.parquet", "summary.json"
    ]
    frame = pd.read_parquet(out / "metrics.parquet")
    assert len(frame) == 2 * 5 and set(frame["seed"]) == {3, 4}
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("peerscale_version", "git", "scenario", "seeds", "numba_threads", "packages",
                "platform", "wall_time_s"):
        assert key in manifest
    assert manifest["scenario"]["population"]["size"] == 3000
    summary = json.loads((out / "summary.json").read_text())
    low, high = summary["final"]["mean_skill"]["ci95"]
    assert low <= summary["final"]["mean_skill"]["mean"] <= high


def test_compare_writes_one_figure_and_table_for_all_scenarios(tmp_path):
    """`peerscale compare` runs every scenario with the same seeds and tabulates them."""
    out = tmp_path / "cmp"
    files = [str(SCENARIOS / f"{n}.toml") for n in ("expert_only", "peer_only", "mixed")]
    main(["compare", *files, *FAST, "--out", str(out)])
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["scenario"]) == ["expert_only", "peer_only", "mixed"]
    assert (out / "comparison.png").stat().st_size > 10_000
    assert (out / "comparison.md").read_text().count("\n") == 5
    frame = pd.read_parquet(out / "metrics.parquet")
    seeds = frame.groupby("scenario")["seed"].apply(lambda s: tuple(sorted(set(s))))
    assert len(set(seeds)) == 1  # common random numbers


def test_existing_results_are_never_overwritten(tmp_path):
    """A non-empty --out folder is refused with exit code 2 and left exactly as it was."""
    out = tmp_path / "taken"
    out.mkdir()
    (out / "metrics.parquet").write_bytes(b"precious")
    assert _exit_code(["run", str(SCENARIOS / "peer_only.toml"), *FAST, "--out", str(out)]) == 2
    assert [p.name for p in out.iterdir()] == ["metrics.parquet"]
    assert (out / "metrics.parquet").read_bytes() == b"precious"


def test_failed_run_leaves_no_partial_folder(tmp_path, monkeypatch, capsys):
    """If writing fails midway (a full disk): one line, exit 2, no target, no temporary folder."""
    import errno

    from simulation.analysis import figures

    def boom(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(figures, "plot_runs", boom)
    out = tmp_path / "never"
    assert _exit_code(["run", str(SCENARIOS / "peer_only.toml"), *FAST, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "No space left on device" in err and "nothing was written" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "no such scenario file"),
        ("[program\n", "malformed TOML"),
        ("[learning]\noptimal_gpa = 0.1\n", "did you mean 'learning.optimal_gap'"),
        (
            "[program]\nagency = 'lots'\n",
            "program.agency: invalid value 'lots': allowed 0 to 2 (integer)",
        ),
        (
            "[population]\nsize = 1\n",
            "population.size: invalid value 1: allowed 2 to 10000000000 (integer)",
        ),
    ],
)
def test_bad_scenarios_exit_2_with_one_line(scenario_dir, capsys, text, expected):
    """Missing file, malformed TOML, unknown key, wrong type, out of range: one line, exit 2."""
    path = scenario_dir / "bad.toml"
    if text is not None:
        path.write_text(text)
    assert _exit_code(["run", str(path), "--out", str(scenario_dir / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert str(path) in err.replace("\n", "") and expected in err
    assert not (scenario_dir / "out").exists()


def test_bad_override_exits_2(capsys, tmp_path):
    """A --set value out of range: exit code 2 and a line naming the key."""
    args = ["run", str(SCENARIOS / "mixed.toml"), "--set", "program.agency=5"]
    assert _exit_code([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "program.agency" in err and "0 to 2" in err


def test_console_script_reports_bad_input_without_traceback(scenario_dir):
    """The installed entry point itself: exit code 2, one line on stderr, no traceback."""
    path = scenario_dir / "typo.toml"
    path.write_text("[experts]\ncout = 3\n")
    result = run_cli("run", str(path))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "typo.toml" in lines[0] and "unknown key 'experts.cout'" in lines[0]
    assert "experts.count" in lines[0]
