"""The `peerscale` command line: run scenarios, compare them, resume runs, list parameters.

Every error a user can cause (a bad flag or scenario file, an unwritable results folder, a bad
environment variable, an unreachable or lost cluster) is one line on stderr naming what was
wrong and what is allowed, with exit code 2, no traceback and nothing written; `--debug` (or
PEERSCALE_DEBUG=1) shows the traceback instead. Ctrl-C (SIGINT) and SIGTERM stop a run, remove
its unfinished results and exit with 130 and 143. Results folders are checked before the first
week runs, written atomically and never overwritten; a run with --checkpoint-every can be
resumed (`peerscale resume DIR`) to the same bytes.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from .config.errors import ScenarioError, one_line
from .config.loading import load
from .config.parameters import parameter_rows
from .config.schema import describe_bounds, numeric_bounds

if TYPE_CHECKING:
    from rich.progress import Task

    from .analysis.runner import RunSet
    from .config.schema import Scenario
    from .scale.checkpoint import Checkpoints

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="PeerScale: peer learning in an expertise pyramid, from thousands toward billions "
    "of agents.",
)
err = Console(stderr=True)
out = Console()

DEBUG_ENV = "PEERSCALE_DEBUG"


# ----------------------------------------------------------------------------------------------
# Whole numbers on the command line, with their bounds written once (most in the schema)


def whole_number(low: int, high: int | None, allowed: str) -> Callable[[str], int]:
    """A parser of a whole number from `low` to `high` whose error says what is allowed."""

    def parse(text: str | int) -> int:
        if isinstance(text, int):  # a default, already a number
            return text
        try:
            value: int | None = int(text.strip().replace("_", ""))
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise typer.BadParameter(f"invalid value {text!r}: allowed {allowed}")
        return value

    return parse


def schema_number(key: str) -> Callable[[str], int]:
    """A parser for a flag that sets the integer parameter `key` (its bounds from the schema)."""
    bounds = numeric_bounds(key)
    assert bounds is not None and bounds.kind is int, key
    return whole_number(bounds.low, bounds.high, describe_bounds(key))


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="override a parameter: section.key=value (repeatable; see `peerscale params`)",
    ),
]
SeedOption = Annotated[int | None, typer.Option(
    help="seed; replicate r uses seed + r (default: run.seed)", parser=schema_number("run.seed"),
    metavar="INTEGER",
)]
StepsOption = Annotated[int | None, typer.Option(
    help="weeks to simulate (default: run.steps)", parser=schema_number("run.steps"),
    metavar="INTEGER",
)]
ReplicatesOption = Annotated[int | None, typer.Option(
    help="replicates (default: run.replicates)", parser=schema_number("run.replicates"),
    metavar="INTEGER",
)]
# --ensemble K (analysis/ensemble.py): the same option on run, compare, trial and sweep.
EnsembleOption = Annotated[int | None, typer.Option(
    "--ensemble",
    help="run under the first K members of the calibration ensemble "
    "(experiments/calibration/ensemble.csv; member 0 = the defaults; replicates within each) "
    "and report intervals combining parametric and stochastic uncertainty; a --set of a "
    "calibrated key is then refused",
    parser=whole_number(1, None, "a whole number of members, 1 or more"), metavar="K",
)]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="results folder (must not exist or be empty)")
]
SchedulerOption = Annotated[str | None, typer.Option(
    help="address of a running dask.distributed scheduler for the shards "
    "(default: a local cluster)",
)]


# ----------------------------------------------------------------------------------------------
# One-line messages


def _print_error(message: str) -> None:
    err.print(Text("error: ", style="bold red") + Text(one_line(message)), highlight=False,
              soft_wrap=True)


def note(message: str) -> None:
    """One informational line on stderr (a capped flag, a restarted shard, a removed folder)."""
    err.print(Text("note: ", style="bold") + Text(one_line(message)), highlight=False,
              soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Print one line and exit with code 2 (bad input)."""
    _print_error(message)
    raise typer.Exit(2)


class RateColumn(ProgressColumn):
    """Agent-updates per second."""

    def render(self, task: Task) -> Text:
        """The task's speed, or nothing before the first update."""
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.3g} agent-updates/s" if speed else "", style="cyan")


