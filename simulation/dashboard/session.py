"""One browser session of the dashboard: what its controls hold, what it shows, what it is doing.

Solara runs one virtual kernel per browser session, and a `solara.Reactive` made at module level
holds one value per kernel, so two people (or two tabs) have their own controls and models.

Two states are kept apart: what the controls hold (`texts`, `configurations`: changed freely,
checked as they change, each problem shown at its control) and what the figures show (`applied`,
the settings of the `board` on screen). A control whose text differs from what is shown is
pending until Reset applies it; the page marks it. Work that takes longer than a click (Reset,
loading a file, a new view, the first build while the kernels compile) runs in a background
task, with `busy` saying what it is doing; bad input never replaces the run on screen.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace

import solara
import solara.lab

from ..config.errors import ScenarioError
from ..config.schema import Scenario
from ..structures import all_structures, get
from . import address, controls
from .board import DEFAULT_WIDTH, Board
from .controls import SCHEMA_DEFAULTS, Configuration
from .warmup import WARMUP

SPEEDS = (1, 2, 4, 8)  # weeks per second while playing, at most


@dataclass(frozen=True)
class Applied:
    """What the figures show: the settings at the last Reset (or file, or address)."""

    view: str
    start: str
    texts: tuple[tuple[str, str], ...]  # every control's text
    changes: tuple[tuple[str, str], ...]  # those that differ from the starting point
    configurations: tuple[Configuration, ...]


# ----------------------------------------------------------------------------------------------
# The session's state (one value per browser session)

view: solara.Reactive[str] = solara.reactive("single")  # "single" or "compare"
start: solara.Reactive[str] = solara.reactive(SCHEMA_DEFAULTS)  # the starting point's name
note: solara.Reactive[str] = solara.reactive("")  # what was changed to run the file (scaled)
texts: solara.Reactive[dict] = solara.reactive({})  # schema key -> what its control holds
configurations: solara.Reactive[tuple] = solara.reactive(controls.default_configurations())
applied: solara.Reactive[Applied | None] = solara.reactive(None)
board: solara.Reactive[Board | None] = solara.reactive(None)
shown: solara.Reactive[int] = solara.reactive(0)  # counts redraws: the figures read it
busy: solara.Reactive[str] = solara.reactive("")  # what the session is doing ('' if idle)
message: solara.Reactive[str] = solara.reactive("")  # the latest problem not of one control
refusals: solara.Reactive[int] = solara.reactive(0)  # files refused (remounts the file menu)
playing: solara.Reactive[bool] = solara.reactive(False)
speed: solara.Reactive[int] = solara.reactive(4)
width: solara.Reactive[int] = solara.reactive(DEFAULT_WIDTH)  # of the panel area, in px
width_known: solara.Reactive[bool] = solara.reactive(False)  # the browser has said the width
intro: solara.Reactive[bool] = solara.reactive(True)  # whether the introduction is open
_boards: solara.Reactive[dict] = solara.reactive({})  # view -> (Applied, Board) built for it
_serial: solara.Reactive[threading.Lock | None] = solara.reactive(None)  # made per session


def reset_session() -> None:
    """Forget this session's state (tests): the schema defaults, nothing shown."""
    playing.value = False
    view.value, start.value, note.value = "single", SCHEMA_DEFAULTS, ""
    texts.value = controls.texts_of(Scenario())
    configurations.value = controls.default_configurations()
    applied.value = board.value = None
    _boards.value = {}
    busy.value = message.value = ""
    speed.value, width.value, intro.value = 4, DEFAULT_WIDTH, True
    width_known.value = False


# ----------------------------------------------------------------------------------------------
# What the controls describe


def start_scenario() -> Scenario:
    """The scenario of the chosen starting point (the defaults if it cannot be read)."""
    return controls.starting_point(start.value).scenario or Scenario()


def draft_structures() -> list:
    """The structures the controls are set for: the chosen one, or the comparison's."""
    names = [c.structure for c in configurations.value] if view.value == "compare" else [
        texts.value.get("program.structure", start_scenario().program.structure)
    ]
    found = []
    for name in names:
        with contextlib.suppress(KeyError):  # the structure's control says what is wrong
            found.append(get(name))
    return found


def problems() -> tuple[dict[str, str], dict[int, str]]:
    """What is wrong with the controls: by schema key, and by configuration of the comparison."""
    base, by_key = controls.check(start_scenario(), texts.value)
    by_configuration: dict[int, str] = {}
    if view.value == "compare" and base is not None:
        seen: dict[Configuration, int] = {}
        for i, c in enumerate(configurations.value):
            if c in seen:
                by_configuration[i] = f"the same as configuration {seen[c] + 1}"
                continue
            seen[c] = i
            try:
                controls.configuration_scenario(base, c)
            except ScenarioError as exc:
                by_configuration[i] = exc.message
    return by_key, by_configuration


