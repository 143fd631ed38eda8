"""The dashboard without a browser: controls from the schema, per-session models, panels, assets.

Pages are rendered in-process with `solara.render`, clicking the widgets Mesa's SolaraViz builds.
The browser tests (test_dashboard_browser.py) check the same page in Chromium.
"""

from __future__ import annotations

import inspect
import socket
import stat
import sys
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import pytest
import solara
from pydantic.fields import FieldInfo

from simulation import Scenario, ScenarioError, load
from simulation.config.schema import field_info
from simulation.dashboard import app, controls, offline_assets, panels, serve, session
from simulation.dashboard.session import DashboardModel
from simulation.structures import names as structure_names

from .helpers import SCENARIOS

SMALL = "2000"  # learners: every model built here is small


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts from the schema defaults with no message (state is per Solara kernel)."""
    session.reset_session()
    yield
    session.reset_session()


def _bound(key: str, name: str):
    info: FieldInfo = field_info(key)
    return next(getattr(m, name) for m in info.metadata if getattr(m, name, None) is not None)


# ----------------------------------------------------------------------------------------------
# Controls come from the schema


def test_controls_start_at_the_schema_defaults():
    """With no file, every control starts at the schema's default (none is written twice)."""
    params = controls.model_params(controls.SCHEMA_DEFAULTS)
    defaults = Scenario()
    assert params["scenario_file"] == controls.SCHEMA_DEFAULTS
    assert params["structure"]["value"] == defaults.program.structure
    assert params["population"]["value"] == str(defaults.population.size)
    assert float(params["optimal_gap"]["value"]) == defaults.learning.optimal_gap
    assert params["experts"]["value"] == str(defaults.experts.count)
    assert params["seed"]["value"] == str(defaults.run.seed)
    assert params["weeks"]["value"] == str(defaults.run.steps)
    assert params["responsiveness"]["value"].startswith(str(defaults.program.responsiveness))


def test_control_bounds_and_choices_are_the_schema_s():
    """Ranges in the labels, level choices and structure choices are read from the schema."""
    params = controls.model_params()
    gap = params["optimal_gap"]["label"]
    low, high = _bound("learning.optimal_gap", "gt"), _bound("learning.optimal_gap", "le")
    assert f"above {low:g} up to {high:g}" in gap  # 'gt': the bound itself is excluded
    assert params["structure"]["values"] == list(structure_names())
    for name in ("responsiveness", "agency", "connectivity"):
        low, high = _bound(f"program.{name}", "ge"), _bound(f"program.{name}", "le")
        assert [int(v.split()[0]) for v in params[name]["values"]] == list(range(low, high + 1))
    assert "1,000,000" in params["population"]["label"]  # the dashboard's own limit, stated
    assert "agents" in params["population"]["label"]  # the schema's unit


def test_study_group_controls_come_from_the_schema():
    """Mode choices, group-size range and unit are the schema's; files set the starting values."""
    params = controls.model_params()
    assert params["group_mode"]["values"] == list(
        field_info("study_groups.mode").annotation.__args__
    )
    assert params["group_mode"]["value"] == Scenario().study_groups.mode
    assert params["group_size"]["value"] == str(Scenario().study_groups.group_size)
    low, high = _bound("study_groups.group_size", "ge"), _bound("study_groups.group_size", "le")
    assert params["group_size"]["label"] == f"Study-group size (members, {low} to {high})"
    rotating = controls.model_params("study_groups_rotating.toml")
    assert rotating["group_mode"]["value"] == "rotating"
    with pytest.raises(ScenarioError, match=f"Study-group size: invalid value '{high + 1}'"):
        controls.resolve(None, group_size=str(high + 1))


def test_controls_start_at_the_chosen_file_s_values():
    """Choosing a scenario file fills the controls with what it sets."""
    scenario = load(SCENARIOS / "peer_only.toml")
    params = controls.model_params("peer_only.toml")
    assert params["scenario_file"] == "peer_only.toml"
    assert params["structure"]["value"] == scenario.program.structure == "peer_only"
    assert params["agency"]["value"].startswith(str(scenario.program.agency))


