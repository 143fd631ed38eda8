"""The `peerscale` command line: run scenarios, compare them, list parameters.

Bad input (a missing or malformed scenario file, an unknown key, a wrong type or an out-of-range
value) is reported in one line naming the file, the key and what is allowed, with exit code 2
and no traceback; results folders are written atomically and never overwritten.
"""

from __future__ import annotations

import sys
import time
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

from .config.errors import ScenarioError
from .config.loading import load
from .config.parameters import parameter_rows

if TYPE_CHECKING:
    from rich.progress import Task

    from .analysis.runner import RunSet
    from .config.schema import Scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="PeerScale: peer learning in an expertise pyramid, from thousands toward billions "
    "of agents.",
)
err = Console(stderr=True)
out = Console()

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="override a parameter: section.key=value (repeatable; see `peerscale params`)",
    ),
]
SeedOption = Annotated[
    int | None, typer.Option(help="seed; replicate r uses seed + r (default: run.seed)", min=0)
]
StepsOption = Annotated[
    int | None, typer.Option(help="weeks to simulate (default: run.steps)", min=1)
]
ReplicatesOption = Annotated[
    int | None, typer.Option(help="replicates (default: run.replicates)", min=1)
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="results folder (must not exist or be empty)")
]


def _print_error(message: str) -> None:
    err.print(Text("error: ", style="bold red") + Text(message), highlight=False, soft_wrap=True)


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


def _load_all(paths: list[Path], overrides: list[str] | None) -> list[Scenario]:
    return [load(path, overrides) for path in paths]


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
) -> list[RunSet]:
    from .analysis.runner import run_scenario

    total = sum(_work(s, replicates, steps) for s in scenarios)
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
                scenario, replicates, seed, steps, progress=tick, shards=shards, client=client
            ))
    return results


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
        "(Dask workers; same numbers)",
        min=1,
    )] = 1,
    scheduler: Annotated[str | None, typer.Option(
        help="address of a running dask.distributed scheduler for the shards "
        "(default: a local cluster)",
    )] = None,
) -> None:
    """Run one scenario; write metrics.parquet, summary.json, manifest.json and a figure."""
    from contextlib import nullcontext

    from .analysis import figures, results

    sc = load(scenario, set_)
    if (shards > 1 or scheduler) and not sc.structure.shardable:
        fail(
            f"{scenario}: program.structure: {sc.program.structure} cannot be sharded yet "
            "(drop --shards/--scheduler)"
        )
    target = out_dir or results.free_folder(Path("results") / f"run-{sc.name}")
    _check_target(target)
    start = time.perf_counter()
    distributed = shards > 1 or scheduler is not None
    if distributed:
        from .scale.sharding import cluster
    with cluster(shards, scheduler) if distributed else nullcontext() as client:
        (runset,) = _run_with_progress([sc], replicates, seed, steps, shards, client)
    resolved = runset.scenario
    meta = {"scenario": resolved.model_dump(mode="json"), "seeds": runset.seeds}
    with results.atomic_folder(target) as tmp:
        results.write_parquet(runset.frame, tmp / "metrics.parquet", meta)
        summary = {"scenario": resolved.name, "seeds": runset.seeds, "steps": resolved.run.steps,
                   "final": runset.summary()}
        results.write_json(summary, tmp / "summary.json")
        figures.plot_runs([runset], tmp / "figure", f"PeerScale: {resolved.name}")
        manifest = results.provenance() | {
            "kind": "run", "scenario_file": str(scenario),
            "scenario": resolved.model_dump(mode="json"), "seeds": runset.seeds,
            "wall_time_s": round(time.perf_counter() - start, 3),
            "shards": shards, "scheduler": scheduler,
        }
        results.write_json(manifest, tmp / "manifest.json")
    _report([runset], target)


@app.command()
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="two or more scenario TOML files")],
    steps: StepsOption = None,
    seed: SeedOption = None,
    replicates: ReplicatesOption = None,
    set_: SetOption = None,
    out_dir: OutOption = None,
) -> None:
    """Run scenarios with the same seeds (common random numbers); write one figure and table."""
    from .analysis import figures, results, runner

    if len(scenarios) < 2:
        fail("compare needs at least two scenario files")
    loaded = _load_all(scenarios, set_)
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        fail(
            f"scenario names must differ to be compared: {', '.join(names)} "
            "(set `name` in the files)"
        )
    target = out_dir or results.free_folder(Path("results") / ("compare-" + "-vs-".join(names)))
    _check_target(target)
    start = time.perf_counter()
    runs = _run_with_progress(loaded, replicates, seed, steps)
    table = runner.comparison_table(runs)
    import pandas as pd

    frame = pd.concat([r.frame for r in runs], ignore_index=True)
    with results.atomic_folder(target) as tmp:
        dumped = [r.scenario.model_dump(mode="json") for r in runs]
        meta = {"scenarios": dumped, "seeds": runs[0].seeds}
        results.write_parquet(frame, tmp / "metrics.parquet", meta)
        table.to_csv(tmp / "comparison.csv", index=False)
        (tmp / "comparison.md").write_text(runner.markdown_table(table), encoding="utf-8")
        figures.plot_runs(runs, tmp / "comparison", "PeerScale: " + " vs ".join(names))
        manifest = results.provenance() | {
            "kind": "compare", "scenario_files": [str(p) for p in scenarios],
            "scenarios": dumped, "seeds": runs[0].seeds,
            "wall_time_s": round(time.perf_counter() - start, 3),
        }
        results.write_json(manifest, tmp / "manifest.json")
    _report(runs, target)


@app.command("trial")
def trial_command(
    trial_file: Annotated[
        Path, typer.Argument(help="trial TOML file: two arms, a horizon and a group")
    ],
    replicates: ReplicatesOption = None,
    seed: SeedOption = None,
    out_dir: OutOption = None,
) -> None:
    """Run a virtual trial (two arms, the same seeds); print d with its 95% CI; write results."""
    from .analysis import results
    from .analysis.trial import load_trial, run_trial

    spec = load_trial(trial_file)
    target = out_dir or results.free_folder(Path("results") / f"trial-{spec.name}")
    _check_target(target)
    reps = replicates or spec.replicates
    work = 2 * spec.control.population.size * spec.weeks
    with progress_bar() as bar:
        task = bar.add_task(spec.name, total=reps * work, weeks=spec.weeks)

        def advance(_replicate: int) -> None:
            bar.update(task, advance=work)

        result = run_trial(spec, replicates, seed, progress=advance)
    with results.atomic_folder(target) as tmp:
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
                           batch_size=batch, progress=progress, on_start=on_start)
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
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = 8765,
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

    serve(host=host, port=port, mesa=mesa)


def _check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        fail(
            f"{target}: results folder exists and is not empty; nothing was written "
            "(choose another --out)"
        )


def _report(runs: list[RunSet], target: Path) -> None:
    from .analysis.runner import summary_metrics

    table = Table(title=f"final week, mean across {len(runs[0].seeds)} replicate(s) [95% CI]")
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors for bad input, exit code 2, never a traceback."""
    from .analysis.results import ResultsExistError

    try:
        code = app(args=argv, prog_name="peerscale", standalone_mode=False)
        # Not standalone, click returns the code of a typer.Exit instead of exiting.
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except (ScenarioError, ResultsExistError) as exc:
        _print_error(str(exc))
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted; nothing was written")
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
