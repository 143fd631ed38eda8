"""The structure registry: each structure declared once and read everywhere downstream."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import PeerLearningModel, Scenario, ScenarioError, structures
from simulation.analysis.runner import comparison_table, markdown_table, run_scenario
from simulation.config.schema import describe_bounds
from simulation.dashboard import panels
from simulation.scale import memory
from simulation.structures import Structure
from simulation.structures.peer_learning import PeerEngine, peer_memory

from .helpers import small

# A fourth structure, as a newcomer would add one: this declaration is all it takes (as a module
# of simulation/structures/ it would be found without the `register` call).
SOLO_READING = Structure(
    name="solo_reading",
    label="everyone reads alone: no peer teaching, no experts (a test structure)",
    engine=PeerEngine,
    peers=False,
    experts=False,
    dashboard_panels=("pyramid", "skill", "retention"),
    shardable=True,
    memory=peer_memory,
)


@pytest.fixture
def solo_reading():
    """The solo_reading structure, registered for one test and removed after it."""
    structures.register(SOLO_READING)
    yield SOLO_READING
    structures.unregister(SOLO_READING.name)


def test_the_registry_holds_the_four_structures_in_listing_order():
    """expert_only, peer_only, mixed and study_groups, each found from its own module."""
    assert structures.names() == ("expert_only", "peer_only", "mixed", "study_groups")


@pytest.mark.parametrize("name", ["expert_only", "peer_only", "mixed", "study_groups"])
def test_every_structure_declares_what_downstream_reads(name):
    """Engine, memory, panels and metrics are declared, and the engine reports every metric."""
    structure = structures.get(name)
    assert set(structure.dashboard_panels) <= set(panels.PANELS)
    model = PeerLearningModel(small(name, size=600, steps=2), seed=1)
    model.run()
    assert isinstance(model.engine, structure.engine)
    frame = model.metrics_frame()
    for metric in structure.metric_names:
        assert metric in frame.columns
    assert set(structure.memory(model.scenario, memory_layout(model.scenario))) <= set(
        memory.budget(model.scenario)
    )


def memory_layout(scenario: Scenario) -> structures.Layout:
    """The layout the memory guard computes for `scenario` (without allocating it)."""
    pop = scenario.population
    steps = scenario.run.steps
    communities, slots = memory._layout(pop.size, pop.community_size, pop.arrival_rate, steps)
    return structures.Layout(pop.size, communities, slots, 8, -(-slots // communities))


def test_an_unknown_structure_is_one_line_naming_the_registered_ones():
    """program.structure is checked against the registry, with the allowed names in the message."""
    with pytest.raises(ScenarioError) as error:
        Scenario().with_overrides({"program.structure": "lecture_hall"})
    assert "program.structure" in str(error.value)
    assert "'peer_only'" in str(error.value) and "\n" not in str(error.value)


def test_a_fourth_structure_is_one_declaration(solo_reading):
    """Registered, solo_reading works everywhere, with no other file changed.

    It is a valid structure for the schema, the model, the memory guard, the runner's tables, the
    CLI's allowed values and the dashboard.
    """
    assert "'solo_reading'" in describe_bounds("program.structure")
    scenario = small("solo_reading", size=1000, steps=6)
    assert scenario.expert_count == 0
    assert memory.estimate_bytes(scenario) > 0
    runs = run_scenario(scenario, replicates=2)
    final = runs.final()
    # Nobody teaches: nobody gains, and skill only decays (forgetting).
    assert (final["mean_tutee_gain"] == 0).all() and (final["expert_sessions"] == 0).all()
    frame = runs.frame
    assert frame.groupby("step")["mean_gain"].mean().iloc[1:].lt(0).all()
    assert "solo_reading" in markdown_table(comparison_table([runs]))
    assert [p.name for p in panels.panels_for("solo_reading")] == ["pyramid", "skill", "retention"]


def test_a_structure_name_is_registered_once():
    """A second structure under a known name is refused, not silently replacing the first."""
    clash = Structure(name="peer_only", label="clash", engine=PeerEngine, peers=True, experts=False)
    with pytest.raises(ValueError, match="registered twice"):
        structures.register(clash)


def test_declared_and_computed_metrics_agree():
    """A metric computed but not declared (or declared but not computed) fails at once."""
    from simulation.core.aggregates import declared

    with pytest.raises(RuntimeError, match="undeclared"):
        declared({"a": 1, "b": 2}, ("a",), "test")
    with pytest.raises(RuntimeError, match="missing"):
        declared({"a": 1}, ("a", "b"), "test")
    assert list(declared({"b": 2, "a": 1}, ("a", "b"), "test")) == ["a", "b"]


def test_structure_and_engine_state_are_numpy_arrays_not_agents():
    """Engines keep their state as arrays: no Python object per agent at scale."""
    model = PeerLearningModel(small("study_groups", size=600, steps=1), seed=0)
    arrays = [v for v in vars(model.engine).values() if isinstance(v, np.ndarray)]
    assert arrays and all(a.dtype != object for a in arrays)
