"""The dashboard page: settings in a drawer, the run's figures in the main area.

Run with `peerscale dashboard` or `solara run simulation/dashboard/app.py`. The page is built
with Solara (the library Mesa's SolaraViz is built on) rather than with SolaraViz itself: its
layout fixes what this page must not have (draggable figures in a grid of fixed row heights, a
"Page 0" tab, play-interval, render-interval and thread controls, a step counter beside the
week) and has one model, where the comparison steps two or three together. The model is still
a `mesa.Model` (simulation/model.py) stepped the way Mesa steps it.

Layout: an app bar (the settings button, the view: one run or a comparison, the docs); a drawer
of settings that is open beside the figures on wide screens and slides over them, closed until
opened, below 960 px; in the main area an introduction, the run bar (Reset, Play, Step, the
week, what is pending or wrong), the figures (one column, or two where they fit at 420 px) and
the exports.
"""

from __future__ import annotations

from collections.abc import Callable

# Absolute imports: `solara run simulation/dashboard/app.py` executes this file as a script.
from simulation.dashboard import (  # isort: skip
    controls,
    explain,
    export,
    session,
    widgets,
)
from simulation.dashboard.board import Board, grid, pyramid_row  # isort: skip
from simulation.dashboard.charts import CONFIGURATION_COLOURS  # isort: skip
from simulation.structures import all_structures, get  # isort: skip

import reacton.ipyvuetify as v
import solara

TITLE = "PeerScale dashboard"
DRAWER_BREAKPOINT = 960  # px: the settings stand beside the figures from here, over them below

CSS = """
.peerscale-appbar .peerscale-subtitle { opacity: 0.85; margin-left: 12px; font-size: 0.9rem; }
.peerscale-appbar .v-toolbar__title { overflow: visible; }
@media (max-width: 700px) { .peerscale-appbar .peerscale-subtitle,
  .peerscale-appbar .peerscale-docs-label { display: none; } }
.peerscale-drawer { max-width: 88vw; }
.peerscale-sidebar { padding: 8px 12px 24px 12px; }
.peerscale-sidebar .v-card { margin-bottom: 10px; }
.peerscale-sidebar .v-messages__message { line-height: 1.3; }
.peerscale-pending .v-input__slot { box-shadow: inset 4px 0 0 #ef6c00; }
.peerscale-pending .v-messages__message { color: #b34700; }
.peerscale-main { padding: 12px; }
.peerscale-runbar { position: sticky; top: 48px; z-index: 5; background: #fff;
  border-bottom: 1px solid #ddd; padding: 8px 0; margin-bottom: 12px; }
.peerscale-runbar .v-alert { margin: 6px 0 0 0; }
.peerscale-buttons { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.peerscale-week { font-weight: 500; margin: 0 6px; }
.peerscale-speed { max-width: 190px; }
.peerscale-summary { color: #444; font-size: 0.85rem; margin-top: 6px; }
.peerscale-grid { display: grid; gap: 12px; justify-content: start; align-items: start; }
.peerscale-pyramids { display: grid; gap: 12px; justify-content: start; margin-bottom: 12px; }
.peerscale-panel { background: #fff; border: 1px solid #e3e3e3; }
.peerscale-panel img { display: block; width: 100%; height: auto; }
/* the widget's wrapper says height: 100% (of a grid cell sized by its content): let the image
   size it, or the download row below is pushed out of the cell over the next figure */
.peerscale-panel > div:first-child { height: auto !important; }
.peerscale-panel-tools { display: flex; align-items: center; gap: 8px; padding: 0 4px 2px 8px;
  font-size: 0.8rem; color: #555; min-height: 26px; }
.peerscale-panel-tools .v-btn { height: 24px !important; font-size: 0.75rem; }
.peerscale-panel-tools .peerscale-caption { flex: 1; }
.peerscale-intro { margin-bottom: 12px; font-size: 0.9rem; }
.peerscale-intro .v-card__title { padding: 8px 16px; }
.peerscale-intro .v-card__text { padding-bottom: 8px; }
.peerscale-intro p { margin-bottom: 8px; }
.peerscale-intro ul { margin-bottom: 4px; }
.peerscale-intro-columns { display: grid; gap: 4px 24px; margin-bottom: 8px;
  grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); }
.peerscale-card-title { display: block; font-weight: 500; font-size: 1rem; margin-bottom: 6px; }
.peerscale-numbers { margin: 12px 0; max-width: 900px; }
.peerscale-numbers td:not(:first-child), .peerscale-numbers th { white-space: nowrap; }
@media (max-width: 600px) {
  .peerscale-numbers th, .peerscale-numbers td { padding: 0 6px !important; font-size: 0.78rem; }
  .peerscale-appbar .v-toolbar__title { font-size: 1.05rem; padding-left: 4px; }
  .peerscale-appbar .v-btn-toggle .v-btn { padding: 0 8px !important; min-width: 0 !important; }
}
.peerscale-swatch { display: inline-block; width: 14px; height: 4px; margin-right: 6px;
  vertical-align: middle; }
.peerscale-export { margin-top: 12px; }
.peerscale-export-buttons { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.peerscale-doc { max-width: 920px; padding: 16px; }
.peerscale-doc table { border-collapse: collapse; font-size: 0.85rem; }
.peerscale-doc td, .peerscale-doc th { border: 1px solid #ccc; padding: 2px 6px; }
"""


