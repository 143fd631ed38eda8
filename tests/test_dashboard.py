"""The dashboard without a browser, the page rendered in-process with `solara.render`.

Checked here: the controls from the schema and the registry, the figures, the session's state
and the page. The browser tests (test_dashboard_browser.py) check the same page in Chromium;
the exports are in test_dashboard_export.py.
"""

from __future__ import annotations

import socket
import stat
import sys
import time
from pathlib import Path

import ipyvuetify as v
import numpy as np
import pytest
import solara
from matplotlib.lines import Line2D

from simulation import Scenario, load, structures
from simulation.config.parameters import parameter_rows
from simulation.config.schema import describe_bounds, field_info, parameter_keys
from simulation.dashboard import (
    address,
    app,
    charts,
    controls,
    explain,
    offline_assets,
    panels,
    serve,
    session,
    warmup,
)
from simulation.dashboard.board import Board, grid
from simulation.structures import Structure
from simulation.structures.peer_learning import PeerEngine, peer_memory

from .helpers import SCENARIOS, panel_images

SMALL = 2000  # learners: every model built here is small


def small(structure: str = "mixed", **changes) -> Scenario:
    """A 2,000-learner scenario of a structure, with `changes` as {'section.key': value}."""
    return Scenario().with_overrides(
        {"program.structure": structure, "population.size": SMALL, **changes}
    )


def _bound(key: str, name: str):
    metadata = field_info(key).metadata
    return next(getattr(m, name) for m in metadata if getattr(m, name, None) is not None)


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts from the schema defaults at 2,000 learners (state is per Solara kernel)."""
    session.reset_session()
    session.texts.value = {**session.texts.value, "population.size": str(SMALL)}
    yield
    session.reset_session()


# ----------------------------------------------------------------------------------------------
# Controls come from the schema and the registry


def test_controls_start_at_the_schema_defaults():
    """With no file, every control holds the schema's default (none is written twice)."""
    texts = controls.texts_of(Scenario())
    for row in parameter_rows():
        if row["key"] in texts:
            default = row["default"].strip("'")
            assert texts[row["key"]].replace(" ", "") == default.strip("()[]").replace(" ", "")


def test_every_parameter_of_the_schema_has_a_control():
    """Parameters added to the schema later appear without a dashboard change."""
    keys = {c.key for c in controls.all_controls()}
    assert keys == {k for k in parameter_keys() if "." in k} - set(controls.NOT_CONTROLS)


def test_labels_menus_and_help_are_the_schema_s():
    """Ranges, units, menu items and help text are read from the schema and the registry."""
    gap = controls.control("learning.optimal_gap")
    low, high = _bound(gap.key, "gt"), _bound(gap.key, "le")
    assert f"above {low:g} up to {high:g}" in controls.label(gap)  # 'gt': the bound is excluded
    assert controls.help_text(gap, 0.1, Scenario()) == field_info(gap.key).description
    population = controls.label(controls.control("population.size"))
    assert "1,000,000" in population and "agents" in population  # the dashboard's limit, unit
    structure = controls.control("program.structure")
    assert [o["value"] for o in controls.options(structure)] == list(structures.names())
    assert controls.help_text(structure, "peer_only", Scenario()).endswith(
        structures.get("peer_only").label
    )
    for name in ("responsiveness", "agency", "connectivity"):
        low, high = _bound(f"program.{name}", "ge"), _bound(f"program.{name}", "le")
        items = controls.options(controls.control(f"program.{name}"))
        assert [int(o["value"]) for o in items] == list(range(low, high + 1))
    calibrated = controls.help_text(controls.control("program.responsiveness"), 1, Scenario())
    assert f": {Scenario().levels.responsiveness_narrowing[1]:g}" in calibrated  # its magnitude
    mode = controls.control("study_groups.mode")
    modes = list(field_info(mode.key).annotation.__args__)
    assert [o["value"] for o in controls.options(mode)] == modes
    bands = controls.control("metrics.bands")
    assert describe_bounds("metrics.bands") == controls.allowed_text(bands)


def test_controls_of_a_structure_s_section_show_only_for_the_structures_that_read_it():
    """Experts apply where structures declare [experts]; study groups only to study_groups."""
    experts = controls.control("experts.count")
    mode = controls.control("study_groups.mode")
    gap = controls.control("learning.optimal_gap")
    for name in structures.names():
        structure = structures.get(name)
        assert controls.applies(experts, [structure]) == ("experts" in structure.sections)
        assert controls.applies(mode, [structure]) == ("study_groups" in structure.sections)
        assert controls.applies(gap, [structure])
    assert not controls.applies(experts, [structures.get("peer_only")])
    assert controls.readers(experts, [structures.get(n) for n in structures.names()]) == [
        n for n in structures.names() if "experts" in structures.get(n).sections
    ]


