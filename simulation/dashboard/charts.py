"""Live figures: drawn in full once, then only their data redrawn each week.

A week's redraw must fit in a quarter of a second with the model step (issue 14; measured in
benchmarks/dashboard_step.py). A full matplotlib draw of one figure takes 40-90 ms on 2 cores,
most of it laying out and rasterising text (ticks, labels, legend), so six panels would take
0.3-0.5 s. Here each figure keeps what does not change during a run (axes, ticks, labels, title,
legend, reference lines) as a rendered background, and each week restores that background and
draws only the data artists (matplotlib's blitting: `animated` artists are left out of the full
draw and drawn with `draw_artist`), then encodes the PNG: about 10 ms a figure.

Axes are fixed for a run, so a week never triggers a full draw: weeks run from 0 to the last
week of the run, shares from 0 to 1, and other quantities from a bound the scenario implies (the
most a tutee can gain in a week, a mentor's capacity). Where the data would leave the axes the
limit grows, never shrinks, in round steps, with one full draw. In a comparison every
configuration shares one figure (one colour each), so all are on the same axes by construction.

Figures are sized in pixels to the column they are shown in (the page reports its width), so
text is never scaled down in the browser; `constrained` layout places the title, the legend
(outside the axes, never over the data) and the axis labels without clipping at any width.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, ScalarFormatter
from matplotlib.transforms import blended_transform_factory
from matplotlib.typing import LineStyleType

from ..model import PeerLearningModel

DPI = 100  # figures are sized in pixels: 1 inch = 100 px on screen
EXPORT_DPI = 200  # PNG downloads: the same figure at twice the resolution
TITLE_SIZE, LABEL_SIZE, TICK_SIZE, LEGEND_SIZE, NOTE_SIZE = 11, 9.5, 9, 8.5, 9
GREY = "0.35"
# One colour per configuration in a comparison: Okabe & Ito's palette, distinct for the common
# forms of colour blindness (Okabe & Ito 2008, "Color universal design").
CONFIGURATION_COLOURS = ("#0072B2", "#D55E00", "#009E73")
# In a comparison, a panel's second and third quantity.
STYLES: tuple[LineStyleType, ...] = ("-", "--", ":")
HANDLE_LENGTH, COLUMN_SPACING = 2.2, 1.2  # legend geometry, in font sizes


@dataclass(frozen=True)
class Size:
    """A figure's size on screen, in CSS pixels."""

    width: int
    height: int


def panel_size(column_width: int) -> Size:
    """The size of a line panel in a column of this width: about 5:3, 250 to 380 px tall."""
    width = max(280, int(column_width))
    return Size(width, int(min(380, max(250, width * 0.6))))