@solara.component
def Layout(children: list = []):  # noqa: B006 (solara's signature for layouts)
    """The page draws its own app bar and drawer: no Solara AppLayout around it."""
    return solara.Div(children=children)


# ----------------------------------------------------------------------------------------------
# Sidebar: the settings


@solara.component
def ControlField(control: controls.Control, text: str, shown: str | None, error: str,
                 help_: str):
    """One control: its label, value, help (or what is wrong), and whether it is pending."""
    classes = ["peerscale-control", f"peerscale-control-{control.key.replace('.', '-')}"]
    if shown is not None:
        classes.append("peerscale-pending")
        shown_text = next((o["text"] for o in controls.options(control) if o["value"] == shown),
                          shown) if control.kind in ("select", "level") else shown
        help_ = f"Changed (the figures show {shown_text}): press Reset to apply. {help_}"
    if error:
        classes.append("peerscale-invalid")

    def on_value(value: str | None) -> None:
        session.set_text(control.key, value)

    if control.kind in ("select", "level"):
        v.Select(
            label=controls.label(control), items=controls.options(control), v_model=text,
            on_v_model=on_value, messages=[] if error else [help_],
            error_messages=[error] if error else [], class_=" ".join(classes),
        )
    else:
        solara.InputText(controls.label(control), value=text, on_value=on_value,
                         error=error or False, message=help_, classes=classes)


@solara.component
def StartingPoint():
    """The scenario file the controls start from; a file that cannot be used is refused."""
    refusals = session.refusals.value  # a refusal remounts the menu on the file that is shown
    points = solara.use_memo(controls.starting_points, [session.start.value, refusals])
    items = [{"text": p.label, "value": p.name} for p in points]

    def choose(name: str) -> None:
        if name and name != session.start.value:
            session.in_background(f"Loading {name}", lambda: session.choose_start(name))

    message = session.message.value
    refused = message if " was not loaded: " in message else ""  # said beside the menu
    v.Select(
        label="Starting point (scenario file)", items=items, v_model=session.start.value,
        on_v_model=choose, class_="peerscale-starting-point",
        messages=[] if refused else [
            session.note.value or "Loads the file into the controls below and shows its run."
        ],
        error_messages=[refused] if refused else [],
    ).key(f"start-{refusals}")


@solara.component
def Configurations(by_configuration: dict[int, str]):
    """The comparison's configurations: a structure each, and what else it changes."""
    items = list(session.configurations.value)
    shown = session.applied.value.configurations if session.applied.value else ()
    with v.Card(outlined=True, class_="peerscale-configurations"), v.CardText():
        solara.Text("Compared configurations", classes=["peerscale-card-title"])
        solara.Text("Every other setting is shared: the same learners, levels and seed.",
                    style={"font-size": "0.85rem"})
        for i, c in enumerate(items):
            pending = i >= len(shown) or shown[i] != c
            ConfigurationCard(i, c, pending, bool(shown), by_configuration.get(i, ""),
                              removable=len(items) > 2)
        if len(items) < len(CONFIGURATION_COLOURS):
            solara.Button("Add a configuration", icon_name="mdi-plus", text=True,
                          on_click=session.add_configuration)