def _same(key: str, a: str, b: str) -> bool:
    """Whether two texts of a control mean the same value ('1,000' and '1000' do)."""
    control = controls.control(key)
    return a.strip() == b.strip() or controls.parse(control, a) == controls.parse(control, b)


def pending() -> dict[str, str]:
    """Controls whose text differs from what the figures show: key -> the text shown."""
    shown_ = applied.value
    if shown_ is None:
        return {}
    before = dict(shown_.texts)
    return {
        key: before[key]
        for key, text in texts.value.items()
        if key in before and not _same(key, text, before[key])
    }


def pending_configurations() -> bool:
    """Whether the comparison's configurations differ from those shown."""
    return (
        view.value == "compare"
        and applied.value is not None
        and tuple(configurations.value) != applied.value.configurations
    )


def summary(b: Board) -> str:
    """One line saying what the figures show."""
    return b.summary(applied.value.start if applied.value else SCHEMA_DEFAULTS)


def address_query() -> str | None:
    """The address of what is shown (None until something is)."""
    shown_, b = applied.value, board.value
    if shown_ is None or b is None:
        return None
    return address.encode(
        address.Settings(
            shown_.view, shown_.start, shown_.changes,
            shown_.configurations if shown_.view == "compare" else (), b.week,
        )
    )


# ----------------------------------------------------------------------------------------------
# Building what is shown


def _start(name: str) -> Scenario:
    """The scenario of a starting point; ScenarioError (one line) if its file cannot be used."""
    point = controls.starting_point(name)
    if point.scenario is None:
        raise ScenarioError("Scenario file", point.problem)
    return point.scenario


def _scenarios(
    view_: str, start_: str, texts_: dict, configurations_: tuple[Configuration, ...]
) -> tuple[list[Scenario], list[str]]:
    """(scenarios, names) for a view; ScenarioError (one line naming the control) if bad."""
    base, by_key = controls.check(_start(start_), texts_)
    if base is None:
        raise ScenarioError("Not applied", controls.headline(by_key))
    if view_ != "compare":
        return [base], [base.program.structure]
    names = controls.configuration_names(configurations_)
    scenarios, taken = [], set()
    for c in configurations_:
        scenario = controls.configuration_scenario(base, c)
        label, k = c.structure, 2
        while label in taken:  # scenario names must differ to be compared (`peerscale compare`)
            label, k = f"{c.structure}-{k}", k + 1
        taken.add(label)
        scenarios.append(scenario.model_copy(update={"name": label}))
    return scenarios, names


def _show(
    view_: str, start_: str, texts_: dict, configurations_: tuple[Configuration, ...]
) -> Board:
    """Build and show a board for these settings; they become what the figures show."""
    scenarios, names = _scenarios(view_, start_, texts_, configurations_)
    built = Board(scenarios, names, width.value)
    point_texts = controls.texts_of(_start(start_))
    settings = Applied(
        view_, start_, tuple(sorted(texts_.items())),
        tuple((k, t) for k, t in sorted(texts_.items()) if not _same(k, t, point_texts.get(k, t))),
        tuple(configurations_),
    )
    _boards.value = {**_boards.value, view_: (settings, built)}
    applied.value, board.value = settings, built
    shown.value += 1
    return built


def apply() -> None:
    """Reset: show a new run of what the controls hold, from week 0 (bad input: keep the run)."""
    playing.value = False
    _show(view.value, start.value, dict(texts.value), tuple(configurations.value))
    message.value = ""


def choose_start(name: str) -> bool:
    """Load a starting point into the controls and show it; whether it was loaded.

    A file that cannot be read is refused with a message, and the menu stays on the file that
    is shown.
    """
    point = controls.starting_point(name)
    if point.scenario is None:
        message.value = f"{name} was not loaded: {point.problem}"
        refusals.value += 1
        return False
    playing.value = False
    start.value, note.value = name, point.note
    texts.value = controls.texts_of(point.scenario)
    _show(view.value, name, dict(texts.value), tuple(configurations.value))
    message.value = ""
    return True


def switch_view(new: str) -> None:
    """Show the other view, built from the settings shown (changes not applied stay pending)."""
    if new == view.value:
        return
    playing.value = False
    view.value = new
    if new == "compare":
        intro.value = False  # seen with the first run; the comparison needs the room
    shown_ = applied.value
    if shown_ is None:
        return
    cached = _boards.value.get(new)
    settings = replace(shown_, view=new)
    if cached and replace(cached[0], view=new) == settings:
        applied.value, board.value = cached
        if cached[1].resize(width.value):
            shown.value += 1
        return
    _show(new, shown_.start, dict(shown_.texts), shown_.configurations)


def step() -> bool:
    """One week for the run shown; whether it moved."""
    b = board.value
    if b is None or b.finished:
        return False
    moved = b.step()
    shown.value += 1
    return moved


