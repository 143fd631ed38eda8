"""Every error a user can cause is one line on stderr, exit code 2, no traceback, nothing written.

The cases are the ones a careful user found by trying the command line with hostile input
(flags, scenario files, output folders, names, environment variables, trial files); each runs
the `peerscale` command in this process (the console script itself is checked in
test_the_console_script_and_the_debug_switch) and checks the exit code, that stderr is one
line naming what was wrong, and that no file appeared anywhere in the test's folder.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from simulation import PeerLearningModel, ScenarioError
from simulation.analysis import results
from simulation.cli import main
from simulation.scale import memory, sharding

from .helpers import SCENARIOS, run_cli

PEER = str(SCENARIOS / "peer_only.toml")
TINY = ["--set", "population.size=2000", "--steps", "2", "--replicates", "1"]


@dataclass
class Outcome:
    """What one command did: its exit code, the lines on stderr and the files it left."""

    code: int
    lines: list[str]
    written: set[str]


def files_under(folder: Path) -> set[str]:
    """Every path under `folder`, hidden ones included, relative to it."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def peerscale(args: list[str], folder: Path, capsys: pytest.CaptureFixture[str]) -> Outcome:
    """Run `peerscale args` in this process, in `folder`; what it did."""
    capsys.readouterr()
    before = files_under(folder)
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    return Outcome(code, lines, files_under(folder) - before)


def assert_one_line_error(outcome: Outcome, *fragments: str) -> None:
    """Exit code 2, one line starting 'error:' holding each fragment, no traceback, no file."""
    assert outcome.code == 2, outcome
    assert len(outcome.lines) == 1, outcome.lines
    line = outcome.lines[0]
    assert line.startswith("error: ") and "Traceback" not in line, line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert outcome.written == set(), outcome.written


USAGE = {
    "a negative seed": (["run", PEER, "--seed", "-1"], "--seed: invalid value '-1': allowed 0 to"),
    "zero weeks": (["run", PEER, "--steps", "0"], "--steps: invalid value '0': allowed 1 to"),
    "weeks not a number": (["run", PEER, "--steps", "abc"], "--steps: invalid value 'abc'"),
    "zero replicates": (["run", PEER, "--replicates", "0"], "--replicates: invalid value '0'"),
    "zero shards": (["run", PEER, "--shards", "0"], "--shards: invalid value '0': allowed"),
    "a zero checkpoint period": (
        ["run", PEER, "--checkpoint-every", "0"], "--checkpoint-every: invalid value '0'"
    ),
    "an unknown flag": (["run", PEER, "--frob"], "No such option: --frob; allowed --steps"),
    "a flag without its value": (["run", PEER, "--seed"], "'--seed' requires an argument"),
    "no arguments": ([], "no command given: allowed run, resume, compare, trial"),
    "an unknown command": (["bogus"], "No such command 'bogus'; allowed run"),
    "no scenario file": (["run"], "Missing argument 'scenario'"),
    "dashboard port 0": (["dashboard", "--port", "0"], "--port: invalid value '0': allowed"),
    "dashboard port 80000": (["dashboard", "--port", "80000"], "allowed a port number, 1 to 65535"),
    "dashboard port abc": (["dashboard", "--port", "abc"], "--port: invalid value 'abc'"),
    "a missing scenario file": (["run", "missing.toml"], "missing.toml: no such scenario file"),
    "a folder as the scenario file": (["run", "."], ".: no such scenario file"),
    "a scenario file name too long": (["run", "a" * 300 + ".toml"], "File name too long"),
    "resume of a folder without checkpoints": (["resume", "."], "holds no checkpoint"),
    "compare with one file": (["compare", PEER], "at least two scenario files"),
}