def test_starting_points_list_the_scenario_folder_anew(tmp_path, monkeypatch):
    """Files added to the scenario folder appear without a restart."""
    monkeypatch.setenv("PEERSCALE_SCENARIOS", str(tmp_path))
    assert controls.starting_points() == [controls.SCHEMA_DEFAULTS]
    (tmp_path / "village.toml").write_text("[population]\nsize = 500\n")
    assert controls.starting_points() == [controls.SCHEMA_DEFAULTS, "village.toml"]
    assert controls.resolve("village.toml").population.size == 500


def test_the_shipped_scenario_files_are_offered():
    """expert_only, mixed and peer_only are starting points."""
    points = controls.starting_points()
    for name in ("expert_only.toml", "mixed.toml", "peer_only.toml"):
        assert name in points


def test_typed_numbers_are_read_as_numbers_and_blank_keeps_the_file_value():
    """A seed typed as text arrives as str; separators and 1e6 are read; blank means unchanged."""
    scenario = controls.resolve(None, population="1,000,000", seed=" 42 ", weeks="", experts="1e2")
    assert scenario.population.size == 1_000_000
    assert scenario.run.seed == 42
    assert scenario.run.steps == Scenario().run.steps
    assert scenario.experts.count == 100
    assert controls.resolve(None, responsiveness="2 diagnostic").program.responsiveness == 2


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"seed": "abc"}, "Seed: invalid value 'abc'"),
        ({"seed": "-1"}, "Seed: invalid value '-1'"),
        ({"population": "lots"}, "Population: invalid value 'lots': allowed 2 to 1,000,000"),
        ({"population": "2000000"}, "more than the dashboard's 1,000,000"),
        ({"weeks": "0"}, "Weeks: invalid value '0'"),
        ({"structure": "lecture"}, "Structure: invalid value 'lecture'"),
        ({"optimal_gap": 0.0}, "Optimal gap Z: invalid value 0.0"),
        ({"group_size": "1"}, "Study-group size: invalid value '1': allowed 2 to 16"),
        ({"group_mode": "circle"}, "Study-group mode: invalid value 'circle'"),
    ],
)
def test_bad_input_names_the_control_and_what_is_allowed(values, words):
    """Each problem is one line naming the control, the value and the allowed range."""
    with pytest.raises(ScenarioError) as caught:
        controls.resolve(None, **values)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_arrivals_count_toward_the_dashboard_limit(tmp_path, monkeypatch):
    """A file whose arrivals would outgrow the limit is refused before any array is allocated."""
    monkeypatch.setenv("PEERSCALE_SCENARIOS", str(tmp_path))
    (tmp_path / "growing.toml").write_text("[population]\nsize = 900000\narrival_rate = 0.05\n")
    with pytest.raises(ScenarioError, match="arrivals"):
        controls.resolve("growing.toml")


# ----------------------------------------------------------------------------------------------
# The model of a session


def test_dashboard_model_has_explicit_keyword_parameters():
    """Mesa's Reset calls type(model)(**params): no *args/**kwargs, every control is a keyword."""
    from mesa.visualization.solara_viz import _check_model_params  # after simulation.dashboard

    params = inspect.signature(DashboardModel.__init__).parameters
    kinds = {p.kind for name, p in params.items() if name != "self"}
    assert kinds == {inspect.Parameter.POSITIONAL_OR_KEYWORD}
    assert set(controls.model_params()) <= set(params)
    _check_model_params(DashboardModel.__init__, controls.model_params())  # Mesa's own check


def test_reset_with_bad_input_keeps_the_running_model():
    """Bad input leaves the session's model as it was (same object, same week) and says why."""
    running = DashboardModel(population=SMALL)
    session.model.value = running
    running.step()
    again = type(running)(population=SMALL, seed="twelve")  # what Mesa's Reset does
    assert again is running
    assert running.steps == 1
    assert "Seed" in session.message.value
    fixed = type(running)(population=SMALL, seed="12")
    assert fixed is not running and fixed.seed == 12 and fixed.steps == 0
    assert session.message.value == ""


def test_a_model_built_with_no_session_model_to_keep_raises():
    """The first model of a session cannot fall back: bad input there is an error."""
    token = session._first_build.set(True)
    try:
        with pytest.raises(ScenarioError):
            DashboardModel(seed="x")
    finally:
        session._first_build.reset(token)