@solara.component
def ConfigurationCard(i: int, c: controls.Configuration, pending: bool, shown: bool,
                      problem: str, removable: bool):
    """Configuration i + 1 of the comparison: its colour, structure, changes, and Remove."""
    colour = CONFIGURATION_COLOURS[i % len(CONFIGURATION_COLOURS)]
    names = [s.name for s in all_structures()]

    def set_structure(structure: str) -> None:
        session.set_configuration(i, structure=structure)

    def set_changes(text: str) -> None:
        session.set_configuration(i, changes=text)

    def remove() -> None:
        session.remove_configuration(i)

    with solara.Div(classes=["peerscale-configuration"] + (
            ["peerscale-pending"] if pending else [])):
        solara.HTML(tag="div", unsafe_innerHTML=(
            f'<span class="peerscale-swatch" style="background:{colour}"></span>'
            f"<b>Configuration {i + 1}</b>"
            + (" (changed: press Reset to apply)" if pending and shown else "")))
        v.Select(
            label="Structure", items=names, v_model=c.structure, on_v_model=set_structure,
            messages=[get(c.structure).label] if c.structure in names else [],
            class_=f"peerscale-configuration-{i + 1}-structure",
        )
        solara.InputText(
            "Also set (key=value; ...)", value=c.changes, on_value=set_changes,
            error=problem or False,
            message="optional, as `peerscale run --set` takes them: "
            "program.agency=2; experts.count=50",
            classes=[f"peerscale-configuration-{i + 1}-changes"],
        )
        if removable:
            solara.Button("Remove", icon_name="mdi-close", text=True, small=True,
                          on_click=remove)


@solara.component
def Controls(by_key: dict[str, str]):
    """The main controls that apply to the structure(s) chosen."""
    texts = session.texts.value
    waiting = session.pending()
    structures = session.draft_structures()
    compare = session.view.value == "compare"
    scenario = session.start_scenario()
    with v.Card(outlined=True, class_="peerscale-controls"), v.CardText():
        solara.Text("Model settings", classes=["peerscale-card-title"])
        for c in controls.MAIN:
            if compare and c.key == "program.structure":
                continue  # each configuration chooses its own
            if not controls.applies(c, structures):
                continue
            text = texts.get(c.key, "")
            help_ = controls.help_text(c, controls.parse(c, text), scenario)
            if compare and c.section in controls.structure_sections():
                help_ += f" (read by {', '.join(controls.readers(c, structures))})"
            ControlField(c, text, waiting.get(c.key), by_key.get(c.key, ""), help_)
        if "" in by_key:
            solara.Error(by_key[""], classes=["peerscale-problem"])


@solara.component
def MoreParameters(by_key: dict[str, str]):
    """Every other parameter of the schema, by section, for the sections that apply."""
    opened, set_opened = solara.use_state(None)
    texts = session.texts.value
    waiting = session.pending()
    structures = session.draft_structures()
    scenario = session.start_scenario()
    start_texts = controls.texts_of(scenario)
    main = {c.key for c in controls.MAIN}
    sections = []
    for section in controls.more_sections():
        members = [
            c for c in controls.all_controls()
            if c.section == section and c.key not in main and controls.applies(c, structures)
        ]
        if members:
            sections.append((section, members))
    with v.Card(outlined=True, class_="peerscale-more"), v.CardText():
        solara.Text("More parameters", classes=["peerscale-card-title"])
        solara.Text("Every parameter of the scenario schema (`peerscale params`), by section.",
                    style={"font-size": "0.85rem"})
        with v.ExpansionPanels(v_model=opened, on_v_model=set_opened, accordion=True,
                               flat=True):
            for i, (section, members) in enumerate(sections):
                changed = sum(texts.get(c.key, "") != start_texts.get(c.key) for c in members)
                marked = sum(c.key in by_key for c in members)
                with v.ExpansionPanel(class_=f"peerscale-section-{section}"):
                    words = f"{section}" + (f" ({changed} changed)" if changed else "")
                    words += f" ({marked} to fix)" if marked else ""
                    v.ExpansionPanelHeader(children=[words])
                    with v.ExpansionPanelContent():
                        if opened == i:  # only the open section's controls are built
                            for c in members:
                                text = texts.get(c.key, "")
                                ControlField(c, text, waiting.get(c.key), by_key.get(c.key, ""),
                                             controls.help_text(c, controls.parse(c, text),
                                                                scenario))