def test_a_new_structure_gets_the_controls_of_the_sections_it_declares():
    """A structure registered later that reads [experts] shows the expert controls."""
    tutored = Structure(name="tutored_reading", label="a test structure", engine=PeerEngine,
                        peers=False, experts=True, sections=("experts",),
                        dashboard_panels=("pyramid", "skill"), memory=peer_memory)
    structures.register(tutored)
    try:
        assert controls.applies(controls.control("experts.capacity"), [tutored])
        assert not controls.applies(controls.control("study_groups.goal"), [tutored])
        board = Board([small("tutored_reading")], ["tutored_reading"], width=600)
        assert list(board.images) == ["pyramid", "skill"]
    finally:
        structures.unregister(tutored.name)


def test_typed_numbers_are_read_as_numbers_and_blank_keeps_the_file_value():
    """Separators and 1e6 are numbers; a blank box keeps the starting point's value."""
    texts = controls.texts_of(Scenario())
    texts |= {"population.size": "1,000,000", "run.seed": " 42 ", "run.steps": "",
              "experts.count": "1e2"}
    scenario, problems = controls.check(Scenario(), texts)
    assert problems == {}
    assert scenario.population.size == 1_000_000 and scenario.run.seed == 42
    assert scenario.run.steps == Scenario().run.steps and scenario.experts.count == 100


@pytest.mark.parametrize(
    ("key", "text", "words"),
    [
        ("run.seed", "abc", "invalid value 'abc': allowed 0 to 2^62 (whole number)"),
        ("run.seed", "-1", "invalid value '-1'"),
        ("population.size", "lots", "invalid value 'lots': allowed 2 to 1,000,000"),
        ("population.size", "2000000", "more than the dashboard's 1,000,000"),
        ("run.steps", "0", "invalid value '0'"),
        ("program.structure", "lecture", "invalid value 'lecture': allowed one of"),
        ("learning.optimal_gap", "0", "invalid value '0': allowed above 0 up to 0.5"),
        ("study_groups.group_size", "1", "invalid value '1': allowed 2 to 16"),
        ("levels.pool_contacts", "0, 2, 99", "invalid value 99: allowed a list of 3 values"),
    ],
)
def test_bad_input_is_one_line_naming_the_value_and_what_is_allowed(key, text, words):
    """Each problem is one line at its control, saying what was typed and what is allowed."""
    scenario, problems = controls.check(Scenario(), controls.texts_of(Scenario()) | {key: text})
    assert scenario is None
    assert words in problems[key] and "\n" not in problems[key]


def test_every_bad_box_is_marked_not_only_the_first():
    """Two bad controls give two messages, one at each."""
    texts = controls.texts_of(Scenario()) | {"run.seed": "x", "run.steps": "-3"}
    _, problems = controls.check(Scenario(), texts)
    assert set(problems) == {"run.seed", "run.steps"}


def test_arrivals_count_toward_the_dashboard_limit():
    """Arrivals that would outgrow the limit are refused before any array is allocated."""
    texts = controls.texts_of(Scenario()) | {"population.size": "900000",
                                             "population.arrival_rate": "0.05"}
    _, problems = controls.check(Scenario(), texts)
    assert "arrivals" in problems["population.size"]


def test_a_file_too_large_for_the_dashboard_is_offered_scaled_down_with_a_note():
    """billion.toml runs at the dashboard's limit; only population.size changes, and it says so."""
    point = controls.starting_point("billion.toml")
    original = load(SCENARIOS / "billion.toml")
    assert point.scenario is not None and point.problem == ""
    assert point.scenario.population.size <= controls.MAX_AGENTS
    assert controls.interactive_limit(point.scenario) == ""
    assert "1,000,000,000" in point.note and "peerscale run billion.toml" in point.note
    assert "scaled to" in point.label
    assert point.scenario.model_copy(update={"population": original.population}) == original


def test_the_scenario_folder_is_read_anew_and_an_unreadable_file_says_why(tmp_path, monkeypatch):
    """Files added later appear; a malformed one is listed with its problem, not hidden."""
    monkeypatch.setenv("PEERSCALE_SCENARIOS", str(tmp_path))
    assert [p.name for p in controls.starting_points()] == [controls.SCHEMA_DEFAULTS]
    (tmp_path / "village.toml").write_text("[population]\nsize = 500\n")
    (tmp_path / "broken.toml").write_text("[population\n")
    points = {p.name: p for p in controls.starting_points()}
    assert points["village.toml"].scenario.population.size == 500
    broken = points["broken.toml"]
    assert broken.scenario is None and "malformed TOML" in broken.problem


