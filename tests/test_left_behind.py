"""Who is left behind: intention-to-treat outcomes and outcomes by starting skill band."""

import numpy as np
import pytest

import simulation.model as model_module
from simulation import PeerLearningModel
from simulation.core.aggregates import cohort_metrics
from simulation.core.blocks import ITT_SUM_SKILL
from simulation.core.encoding import ACTIVE, PRESENT
from simulation.core.population import novice_layers, pyramid_code
from simulation.core.pyramid import layer_cumulative
from simulation.kernels import cohort

from .helpers import small


def _run_recording_starts(scenario, weeks, monkeypatch):
    """Run `weeks` weeks; return the model and every slot's skill when it entered (NaN: empty)."""
    arrive = model_module.arrive
    starts: dict[str, np.ndarray] = {}

    def recording(pop, scenario, seed, step):
        before = pop.flags & PRESENT
        n = arrive(pop, scenario, seed, step)
        new = ((pop.flags & PRESENT) != 0) & (before == 0)
        starts["skill"][new] = pop.skill[new]
        return n

    monkeypatch.setattr(model_module, "arrive", recording)
    model = PeerLearningModel(scenario, seed=5)
    pop = model.population
    starts["skill"] = np.where((pop.flags & PRESENT) != 0, pop.skill, np.nan).astype(np.float64)
    for _ in range(weeks):
        model.step()
    return model, starts["skill"]


def test_intention_to_treat_counts_every_learner_who_started(monkeypatch):
    """ITT metrics count everyone who entered (drop-outs, arrivals) at their skill now."""
    sc = small("expert_only", size=3000, steps=12, population__arrival_rate=0.02,
               experts__count=3)
    model, start = _run_recording_starts(sc, 12, monkeypatch)
    pop, m = model.population, model.metrics
    present = (pop.flags & PRESENT) != 0
    skill = pop.skill[present].astype(np.float64)
    assert m["dropouts"] >= 0 and (pop.flags[present] & ACTIVE == 0).sum() > 100  # drop-outs
    assert present.sum() > 3000  # arrivals entered
    assert m["itt_mean_skill"] == pytest.approx(skill.mean(), rel=1e-12)
    assert m["itt_gain"] == pytest.approx((skill - start[present]).mean(), rel=1e-9)
    competent = (skill >= sc.metrics.competent).mean()
    assert m["itt_competent_fraction"] == pytest.approx(competent, rel=1e-12)
    # The active-learner mean leaves the drop-outs out, so it differs from the ITT mean.
    assert m["mean_skill"] != pytest.approx(m["itt_mean_skill"], rel=1e-6)


def test_starting_bands_follow_each_learner_from_where_they_started(monkeypatch):
    """Band k's metrics are those of the learners whose starting skill fell in band k."""
    sc = small("peer_only", size=3000, steps=10, population__arrival_rate=0.01)
    model, start = _run_recording_starts(sc, 10, monkeypatch)
    pop, m, bands = model.population, model.metrics, sc.metrics.bands
    present = (pop.flags & PRESENT) != 0
    band = np.minimum((start * bands).astype(np.int64), bands - 1)
    for k in range(bands):
        group = present & (band == k)
        assert group.sum() > 0
        skill = pop.skill[group].astype(np.float64)
        active = ((pop.flags[group] & ACTIVE) != 0).mean()
        assert m[f"start_band_{k}_active_fraction"] == pytest.approx(active, rel=1e-12)
        gain = (skill - start[group]).mean()
        assert m[f"start_band_{k}_gain"] == pytest.approx(gain, rel=1e-9, abs=1e-12)
        competent = (skill >= sc.metrics.competent).mean()
        assert m[f"start_band_{k}_competent_fraction"] == pytest.approx(competent, rel=1e-12)


def test_a_class_pitched_at_its_mean_loses_its_strongest_starters_first():
    """In one huge class (the log law), top starters leave far more often than bottom ones."""
    sc = small("expert_only", size=3000, steps=26, experts__count=1,
               experts__format="class_log_law", program__responsiveness=0)
    model = PeerLearningModel(sc, seed=3)
    model.run()
    m = model.metrics
    top = sc.metrics.bands - 1
    assert m[f"start_band_{top}_active_fraction"] < m["start_band_0_active_fraction"] - 0.3


def test_the_cohort_pass_gives_the_same_sums_in_one_thread_or_in_parallel():
    """Small populations take the one-thread pass; it adds exactly what the parallel one adds."""
    sc = small("mixed", size=5000, steps=4, population__arrival_rate=0.02)
    model = PeerLearningModel(sc, seed=8)
    model.run()
    pop, m, pyr = model.population, sc.metrics, sc.pyramid
    args = (
        pop.skill, pop.flags, pop.community_start, pop.community_present, pop.community_initial,
        model.blocks, np.int64(0), np.int64(0), np.uint64(8), np.int64(4), pyramid_code(pyr.shape),
        layer_cumulative(pyr.layers, pyr.ratio), float(pyr.decay), float(pyr.top_skill),
        np.int64(novice_layers(sc)), float(sc.population.arrival_rate), np.int64(m.bands),
        float(m.competent),
    )
    parallel, serial = np.zeros_like(model._stats), np.zeros_like(model._stats)
    cohort.observe(*args, parallel)
    cohort.observe_serial(*args, serial)
    assert np.array_equal(parallel, serial) and parallel[:, ITT_SUM_SKILL].sum() > 0


@pytest.mark.parametrize("structure", ["peer_only", "study_groups"])
def test_skipping_the_cohort_pass_changes_nothing_but_those_metrics_in_those_weeks(structure):
    """cohort_weeks={3}: the cohort metrics are NaN in other weeks, every other number identical.

    Sweeps that read no cohort metric skip the pass (about a sixth of a small run's time).
    """
    sc = small(structure, size=5000, steps=5)
    full, lean = PeerLearningModel(sc, seed=4), PeerLearningModel(sc, seed=4, cohort_weeks={3})
    full.run()
    lean.run()
    names = set(cohort_metrics(sc.metrics.bands))
    a, b = full.metrics_frame(), lean.metrics_frame()
    assert list(a.columns) == list(b.columns)
    for column in a.columns:
        if column not in names:
            assert a[column].equals(b[column]), column
            continue
        # Week 0 is always observed by study groups (their course is pitched at registration).
        observed = b[column].notna()
        assert observed[3] and not observed[[1, 2, 4, 5]].any(), column
        assert (a[column][observed] == b[column][observed]).all(), column
    assert np.array_equal(full.population.skill, lean.population.skill)