@pytest.mark.parametrize("case", list(USAGE))
def test_every_usage_error_is_one_line_with_exit_2(case, tmp_path, monkeypatch, capsys):
    """Bad flags, values, commands and files: one line, exit 2, no traceback, nothing written."""
    monkeypatch.chdir(tmp_path)
    args, fragment = USAGE[case]
    assert_one_line_error(peerscale(args, tmp_path, capsys), fragment)


SCENARIO_FILES = {
    "nan": ("[learning]\noptimal_gap = nan\n", "learning.optimal_gap: invalid value nan"),
    "inf": ("[learning]\npeer_rate = inf\n", "learning.peer_rate: invalid value inf"),
    "huge": ("[population]\nsize = 100000000000000000000\n", "population.size"),
    "negative": ("[run]\nsteps = -3\n", "run.steps: invalid value -3: allowed 1 to 100000"),
    "wrong type": ("[program]\nagency = 'lots'\n", "program.agency: invalid value 'lots'"),
    "a boolean for a number": ("[program]\nagency = true\n", "program.agency: invalid value True"),
    "unknown key": ("[experts]\ncout = 3\n", "unknown key 'experts.cout'"),
    "duplicate key": ("[run]\nsteps = 3\nsteps = 4\n", "malformed TOML"),
    "malformed": ("[program\n", "malformed TOML"),
    "competent above expert": (
        "[metrics]\ncompetent = 0.9\nexpert = 0.1\n", "metrics.competent (0.9) must not exceed"
    ),
}


@pytest.mark.parametrize("case", list(SCENARIO_FILES))
def test_every_bad_scenario_file_is_one_line_with_exit_2(case, tmp_path, monkeypatch, capsys):
    """NaN, inf, huge, negative, wrong types, unknown or duplicate keys, malformed TOML."""
    monkeypatch.chdir(tmp_path)
    text, fragment = SCENARIO_FILES[case]
    Path("bad.toml").write_text(text)
    outcome = peerscale(["run", "bad.toml", "--out", "out"], tmp_path, capsys)
    assert_one_line_error(outcome, "bad.toml", fragment)


def test_an_out_folder_below_a_file_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    """`touch f; --out f/x`: refused before the first week, one line, nothing written."""
    monkeypatch.chdir(tmp_path)
    Path("f").touch()
    outcome = peerscale(["run", PEER, *TINY, "--out", "f/x"], tmp_path, capsys)
    assert_one_line_error(outcome, "f/x", "is a file, not a folder")


def test_an_existing_results_folder_is_refused(tmp_path, monkeypatch, capsys):
    """A non-empty --out folder is refused and left as it was."""
    monkeypatch.chdir(tmp_path)
    Path("taken").mkdir()
    Path("taken", "metrics.parquet").write_bytes(b"precious")
    outcome = peerscale(["run", PEER, *TINY, "--out", "taken"], tmp_path, capsys)
    assert_one_line_error(outcome, "exists and is not empty")
    assert Path("taken", "metrics.parquet").read_bytes() == b"precious"


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")],
)
def test_an_unwritable_out_folder_is_refused_before_the_run(
    code, words, tmp_path, monkeypatch, capsys
):
    """A read-only filesystem or a folder we may not write: one line before any week runs."""
    monkeypatch.chdir(tmp_path)
    weeks: list[int] = []
    monkeypatch.setattr(PeerLearningModel, "step", lambda self: weeks.append(1))

    def refuse(parent, name):
        raise OSError(code, os.strerror(code), str(parent))

    monkeypatch.setattr(results, "new_partial", refuse)
    outcome = peerscale(["run", PEER, *TINY, "--out", "ro/x"], tmp_path, capsys)
    assert_one_line_error(outcome, "ro/x", words, "choose another --out")
    assert weeks == []


def test_a_mount_point_as_out_folder_is_refused(tmp_path, monkeypatch, capsys):
    """A mount point cannot be replaced by a rename (EBUSY): refused in one line up front."""
    monkeypatch.chdir(tmp_path)
    Path("mnt").mkdir()
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p).name == "mnt")
    outcome = peerscale(["run", PEER, *TINY, "--out", "mnt"], tmp_path, capsys)
    assert_one_line_error(outcome, "mnt: is a mount point", "a new folder inside it")