def test_choosing_a_file_loads_it_as_the_model():
    """A starting point rebuilds the model from the file; a bad one keeps the model."""
    before = session.model.value
    assert session.choose_starting_point("expert_only.toml")
    assert session.model.value is not before
    assert session.model.value.scenario.program.structure == "expert_only"
    assert session.starting_point.value == "expert_only.toml"
    current = session.model.value
    assert not session.choose_starting_point("no_such_file.toml")
    assert session.model.value is current
    assert "no_such_file.toml" in session.message.value


# ----------------------------------------------------------------------------------------------
# Panels


@pytest.mark.parametrize("structure", structure_names())
def test_every_panel_draws_for_every_structure(structure):
    """Each panel renders a PNG with a title, at week 0 and after a few weeks."""
    model = DashboardModel(structure=structure, population=SMALL)
    for week in (0, 3):
        while model.steps < week:
            model.step()
        for panel in panels.PANELS.values():
            figure = panel.draw(model)
            assert figure.axes[0].get_title()
            assert panels.render_png(figure).startswith(b"\x89PNG")


def test_pyramid_shows_the_band_counts_bottom_up():
    """The pyramid's bars are model.metrics band_0 (novices, bottom) upwards."""
    model = DashboardModel(population=SMALL)
    model.step()
    figure = panels.pyramid_figure(model)
    bars = figure.axes[0].containers[0]
    bands = model.scenario.metrics.bands
    assert [round(bar.get_width()) for bar in bars] == [
        model.metrics[f"band_{k}"] for k in range(bands)
    ]
    assert [bar.get_y() for bar in bars] == sorted(bar.get_y() for bar in bars)
    assert f"week {model.steps}" in figure.axes[0].get_title()


def test_expert_panels_say_when_there_are_no_experts():
    """peer_only has no experts: the expert panels say so instead of plotting zeros."""
    model = DashboardModel(structure="peer_only", population=SMALL)
    model.step()
    for draw in (panels.expert_load_figure, panels.expert_gain_figure):
        texts = [t.get_text() for t in draw(model).axes[0].texts]
        assert any("no designated experts" in t for t in texts)
        assert not draw(model).axes[0].lines


def test_study_groups_replace_the_expert_panels():
    """Study groups have no experts: completion and leadership panels take those places."""
    general = [p.name for p in panels.panels_for("peer_only")]
    groups = [p.name for p in panels.panels_for("study_groups")]
    assert "completion" not in general and "leadership" not in general
    assert groups[-2:] == ["completion", "leadership"]
    assert not {"expert_load", "expert_gain"} & set(groups)
    assert len(panels.COMPONENTS) == max(len(general), len(groups))


def _lines(figure) -> dict[str, list[float]]:
    return {line.get_label(): list(line.get_ydata()) for line in figure.axes[0].lines}


def test_study_group_panels_plot_the_metrics_the_model_reports():
    """Completion, survival, leadership Gini and organiser collapse are the DataCollector's."""
    model = DashboardModel(scenario_file="study_groups_organiser.toml", population=SMALL)
    for _ in range(4):
        model.step()
    reported = model.datacollector.model_vars
    completion = _lines(panels.completion_figure(model))
    assert (
        completion[f"completed (active, course progress ≥ {model.scenario.study_groups.goal:g})"]
        == reported["completion"]
    )
    assert completion["groups still meeting (survival)"] == reported["group_survival"]
    leadership = _lines(panels.leadership_figure(model))
    assert leadership["leadership Gini (0 = all lead equally)"] == reported["leadership_gini"][1:]
    assert (
        leadership["groups dissolved with their organiser"]
        == reported["organiser_collapse_fraction"]
    )
    assert max(reported["leadership_gini"]) > 0.5  # one organiser leads every session


def test_solo_study_groups_say_no_group_meets():
    """In solo mode the leadership panel says why it is empty instead of plotting zeros."""
    model = DashboardModel(scenario_file="solo_online.toml", population=SMALL)
    model.step()
    figure = panels.leadership_figure(model)
    assert not figure.axes[0].lines
    assert any("no groups meet" in t.get_text() for t in figure.axes[0].texts)
    assert list(_lines(panels.completion_figure(model))) == [
        f"completed (active, course progress ≥ {model.scenario.study_groups.goal:g})"
    ]


