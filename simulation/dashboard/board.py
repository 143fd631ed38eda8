"""What the page shows: one model, or the models of a comparison, stepped together.

With the models go their live figures, the week's numbers, and what can be exported. Plain
Python without Solara, so the tests and benchmarks/dashboard_step.py use exactly what the page
uses. A Board is built from validated scenarios (controls.py) and never changes them; the page
builds a new Board on Reset. Models of a comparison share the seed (run.seed), so they draw the
same random numbers and differ only by mechanism (common random numbers, as `peerscale compare`
does).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence

import pandas as pd

from ..analysis.results import write_parquet
from ..analysis.runner import SUMMARY_METRICS, run_totals, start_band_rows
from ..config.schema import LEVEL_NAMES, Scenario
from ..model import PeerLearningModel
from .charts import (
    CONFIGURATION_COLOURS,
    EXPORT_DPI,
    LineChart,
    LinePanel,
    PyramidChart,
    PyramidPanel,
    Size,
    band_counts,
    panel_size,
    pyramid_width,
)
from .panels import panels_for, panels_for_all

GAP_PX = 12  # between panels (the page's CSS grid uses the same gap)
MIN_COLUMN_PX = 420  # two columns of panels from 2 x 420 + 12 px of width
MAX_COLUMN_PX = 720  # wider panels would only enlarge the text
MIN_PYRAMID_PX = 300
DEFAULT_WIDTH = 1056  # the panel area beside the sidebar on a 1440 px screen, until measured


def grid(width: int) -> tuple[int, int]:
    """Columns of panels and the width of each for a panel area `width` px wide."""
    width = max(300, int(width))
    columns = 2 if width >= 2 * MIN_COLUMN_PX + GAP_PX else 1
    column = (width - (columns - 1) * GAP_PX) // columns
    return columns, min(column, MAX_COLUMN_PX)


def pyramid_row(width: int, count: int) -> tuple[int, int]:
    """Pyramids side by side in a comparison: how many in a row and the width of each."""
    width = max(300, int(width))
    per_row = max(1, min(count, (width + GAP_PX) // (MIN_PYRAMID_PX + GAP_PX)))
    return per_row, min((width - (per_row - 1) * GAP_PX) // per_row, MAX_COLUMN_PX)


class Board:
    """Models stepped together (one, or the configurations of a comparison) and their figures.

    Args:
        scenarios: validated scenarios, one per model.
        names: what the legends call each model (the structure, or a configuration).
        width: the width of the page's panel area in px (figures are drawn to fit it).
        models: the models of these scenarios where they are built elsewhere (Mesa's SolaraViz
            builds its own on Reset, and steps them itself: `redraw` then draws their week);
            by default the board builds them.
    """

    def __init__(self, scenarios: Sequence[Scenario], names: Sequence[str],
                 width: int = DEFAULT_WIDTH, models: Sequence[PeerLearningModel] | None = None):
        if not scenarios or len(scenarios) != len(names):
            raise ValueError("a board needs one name per scenario, and at least one scenario")
        if models is not None and [m.scenario for m in models] != list(scenarios):
            raise ValueError("a board's models must be those of its scenarios, in order")
        self.scenarios, self.names = list(scenarios), list(names)
        if models is None:
            models = [PeerLearningModel(scenario=s) for s in scenarios]
        self.models = list(models)
        self.lock = threading.RLock()  # Play's thread and a click must not step at once
        self.width = int(width)
        self.images: dict[str, bytes] = {}
        self.drawn = -1  # the week the images show
        self._build()

    @property
    def compare(self) -> bool:
        """Whether the board compares several configurations."""
        return len(self.models) > 1

    @property
    def colours(self) -> list[str]:
        """Each configuration's colour in the figures."""
        palette = CONFIGURATION_COLOURS
        return [palette[i % len(palette)] for i in range(len(self.models))]

    @property
    def panels(self) -> tuple[LinePanel | PyramidPanel, ...]:
        """The panels on the page, in order."""
        structures = [m.scenario.program.structure for m in self.models]
        return panels_for_all(structures) if self.compare else panels_for(structures[0])

    # ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        """Lay the figures out for the current width and draw this week in full."""
        _, column = grid(self.width)
        size = panel_size(column)
        self.charts: dict[str, LineChart | PyramidChart] = {}
        self.scale = pyramid_width(self.models)
        for panel in self.panels:
            if isinstance(panel, PyramidPanel):
                self._pyramids(panel, size)
            else:
                self.charts[panel.name] = LineChart(panel, self.models, self.names, size)
        # Panels of the grid are equally tall (no gap under the shorter one of a row): each
        # makes room for as many legend rows as the longest legend takes (before any drawing).
        in_grid = [c for k, c in self.charts.items() if not k.startswith("pyramid-")]
        rows = max((c.legend_rows for c in in_grid), default=0)
        for chart in in_grid:
            chart.grow_to(rows)
        self._redraw()

    def _pyramids(self, panel: PyramidPanel, size: Size) -> None:
        if not self.compare:
            self.charts[panel.name] = PyramidChart(self.models[0], panel.title, size, self.scale)
            return
        _, width = pyramid_row(self.width, len(self.models))
        pyramid = Size(width, size.height)
        for i, (model, name) in enumerate(zip(self.models, self.names, strict=True)):
            title = name if len(name) <= 30 else name[:29] + "…"  # the legend lists it in full
            self.charts[f"{panel.name}-{i}"] = PyramidChart(
                model, title, pyramid, self.scale, colour=self.colours[i]
            )

    def _redraw(self) -> None:
        widest = max(band_counts(m).max() for m in self.models)
        scale = pyramid_width(self.models) if widest > self.scale else self.scale
        self.scale = scale
        images = {}
        for key, chart in self.charts.items():
            if isinstance(chart, PyramidChart):
                chart.update(scale)
            else:
                chart.update()
            images[key] = chart.png()
        self.images = images
        self.drawn = self.recorded

    def redraw(self) -> bool:
        """Draw the latest week the models have recorded, if it is not drawn yet; whether it drew.

        For models stepped outside the board (Mesa's SolaraViz calls model.step() itself, and
        with its "Use Threads" draws from another thread: such a model steps under `lock`).
        """
        with self.lock:
            if self.drawn == self.recorded:
                return False
            self._redraw()
            return True

    def resize(self, width: int) -> bool:
        """Redraw the figures for a panel area of another width; whether the layout changed."""
        with self.lock:
            if grid(width) == grid(self.width) and (
                not self.compare
                or pyramid_row(width, len(self.models)) == pyramid_row(self.width, len(self.models))
            ):
                self.width = int(width)
                return False
            self.width = int(width)
            self._build()
            return True

    def step(self) -> bool:
        """One week for every model still running, then the redraw; whether any stepped."""
        with self.lock:
            stepped = False
            for model in self.models:
                if model.running:
                    model.step()
                    stepped = True
            if stepped:
                self._redraw()
            return stepped

    # ------------------------------------------------------------------------------------------
    @property
    def week(self) -> int:
        """The latest week shown (0 is the initial state)."""
        return max(m.steps for m in self.models)

    @property
    def recorded(self) -> int:
        """The latest week whose numbers the models have recorded (Mesa counts a step first)."""
        return max(int(m.datacollector.model_vars["step"][-1]) for m in self.models)

    @property
    def last_week(self) -> int:
        """The week the run ends with (run.steps; the longest, if configurations differ)."""
        return max(m.scenario.run.steps for m in self.models)

    @property
    def finished(self) -> bool:
        """Whether every model has run all its weeks."""
        return not any(m.running for m in self.models)

    def summary(self, origin: str) -> str:
        """One line saying what the figures show; `origin` is the starting point's name."""
        sc = self.scenarios[0]
        p = sc.program
        levels = ", ".join(
            f"{name} {getattr(p, name)} {LEVEL_NAMES[name][getattr(p, name)]}"
            for name in LEVEL_NAMES
        )
        if self.compare:
            return (
                f"Comparing {', '.join(self.names)} from {origin}: {sc.population.size:,} "
                f"learners each; {levels}; optimal gap {sc.learning.optimal_gap:g}; seed "
                f"{sc.run.seed} (the same random numbers for every configuration)."
            )
        model = self.models[0]
        if "study_groups" in model.structure.sections:  # groups, led by members; no experts
            g = sc.study_groups
            teachers = (
                f"{g.mode}: no groups" if g.mode == "solo" else f"{g.mode} groups of {g.group_size}"
            )
        elif model.arrangement.count:
            teachers = f"{model.arrangement.count:,} experts ({sc.expert_format})"
        else:
            teachers = "no experts"
        return (
            f"{p.structure} from {origin}: {sc.population.size:,} learners; {levels}; "
            f"optimal gap {sc.learning.optimal_gap:g}; {teachers}; seed {sc.run.seed}."
        )

    def numbers(self) -> list[tuple[str, list[str]]]:
        """This week's summary metrics (as `peerscale run` reports them), one value per model.

        Rows are the common summary metrics and each structure's own (its `summary_rows`);
        a metric a model does not report is '–'.
        """
        labels = dict(SUMMARY_METRICS)
        for model in self.models:
            labels.update(model.structure.summary_rows)
        for bands in sorted({model.scenario.metrics.bands for model in self.models}):
            labels.update(start_band_rows(bands))
        rows = []
        for key, label in labels.items():
            values = [_metric(model, key) for model in self.models]
            if any(v is not None for v in values):
                rows.append((label, ["–" if v is None else f"{v:.4g}" for v in values]))
        return rows

    # ------------------------------------------------------------------------------------------
    # Exports

    def metrics_frame(self) -> pd.DataFrame:
        """Every week so far, in the columns of `peerscale run`'s metrics (replicate 0)."""
        frames = []
        with self.lock:
            for name, model in zip(self.names, self.models, strict=True):
                frame = model.metrics_frame().reset_index(drop=True)
                frame.insert(0, "replicate", 0)
                frame.insert(1, "seed", model.seed)
                frame.insert(0, "scenario", model.scenario.name)
                if self.compare:
                    frame.insert(0, "configuration", name)
                frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def metrics_csv(self) -> bytes:
        """The metrics as CSV (floats written in full, so they read back exactly)."""
        return self.metrics_frame().to_csv(index=False, float_format="%.17g").encode("utf-8")

    def metrics_parquet(self) -> bytes:
        """The metrics as zstd Parquet, with the scenarios in its metadata (as `peerscale run`)."""
        buffer = io.BytesIO()
        meta = {"scenarios": [m.scenario.model_dump(mode="json") for m in self.models],
                "seeds": [m.seed for m in self.models], "source": "dashboard"}
        write_parquet(self.metrics_frame(), buffer, meta)
        return buffer.getvalue()

    def figure_png(self, key: str, dpi: int = EXPORT_DPI) -> bytes:
        """One figure as a PNG file: the figure on the page, drawn afresh at `dpi`."""
        with self.lock:
            chart = self.charts[key]
            if isinstance(chart, PyramidChart):
                pyramid = PyramidChart(chart.model, chart.title, chart.requested, self.scale,
                                       colour=chart.colour, dpi=dpi, live=False,
                                       legend_rows=chart.legend_rows)
                pyramid.update(self.scale)
                return pyramid.png()
            lines = LineChart(chart.panel, self.models, self.names, chart.requested, dpi=dpi,
                              live=False, legend_rows=chart.legend_rows)
            lines.update()
            return lines.png()


def _metric(model: PeerLearningModel, key: str) -> float | None:
    """A summary metric of the latest week; the run's totals (gain, hours) over its weeks."""
    if key in ("gain_per_capita", "teaching_hours", "hours_per_gain"):  # as RunSet.final does
        weeks = pd.DataFrame(model.datacollector.model_vars)
        value = run_totals(weeks, model.structure.peers)[key]
        return None if math.isnan(value) else value
    value = model.metrics.get(key)
    return None if value is None else float(value)
