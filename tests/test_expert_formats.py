"""How experts reach many learners (experts.format): seat-capped classes, the log law extrapolated,
a recorded broadcast, mentoring."""

import numpy as np
import pytest

from simulation import PeerLearningModel
from simulation.core.encoding import ACTIVE, WAS_EXPERT_TAUGHT

from .helpers import small


def _weeks(scenario, weeks, seed=2):
    """The model and, each week, the active learners at its start and its metrics."""
    model = PeerLearningModel(scenario, seed=seed)
    rows = []
    for _ in range(weeks):
        active_before = model.metrics["active"]
        model.step()
        rows.append((active_before, dict(model.metrics)))
    return model, rows


def test_no_class_holds_more_than_its_cap():
    """With 10 experts and a cap of 30, at most 300 learners a week are taught, all seated."""
    sc = small("expert_only", size=5000, steps=6, experts__count=10, experts__format="class",
               experts__class_cap=30)
    model, rows = _weeks(sc, 6)
    assert int(model.engine.class_count.max()) <= 30
    assert model.engine.class_count.size == 10
    for _, m in rows:
        assert 0 < m["expert_sessions"] <= 300
    taught = (model.population.flags & WAS_EXPERT_TAUGHT) != 0
    assert not taught[300:].any()  # no seat beyond the experts' 300: no expert input, ever
    assert taught[:300].sum() > 250


def test_when_seats_suffice_capped_classes_are_the_log_law():
    """Classes within the cap (T3, T4: 1-30 learners) give exactly the log law's numbers."""
    capped = small("expert_only", size=3000, steps=5, experts__learners_per_expert=22,
                   experts__format="class", experts__class_cap=30)
    law = capped.with_overrides({"experts.format": "class_log_law"})
    a, b = PeerLearningModel(capped, seed=4), PeerLearningModel(law, seed=4)
    a.run()
    b.run()
    assert np.array_equal(a.population.skill, b.population.skill)
    assert a.metrics_frame().equals(b.metrics_frame())


def test_the_log_law_seats_everyone_in_classes_beyond_its_evidence():
    """class_log_law puts 5,000 learners in 10 classes of 500, far beyond the classes of 15-40."""
    sc = small("expert_only", size=5000, steps=3, experts__count=10,
               experts__format="class_log_law")
    model, rows = _weeks(sc, 3)
    assert int(model.engine.class_count.max()) >= 400
    for active_before, m in rows:
        assert m["expert_sessions"] == active_before  # everyone is in a class


def test_a_broadcast_reaches_everyone_with_one_pitch():
    """Every active learner gets the recording; one session a week; equal learners gain alike."""
    sc = small("expert_only", size=4000, steps=5, experts__count=10, experts__format="broadcast",
               experts__hours_per_session=2.0)
    model, rows = _weeks(sc, 5)
    for active_before, m in rows:
        assert m["expert_sessions"] == active_before
        assert m["expert_hours"] == 2.0  # one recorded session, however many watch
    # One pitch, no interaction: its per-learner input is broadcast_input whatever the audience.
    small_audience = sc.with_overrides({"population.size": 400})
    large, little = PeerLearningModel(sc, seed=1), PeerLearningModel(small_audience, seed=1)
    large.step()
    little.step()
    per_learner = [m.metrics["expert_gain"] / m.metrics["expert_sessions"] for m in (large, little)]
    assert per_learner[0] == pytest.approx(per_learner[1], rel=0.2)


def test_a_broadcasts_input_scales_with_broadcast_input():
    """Halving broadcast_input halves the first week's expert gain (gains below the gap cap)."""
    sc = small("expert_only", size=2000, steps=1, experts__format="broadcast",
               experts__broadcast_input=0.4)
    half = sc.with_overrides({"experts.broadcast_input": 0.2})
    a, b = PeerLearningModel(sc, seed=3), PeerLearningModel(half, seed=3)
    a.step()
    b.step()
    assert b.metrics["expert_gain"] == pytest.approx(a.metrics["expert_gain"] / 2, rel=0.02)


def test_expert_only_defaults_to_seat_capped_classes():
    """expert_only's default format is the evidence-based one: classes of at most 30."""
    sc = small("expert_only")
    assert sc.expert_format == "class" and sc.experts.class_cap == 30
    model = PeerLearningModel(sc, seed=0)
    active = (model.population.flags & ACTIVE) != 0
    assert model.engine.arrangement.class_span == 30 and active.sum() == 2000