def nice_ceiling(x: float) -> float:
    """The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of 10) >= x."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    power = 10.0 ** math.floor(math.log10(x))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * power >= x * (1 - 1e-12):
            return step * power
    return 10 * power


def encode_png(canvas: FigureCanvasAgg, level: int = 1) -> bytes:
    """The canvas as an RGB PNG without row filters, deflated at zlib level 1.

    Written here rather than with Pillow, whose encoder tries every row filter: for these figures
    (flat white, thin lines) that doubled the encoding time (9 ms against 4 ms for a 520 x 310
    figure on 2 cores) for a file 10% smaller, and the image only travels to a nearby browser.
    """
    rgba = np.asarray(canvas.buffer_rgba())
    height, width, _ = rgba.shape
    rows = np.empty((height, width * 3 + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type 0 (none) for every row
    rows[:, 1:].reshape(height, width, 3)[...] = rgba[:, :, :3]  # a view: one copy, no temporary

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
        + chunk(b"IEND", b"")
    )


ArtistT = TypeVar("ArtistT", bound=Artist)


class LiveFigure:
    """A matplotlib figure whose static parts are drawn once and whose data are blitted."""

    def __init__(self, size: Size, dpi: int = DPI, live: bool = True):
        self.size = self.requested = size  # size grows with the legend's rows
        self.live = live
        self.figure = Figure(figsize=(size.width / DPI, size.height / DPI), dpi=dpi)
        self.figure.set_layout_engine("constrained", h_pad=0.04, w_pad=0.04)
        self.canvas = FigureCanvasAgg(self.figure)
        self.dynamic: list[Artist] = []
        self._background = None
        self.legend_rows = 0

    def grow_to(self, rows: int) -> None:
        """Make room for `rows` legend rows (so figures side by side are equally tall)."""
        if rows > self.legend_rows:
            self.legend_rows = rows
            self.size = _taller(self.figure, rows, self.requested)
            self._background = None  # drawn in full at the next update

    def data(self, artist: ArtistT) -> ArtistT:
        """Mark an artist as data: left out of the full draw, drawn again every week."""
        artist.set_animated(self.live)
        self.dynamic.append(artist)
        return artist

    def drop(self, artist: Artist) -> None:
        """Remove a data artist (one that is rebuilt each week, such as a filled band)."""
        self.dynamic.remove(artist)
        artist.remove()

    def draw_full(self) -> None:
        """Lay out and draw everything; keep the static parts as the background of later weeks."""
        self.canvas.draw()
        if self.live:
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._draw_data()

    def draw_week(self) -> None:
        """Redraw only the data over the kept background (a full draw if there is none)."""
        if self._background is None:
            self.draw_full()
            return
        self.canvas.restore_region(self._background)
        self._draw_data()

    def _draw_data(self) -> None:
        for artist in self.dynamic:
            if artist.get_visible():
                self.figure.draw_artist(artist)

    def png(self) -> bytes:
        """The figure as drawn, as PNG bytes."""
        return encode_png(self.canvas)


# ----------------------------------------------------------------------------------------------
# Line panels: quantities over weeks


@dataclass(frozen=True)
class Series:
    """One quantity drawn over the weeks."""

    metric: str  # a column of the model's DataCollector
    label: str
    colour: str  # its colour when one configuration is shown
    from_week: int = 0  # 1 for per-week gains: week 0 is the initial state, nothing learned yet
    in_comparison: bool = True  # drawn in the comparison (where a panel shows few quantities)


@dataclass(frozen=True)
class Band:
    """A shaded range between two metrics (one configuration only: bands would hide each other)."""

    low: str
    high: str
    label: str
    colour: str


@dataclass(frozen=True)
class Reference:
    """A fixed line that helps to read the data: a capacity (y) or the end of a course (x)."""

    axis: str  # "x" (vertical line at a week) or "y" (horizontal line at a value)
    value: float
    label: str


def _no_band(model: PeerLearningModel) -> Band | None:
    return None


def _no_references(model: PeerLearningModel) -> tuple[Reference, ...]:
    return ()


def _nothing_to_say(model: PeerLearningModel) -> str:
    return ""


@dataclass(frozen=True)
class LinePanel:
    """A panel of quantities over weeks, declared once and drawn for one or more models.

    `limits` gives the y-range the axes start with, from what the scenarios imply; with `grow`
    the upper limit grows (in round steps) when the data would leave it.
    """

    name: str
    title: str
    ylabel: str
    series: Callable[[PeerLearningModel], tuple[Series, ...]]
    limits: Callable[[Sequence[PeerLearningModel]], tuple[float, float]]
    grow: bool = False
    absent: Callable[[PeerLearningModel], str] = _nothing_to_say  # why nothing is drawn
    note: Callable[[PeerLearningModel], str] = _nothing_to_say  # a remark over the data
    band: Callable[[PeerLearningModel], Band | None] = _no_band
    references: Callable[[PeerLearningModel], tuple[Reference, ...]] = _no_references
    comparison_scale: str = "linear"  # "log" where configurations differ by orders of magnitude
    kind: str = field(default="line", init=False)


def _last_week(models: Sequence[PeerLearningModel]) -> int:
    return max(1, max(m.scenario.run.steps for m in models))


def _time_axis(ax: Axes, models: Sequence[PeerLearningModel]) -> None:
    ax.set_xlabel("week", fontsize=LABEL_SIZE)
    # A little room either side, so the first and the last week are not cut at the frame.
    last = _last_week(models)
    pad = max(0.3, last * 0.012)
    ax.set_xlim(-pad, last + pad)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins="auto", min_n_ticks=3))
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=TICK_SIZE)


def _note(ax: Axes, text: str) -> None:
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=NOTE_SIZE,
        color=GREY, wrap=True, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85},
    )


def _legend(ax: Axes, handles: Sequence[Artist], width_px: float, canvas: FigureCanvasAgg) -> int:
    """The legend between the title and the axes, outside the data; the rows it takes.

    As many columns as fit in `width_px` (CSS px), worked out from the width of each label as
    the renderer measures it (a legend wider than the figure would be cut off). An axes legend
    anchored above the axes: constrained layout makes room for it below the figure's title (a
    figure legend 'outside upper' would share the title's row).
    """
    if not handles:
        return 0
    renderer = canvas.get_renderer()
    font = FontProperties(size=LEGEND_SIZE)
    em = LEGEND_SIZE * DPI / 72  # px at the screen's resolution
    scale = DPI / canvas.figure.dpi  # the renderer measures at the figure's resolution
    entries = [
        renderer.get_text_width_height_descent(h.get_label(), font, ismath=False)[0] * scale
        + (HANDLE_LENGTH + 0.8) * em  # the line sample and its pad (matplotlib's handletextpad)
        for h in handles
    ]
    columns = 1
    for trying in range(len(entries), 0, -1):
        rows = -(-len(entries) // trying)
        widths = [max(entries[c * rows:(c + 1) * rows], default=0.0) for c in range(trying)]
        if sum(widths) + COLUMN_SPACING * em * (trying - 1) + 0.8 * em <= width_px:
            columns = trying
            break
    ax.legend(
        handles=handles, loc="lower left", bbox_to_anchor=(0, 1.01), ncols=columns,
        fontsize=LEGEND_SIZE, frameon=False, handlelength=HANDLE_LENGTH,
        columnspacing=COLUMN_SPACING, borderaxespad=0,
    )
    return -(-len(handles) // columns)


def _taller(figure: Figure, rows: int, size: Size) -> Size:
    """Grow the figure by the legend rows beyond the first, so the axes keep their height."""
    if rows <= 1:
        return size
    taller = Size(size.width, size.height + 17 * (rows - 1))
    figure.set_size_inches(taller.width / DPI, taller.height / DPI)
    return taller


class LineChart(LiveFigure):
    """A line panel for one model (colours per quantity) or several (colours per model)."""

    def __init__(
        self,
        panel: LinePanel,
        models: Sequence[PeerLearningModel],
        names: Sequence[str],
        size: Size,
        dpi: int = DPI,
        live: bool = True,
        legend_rows: int = 0,
    ):
        super().__init__(size, dpi, live)
        self.panel, self.models = panel, list(models)
        compare = len(models) > 1
        fig = self.figure
        ax = self.ax = fig.add_subplot()
        markers = _last_week(models) <= 52  # beyond a year of weeks, dots would merge
        fig.suptitle(panel.title, x=0.01, ha="left", fontsize=TITLE_SIZE)
        ax.set_ylabel(panel.ylabel, fontsize=LABEL_SIZE)
        _time_axis(ax, models)
        self.lines: list[tuple[PeerLearningModel, Series, Line2D]] = []
        self.bands: list[tuple[PeerLearningModel, Band]] = []
        self._band_artists: list[Artist] = []
        handles: list[Artist] = []
        styles: dict[str, LineStyleType] = {}  # in a comparison: quantity label -> line style
        self.absent = {}  # model index -> why this panel shows nothing for it
        drawn = []
        for i, model in enumerate(models):
            why = panel.absent(model)
            if why:
                self.absent[i] = why
                continue
            drawn.append(i)
            shown = [s for s in panel.series(model) if s.in_comparison or not compare]
            for series in shown:
                if compare:
                    style = styles.setdefault(series.label, STYLES[len(styles) % len(STYLES)])
                    colour, label = CONFIGURATION_COLOURS[i % 3], f"{names[i]}: {series.label}"
                else:
                    style, colour, label = "-", series.colour, series.label
                # In a comparison, earlier configurations are drawn wider: where two lines
                # coincide, both colours still show (one edging the other).
                width = 1.8 if not compare else 3.4 - 0.9 * i
                (line,) = ax.plot([], [], style, color=colour, linewidth=width, label=label,
                                  marker="." if not compare and markers else None, markersize=5)
                self.lines.append((model, series, self.data(line)))
                if not compare:
                    handles.append(line)
            band = panel.band(model)
            if band is not None and not compare:
                self.bands.append((model, band))
                handles.insert(1, _band_handle(band))
            for ref in panel.references(model) if not compare or i == drawn[0] else ():
                line = (ax.axhline if ref.axis == "y" else ax.axvline)(
                    ref.value, color="0.4", linestyle="-." if ref.axis == "y" else ":",
                    linewidth=1.0, label=ref.label,
                )
                handles.append(line)
        if compare:
            # The legend says which colour is which configuration and which line style which
            # quantity; the page lists the configurations in full above the figures.
            configuration_handles = [
                Line2D([], [], color=CONFIGURATION_COLOURS[i % 3], linewidth=2.6, label=names[i])
                for i in drawn
            ]
            style_handles = [
                Line2D([], [], color=GREY, linestyle=style, linewidth=1.6, label=label)
                for label, style in styles.items()
            ] if len(styles) > 1 else []
            handles = configuration_handles + style_handles + handles
        # Rows of legend: at least `legend_rows`, so panels side by side are equally tall.
        self.legend_rows = max(legend_rows, _legend(ax, handles, size.width - 90, self.canvas))
        self.size = _taller(fig, self.legend_rows, size)
        self.log = compare and panel.comparison_scale == "log"
        if not drawn:
            _note(ax, panel.absent(models[0]))
            ax.set_yticks([])
        elif not compare and panel.note(models[0]):
            _note(ax, panel.note(models[0]))
        self.low, self.high = panel.limits(models)
        self._data_limits_set = not self.log
        if self.log:
            ax.set_yscale("log")
            ax.set_ylim(0.1, 10)  # until the first week's data say where the values are
        else:
            ax.set_ylim(self.low, self.high)
            formatter = ScalarFormatter(useOffset=False)
            formatter.set_powerlimits((-6, 7))
            ax.yaxis.set_major_formatter(formatter)
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5))

    def update(self) -> None:
        """Set this week's data and redraw (in full only when an axis had to grow)."""
        top, bottom = -math.inf, math.inf
        for model, series, line in self.lines:
            x = _weeks(model)[series.from_week:]
            y = _series(model, series.metric)[series.from_week:]
            line.set_data(x, y)
            if y.size:
                finite = y[np.isfinite(y)]
                if self.log:
                    finite = finite[finite > 0]
                if finite.size:
                    top, bottom = max(top, float(finite.max())), min(bottom, float(finite.min()))
        for artist in self._band_artists:
            self.drop(artist)
        self._band_artists = []
        for model, band in self.bands:
            artist = self.ax.fill_between(
                _weeks(model), _series(model, band.low), _series(model, band.high),
                color=band.colour, alpha=0.18, linewidth=0,
            )
            self._band_artists.append(self.data(artist))
            top = max(top, float(np.max(_series(model, band.high), initial=0.0)))
        if self._grow(bottom, top):
            self.draw_full()
        else:
            self.draw_week()

    def _grow(self, bottom: float, top: float) -> bool:
        """Widen the y-axis if the data leave it; whether it changed (round steps, never shrink)."""
        if not math.isfinite(top):
            return False
        if self.log:
            low = 10.0 ** math.floor(math.log10(bottom / 1.5))
            high = 10.0 ** math.ceil(math.log10(top * 1.5))
            if self._data_limits_set and low >= self.low and high <= self.high:
                return False
            self.low = low if not self._data_limits_set else min(low, self.low)
            self.high = high if not self._data_limits_set else max(high, self.high)
            self._data_limits_set = True
            self.ax.set_ylim(self.low, self.high)
            return True
        changed = False
        if self.panel.grow and top > self.high:
            self.high, changed = nice_ceiling(top * 1.25), True
        if bottom < self.low:  # a net loss (forgetting outweighs learning)
            self.low, changed = -nice_ceiling(-bottom * 1.25), True
        if changed:
            self.ax.set_ylim(self.low, self.high)
        return changed