# ----------------------------------------------------------------------------------------------
# The page, rendered in-process


@pytest.fixture
def render_page():
    """Render the page in-process; close it afterwards so it stops following the session."""
    opened = []

    def render():
        _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
        opened.append(rc)
        return rc

    yield render
    for rc in opened:
        rc.close()


def _type(rc, control: str, text: str) -> None:
    field = rc.find(v.TextField, label=controls.label(controls.BY_NAME[control])).widget
    field.v_model = text
    field.fire_event("keyup.enter", text)  # solara's InputText applies on Enter or leaving the box


def _click(rc, name: str) -> None:
    rc.find(v.Btn, children=[name]).widget.click()


def _images(rc) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]


def test_page_shows_all_panels_and_steps_the_model(render_page):
    """Step advances the week counter and redraws the pyramid."""
    rc = render_page()
    _type(rc, "population", SMALL)
    _click(rc, "Reset")
    assert session.model.value.scenario.population.size == int(SMALL)
    assert len(_images(rc)) == len(panels.panels_for("mixed"))
    rc.find(children=["Step: 0"]).assert_single()
    before = _images(rc)[0]
    _click(rc, "Step")
    rc.find(children=["Step: 1"]).assert_single()
    assert _images(rc)[0] != before


def test_page_reset_applies_the_structure_control(render_page):
    """Changing the structure and pressing Reset rebuilds the model with that structure."""
    rc = render_page()
    _type(rc, "population", SMALL)
    rc.find(
        v.Select, label=controls.label(controls.BY_NAME["structure"])
    ).widget.v_model = "expert_only"
    _click(rc, "Reset")
    assert session.model.value.scenario.program.structure == "expert_only"
    summary = rc.find(v.Html, class_="peerscale-summary").widget.children[0]
    assert summary.startswith("expert_only") and "2,000 learners" in summary


def test_page_shows_a_bad_seed_and_keeps_the_model(render_page):
    """A bad seed shows a message; the model shown stays at its week."""
    rc = render_page()
    _type(rc, "population", SMALL)
    _click(rc, "Reset")
    _click(rc, "Step")
    model = session.model.value
    _type(rc, "seed", "not a seed")
    _click(rc, "Reset")
    assert session.model.value is model and model.steps == 1
    alert = rc.find(v.Alert).widget.children[0]
    assert "Seed: invalid value 'not a seed'" in alert
    _type(rc, "seed", "3")
    _click(rc, "Reset")
    assert session.model.value.seed == 3 and not rc.find(v.Alert).widgets


def test_page_starting_point_fills_the_controls(render_page):
    """Choosing a file rebuilds the model and shows the file's values in the controls."""
    rc = render_page()
    rc.find(v.Select, label="Scenario file").widget.v_model = "peer_only.toml"
    assert session.model.value.scenario.program.structure == "peer_only"
    structure = rc.find(v.Select, label=controls.label(controls.BY_NAME["structure"])).widget
    assert structure.v_model == "peer_only"


def _panels(rc) -> dict[str, bytes]:
    """The page's panel images by panel name (from their peerscale-panel-<name> class)."""
    shown = {}
    for image in rc.find(ipywidgets.Image).widgets:
        for name in image._dom_classes:
            if name.startswith("peerscale-panel-"):
                shown[name.removeprefix("peerscale-panel-")] = bytes(image.value)
    return shown


def _choose(rc, control: str, value: str) -> None:
    rc.find(v.Select, label=controls.label(controls.BY_NAME[control])).widget.v_model = value


def _study_groups_page(render_page, start: str = "study_groups_organiser.toml"):
    """The page with a study-group file as its starting point, rebuilt at 2,000 learners."""
    rc = render_page()
    rc.find(v.Select, label="Scenario file").widget.v_model = start
    _type(rc, "population", SMALL)
    _click(rc, "Reset")
    assert session.model.value.scenario.program.structure == "study_groups"
    assert session.model.value.scenario.population.size == int(SMALL)
    return rc