def resize(px: int) -> None:
    """Draw the figures for a panel area `px` wide."""
    width.value = int(px)
    b = board.value
    if b is not None and b.resize(px):
        shown.value += 1


def open_page(query: str | None) -> None:
    """A new session: restore the address's settings, wait for the kernels, show the run."""
    settings = address.decode(query)
    notes = [f"ignored in the address: {', '.join(settings.problems)}"] if settings.problems else []
    point = controls.starting_point(settings.start)
    if point.scenario is None:
        notes.append(f"{settings.start} was not loaded: {point.problem}")
        point = controls.starting_point(SCHEMA_DEFAULTS)
    start.value, note.value = point.name, point.note
    start_texts = controls.texts_of(point.scenario or Scenario())  # the defaults always load
    texts.value = {**start_texts, **dict(settings.changes)}
    configurations.value = settings.configurations or controls.default_configurations()
    view.value = settings.view
    intro.value = settings.view != "compare"  # a shared comparison opens on the comparison
    if WARMUP.running:  # the controls are filled meanwhile: they can be read and changed
        while not WARMUP.wait(1.0):
            busy.value = (
                "Compiling the simulation kernels, once after an install (numba; 1-2 minutes "
                f"on 2 cores): {WARMUP.elapsed:.0f} s so far"
            )
        busy.value = "Building the model"
    # The figures are drawn for the width the browser reports as the page mounts (so a phone
    # does not get desktop-sized figures first); without a browser there is nothing to wait for.
    deadline = time.monotonic() + 2.0
    while solara._using_solara_server() and not width_known.value and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        built = _show(view.value, point.name, dict(texts.value), tuple(configurations.value))
    except ScenarioError:
        # A value the address holds is not allowed: show the starting point, and leave the bad
        # value in its control, marked, with the message saying what is allowed.
        built = _show(view.value, point.name, start_texts, tuple(controls.default_configurations()))
    for week in range(min(settings.week, built.last_week)):
        busy.value = f"Replaying the run to week {settings.week} (week {week + 1})"
        built.step()
    shown.value += 1
    message.value = "; ".join(notes)


# ----------------------------------------------------------------------------------------------
# Work in the background, so the page says what it is doing meanwhile


@solara.lab.task
def _work(lock: threading.Lock, what: str, action: Callable[[], object]) -> None:
    # One piece of work at a time per session (`lock` is the session's): a call made while
    # another runs (a resize while the first run is built) waits for it rather than racing it.
    with lock:
        _run(what, action)


def _run(what: str, action: Callable[[], object]) -> None:
    busy.value = what
    try:
        action()
    except ScenarioError as exc:
        message.value = str(exc)
    except Exception as exc:  # a bug: one line on the page, the details in the server's log
        traceback.print_exc()
        message.value = f"{what} failed: {type(exc).__name__}: {exc}"
    finally:
        busy.value = ""


def in_background(what: str, action: Callable[[], object]) -> None:
    """Run `action` in a background task; `busy` says `what` until it is done."""
    lock = _serial.value
    if lock is None:  # made here, in the caller's thread, before any task runs
        lock = _serial.value = threading.Lock()
    _work(lock, what, action)


@solara.lab.task
def _play() -> None:
    try:
        while playing.value:
            started = time.perf_counter()
            if not step():
                break
            rest = 1.0 / speed.value - (time.perf_counter() - started)
            if rest > 0:
                time.sleep(rest)
    except Exception as exc:
        traceback.print_exc()
        message.value = f"Play stopped: {type(exc).__name__}: {exc}"
    finally:
        playing.value = False


def toggle_play() -> None:
    """Play (a week at a time, at most `speed` weeks a second) or pause."""
    if playing.value:
        playing.value = False
        return
    b = board.value
    if b is None or b.finished or busy.value:
        return
    playing.value = True
    _play()


def set_text(key: str, text: str | None) -> None:
    """A control now holds `text` (checked at once; applied on Reset)."""
    texts.value = {**texts.value, key: "" if text is None else str(text)}


def set_configuration(index: int, structure: str | None = None, changes: str | None = None) -> None:
    """Change a configuration of the comparison (applied on Reset)."""
    items = list(configurations.value)
    current = items[index]
    items[index] = Configuration(
        current.structure if structure is None else structure,
        current.changes if changes is None else changes.strip(),
    )
    configurations.value = tuple(items)


def add_configuration() -> None:
    """A third configuration: the first structure of the registry not yet compared."""
    items = list(configurations.value)
    used = {c.structure for c in items}
    candidates = [s.name for s in all_structures() if s.name not in used]
    items.append(Configuration(candidates[0] if candidates else items[-1].structure))
    configurations.value = tuple(items)


def remove_configuration(index: int) -> None:
    """Drop a configuration (two at least remain)."""
    items = list(configurations.value)
    if len(items) > 2:
        del items[index]
        configurations.value = tuple(items)