# ----------------------------------------------------------------------------------------------
# Figures


def _texts(chart) -> list:
    """Every text a figure draws: titles, labels, tick labels in view, legend entries, notes."""
    ax, figure = chart.ax, chart.figure
    texts = [figure._suptitle, ax.xaxis.label, ax.yaxis.label, *ax.texts, *figure.texts]
    legend = ax.get_legend()
    if legend is not None:
        texts += legend.get_texts()
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        for tick in axis.get_major_ticks():
            if min(low, high) <= tick.get_loc() <= max(low, high):
                texts.append(tick.label1)
    return [t for t in texts if t is not None and t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("structure", structures.names())
def test_every_panel_draws_for_every_structure(structure):
    """Each panel of the structure's declaration is drawn, with a title, at weeks 0 and 3."""
    board = Board([small(structure)], [structure], width=900)
    assert list(board.images) == [p.name for p in panels.panels_for(structure)]
    for _ in range(3):
        board.step()
    for key, chart in board.charts.items():
        assert board.images[key].startswith(b"\x89PNG")
        assert chart.figure.get_suptitle()


COMPARED = ["expert_only", "peer_only", "mixed"]


@pytest.fixture(scope="module")
def boards():
    """Boards after 4 weeks, shared by the tests that only look: one run, and a comparison."""
    built = {
        ("mixed", 522): Board([small("mixed")], ["mixed"], width=1056),
        ("study_groups", 366): Board([small("study_groups")], ["study_groups"], width=366),
        ("compare", 366): Board([small(s) for s in COMPARED], COMPARED, width=366),
        ("compare", 1056): Board([small(s) for s in COMPARED], COMPARED, width=1056),
    }
    for board in built.values():
        for _ in range(4):
            board.step()
    return built


@pytest.mark.parametrize("which", [("mixed", 522), ("study_groups", 366), ("compare", 366),
                                   ("compare", 1056)], ids=lambda w: f"{w[0]}-{w[1]}px")
def test_titles_legends_and_labels_fit_the_figure_and_stay_off_the_data(boards, which):
    """No text leaves the figure, no legend covers the axes, no axis label covers tick labels."""
    board = boards[which]
    for key, chart in board.charts.items():
        renderer = chart.canvas.get_renderer()
        frame = chart.figure.bbox
        for text in _texts(chart):
            box = text.get_window_extent(renderer)
            assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, (key, text.get_text())
            assert frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, (key, text.get_text())
        ax = chart.ax
        legend = ax.get_legend()
        if legend is not None:
            assert not legend.get_window_extent(renderer).overlaps(ax.bbox), key
            assert not legend.get_window_extent(renderer).overlaps(
                chart.figure._suptitle.get_window_extent(renderer)), key
        label = ax.yaxis.label.get_window_extent(renderer)
        for tick in ax.get_yticklabels():
            if tick.get_text():
                assert not label.overlaps(tick.get_window_extent(renderer)), (key, tick.get_text())


def test_a_week_redraws_the_data_over_the_kept_axes():
    """A step changes the pyramid and the lines but not the axes, ticks or limits."""
    board = Board([small("mixed")], ["mixed"], width=900)
    skill = board.charts["skill"]
    limits = (skill.ax.get_xlim(), skill.ax.get_ylim())
    background = skill._background
    before = dict(board.images)
    board.step()
    assert (skill.ax.get_xlim(), skill.ax.get_ylim()) == limits
    assert skill._background is background  # not drawn in full again
    assert board.images["pyramid"] != before["pyramid"] and board.images["skill"] != before["skill"]
    last = small("mixed").run.steps
    assert skill.ax.get_xlim()[0] < 0 and skill.ax.get_xlim()[1] > last  # the whole run, fixed


def test_the_gains_axis_is_set_by_the_scenario_not_by_the_data():
    """Gains run up to the most a peer can give in a week (learning.peer_rate), in any run."""
    for seed in (0, 1):
        board = Board([small("peer_only", **{"run.seed": seed})], ["peer_only"], width=900)
        for _ in range(3):
            board.step()
        assert board.charts["gains"].ax.get_ylim() == (0.0, charts.nice_ceiling(
            Scenario().learning.peer_rate))


def test_an_axis_grows_in_round_steps_when_the_data_leave_it_and_never_shrinks():
    """With a tiny peer_rate bound but expert gains above it, the gains axis grows once, roundly."""
    tiny = {"learning.peer_rate": 0.0001, "learning.tutor_rate": 0.0001}
    board = Board([small("expert_only", **tiny)], ["expert_only"], width=900)
    gains = board.charts["gains"]
    board.step()
    grown = gains.ax.get_ylim()[1]
    top = max(np.nanmax(line.get_ydata()) for line in gains.ax.lines if len(line.get_ydata()))
    assert grown >= top and grown == charts.nice_ceiling(grown)
    for _ in range(3):
        board.step()
        assert gains.ax.get_ylim()[1] >= grown


def test_pyramid_bars_are_the_band_counts_bottom_up(boards):
    """The pyramid's bars are model.metrics band_0 (novices, bottom) upwards, centred."""
    board = boards[("mixed", 522)]
    model, chart = board.models[0], board.charts["pyramid"]
    widths = [round(bar.get_width()) for bar in chart.bars]
    assert widths == [model.metrics[f"band_{k}"] for k in range(model.scenario.metrics.bands)]
    assert all(abs(bar.get_x() + bar.get_width() / 2) < 1e-6 for bar in chart.bars)
    assert f"week {model.steps}" in chart.week_text.get_text()


def test_a_comparison_draws_each_configuration_in_its_colour_on_shared_axes(boards):
    """One figure per panel holds every configuration; pyramids share one bar scale."""
    board = boards[("compare", 1056)]
    skill = board.charts["skill"]
    colours = {line.get_color() for line in skill.ax.lines}
    assert colours == set(charts.CONFIGURATION_COLOURS)
    legend = [t.get_text() for t in skill.ax.get_legend().get_texts()]
    assert legend[:3] == COMPARED
    pyramids = [board.charts[f"pyramid-{i}"] for i in range(3)]
    assert len({p.ax.get_xlim() for p in pyramids}) == 1
    assert [p.figure.get_suptitle() for p in pyramids] == COMPARED
    load_chart = board.charts["expert_load"]
    assert load_chart.absent == {1: "peer_only: no designated experts"}
    assert load_chart.ax.get_yscale() == "log"  # classes of thousands beside mentors of 30


def test_configurations_of_a_comparison_share_their_random_numbers():
    """Same seed, same week 0; expert_only and peer_only then differ by mechanism only."""
    board = Board([small("expert_only"), small("peer_only")], ["expert_only", "peer_only"])
    first, second = board.models
    assert first.metrics_frame().iloc[0].equals(second.metrics_frame().iloc[0])
    board.step()
    assert first.steps == second.steps == 1
    assert first.metrics["mean_skill"] != second.metrics["mean_skill"]


def test_expert_panels_say_when_there_are_no_experts():
    """peer_only's expert panels say so instead of plotting zeros."""
    board = Board([small("peer_only")], ["peer_only"], width=900)
    board.step()
    for key in ("expert_load", "expert_gain"):
        chart = board.charts[key]
        assert not chart.lines
        assert any("no designated experts" in t.get_text() for t in chart.ax.texts)


def test_study_group_panels_plot_the_metrics_the_model_reports():
    """Completion, survival, leadership Gini and organiser collapse are the DataCollector's."""
    scenario = load(SCENARIOS / "study_groups_organiser.toml").with_overrides(
        {"population.size": SMALL})
    board = Board([scenario], ["study_groups"], width=900)
    for _ in range(4):
        board.step()
    reported = board.models[0].datacollector.model_vars
    lines = {line.get_label(): list(line.get_ydata())
             for key in ("completion", "leadership") for line in board.charts[key].ax.lines
             if isinstance(line, Line2D) and line.get_animated()}
    assert lines["groups still meeting"] == reported["group_survival"]
    assert lines["leadership Gini (0 = all lead equally)"] == reported["leadership_gini"][1:]
    assert lines["groups dissolved with their organiser"] == reported["organiser_collapse_fraction"]
    assert max(reported["leadership_gini"]) > 0.5  # one organiser leads every session


def test_solo_study_groups_say_no_group_meets():
    """In solo mode the leadership panel says why it is empty instead of plotting zeros."""
    scenario = load(SCENARIOS / "solo_online.toml").with_overrides({"population.size": SMALL})
    board = Board([scenario], ["study_groups"], width=900)
    board.step()
    leadership = board.charts["leadership"]
    assert not leadership.lines
    assert any("no groups meet" in t.get_text() for t in leadership.ax.texts)


def test_a_figure_downloads_as_the_same_figure_at_twice_the_resolution(boards):
    """The PNG export is the panel redrawn at 200 dpi: twice the pixels each way."""
    import io

    from PIL import Image

    board = boards[("mixed", 522)]
    for key in ("pyramid", "skill"):
        shown = Image.open(io.BytesIO(board.images[key]))
        exported = Image.open(io.BytesIO(board.figure_png(key)))
        assert exported.size == (2 * shown.size[0], 2 * shown.size[1])


def test_panels_of_the_grid_are_equally_tall(boards):
    """Figures side by side have the same height: no gap under the shorter one."""
    for which in (("mixed", 522), ("compare", 366)):
        charts_ = boards[which].charts
        heights = {k: c.canvas.get_width_height()[1] for k, c in charts_.items()
                   if not k.startswith("pyramid-")}
        assert len(set(heights.values())) == 1, heights


def test_the_grid_has_two_columns_where_two_fit_and_one_below():
    """Two columns of at least 420 px from 852 px of width; one on a phone."""
    assert grid(1056)[0] == 2 and grid(800)[0] == 1 and grid(366) == (1, 366)


# ----------------------------------------------------------------------------------------------
# The session: what is shown and what is pending


def test_a_change_is_pending_until_reset_applies_it():
    """Changing the seed leaves the run as it is and marks the seed until Reset."""
    session.apply()
    shown = session.board.value
    session.set_text("run.seed", "7")
    assert session.pending() == {"run.seed": "0"}
    assert session.board.value is shown
    session.set_text("run.seed", "0")
    assert session.pending() == {}  # back to what is shown: nothing to apply
    session.set_text("run.seed", "7")
    session.apply()
    assert session.pending() == {} and session.board.value.scenarios[0].run.seed == 7


def test_reset_with_a_bad_value_keeps_the_run_and_says_what_is_allowed():
    """Bad input leaves the run on screen at its week; the control is marked with the reason."""
    session.apply()
    running = session.board.value
    session.step()
    session.set_text("run.seed", "twelve")
    by_key, _ = session.problems()
    assert "allowed 0 to 2^62" in by_key["run.seed"]
    with pytest.raises(controls.ScenarioError, match="Seed: invalid value 'twelve'"):
        session.apply()
    assert session.board.value is running and running.week == 1


def test_a_refused_file_keeps_the_menu_and_the_run(tmp_path, monkeypatch):
    """Choosing an unreadable file says why; the menu and the figures stay on the shown file."""
    monkeypatch.setenv("PEERSCALE_SCENARIOS", str(tmp_path))
    (tmp_path / "good.toml").write_text("[population]\nsize = 800\n")
    (tmp_path / "broken.toml").write_text("[population\n")
    assert session.choose_start("good.toml")
    shown = session.board.value
    assert not session.choose_start("broken.toml")
    assert session.start.value == "good.toml" and session.board.value is shown
    assert "broken.toml was not loaded" in session.message.value
    assert session.refusals.value == 1  # the menu is remounted on good.toml


def test_switching_view_shows_the_applied_settings_and_keeps_changes_pending():
    """The comparison is built from what is shown; a pending change stays pending."""
    session.apply()
    session.set_text("run.seed", "3")
    session.switch_view("compare")
    board = session.board.value
    assert board.compare and [m.scenario.program.structure for m in board.models] == [
        s.name for s in structures.all_structures()[:3]]
    assert {m.seed for m in board.models} == {0}
    assert session.pending() == {"run.seed": "0"}
    session.switch_view("single")
    assert not session.board.value.compare


def test_the_address_restores_the_settings_and_the_week():
    """A reload (or a shared link) of the address shows the same run at the same week."""
    session.set_text("program.agency", "2")
    session.set_text("run.seed", "5")
    session.apply()
    for _ in range(3):
        session.step()
    query = session.address_query()
    assert "program.agency=2" in query and "run.seed=5" in query and "week=3" in query
    images = dict(session.board.value.images)
    frame = session.board.value.metrics_frame()
    session.reset_session()
    session.open_page(query)
    restored = session.board.value
    assert restored.week == 3 and restored.scenarios[0].program.agency == 2
    assert restored.metrics_frame().equals(frame)
    assert restored.images["pyramid"] == images["pyramid"]
    assert session.address_query() == query


def test_an_address_with_a_bad_value_shows_the_file_and_marks_the_control():
    """A link with a value that is not allowed shows the starting point; the box says why."""
    session.open_page(address.encode(address.Settings(
        start="peer_only.toml", changes=(("run.seed", "minus one"),))))
    assert session.board.value.scenarios[0].run.seed == load(SCENARIOS / "peer_only.toml").run.seed
    assert "run.seed" in session.problems()[0]
    session.open_page("colour=blue&view=sideways")
    assert "'colour' (not a setting of the dashboard)" in session.message.value
    assert "view='sideways'" in session.message.value


def test_the_address_carries_the_comparison_s_configurations():
    """view=compare and one config= per configuration, with its changes."""
    session.view.value = "compare"
    session.set_configuration(2, changes="program.agency=2")
    session.apply()
    query = session.address_query()
    assert "view=compare" in query and "config=mixed%3Bprogram.agency%3D2" in query
    settings = address.decode(query)
    assert settings.configurations[2] == controls.Configuration("mixed", "program.agency=2")


def test_a_finished_run_does_not_step():
    """At the last week the run is finished and Step does nothing."""
    session.set_text("run.steps", "2")
    session.apply()
    assert session.step() and session.step()
    assert session.board.value.finished and not session.step()
    assert session.board.value.week == 2


def test_play_steps_until_the_run_is_finished_and_stops():
    """Play steps week after week (at most `speed` a second) and stops at the last week."""
    session.set_text("run.steps", "3")
    session.apply()
    session.speed.value = max(session.SPEEDS)
    session.toggle_play()
    deadline = time.monotonic() + 60
    while session.playing.value:
        assert time.monotonic() < deadline, "still playing"
        time.sleep(0.05)
    assert session.board.value.finished and session.board.value.week == 3


def test_comparison_configurations_are_checked_in_place():
    """A bad change or a duplicate configuration is marked at that configuration."""
    session.view.value = "compare"
    session.set_configuration(0, changes="experts.count=-4")
    session.set_configuration(2, structure="peer_only")
    _, by_configuration = session.problems()
    assert "invalid value -4" in by_configuration[0]
    assert by_configuration[2] == "the same as configuration 2"


# ----------------------------------------------------------------------------------------------
# The page, rendered in-process


def _idle(timeout: float = 60.0) -> None:
    """Wait until the session's background work is done."""
    deadline = time.monotonic() + timeout
    time.sleep(0.05)
    while session.busy.value or session._work.pending:
        assert time.monotonic() < deadline, f"still busy: {session.busy.value}"
        time.sleep(0.02)


@pytest.fixture
def page():
    """The page rendered in-process with its first run built (2,000 learners)."""
    _, rc = solara.render(app.Page(), handle_error=False)
    _idle()
    yield rc
    rc.close()


def _field(rc, key: str):
    return rc.find(v.TextField, label=controls.label(controls.control(key))).widget


def _type(rc, key: str, text: str) -> None:
    field = _field(rc, key)
    field.v_model = text
    field.fire_event("keyup.enter", text)  # solara's boxes apply on Enter or leaving the box


def _click(rc, name: str) -> None:
    rc.find(v.Btn, class_=f"peerscale-{name}").widget.click()
    _idle()


def _week(rc) -> str:
    return rc.find(v.Html, class_="peerscale-week").widget.children[0]


def test_page_shows_the_panels_and_steps_the_run(page):
    """Step moves the week and redraws every figure; nothing of Mesa's own layout is left."""
    assert list(panel_images(page)) == [p.name for p in panels.panels_for("mixed")]
    assert _week(page) == "Week 0 of 26"
    before = panel_images(page)
    _click(page, "step")
    assert _week(page) == "Week 1 of 26"
    after = panel_images(page)
    assert all(after[k] != before[k] for k in ("pyramid", "skill", "gains"))
    texts = {str(w.children) for w in page.find(v.Html).widgets} | {
        str(w.label) for w in page.find(v.Slider).widgets}
    for leftover in ("Page 0", "Play Interval", "Render Interval", "Use Threads", "Step:"):
        assert not any(leftover in t for t in texts)


def test_page_gives_the_settings_drawer_its_breakpoint(page):
    """The drawer's widget holds the page's 960 px breakpoint (a misspelt keyword is dropped).

    ipyvuetify ignores a keyword it does not know, so `mobile_breakpoint=960` left the drawer
    on Vuetify's 1264 px; the browser test of the drawer at 1100 px shows what that did.
    """
    drawer = page.find(v.NavigationDrawer).widget
    assert drawer.mobile_break_point == app.DRAWER_BREAKPOINT == 960


def test_page_marks_a_pending_change_until_reset(page):
    """A changed box is marked 'press Reset to apply'; Reset applies it and clears the mark."""
    _type(page, "run.seed", "9")
    field = _field(page, "run.seed")
    assert "peerscale-pending" in field.class_ and "press Reset to apply" in field.messages[0]
    assert page.find(v.Alert, class_="peerscale-pending-note").widgets
    _click(page, "reset")
    assert session.board.value.scenarios[0].run.seed == 9
    assert "peerscale-pending" not in _field(page, "run.seed").class_
    assert not page.find(v.Alert, class_="peerscale-pending-note").widgets


def test_page_marks_a_bad_box_in_place_and_keeps_the_run(page):
    """A bad seed is shown at its box at once; Reset then keeps the run at its week."""
    _click(page, "step")
    _type(page, "run.seed", "not a seed")
    field = _field(page, "run.seed")
    assert field.error and "invalid value 'not a seed'" in field.messages[0]
    _click(page, "reset")
    assert _week(page) == "Week 1 of 26"
    assert "Seed: invalid value 'not a seed'" in session.message.value


def test_page_shows_only_the_controls_that_apply(page):
    """Experts show for mixed, not for peer_only; study-group controls only for study_groups."""
    labels = lambda: {w.label for w in page.find(v.TextField).widgets} | {  # noqa: E731
        w.label for w in page.find(v.Select).widgets}
    experts = controls.label(controls.control("experts.count"))
    group_mode = controls.label(controls.control("study_groups.mode"))
    assert experts in labels() and group_mode not in labels()
    session.set_text("program.structure", "peer_only")
    assert experts not in labels()
    session.set_text("program.structure", "study_groups")
    assert group_mode in labels() and experts not in labels()


def test_page_more_parameters_are_controls_of_the_schema_too(page):
    """Under "More parameters", opening a section shows its keys; a change applies on Reset.

    The change is pending until Reset, which applies it like any other control's.
    """
    panels_ = page.find(v.ExpansionPanels).widget
    sections = [c for c in controls.more_sections()
                if any(k.section == c for k in controls.all_controls()[len(controls.MAIN):])]
    panels_.v_model = sections.index("learning")
    rate = controls.control("learning.peer_rate")
    field = page.find(v.TextField, label=controls.label(rate)).widget
    assert field.messages == [rate.meaning]
    field.v_model = "0.02"
    field.fire_event("keyup.enter", "0.02")
    assert "peerscale-pending" in page.find(v.TextField, label=controls.label(rate)).widget.class_
    _click(page, "reset")
    assert session.board.value.scenarios[0].learning.peer_rate == 0.02


def test_page_comparison_steps_three_configurations_together(page):
    """The comparison shows a pyramid per configuration and steps them together."""
    page.find(v.BtnToggle, class_="peerscale-view").widget.v_model = 1
    _idle()
    shown = panel_images(page)
    assert {"pyramid-0", "pyramid-1", "pyramid-2", "skill", "gains"} <= set(shown)
    assert page.find(v.SimpleTable, class_="peerscale-numbers").widgets
    _click(page, "step")
    assert [m.steps for m in session.board.value.models] == [1, 1, 1]
    assert _week(page) == "Week 1 of 26"


def test_page_says_when_the_run_is_finished(page):
    """At the last week Play and Step are off and the page says the run finished."""
    _type(page, "run.steps", "1")
    _click(page, "reset")
    _click(page, "step")
    assert page.find(v.Alert, class_="peerscale-finished").widgets
    assert page.find(v.Btn, class_="peerscale-step").widget.disabled
    assert page.find(v.Btn, class_="peerscale-play").widget.disabled


def test_page_explains_the_model_from_the_registry_and_the_schema(page):
    """The introduction names every structure with its label, and every level's names."""
    from solara.widgets import HTML

    shown = [w for w in page.find(HTML).widgets
             if "expertise pyramid" in (w.unsafe_innerHTML or "")]
    assert len(shown) == 1
    text = shown[0].unsafe_innerHTML
    for s in structures.all_structures():
        assert s.label in text
    assert "1 calibrated" in text and "2 instant" in text
    assert "?doc=ODD.md" in text and "?doc=parameters.md" in text


def test_docs_are_served_as_html_with_links_kept_on_the_server():
    """The ODD renders with its links to other docs rewritten to ?doc=; the parameters are live."""
    title, body = explain.doc_html("ODD.md")
    assert "ODD" in title and 'href="?doc=parameters.md"' in body
    _, parameters = explain.doc_html("parameters.md")
    assert "learning.optimal_gap" in parameters
    _, missing = explain.doc_html("nothing.md")
    assert "not among the docs" in missing


# ----------------------------------------------------------------------------------------------
# Kernels, offline assets and the server


def test_warm_up_runs_a_week_of_every_registered_structure(monkeypatch):
    """Every structure's kernels (study groups included) are compiled before a Reset needs them."""
    from simulation import model as model_module

    stepped = []

    real_step = model_module.PeerLearningModel.step
    def step(self):
        stepped.append(self.scenario.program.structure)
        real_step(self)

    monkeypatch.setattr(model_module.PeerLearningModel, "step", step)
    warmup.warm_up()
    assert stepped == list(structures.names())


def test_a_session_waits_for_the_kernels_and_says_so(monkeypatch):
    """While the server prepares the kernels a new session's busy line says so, then it builds."""
    import threading

    preparing = warmup.Warmup()
    preparing.started = time.monotonic()
    monkeypatch.setattr(session, "WARMUP", preparing)
    said = []
    opened = threading.Thread(target=session.open_page, args=(f"population.size={SMALL}",))
    opened.start()
    deadline = time.monotonic() + 10
    while not said and time.monotonic() < deadline:
        if "Compiling the simulation kernels" in session.busy.value:
            said.append(session.busy.value)
        time.sleep(0.05)
    assert session.board.value is None  # nothing is built before the kernels are ready
    assert session.texts.value["population.size"] == str(SMALL)  # the controls are filled
    preparing._done.set()
    opened.join(timeout=60)
    assert said and "1-2 minutes" in said[0]
    assert session.board.value is not None


def test_required_assets_are_read_from_the_installed_solara():
    """Every package the page needs has a pinned version found in solara's own files."""
    assets = offline_assets.required_assets()
    assert {a.name for a in assets} == set(offline_assets.PACKAGES)
    assert all(a.version[0].isdigit() for a in assets)


def _fake_npm(tmp_path: Path) -> Path:
    """A stand-in for `npm pack`: writes a tarball like the registry's and logs each call."""
    script = tmp_path / "npm"
    script.write_text(
        f"#!{sys.executable}\n"
        "import io, json, sys, tarfile, pathlib\n"
        "spec = sys.argv[2]\n"
        "dest = pathlib.Path(sys.argv[sys.argv.index('--pack-destination') + 1])\n"
        f"open({str(tmp_path / 'calls')!r}, 'a').write(spec + '\\n')\n"
        "name = spec.lstrip('@').replace('/', '-').replace('@', '-') + '.tgz'\n"
        "with tarfile.open(dest / name, 'w:gz') as t:\n"
        "    for path, text in (('package/package.json', '{}'), ('package/dist/x.js', 'js')):\n"
        "        data = text.encode(); info = tarfile.TarInfo(path); info.size = len(data)\n"
        "        t.addfile(info, io.BytesIO(data))\n"
        "print(json.dumps([{'filename': name}]))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_filling_the_cache_is_idempotent(tmp_path):
    """fill() unpacks each missing package where solara's proxy looks, once."""
    cache = tmp_path / "cdn"
    npm = _fake_npm(tmp_path)
    assert len(offline_assets.missing(cache)) == len(offline_assets.required_assets())
    fetched = offline_assets.fill(cache, npm=str(npm), log=lambda _: None)
    assert offline_assets.missing(cache) == []
    for asset in fetched:
        assert (cache / asset.spec / "dist" / "x.js").read_text() == "js"
    assert offline_assets.fill(cache, npm=str(npm), log=lambda _: None) == []
    assert len((tmp_path / "calls").read_text().split()) == len(fetched)


def test_missing_npm_is_reported_in_one_line(tmp_path):
    """Without npm the helper says what to install."""
    with pytest.raises(offline_assets.AssetsError, match="install"):
        offline_assets.fill(tmp_path / "cdn", npm=str(tmp_path / "no-npm"), log=lambda _: None)


def test_server_url_and_busy_port():
    """The printed URL is the one to open; a busy port is a one-line error, not a traceback."""
    assert serve.url("127.0.0.1", 8765) == "http://127.0.0.1:8765/"
    assert serve.url("0.0.0.0", 80) == "http://127.0.0.1:80/"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(SystemExit) as stopped:
            serve._bind("127.0.0.1", taken.getsockname()[1])
    assert stopped.value.code == 2


def test_dashboard_says_how_to_fetch_missing_assets(monkeypatch):
    """Without the cached assets `peerscale dashboard` says what is missing and how to fetch it."""
    monkeypatch.setattr(
        offline_assets, "missing", lambda: [offline_assets.Asset("requirejs", "2.3.6")]
    )
    warning = serve.assets_warning()
    assert "requirejs@2.3.6" in warning
    assert "python -m simulation.dashboard.offline_assets" in warning
    monkeypatch.setattr(offline_assets, "missing", list)
    assert serve.assets_warning() is None