def progress_bar() -> Progress:
    """A progress bar on stderr (silent when stderr is not a terminal), with weeks and speed."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.fields[weeks]} weeks"), RateColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=False,
        disable=not err.is_terminal,
    )


def _work(scenario: Scenario, replicates: int | None, steps: int | None) -> int:
    steps = steps or scenario.run.steps
    reps = replicates or scenario.run.replicates
    return scenario.population.size * steps * reps


def _run_with_progress(
    scenarios: list[Scenario],
    replicates: int | None,
    seed: int | None,
    steps: int | None,
    shards: int = 1,
    client: Any = None,
    checkpoints: Checkpoints | None = None,
    ensemble: Any = None,
) -> list[RunSet]:
    from .analysis.runner import run_scenario

    members = 1 if ensemble is None else len(ensemble)
    total = members * sum(_work(s, replicates, steps) for s in scenarios)
    results = []
    with progress_bar() as bar:
        task = bar.add_task("simulating", total=total, weeks=0)
        done_weeks = 0
        for scenario in scenarios:
            bar.update(task, description=scenario.name)

            def tick(agents: int) -> None:
                nonlocal done_weeks
                done_weeks += 1
                bar.update(task, advance=agents, weeks=done_weeks)

            results.append(run_scenario(
                scenario, replicates, seed, steps, progress=tick, shards=shards, client=client,
                checkpoints=checkpoints, ensemble=ensemble,
            ))
    return results


# ----------------------------------------------------------------------------------------------
# Checking before computing


def _ensemble_first(k: int | None, set_: list[str] | None, scenarios: list[Scenario],
                    sources: list[str]) -> Any:
    """The first K ensemble members, checked before anything runs; None without --ensemble.

    A --set of a calibrated key, or a scenario that moves one, is refused (one line): every
    member sets those keys, and a value set by hand would silently be replaced.
    """
    if k is None:
        return None
    from .analysis.ensemble import choose

    chosen = choose(k)
    chosen.refuse(set_ or [], "--set")
    for scenario, source in zip(scenarios, sources, strict=True):
        chosen.refuse_scenario(scenario, source)
    return chosen


def _memory_first(scenario: Scenario, scheduler: str | None = None) -> None:
    """Refuse, before any folder is made, a run this machine cannot hold (one line)."""
    from .scale import memory

    if scheduler is None:  # every shard on this machine: the whole population must fit
        memory.check(scenario)


def _shards_for(scenario: Scenario, shards: int, scheduler: str | None, source: str) -> int:
    """The shards a run gets: capped at the population's blocks, said in one line."""
    if shards <= 1 and scheduler is None:
        return 1
    if not scenario.structure.shardable:
        fail(
            f"{source}: program.structure: {scenario.program.structure} cannot be sharded yet "
            "(drop --shards/--scheduler)"
        )
    from .scale.sharding import local_workers, shard_count

    possible = shard_count(scenario, shards)
    if possible < shards:
        note(f"--shards {shards} reduced to {possible}: a shard holds whole blocks of "
             f"communities, and this population has {possible}")
    if scheduler is None and local_workers(possible) < possible:
        note(f"{possible} shards share {local_workers(possible)} local worker processes "
             "(one per core)")
    return possible


def _cluster(shards: int, scheduler: str | None):
    if shards <= 1 and scheduler is None:
        return nullcontext()
    from .scale.sharding import cluster

    return cluster(shards, scheduler)


# ----------------------------------------------------------------------------------------------
# run and resume


# The checkpointed run in progress, for the message if it stops: its folder, its checkpoints,
# whether this process started it ("fresh": then a run stopped before its first checkpoint
# leaves nothing behind) and whether it made the folder ("made") or found it empty.
_current: dict[str, Any] = {}


def _request(scenario: Scenario, scenario_file: Path, seed: int, replicates: int, shards: int,
             scheduler: str | None, every: int) -> dict[str, Any]:
    """What a checkpointed run records to be resumed (scale/checkpoint.py, run.json)."""
    from .analysis import results

    return {
        "scenario": scenario.model_dump(mode="json"), "scenario_file": str(scenario_file),
        "seed": seed, "replicates": replicates, "steps": scenario.run.steps, "shards": shards,
        "scheduler": scheduler, "every": every, "command": sys.argv,
        "peerscale_version": results.citation_version(),
        "git_commit": results.provenance()["git"]["commit"],
    }