def test_page_shows_study_group_panels_for_study_groups_only(render_page):
    """Reset to study_groups brings the completion and leadership panels; peer_only removes them."""
    rc = render_page()
    _type(rc, "population", SMALL)
    _choose(rc, "structure", "peer_only")
    _click(rc, "Reset")
    shown = _panels(rc)
    assert list(shown) == [p.name for p in panels.panels_for("peer_only")]
    assert "completion" not in shown and "leadership" not in shown
    _choose(rc, "structure", "study_groups")
    _click(rc, "Reset")
    assert "group_survival" in session.model.value.structure.metrics
    shown = _panels(rc)
    assert list(shown) == [p.name for p in panels.panels_for("study_groups")]
    assert {"completion", "leadership"} <= set(shown) and "expert_load" not in shown
    _choose(rc, "structure", "peer_only")
    _click(rc, "Reset")
    assert "completion" not in _panels(rc) and "expert_load" in _panels(rc)


def test_page_redraws_the_study_group_panels_after_a_step(render_page):
    """Step redraws completion/survival and leadership/collapse from the new week's metrics."""
    rc = _study_groups_page(render_page)
    before = _panels(rc)
    _click(rc, "Step")
    rc.find(children=["Step: 1"]).assert_single()
    after = _panels(rc)
    for name in ("completion", "leadership"):
        assert after[name] != before[name]


def test_page_mode_control_sets_the_study_group_mode(render_page):
    """Choosing rotating or organiser_led (and a group size) and pressing Reset builds that mode."""
    rc = _study_groups_page(render_page)
    assert session.model.value.scenario.study_groups.mode == "organiser_led"
    mode = rc.find(v.Select, label=controls.label(controls.BY_NAME["group_mode"])).widget
    assert mode.v_model == "organiser_led"  # the file's value
    _choose(rc, "group_mode", "rotating")
    _type(rc, "group_size", "4")
    _click(rc, "Reset")
    groups = session.model.value.scenario.study_groups
    assert (groups.mode, groups.group_size) == ("rotating", 4)
    summary = rc.find(v.Html, class_="peerscale-summary").widget.children[0]
    assert "rotating groups of 4" in summary
    _choose(rc, "group_mode", "organiser_led")
    _click(rc, "Reset")
    assert session.model.value.scenario.study_groups.mode == "organiser_led"
    assert session.model.value.scenario.study_groups.group_size == 4


def test_page_shows_an_out_of_range_group_size_and_keeps_the_model(render_page):
    """A group size above the schema's bound shows the message; the model stays at its week."""
    rc = _study_groups_page(render_page)
    _click(rc, "Step")
    model = session.model.value
    too_large = _bound("study_groups.group_size", "le") + 1
    _type(rc, "group_size", str(too_large))
    _click(rc, "Reset")
    assert session.model.value is model and model.steps == 1
    alert = rc.find(v.Alert).widget.children[0]
    assert f"Study-group size: invalid value '{too_large}'" in alert
    assert "completion" in _panels(rc)  # still the study-group panels of the kept model
    _type(rc, "group_size", "5")
    _click(rc, "Reset")
    assert session.model.value.scenario.study_groups.group_size == 5
    assert not rc.find(v.Alert).widgets


def test_page_reset_after_choosing_a_file_builds_from_the_file(render_page):
    """After a file is chosen, the controls show its values and Reset builds from them.

    Typed text from before the choice does not linger in a box while Reset uses another value.
    """
    rc = render_page()
    _type(rc, "seed", "5")
    rc.find(v.Select, label="Scenario file").widget.v_model = "peer_only.toml"
    file_seed = str(load(SCENARIOS / "peer_only.toml").run.seed)
    seed = rc.find(v.TextField, label=controls.label(controls.BY_NAME["seed"])).widget
    assert seed.v_model == file_seed
    _type(rc, "population", SMALL)
    _click(rc, "Reset")
    model = session.model.value
    assert model.scenario_file == "peer_only.toml"
    assert model.scenario.program.structure == "peer_only"
    assert str(model.seed) == file_seed and model.scenario.population.size == int(SMALL)


# ----------------------------------------------------------------------------------------------
# Offline assets and the server


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
