"""PeerLearningModel as a Mesa model: DataCollector, batch_run, seeds, no agent objects."""

import mesa
import pytest

from simulation import METRIC_NAMES, PeerLearningModel, ScenarioError

from .helpers import SCENARIOS, small


def test_model_holds_arrays_not_agents_and_collects_aggregates():
    """No mesa.Agent per learner; one DataCollector row of aggregates per week from week 0."""
    model = PeerLearningModel(small("mixed", size=3000, steps=3))
    assert len(model.agents) == 0
    model.run()
    frame = model.metrics_frame()
    assert list(frame["step"]) == [0, 1, 2, 3]
    assert set(METRIC_NAMES) <= set(frame.columns)
    assert frame[[f"band_{k}" for k in range(5)]].iloc[0].sum() == 3000
    assert not model.running


def test_batch_run_sweeps_structure_and_levels():
    """mesa.batch_run works with the model's named parameters."""
    results = mesa.batch_run(
        PeerLearningModel,
        parameters={
            "structure": ["peer_only", "expert_only"], "agency": [0, 2], "population": 2000,
        },
        iterations=1, max_steps=3, number_processes=1, data_collection_period=1,
        display_progress=False,
    )
    assert len(results) == 4 * 4  # 4 parameter combinations x (step 0 .. 3)
    assert {r["structure"] for r in results} == {"peer_only", "expert_only"}
    assert all(0.0 <= r["active_fraction"] <= 1.0 for r in results)


def test_model_accepts_a_scenario_file_and_text_seed():
    """A scenario file's path and a seed typed as text both build a model."""
    model = PeerLearningModel(SCENARIOS / "peer_only.toml", population=2000, seed="42")
    assert model.seed == 42 and model.scenario.program.structure == "peer_only"


@pytest.mark.parametrize("seed", ["abc", "-1", "1.5"])
def test_bad_seed_is_a_clear_error(seed):
    """A seed that is not a whole number from 0 is a ScenarioError saying so."""
    with pytest.raises(ScenarioError, match="whole number"):
        PeerLearningModel(population=2000, seed=seed)


def test_quantiles_and_bands_agree_with_the_arrays():
    """Histogram quantiles are within one bin (0.001) of exact quantiles of active skill."""
    import numpy as np

    model = PeerLearningModel(small("peer_only", size=50_000, steps=4))
    model.run()
    pop = model.population
    active = pop.skill[(pop.flags & 2) != 0]
    for q in (0.1, 0.5, 0.9):
        assert abs(model.metrics[f"skill_q{int(q * 100):02d}"] - np.quantile(active, q)) < 1.5e-3
    exact = float(active.astype(np.float64).mean())
    assert model.metrics["mean_skill"] == pytest.approx(exact, rel=1e-12)
    assert model.metrics["competent_fraction"] == pytest.approx(float((active >= 0.5).mean()))