def _same_code(request: dict[str, Any]) -> None:
    """Say so if the checkpoints were written by other code (its numbers may differ)."""
    from .analysis import results

    then = (request.get("peerscale_version"), request.get("git_commit"))
    now = (results.citation_version(), results.provenance()["git"]["commit"])
    if then != now:
        note(f"the checkpoints were written by PeerScale {then[0]} (commit {then[1]}), this is "
             f"{now[0]} (commit {now[1]}): the numbers equal an uninterrupted run's only if the "
             "model did not change in between")


def _write_run(folder: Path, runset: RunSet, request: dict[str, Any], wall: float,
               resumed: dict[str, Any] | None = None) -> None:
    """metrics.parquet, summary.json, the figure and manifest.json of a run, into `folder`."""
    from .analysis import figures, results

    resolved = runset.scenario
    meta = {"scenario": resolved.model_dump(mode="json"), "seeds": runset.seeds}
    results.write_parquet(runset.frame, folder / "metrics.parquet", meta)
    summary = {"scenario": resolved.name, "seeds": runset.seeds, "steps": resolved.run.steps,
               "final": runset.summary()}
    results.write_json(summary, folder / "summary.json")
    figures.plot_runs([runset], folder / "figure", f"PeerScale: {resolved.name}")
    manifest = results.provenance() | {
        "kind": "run", "scenario_file": request["scenario_file"],
        "scenario": resolved.model_dump(mode="json"), "seeds": runset.seeds,
        "wall_time_s": round(wall, 3),
        "shards": request["shards"], "scheduler": request["scheduler"],
    }
    if request["every"]:
        manifest["checkpoint_every"] = request["every"]
    if "ensemble" in request:
        manifest["ensemble"] = request["ensemble"]
    if resumed is not None:  # the command is the one that started the run; how it went on
        manifest["command"] = request["command"]
        manifest["resumed"] = resumed
    results.write_json(manifest, folder / "manifest.json")


def _need_bytes(scenario: Scenario, replicates: int, every: int) -> int:
    """What a run writes at most: results, and two checkpoints at once while one is written."""
    from .analysis import results
    from .scale.checkpoint import checkpoint_bytes

    need = results.results_bytes(replicates * (scenario.run.steps + 1))
    return need + (2 * checkpoint_bytes(scenario) if every else 0)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario TOML file")],
    steps: StepsOption = None,
    seed: SeedOption = None,
    replicates: ReplicatesOption = None,
    set_: SetOption = None,
    out_dir: OutOption = None,
    shards: Annotated[int, typer.Option(
        help="split the population into this many shards of whole communities "
        "(Dask workers; same numbers; at most one per block)",
        parser=whole_number(1, None, "a whole number, 1 or more"), metavar="INTEGER",
    )] = 1,
    scheduler: SchedulerOption = None,
    checkpoint_every: Annotated[int | None, typer.Option(
        "--checkpoint-every",
        help="save the whole state every K weeks in the results folder, so that "
        "`peerscale resume` can finish the run after a crash (same numbers)",
        parser=schema_number("run.steps"), metavar="K",
    )] = None,
    ensemble: EnsembleOption = None,
) -> None:
    """Run one scenario; write metrics.parquet, summary.json, manifest.json and a figure."""
    from .analysis import results

    sc = load(scenario, set_)
    if steps is not None:
        sc = sc.with_overrides({"run.steps": steps}, source="--steps")
    if ensemble is not None and checkpoint_every:
        fail("--checkpoint-every cannot be combined with --ensemble (drop one)")
    chosen = _ensemble_first(ensemble, set_, [sc], [str(scenario)])
    shards = _shards_for(sc, shards, scheduler, str(scenario))
    reps = replicates or sc.run.replicates
    first_seed = sc.run.seed if seed is None else seed
    request = _request(sc, scenario, first_seed, reps, shards, scheduler, checkpoint_every or 0)
    if chosen is not None:
        request["ensemble"] = chosen.to_json()
    _memory_first(sc, scheduler)
    target = out_dir or results.default_folder("run", sc.name)
    need = _need_bytes(sc, reps * (1 if chosen is None else len(chosen)), checkpoint_every or 0)
    if checkpoint_every:
        from .scale.checkpoint import FOLDER, Checkpoints

        existed = target.is_dir()
        results.prepare_in_place(target, need)
        _current.update(checkpoints=None, target=target, fresh=True, made=not existed)
        checkpoints = Checkpoints.create(target / FOLDER, request)
        _current.update(checkpoints=checkpoints)
        weeks = "every week" if checkpoint_every == 1 else f"every {checkpoint_every} weeks"
        _finish_checkpointed(
            sc, request, target, checkpoints, None,
            f"checkpoints {weeks} in {target / FOLDER} (if the run stops: peerscale resume "
            f"{target})",
        )
        return
    start = time.perf_counter()
    notes: list[str] = []
    with results.atomic_folder(target, need, notes) as tmp:
        for line in notes:
            note(line)
        with _cluster(shards, scheduler) as client:
            (runset,) = _run_with_progress(
                [sc], reps, first_seed, None, shards, client, ensemble=chosen
            )
        _write_run(tmp, runset, request, time.perf_counter() - start)
    _report([runset], target)