def _band_handle(band: Band) -> Artist:
    return Patch(facecolor=band.colour, alpha=0.18, label=band.label)


def _weeks(model: PeerLearningModel) -> np.ndarray:
    return np.asarray(model.datacollector.model_vars["step"], dtype=float)


def _series(model: PeerLearningModel, name: str) -> np.ndarray:
    return np.asarray(model.datacollector.model_vars[name], dtype=float)


# ----------------------------------------------------------------------------------------------
# The pyramid


@dataclass(frozen=True)
class PyramidPanel:
    """The expertise pyramid: active learners per skill band, novices at the bottom."""

    name: str
    title: str
    kind: str = field(default="pyramid", init=False)


def band_colour(k: int, bands: int) -> tuple:
    """Band k of `bands`, dark (novices) to light (experts)."""
    return colormaps["viridis"](0.9 - 0.75 * k / max(bands - 1, 1))


def band_counts(model: PeerLearningModel, week: int | None = None) -> np.ndarray:
    """Active learners per skill band, bottom up, this week (or at `week`)."""
    bands = model.scenario.metrics.bands
    if week is None:
        return np.array([model.metrics[f"band_{k}"] for k in range(bands)], dtype=float)
    columns = model.datacollector.model_vars
    return np.array([columns[f"band_{k}"][week] for k in range(bands)], dtype=float)