@solara.component
def Sidebar(on_close: Callable[[], None]):
    """The settings: starting point, configurations (comparison), controls."""
    by_key, by_configuration = session.problems()
    with solara.Div(classes=["peerscale-sidebar"]):
        with solara.Row(style={"align-items": "center"}):
            solara.Text("Settings", style={"font-weight": "500", "font-size": "1.1rem"})
            v.Spacer()
            solara.Button(icon_name="mdi-close", icon=True, on_click=on_close,
                          classes=["peerscale-close"],
                          attributes={"aria-label": "Close the settings", "title": "Close"})
        solara.Text("Changes apply when you press Reset (above the figures).",
                    style={"font-size": "0.85rem", "color": "#555"})
        with v.Card(outlined=True), v.CardText():
            StartingPoint()
        if session.view.value == "compare":
            Configurations(by_configuration)
        Controls(by_key)
        MoreParameters(by_key)


# ----------------------------------------------------------------------------------------------
# Main area


@solara.component
def Introduction():
    """What the model is, what the structures and levels mean, and where the docs are."""
    opened = session.intro.value
    with v.Card(outlined=True, class_="peerscale-intro"):
        with v.CardTitle(class_="text-subtitle-1"):
            solara.Text("What this page shows")
            v.Spacer()
            solara.Button("Hide" if opened else "Show", text=True, small=True,
                          on_click=lambda: session.intro.set(not opened),
                          classes=["peerscale-intro-toggle"])
        if opened:
            with v.CardText():
                solara.HTML(tag="div", unsafe_innerHTML=explain.introduction(
                    session.start_scenario()), classes=["peerscale-intro-text"])


@solara.component
def RunBar(b: Board | None, week: int):
    """Reset, Play, Step and the week; what is pending, wrong, busy or finished."""
    busy, playing = session.busy.value, session.playing.value
    waiting = session.pending()
    configurations_waiting = session.pending_configurations()
    by_key, by_configuration = session.problems()
    idle = not busy and b is not None
    finished = b is not None and b.finished

    def reset():
        session.in_background("Building the new run", session.apply)

    with solara.Div(classes=["peerscale-runbar"]):
        with solara.Div(classes=["peerscale-buttons"]):
            solara.Button("Reset", icon_name="mdi-restart", on_click=reset, disabled=bool(busy),
                          color="warning" if (waiting or configurations_waiting) else "primary",
                          classes=["peerscale-reset"])
            solara.Button("Pause" if playing else "Play",
                          icon_name="mdi-pause" if playing else "mdi-play",
                          on_click=session.toggle_play, color="primary",
                          disabled=not idle or (finished and not playing),
                          classes=["peerscale-play"])
            solara.Button("Step", icon_name="mdi-debug-step-over", on_click=session.step,
                          color="primary", disabled=not idle or playing or finished,
                          classes=["peerscale-step"])
            v.Select(
                label="Play speed, at most", dense=True, hide_details=True,
                items=[{"text": f"{s} week{'s' if s > 1 else ''} a second", "value": s}
                       for s in session.SPEEDS],
                v_model=session.speed.value, on_v_model=session.speed.set,
                class_="peerscale-speed",
            )
            if b is not None:
                solara.Text(f"Week {week} of {b.last_week}", classes=["peerscale-week"])
        if busy:
            v.ProgressLinear(indeterminate=True, class_="peerscale-busy-bar")
            solara.Text(busy, classes=["peerscale-busy"])
        if b is not None and b.finished:
            solara.Success(
                f"Run finished at week {b.week}: raise Weeks and press Reset to run longer, or "
                "export the results below.", dense=True, classes=["peerscale-finished"])
        if (waiting or configurations_waiting) and not (by_key or by_configuration):
            names = [controls.label_title(k) for k in waiting]
            if configurations_waiting:
                names.append("the compared configurations")
            solara.Warning(
                f"Not applied yet: {', '.join(names)}. Press Reset to apply (the run restarts at "
                "week 0).", dense=True, classes=["peerscale-pending-note"])
        if by_key or by_configuration:
            parts = [controls.headline(by_key)] if by_key else []
            parts += [f"Configuration {i + 1}: {m}" for i, m in by_configuration.items()]
            solara.Error("To fix before Reset (marked in the settings): " + "; ".join(parts),
                         dense=True, classes=["peerscale-problems"])
        if session.message.value:
            solara.Error(session.message.value, dense=True, classes=["peerscale-message"])
        if b is not None:
            solara.Text(session.summary(b), classes=["peerscale-summary"])