def _finish_checkpointed(sc: Scenario, request: dict[str, Any], target: Path,
                         checkpoints: Checkpoints, resumed: dict[str, Any] | None,
                         started: str) -> None:
    """Run (or go on with) a checkpointed run; write its results, then drop the checkpoints.

    `started` is said once the run is under way (after the cluster is reached).
    """
    from .analysis import results

    start = time.perf_counter()
    shards, scheduler = int(request["shards"]), request["scheduler"]
    with _cluster(shards, scheduler) as client:
        note(started)
        (runset,) = _run_with_progress(
            [sc], int(request["replicates"]), int(request["seed"]), None, shards, client,
            checkpoints,
        )
    with results.atomic_files(target) as tmp:
        _write_run(tmp, runset, request, time.perf_counter() - start, resumed)
    checkpoints.remove()
    _current.clear()
    _report([runset], target)


@app.command()
def resume(
    folder: Annotated[Path, typer.Argument(
        help="results folder of a run started with --checkpoint-every"
    )],
    scheduler: Annotated[str | None, typer.Option(
        help="address of a dask.distributed scheduler for a sharded run (default: the one it "
        "was started with, or a local cluster)",
    )] = None,
) -> None:
    """Finish a run from its last checkpoint; the results equal an uninterrupted run's."""
    from .analysis import results
    from .config.schema import validate
    from .scale.checkpoint import Checkpoints

    checkpoints = Checkpoints.open(folder)
    checkpoints.claim()
    request = dict(checkpoints.request)
    if scheduler is not None:
        request["scheduler"] = scheduler
    scenario_data = request["scenario"]
    if not isinstance(scenario_data, dict):
        fail(f"{folder}: the checkpoint's scenario is not a table")
    sc = validate(scenario_data, f"{folder}/checkpoint/run.json")
    saved = checkpoints.latest()
    checkpoints.check(saved)
    _memory_first(sc, request["scheduler"])
    for line in results.sweep_partials(folder):
        note(line)
    _current.update(checkpoints=checkpoints, target=folder, fresh=False, made=False)
    _same_code(request)
    resumed = {
        "from_replicate": saved.replicate, "from_week": saved.week, "command": sys.argv,
        "resumed_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _finish_checkpointed(
        sc, request, folder, checkpoints, resumed,
        f"resuming {folder} at week {saved.week} of replicate {saved.replicate + 1} of "
        f"{request['replicates']}",
    )


@app.command()
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="two or more scenario TOML files")],
    steps: StepsOption = None,
    seed: SeedOption = None,
    replicates: ReplicatesOption = None,
    set_: SetOption = None,
    out_dir: OutOption = None,
    ensemble: EnsembleOption = None,
) -> None:
    """Run scenarios with the same seeds (common random numbers); write one figure and table."""
    from .analysis import figures, results, runner

    if len(scenarios) < 2:
        fail("compare needs at least two scenario files")
    loaded = [load(path, set_) for path in scenarios]
    if steps is not None:
        loaded = [s.with_overrides({"run.steps": steps}, source="--steps") for s in loaded]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        fail(
            f"scenario names must differ to be compared: {', '.join(names)} "
            "(set `name` in the files)"
        )
    chosen = _ensemble_first(ensemble, set_, loaded, [str(p) for p in scenarios])
    for s in loaded:
        _memory_first(s)
    target = out_dir or results.default_folder("compare", "-vs-".join(names))
    reps = replicates or max(s.run.replicates for s in loaded)
    members = 1 if chosen is None else len(chosen)
    need = sum(_need_bytes(s, members * (replicates or s.run.replicates), 0) for s in loaded)
    start = time.perf_counter()
    notes: list[str] = []
    with results.atomic_folder(target, need, notes) as tmp:
        for line in notes:
            note(line)
        runs = _run_with_progress(loaded, replicates, seed, None, ensemble=chosen)
        table = runner.comparison_table(runs)
        import pandas as pd

        frame = pd.concat([r.frame for r in runs], ignore_index=True)
        dumped = [r.scenario.model_dump(mode="json") for r in runs]
        meta = {"scenarios": dumped, "seeds": runs[0].seeds}
        results.write_parquet(frame, tmp / "metrics.parquet", meta)
        table.to_csv(tmp / "comparison.csv", index=False)
        (tmp / "comparison.md").write_text(runner.markdown_table(table), encoding="utf-8")
        figures.plot_runs(runs, tmp / "comparison", "PeerScale: " + " vs ".join(names))
        manifest = results.provenance() | {
            "kind": "compare", "scenario_files": [str(p) for p in scenarios],
            "scenarios": dumped, "seeds": runs[0].seeds, "replicates": reps,
            "wall_time_s": round(time.perf_counter() - start, 3),
        }
        gaps = None
        if chosen is not None:
            from .analysis.ensemble import differences

            manifest["ensemble"] = chosen.to_json()
            gaps = differences(runs, list(runner.summary_metrics(runs)))  # type: ignore[arg-type]
            gaps.to_csv(tmp / "differences.csv", index=False)
        results.write_json(manifest, tmp / "manifest.json")
    if gaps is not None:
        _report_differences(gaps)
    _report(runs, target)