def pyramid_width(models: Sequence[PeerLearningModel]) -> float:
    """A bar-width scale that holds the widest band of week 0 and of this week, with room."""
    widest = max(max(band_counts(m, 0).max(), band_counts(m).max()) for m in models)
    return nice_ceiling(max(widest, 1.0) * 1.1)


WIDEST_COUNT = "1,000,000 (100%)"  # the widest count beside a bar (the dashboard's limit)


class PyramidChart(LiveFigure):
    """The pyramid of one model; bars centred so the shape reads as a pyramid."""

    def __init__(
        self,
        model: PeerLearningModel,
        title: str,
        size: Size,
        scale: float,
        colour: str | None = None,
        dpi: int = DPI,
        live: bool = True,
        legend_rows: int = 0,
    ):
        super().__init__(size, dpi, live)
        self.model, self.scale, self.title, self.colour = model, scale, title, colour
        bands = self.bands = model.scenario.metrics.bands
        fig = self.figure
        ax = self.ax = fig.add_subplot()
        fig.suptitle(title, x=0.01, ha="left", fontsize=TITLE_SIZE, color=colour or "black")
        y = np.arange(bands)
        colours = [band_colour(k, bands) for k in range(bands)]
        self.bars = [
            self.data(bar) for bar in ax.barh(y, np.zeros(bands), height=0.86, color=colours,
                                              edgecolor="white")
        ]
        initial = band_counts(model, 0)
        self.outline = [
            self.data(bar) for bar in ax.barh(
                y, initial, left=-initial / 2, height=0.86, fill=False, edgecolor="0.2",
                linestyle="--", linewidth=0.9,
            )
        ]
        # Thresholds: lines drawn after the bars (so a wide bar never hides them), named in the
        # legend above the axes rather than by text over the bars.
        m = model.scenario.metrics
        handles: list[Artist] = [
            Patch(facecolor="none", edgecolor="0.2", linestyle="--", label="week 0")
        ]
        for threshold, name, style in ((m.competent, "competent", ":"), (m.expert, "expert", "-.")):
            line = ax.axhline(threshold * bands - 0.5, color="0.2", linestyle=style, linewidth=1.0,
                              label=f"{name}: skill ≥ {threshold:g}")
            handles.append(self.data(line))
        self.legend_rows = max(legend_rows, _legend(ax, handles, size.width - 80, self.canvas))
        self.size = _taller(fig, self.legend_rows, size)
        beside = blended_transform_factory(ax.transAxes, ax.transData)
        self.counts = [
            self.data(ax.text(1.03, k, "", transform=beside, va="center", fontsize=LEGEND_SIZE,
                              clip_on=False))
            for k in range(bands)
        ]
        # Room beside the axes for the counts, which are drawn each week and so are not laid
        # out: an invisible copy of the widest count is (the legend above may use that room).
        ax.text(1.03, 0, WIDEST_COUNT, transform=beside, va="center", fontsize=LEGEND_SIZE,
                alpha=0.0)
        self.week_text = self.data(fig.text(0.99, 0.985, "", ha="right", va="top",
                                            fontsize=LABEL_SIZE, color=GREY))
        ax.set_yticks(y, [f"{k / bands:g}–{(k + 1) / bands:g}" for k in y], fontsize=TICK_SIZE)
        ax.set_ylim(-0.6, bands - 0.4)
        wide = size.width >= 440  # at phone widths the short label leaves the bars their room
        ax.set_ylabel("skill band (0 novice, 1 frontier)" if wide else "skill band",
                      fontsize=LABEL_SIZE)
        ax.set_xticks([])
        ax.set_xlabel("bar width: active learners", fontsize=LABEL_SIZE)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        self._set_scale(scale)

    def _set_scale(self, scale: float) -> None:
        self.scale = scale
        self.ax.set_xlim(-scale / 2, scale / 2)

    def update(self, scale: float | None = None) -> None:
        """Set this week's bars and counts; a new `scale` (shared in a comparison) redraws all."""
        counts = band_counts(self.model)
        total = counts.sum()
        for bar, count, text in zip(self.bars, counts, self.counts, strict=True):
            bar.set_width(count)
            bar.set_x(-count / 2)
            share = count / total if total else 0.0
            text.set_text(f"{int(count):,} ({share:.0%})")
        self.week_text.set_text(f"week {self.model.steps}: {int(total):,} active")
        if scale is not None and scale != self.scale:
            self._set_scale(scale)
            self.draw_full()
        else:
            self.draw_week()