@solara.component
def Numbers(b: Board, week: int):
    """This week's summary metrics, one column per configuration (`week` re-renders them)."""
    with v.SimpleTable(dense=True, class_="peerscale-numbers"):
        with v.Html(tag="thead"), v.Html(tag="tr"):
            v.Html(tag="th", children=[f"At week {week}"])
            for name, colour in zip(b.names, b.colours, strict=True):
                swatch = v.Html(tag="span", class_="peerscale-swatch",
                                style_=f"background: {colour}") if b.compare else None
                v.Html(tag="th", children=[c for c in (swatch, name) if c is not None])
        with v.Html(tag="tbody"):
            for label, values in b.numbers():
                with v.Html(tag="tr"):
                    v.Html(tag="td", children=[label])
                    for value in values:
                        v.Html(tag="td", children=[value])


@solara.component
def Figure(b: Board, key: str, png: bytes, caption: str = ""):
    """One figure (its PNG passed in: a new week's image re-renders it), with its download."""
    with solara.Div(classes=["peerscale-panel", f"peerscale-cell-{key}"]):
        solara.Image(png, format="png", classes=[f"peerscale-panel-{key}"])
        with solara.Div(classes=["peerscale-panel-tools"]):
            solara.Text(caption, classes=["peerscale-caption"])
            solara.FileDownload(
                lambda: b.figure_png(key), filename=f"{export.stem(b)}-{key}.png",
                children=[solara.Button("PNG", icon_name="mdi-download", text=True, small=True,
                                        attributes={"title": "Download this figure as PNG"})],
            )


@solara.component
def Figures(b: Board, week: int):
    """The figures of the run shown (but a comparison's pyramids), in a grid for the width."""
    columns, column = grid(b.width)
    pyramids = [k for k in b.charts if k.startswith("pyramid-")]
    with solara.Div(classes=["peerscale-grid"],
                    style={"grid-template-columns": f"repeat({columns}, {column}px)"}):
        for key, chart in b.charts.items():
            if key in pyramids:
                continue
            absent = getattr(chart, "absent", {})
            caption = ("Not shown: " + "; ".join(why for why in absent.values())) if (
                b.compare and absent) else ""
            Figure(b, key, b.images[key], caption)


@solara.component
def Results(b: Board | None, week: int):
    """The figures and the week's numbers.

    In a comparison the numbers stand between the pyramids and the other figures: the
    differences at a glance.
    """
    if b is None:
        solara.Text("The figures appear here once the first run is built.",
                    classes=["peerscale-placeholder"])
        return
    pyramids = [k for k in b.charts if k.startswith("pyramid-")]
    if pyramids:
        per_row, width = pyramid_row(b.width, len(pyramids))
        with solara.Div(classes=["peerscale-pyramids"],
                        style={"grid-template-columns": f"repeat({per_row}, {width}px)"}):
            for k in pyramids:
                Figure(b, k, b.images[k])
        Numbers(b, week)
    Figures(b, week)
    if not b.compare:
        Numbers(b, week)


@solara.component
def Export(b: Board | None, week: int):
    """Downloads: the metrics, the figures, the settings as scenario files."""
    if b is None:
        return
    start = session.applied.value.start if session.applied.value else controls.SCHEMA_DEFAULTS
    name, _ = export.scenario_file(b, start)
    with v.Card(outlined=True, class_="peerscale-export"), v.CardText():
        solara.Text("Export", classes=["peerscale-card-title"])
        solara.Text(
            "The metrics of every week so far (the columns of `peerscale run`'s "
            "metrics.parquet, replicate 0), every figure as a PNG file, and the settings as a "
            "scenario file that `peerscale run` accepts unchanged: its replicate 0 reproduces "
            "these numbers exactly.", style={"font-size": "0.85rem"})
        with solara.Div(classes=["peerscale-export-buttons"]):
            solara.FileDownload(b.metrics_csv, filename=f"{export.stem(b)}-metrics.csv",
                                label="Metrics (CSV)", mime_type="text/csv")
            solara.FileDownload(b.metrics_parquet,
                                filename=f"{export.stem(b)}-metrics.parquet",
                                label="Metrics (Parquet)")
            solara.FileDownload(lambda: export.scenario_file(b, start)[1], filename=name,
                                label="Scenario (TOML)" if not b.compare else
                                "Scenarios (TOML, zip)")
            solara.FileDownload(lambda: export.figures_zip(b),
                                filename=f"{export.stem(b)}-figures.zip",
                                label="All figures (PNG, zip)")


@solara.component
def Address(week: int):
    """Keep the browser's address on the settings and week shown (`week` re-renders it)."""
    widgets.AddressBar(session.address_query())