def test_a_disk_without_room_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    """Too little free space for the results: one line naming the sizes, before any week runs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(results.shutil, "disk_usage", lambda path: SimpleNamespace(free=1000))
    outcome = peerscale(["run", PEER, *TINY, "--out", "out"], tmp_path, capsys)
    assert_one_line_error(outcome, "out: only 1000 bytes free", "free some space")


def test_a_disk_that_fills_while_writing_leaves_nothing(tmp_path, monkeypatch, capsys):
    """ENOSPC in the middle of writing the results: one line, and no partial folder remains."""
    monkeypatch.chdir(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results, "write_json", full)
    outcome = peerscale(["run", PEER, *TINY, "--out", "out"], tmp_path, capsys)
    assert_one_line_error(outcome, "No space left on device", "nothing was written")


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("../../../escape", "run-escape"),
        ("/../../x", "run-x"),
        ("a\\u0000b", "run-a_b"),
        ("n" * 300, "run-" + "n" * results.NAME_BYTES),
    ],
)
def test_a_scenario_name_never_leads_results_outside_the_results_folder(
    name, folder, tmp_path, monkeypatch, capsys
):
    """Separators, '..', NUL and very long names become one safe folder inside results/."""
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    outcome = peerscale(["run", PEER, *TINY, "--set", f'name="{name}"'], tmp_path, capsys)
    assert outcome.code == 0, outcome.lines
    made = {p.split("/")[4] for p in outcome.written if p.count("/") >= 4}
    assert made == {folder}
    assert all(p.startswith("a/b/c/results") for p in outcome.written)


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e400", "lots", "8X"])
def test_a_bad_memory_variable_is_one_line(value, tmp_path, monkeypatch, capsys):
    """PEERSCALE_MEMORY_AVAILABLE must be an amount of bytes (inf was an OverflowError)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(memory.ENV_AVAILABLE, value)
    outcome = peerscale(["run", PEER, *TINY], tmp_path, capsys)
    assert_one_line_error(outcome, f"PEERSCALE_MEMORY_AVAILABLE: invalid value {value!r}")


TRIALS = {
    "a target of nan": ("[target]\nvalue = nan\nlow = 0.1\nhigh = 0.5\n", "target.value"),
    "a target outside its band": (
        "[target]\nvalue = 0.7\nlow = 0.1\nhigh = 0.5\n", "must lie in its band"
    ),
    "a boolean level": ("[both.program]\nagency = true\n", "program.agency: invalid value True"),
    "inverted thresholds": (
        "[both.metrics]\ncompetent = 0.9\nexpert = 0.1\n", "must not exceed metrics.expert"
    ),
    "a boolean horizon": ("weeks = true\n", "weeks: invalid value True"),
}


@pytest.mark.parametrize("case", list(TRIALS))
def test_every_bad_trial_file_is_one_line_with_exit_2(case, tmp_path, monkeypatch, capsys):
    """Trial files: nan targets, bands, booleans and thresholds are refused in one line."""
    monkeypatch.chdir(tmp_path)
    text, fragment = TRIALS[case]
    arms = "[control]\nlabel = 'a'\n[treatment]\nlabel = 'b'\n"
    top, _, rest = text.partition("[")
    Path("t.toml").write_text(top + arms + ("[" + rest if rest else ""))
    outcome = peerscale(["trial", "t.toml", "--out", "out"], tmp_path, capsys)
    assert_one_line_error(outcome, "t.toml", fragment)