@app.command("trial")
def trial_command(
    trial_file: Annotated[
        Path, typer.Argument(help="trial TOML file: two arms, a horizon and a group")
    ],
    replicates: ReplicatesOption = None,
    seed: SeedOption = None,
    out_dir: OutOption = None,
    ensemble: EnsembleOption = None,
) -> None:
    """Run a virtual trial (two arms, the same seeds); print d with its 95% CI; write results."""
    from .analysis import results
    from .analysis.trial import load_trial, run_trial

    spec = load_trial(trial_file)
    chosen = _ensemble_first(
        ensemble, None, [spec.arm("control"), spec.arm("treatment")],
        [f"{trial_file} (control)", f"{trial_file} (treatment)"],
    )
    for arm in ("control", "treatment"):
        _memory_first(spec.arm(arm))
    target = out_dir or results.default_folder("trial", spec.name)
    reps = (replicates or spec.replicates) * (1 if chosen is None else len(chosen))
    work = 2 * spec.control.population.size * spec.weeks
    notes: list[str] = []
    with results.atomic_folder(target, results.results_bytes(reps), notes) as tmp:
        for line in notes:
            note(line)
        with progress_bar() as bar:
            task = bar.add_task(spec.name, total=reps * work, weeks=spec.weeks)

            def advance(_replicate: int) -> None:
                bar.update(task, advance=work)

            result = run_trial(spec, replicates, seed, progress=advance, ensemble=chosen)
        result.replicates.to_csv(tmp / "replicates.csv", index=False)
        results.write_json(result.to_dict(), tmp / "trial.json")
        (tmp / "report.txt").write_text(result.report() + "\n", encoding="utf-8")
        manifest = results.provenance() | {
            "kind": "trial", "trial_file": str(trial_file),
            "seeds": result.replicates["seed"].tolist(),
            "control": result.trial.arm("control").model_dump(mode="json"),
            "treatment": result.trial.arm("treatment").model_dump(mode="json"),
            "wall_time_s": round(result.wall_time, 3),
        }
        if chosen is not None:
            manifest["ensemble"] = chosen.to_json()
        results.write_json(manifest, tmp / "manifest.json")
    out.print(result.report(), highlight=False, soft_wrap=True)
    out.print(f"results written to {target}", highlight=False)


