"""The Mesa SolaraViz view (simulation/dashboard/mesa_view.py) without a browser.

Its model_params come from the schema through controls.py, Mesa accepts its model class, and
the page (Mesa's own SolaraViz, rendered in-process with `solara.render`) shows the dashboard's
figures, steps the model and rebuilds it on Reset from what the controls hold. The browser test
is in test_dashboard_browser.py.
"""

from __future__ import annotations

import time

import ipyvuetify as v
import pytest
import solara

from simulation import Scenario
from simulation.dashboard import controls, mesa_view, panels
from simulation.dashboard.mesa_view import MODEL_PARAMS, DashboardModel

from .helpers import panel_images

SMALL = {"population.size": "2000"}  # every model built here is small


def test_the_controls_are_the_dashboard_s_main_controls_at_their_schema_defaults():
    """One SolaraViz control per main control: its label, menu items and default (none twice)."""
    assert list(MODEL_PARAMS) == [c.key for c in controls.MAIN]
    defaults = controls.texts_of(Scenario())
    for c in controls.MAIN:
        param = MODEL_PARAMS[c.key]
        assert param["label"].startswith(controls.label(c))
        if c.kind in ("select", "level"):
            assert param["type"] == "Select"
            assert param["values"] == [o["text"] for o in controls.options(c)]
            assert controls.parse(c, param["value"]) == controls.parse(c, defaults[c.key])
        else:
            assert param["type"] == "InputText" and param["value"] == defaults[c.key]
    assert "read by study_groups" in MODEL_PARAMS["study_groups.mode"]["label"]
    texts = {key: param["value"] for key, param in MODEL_PARAMS.items()}
    assert controls.check(Scenario(), texts) == (Scenario(), {})  # the defaults build Scenario()


def test_mesa_accepts_the_model_class_and_its_params():
    """SolaraViz's own check passes; a keyword that is no schema key is refused, as Python does."""
    # Imported here, after mesa_view: importing Mesa's visualization first warns (mesa_view.py).
    from mesa.visualization.solara_viz import _check_model_params

    _check_model_params(DashboardModel.__init__, MODEL_PARAMS)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        DashboardModel(seed=3)


def test_texts_from_boxes_and_menus_build_the_model():
    """A seed typed into a box arrives as text; a level menu gives '2 active'; both are read."""
    model = DashboardModel(**SMALL, **{"run.seed": "9", "program.agency": "2 active",
                                       "program.structure": "peer_only"})
    assert model.not_applied == ""
    assert model.scenario == Scenario().with_overrides(
        {"population.size": 2000, "run.seed": 9, "program.agency": 2,
         "program.structure": "peer_only"})
    assert model.seed == 9


def test_a_value_not_allowed_keeps_its_default_and_the_model_says_why():
    """Mesa's Reset cannot refuse: a bad seed runs the default seed, named in not_applied."""
    model = DashboardModel(**SMALL, **{"run.seed": "forty-two", "program.agency": "2 active"})
    assert model.scenario.run.seed == Scenario().run.seed
    assert model.scenario.program.agency == 2  # the other controls still apply
    assert model.not_applied.startswith("Seed: invalid value 'forty-two': allowed 0 to 2^62")
    too_large = DashboardModel(**{"population.size": "2000000"})
    assert too_large.scenario.population.size == Scenario().population.size
    assert "more than the dashboard's 1,000,000" in too_large.not_applied


# ----------------------------------------------------------------------------------------------
# The page: Mesa's SolaraViz, rendered in-process


@pytest.fixture
def page():
    """The SolaraViz page rendered in-process over a 2,000-learner model of this session."""
    mesa_view.model.value = DashboardModel(**SMALL)
    _, rc = solara.render(solara.AppLayout(children=[mesa_view.page]), handle_error=False)
    yield rc
    rc.close()


def _press(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def _type(rc, label_start: str, text: str) -> None:
    field = next(w for w in rc.find(v.TextField).widgets if w.label.startswith(label_start))
    field.v_model = text
    field.fire_event("keyup.enter", text)  # solara's boxes apply on Enter or leaving the box


def _steps_shown(rc) -> str:
    return next(str(w.children[0]) for w in rc.find(v.Html, tag="span").widgets
                if w.children and str(w.children[0]).startswith("Step: "))


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_page_shows_the_dashboard_s_figures_and_mesa_s_controls(page):
    """Every panel of the structure as an image, Mesa's Reset / play / Step, the schema's boxes."""
    assert list(panel_images(page)) == [p.name for p in panels.panels_for("mixed")]
    assert [w.children for w in page.find(v.Btn).widgets] == [["Reset"], ["▶"], ["Step"]]
    labels = {w.label for w in page.find(v.TextField).widgets}
    assert controls.label(controls.control("run.seed")) in labels
    assert _steps_shown(page) == "Step: 0"
    assert page.find(v.Html, class_="peerscale-summary").widget.children[0].startswith(
        "mixed from schema defaults: 2,000 learners")


def test_step_advances_the_model_and_redraws_the_figures(page):
    """Mesa's Step moves this session's model one week; the figures show the new week."""
    model = mesa_view.model.value
    before = panel_images(page)
    _press(page, "Step")
    _wait(lambda: model.steps == 1 and _steps_shown(page) == "Step: 1")
    after = panel_images(page)
    assert all(after[k] != before[k] for k in ("pyramid", "skill", "gains"))
    assert model.board.drawn == 1 and not model.board.redraw()  # drawn once per week


def test_reset_with_changed_controls_rebuilds_the_model_from_them(page):
    """A seed typed as text and another structure apply on Reset: a new model, at week 0."""
    old = mesa_view.model.value
    _press(page, "Step")
    _wait(lambda: old.steps == 1)
    _type(page, "Population", "2000")
    _type(page, "Seed", "9")
    page.find(v.Select, label=MODEL_PARAMS["program.structure"]["label"]).widget.v_model = (
        "study_groups"
    )
    _press(page, "Reset")
    new = mesa_view.model.value
    assert new is not old and new.steps == 0
    assert new.scenario.run.seed == 9 and new.scenario.program.structure == "study_groups"
    assert new.scenario.population.size == 2000
    _wait(lambda: list(panel_images(page)) == [p.name for p in panels.panels_for("study_groups")])
    _type(page, "Seed", "nine")
    _press(page, "Reset")
    assert mesa_view.model.value.scenario.run.seed == Scenario().run.seed
    _wait(lambda: bool(page.find(v.Alert, class_="peerscale-message").widgets))
    assert "Seed: invalid value 'nine'" in str(
        page.find(v.Alert, class_="peerscale-message").widget.children)