@solara.component
def ViewSwitch():
    """One run or a comparison."""
    views = ("single", "compare")

    def choose(index: int | None) -> None:
        if index is None or session.busy.value:
            return
        new = views[index]
        session.in_background(
            "Building the comparison" if new == "compare" else "Building the run",
            lambda: session.switch_view(new))

    with v.BtnToggle(v_model=views.index(session.view.value), on_v_model=choose, mandatory=True,
                     dense=True, class_="peerscale-view", background_color="primary"):
        v.Btn(children=["One run"], small=True, class_="peerscale-view-single")
        v.Btn(children=["Compare"], small=True, class_="peerscale-view-compare")


@solara.component
def Page():
    """The dashboard of one browser session (or, with ?doc=..., one of the docs)."""
    router = solara.use_router()
    query = router.search
    solara.Title(TITLE)
    solara.Style(CSS)
    doc = explain.requested_doc(query)
    if doc is not None:
        DocPage(doc)
    else:
        Dashboard(query)


@solara.component
def Dashboard(query: str | None):
    """The settings, the run bar, the figures and the exports of one browser session."""

    def open_session():
        session.in_background("Building the model", lambda: session.open_page(query))

    solara.use_effect(open_session, [])
    # None: open on wide screens, closed on narrow ones (the drawer's breakpoint), until toggled.
    initial: bool | None = None
    drawer, set_drawer = solara.use_state(initial)

    def toggle_drawer() -> None:
        set_drawer(not drawer)

    def close_drawer() -> None:
        set_drawer(False)

    def on_width(px: int):
        session.width_known.value = True
        b = session.board.value
        if b is None or (grid(px) == grid(b.width) and (
            not b.compare or pyramid_row(px, 3) == pyramid_row(b.width, 3)
        )):
            session.width.value = px  # nothing drawn yet, or drawn for this layout already
            return
        session.in_background("Drawing the figures for the new width", lambda: session.resize(px))

    with v.AppBar(app=True, clipped_left=True, dense=True, color="primary", dark=True,
                  class_="peerscale-appbar"):
        solara.Button(icon_name="mdi-tune", icon=True, on_click=toggle_drawer,
                      classes=["peerscale-menu"],
                      attributes={"aria-label": "Settings", "title": "Show or hide the settings"})
        v.ToolbarTitle(children=["PeerScale"])
        solara.Text("peer learning in an expertise pyramid", classes=["peerscale-subtitle"])
        v.Spacer()
        ViewSwitch()
        solara.Button(icon_name="mdi-book-open-variant", text=True, href=explain.doc_link("ODD.md"),
                      target="_blank", classes=["peerscale-docs"],
                      children=[v.Html(tag="span", class_="peerscale-docs-label",
                                       children=["Docs"])],
                      attributes={"title": "The model's description (ODD protocol)"})
    # ipyvuetify 1.x names Vuetify's mobile-breakpoint `mobile_break_point`: a keyword it does
    # not know is dropped without a word, and the drawer falls back to Vuetify's 1264 px.
    with v.NavigationDrawer(app=True, clipped=True, v_model=drawer, on_v_model=set_drawer,
                            width=360, mobile_break_point=DRAWER_BREAKPOINT,
                            class_="peerscale-drawer"):
        Sidebar(on_close=close_drawer)
    with v.Content():
        Main(on_width)


@solara.component
def Main(on_width: Callable[[int], None]):
    """The main area, and the one component that follows the weeks.

    It reads `shown`, which counts redraws: a Step re-renders the page once, from here, instead
    of once for every part that shows the week.
    """
    session.shown.get()  # read for the subscription only (as Mesa reads its update_counter)
    b = session.board.value
    week = b.week if b is not None else 0
    Address(week)
    with solara.Div(classes=["peerscale-main"]):
        widgets.WidthProbe(on_width=on_width)
        Introduction()
        RunBar(b, week)
        Results(b, week)
        Export(b, week)


@solara.component
def DocPage(name: str):
    """One of the docs, rendered on the dashboard's server."""
    title, body = explain.doc_html(name)
    solara.Title(f"{title} · PeerScale")
    with v.AppBar(app=True, dense=True, color="primary", dark=True):
        solara.Button("Dashboard", icon_name="mdi-arrow-left", text=True, href="/",
                      classes=["peerscale-back"])
        v.ToolbarTitle(children=[title])
    with v.Content():
        solara.HTML(tag="article", unsafe_innerHTML=body, classes=["peerscale-doc"])