@app.command("sweep")
def sweep_command(
    sweep_file: Annotated[Path | None, typer.Argument(
        help="sweep TOML file: base scenario, parameters, outputs, design (docs/sweeps.md)",
    )] = None,
    workers: Annotated[int | None, typer.Option(
        help="local worker processes (default: the core count, sharing its numba threads)", min=1,
    )] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="address of a running dask.distributed scheduler: run the points on its workers",
    )] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="results folder (a folder holding this sweep is resumed)")] = None,
    resume: Annotated[Path | None, typer.Option(
        help="resume the sweep stored in this results folder: run only its missing points",
    )] = None,
    batch: Annotated[int | None, typer.Option(
        help="points per batch sent to a worker", min=1,
    )] = None,
    ensemble: EnsembleOption = None,
) -> None:
    """Run a sweep (grid, Latin hypercube, Morris or Sobol) in warm workers; resumable."""
    from contextlib import nullcontext

    from .analysis.sweep import SweepInterrupted, sweep

    if workers is not None and scheduler is not None:
        fail("give --workers N or --scheduler ADDR, not both")
    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total} points"), TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err,
        disable=not err.is_terminal,
    )
    timing: dict[str, float] = {}
    tasks: list[TaskID] = []

    def on_start(spec, stored, total):
        timing.update(start=time.perf_counter(), stored=stored)
        bar.start()
        tasks.append(bar.add_task(spec.name, total=total, completed=stored, rate=""))

    def progress(stored, total, runs):
        elapsed = time.perf_counter() - timing["start"]
        rate = (stored - timing["stored"]) * runs / elapsed if elapsed > 0 else 0.0
        bar.update(tasks[0], completed=stored, rate=f"{rate:.3g} runs/s")

    if scheduler is not None:
        from .scale.sharding import cluster
    try:
        with cluster(0, scheduler) if scheduler is not None else nullcontext() as client:
            result = sweep(sweep_file, out=out_dir, resume=resume, workers=workers, client=client,
                           batch_size=batch, progress=progress, on_start=on_start,
                           ensemble=ensemble)
    except SweepInterrupted as stop:
        bar.stop()
        err.print(str(stop), highlight=False, soft_wrap=True)
        raise typer.Exit(128 + stop.signal_number) from None
    finally:
        bar.stop()
    spec = result.sweep
    if result.ran == 0:
        out.print(f"{result.folder}: the sweep was complete; nothing was run", highlight=False,
                  soft_wrap=True)
    else:
        runs = result.ran * spec.runs_per_point
        replaced = f"; {result.restarts} worker(s) replaced" if result.restarts else ""
        out.print(
            f"{spec.name}: {len(result.summary)} points x {spec.runs_per_point} runs; "
            f"{result.ran} points ({runs} runs) in {result.wall_time:.1f} s, "
            f"{runs / result.wall_time:.3g} runs/s with start-up{replaced}",
            highlight=False, soft_wrap=True,
        )
    if result.indices is not None:
        _report_indices(result.indices)
    out.print(f"results written to {result.folder}", highlight=False, soft_wrap=True)


def _report_indices(indices) -> None:
    """The three most influential parameters of each output (Sobol ST or Morris mu*)."""
    column = "ST" if "ST" in indices else "mu_star"
    title = "Sobol ST" if column == "ST" else "Morris mu*"
    table = Table(title=f"most influential parameters per output ({title} [CI])")
    table.add_column("output")
    table.add_column("parameters")
    for name, part in indices.groupby("output", sort=False):
        top = part.sort_values(column, ascending=False).head(3)
        cells = [f"{r.parameter} {r[column]:.3g} [{r[column + '_ci_low']:.3g}, "
                 f"{r[column + '_ci_high']:.3g}]" for _, r in top.iterrows()]
        table.add_row(str(name), "; ".join(cells))
    out.print(table)


@app.command()
def params(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="print a Markdown table (docs/parameters.md)")
    ] = False,
) -> None:
    """List every parameter with its default, allowed values, unit and meaning."""
    if markdown:
        from .config.parameters import parameter_markdown

        sys.stdout.write(parameter_markdown())
        return
    table = Table("key", "default", "allowed", "unit", "meaning", show_lines=False)
    for row in parameter_rows():
        table.add_row(row["key"], row["default"], row["allowed"], row["unit"], row["meaning"])
    out.print(table)


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(
        help="port to listen on", parser=whole_number(1, 65535, "a port number, 1 to 65535"),
        metavar="INTEGER",
    )] = 8765,
    mesa: Annotated[
        bool,
        typer.Option(
            "--mesa",
            help="serve Mesa's SolaraViz view instead: Mesa's standard controls, one model",
        ),
    ] = False,
) -> None:
    """Start the interactive dashboard (one run or a comparison, week by week) and print its URL."""
    from .dashboard.serve import serve

    # The server handles Ctrl-C and SIGTERM itself (and hands them on to Python's own handlers
    # once it has stopped): there is no run to clean up, so those handlers are the defaults.
    previous = {s: signal.signal(s, h) for s, h in
                ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL))}
    try:
        serve(host=host, port=port, mesa=mesa)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option(
        "--debug", help=f"show the traceback of an error instead of one line (or {DEBUG_ENV}=1)",
    )] = False,
) -> None:
    """Options of every command (the group's help is the Typer's)."""