def test_an_unreadable_scenario_file_is_one_line(tmp_path, monkeypatch, capsys):
    """A scenario file that cannot be read (EACCES): one line naming it, exit 2."""
    monkeypatch.chdir(tmp_path)
    Path("locked.toml").write_text("[run]\nsteps = 2\n")
    real = Path.read_text

    def locked(self, *args, **kwargs):
        if self.name == "locked.toml":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", locked)
    outcome = peerscale(["run", "locked.toml", "--out", "out"], tmp_path, capsys)
    assert_one_line_error(outcome, "locked.toml: cannot be read: Permission denied")


def test_too_many_shards_are_reduced_in_one_line(tmp_path, monkeypatch, capsys):
    """--shards 1000 on 20,000 agents: one note, 8 shards, a cluster asked for 8, not 1000."""
    from contextlib import contextmanager

    monkeypatch.chdir(tmp_path)
    asked: list[int] = []

    @contextmanager
    def in_process(workers, scheduler=None):  # the shards as plain objects here
        asked.append(workers)
        yield None

    monkeypatch.setattr(sharding, "cluster", in_process)
    outcome = peerscale(["run", PEER, "--set", "population.size=20000", "--steps", "1",
                         "--replicates", "1", "--shards", "1000", "--out", "out"], tmp_path, capsys)
    assert outcome.code == 0 and asked == [8]
    assert outcome.lines[0] == (
        "note: --shards 1000 reduced to 8: a shard holds whole blocks of communities, and this "
        "population has 8"
    )
    workers = "(one per core)" in " ".join(outcome.lines)
    assert workers == ((os.cpu_count() or 1) < 8)


def test_shards_are_capped_at_the_blocks_and_workers_at_the_cores():
    """--shards 1000 on 20,000 agents gives 8 shards, on no more worker processes than cores."""
    from .helpers import small

    scenario = small("peer_only", size=20_000, steps=2)
    assert sharding.shard_count(scenario, 1000) == 8
    assert sharding.local_workers(8) == min(8, os.cpu_count() or 1)
    assert sharding.local_workers(1000) <= (os.cpu_count() or 1)


def test_an_api_call_with_a_scenario_of_the_wrong_type_names_what_is_allowed():
    """PeerLearningModel(scenario=123) says what a scenario may be (it was a bare TypeError)."""
    with pytest.raises(ScenarioError, match="allowed a Scenario, the path of a scenario file"):
        PeerLearningModel(scenario=123)  # type: ignore[arg-type]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_results_folders_follow_the_umask(umask, tmp_path, monkeypatch, capsys):
    """A results folder gets the permissions the umask allows (it was always 0700)."""
    monkeypatch.chdir(tmp_path)
    old = os.umask(umask)
    try:
        outcome = peerscale(["run", PEER, *TINY, "--out", "out"], tmp_path, capsys)
    finally:
        os.umask(old)
    assert outcome.code == 0, outcome.lines
    assert stat.S_IMODE(Path("out").stat().st_mode) == 0o777 & ~umask


def test_the_console_script_reports_flag_errors_and_numba_s_variable_in_one_line(tmp_path):
    """The installed entry point: a bad flag and NUMBA_NUM_THREADS=0 are one line, exit 2.

    NUMBA_NUM_THREADS is read when numba is imported, so only a new process shows it.
    """
    plain = run_cli("run", PEER, "--seed", "-1", cwd=tmp_path)
    assert plain.returncode == 2 and plain.stderr.count("\n") == 1, plain.stderr
    assert "Traceback" not in plain.stderr
    threads = run_cli("run", PEER, *TINY, cwd=tmp_path, env={"NUMBA_NUM_THREADS": "0"})
    assert threads.returncode == 2, threads.stderr
    assert threads.stderr.strip().splitlines() == [
        "error: NUMBA_NUM_THREADS: invalid value '0': allowed a whole number of threads, 1 or more"
    ]
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    """--debug, or PEERSCALE_DEBUG=1, lets the error through with its traceback."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        main(["--debug", "run", "missing.toml"])
    monkeypatch.setenv("PEERSCALE_DEBUG", "1")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        main(["run", "missing.toml"])