def _report_differences(gaps: Any) -> None:
    """Each scenario minus the first under the ensemble: the combined interval, member 0's own."""
    for _, g in gaps[gaps["metric"].isin(["gain_per_capita", "competent_fraction"])].iterrows():
        out.print(
            f"{g['scenario']} minus {g['minus']}, {g['metric']}: {g['difference']:.4g} "
            f"[95% interval {g['ci_low']:.4g}, {g['ci_high']:.4g}] over {g['members']} members "
            f"({g['members_positive']} positive); member 0 alone [95% CI "
            f"{g['member0_ci_low']:.4g}, {g['member0_ci_high']:.4g}]",
            highlight=False, soft_wrap=True,
        )


def _report(runs: list[RunSet], target: Path) -> None:
    from .analysis.runner import summary_metrics

    members = getattr(runs[0], "runs", None)
    title = f"final week, mean across {len(runs[0].seeds)} replicate(s) [95% CI]"
    if members is not None:
        title = (f"final week, mean over {len(members)} calibration-ensemble members x "
                 f"{len(runs[0].seeds)} replicate(s) [95% interval: parametric + stochastic]")
    table = Table(title=title)
    table.add_column("metric")
    for r in runs:
        table.add_column(r.scenario.name, justify="right")
    summaries = [r.summary() for r in runs]
    for key, label in summary_metrics(runs).items():
        cells = []
        for s in summaries:
            if key not in s:
                cells.append("n/a")
                continue
            mean, (lo, hi) = s[key]["mean"], s[key]["ci95"]
            cells.append(f"{mean:.4g}" + ("" if lo != lo else f" [{lo:.4g}, {hi:.4g}]"))
        table.add_row(label, *cells)
    out.print(table)
    out.print(f"results written to {target}")


# ----------------------------------------------------------------------------------------------
# The error path: every failure a user can cause as one line


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived: stop, clean up (context managers run), exit 128 + signal.

    Not a KeyboardInterrupt: typer turns that into a bare exit code 130 (and loses which signal
    it was); not an Exception, so that no `except Exception` on the way swallows it.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals() -> Iterator[None]:
    """SIGTERM (and SIGINT) raise Stopped in the main thread; later ones wait for the cleanup."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: Any) -> None:
        for s in (signal.SIGINT, signal.SIGTERM):  # the cleanup itself is not interrupted
            signal.signal(s, lambda *_: None)
        raise Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _click_message(error: Exception) -> str:
    """One line for a usage error of the click inside typer (or of click itself)."""
    ctx = getattr(error, "ctx", None)
    command = getattr(ctx, "command_path", "peerscale") or "peerscale"
    kinds = {cls.__name__ for cls in type(error).__mro__}
    help_hint = f"see `{command} --help`"
    if "NoArgsIsHelpError" in kinds:
        names = ", ".join(_commands(ctx))
        return f"{command}: no command given: allowed {names} ({help_hint})"
    message = error.format_message() if hasattr(error, "format_message") else str(error)
    message = message.strip().rstrip(".")
    if "NoSuchOption" in kinds:
        options = ", ".join(_options_of(ctx))
        return f"{command}: {message}; allowed {options} ({help_hint})"
    if "BadParameter" in kinds and "MissingParameter" not in kinds:
        param = getattr(error, "param", None)
        hint = "/".join(getattr(param, "opts", None) or []) or getattr(param, "name", "") or ""
        text = getattr(error, "message", message)
        return f"{command}: {hint}: {text}" if hint else f"{command}: {message}"
    if "MissingParameter" in kinds:
        described = getattr(getattr(error, "param", None), "help", None)
        return f"{command}: {message}" + (f": {described}" if described else "") + f" ({help_hint})"
    if "UsageError" in kinds and message.startswith("No such command"):
        return f"{command}: {message}; allowed {', '.join(_commands(ctx))} ({help_hint})"
    return f"{command}: {message} ({help_hint})"


def _commands(ctx: Any) -> list[str]:
    command = getattr(ctx, "command", None)
    lister = getattr(command, "list_commands", None)
    return list(lister(ctx)) if lister is not None else []


def _options_of(ctx: Any) -> list[str]:
    command = getattr(ctx, "command", None)
    found: list[str] = []
    for param in getattr(command, "params", []):
        found += [o for o in getattr(param, "opts", []) if o.startswith("-")]
    return [*found, "--help"]


def _is_usage_error(error: BaseException) -> bool:
    """A usage error of whichever click typer uses: its own (typer._click) or the click package.

    Typer 0.29 carries a copy of click as `typer._click` whose exceptions derive from
    typer.exceptions.TyperException, not from click's; earlier releases raise click's own.
    """
    bases: list[type] = []
    for module, name in (("typer.exceptions", "TyperException"),
                         ("typer._click.exceptions", "ClickException"),
                         ("click.exceptions", "ClickException")):
        try:
            bases.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):
            continue
    return isinstance(error, tuple(bases))


def _resume_hint() -> str:
    """What to do after a checkpointed run stopped: resume it, or nothing was left behind."""
    import shutil

    from .scale.checkpoint import FOLDER

    checkpoints = _current.get("checkpoints")
    target = _current.get("target")
    if target is None:
        return "nothing was written"

    def undo() -> str:  # stopped before anything worth keeping: leave the folder as it was
        shutil.rmtree(str(target if _current.get("made") else target / FOLDER), ignore_errors=True)
        return "nothing was written"

    if checkpoints is None:
        return undo() if _current.get("fresh") else "nothing was written"
    try:
        saved = checkpoints.latest()
    except ScenarioError:
        return f"no results written; no usable checkpoint in {target}"
    if _current.get("fresh") and saved.replicate == 0 and not saved.started:
        return undo()
    where = (f"week {saved.week} of replicate {saved.replicate + 1}" if saved.started
             else f"the start of replicate {saved.replicate + 1}")
    return (f"no results written; resume from the checkpoint of {where}: "
            f"peerscale resume {target}")


def _one_line(error: BaseException) -> str | None:
    """The one-line message of an error a user can cause; None for a bug (keep the traceback)."""
    from .analysis.results import ResultsExistError

    if isinstance(error, ScenarioError):
        text = str(error)
        if _current.get("checkpoints") is not None:
            text += f"; {_resume_hint()}"
        return text
    if isinstance(error, ResultsExistError):
        return str(error)
    if _is_usage_error(error):
        return _click_message(error)  # type: ignore[arg-type]
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}; {_resume_hint()}"
    if isinstance(error, MemoryError):
        return (f"out of memory; {_resume_hint()} (lower population.size, or set "
                "PEERSCALE_MEMORY_AVAILABLE to what this machine can give)")
    return None


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get(DEBUG_ENV, "").strip().lower() in (
        "1", "true", "yes", "on",
    )


class _NoteHandler(logging.Handler):
    """Warnings of the package's own modules (a restarted shard) as one `note:` line each."""

    def emit(self, record: logging.LogRecord) -> None:
        note(record.getMessage())


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors, exit code 2 (130/143 when stopped), never a traceback."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = _debug_requested(args)
    _current.clear()
    package_log = logging.getLogger("simulation")
    handler = _NoteHandler(logging.WARNING)
    package_log.addHandler(handler)
    try:
        with _signals():
            try:
                _check_environment(args)
                code = app(args=args, prog_name="peerscale", standalone_mode=False)
            except typer.Exit as exc:
                code = exc.exit_code
            except typer.Abort:
                code = _stopped(signal.SIGINT)
            except Stopped as exc:
                code = _stopped(exc.signum)
            except KeyboardInterrupt:
                code = _stopped(signal.SIGINT)
            except BrokenPipeError:  # `peerscale params | head`: the reader left; say nothing
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (flushed at exit)
                code = 1
            except Exception as exc:
                message = None if debug else _one_line(exc)
                if message is None:
                    raise
                _print_error(message)
                code = 2
    finally:
        package_log.removeHandler(handler)
    # Not standalone, click returns the code of a typer.Exit instead of exiting.
    if isinstance(code, int) and code != 0:
        sys.exit(code)


def _check_environment(args: list[str]) -> None:
    """Refuse bad environment variables found at import (scale/environment.py); help is shown."""
    from .scale.environment import PROBLEMS

    if PROBLEMS and "--help" not in args:
        variable, problem = PROBLEMS[0]
        raise ScenarioError(variable, problem)


def _stopped(signum: int) -> int:
    name = signal.Signals(signum).name
    _print_error(f"interrupted by {name}; {_resume_hint()}")
    return 128 + signum


if __name__ == "__main__":
    main()
