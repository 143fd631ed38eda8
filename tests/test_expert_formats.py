"""How experts reach many learners: seat-capped classes, the log law, broadcast, mentoring."""

import numpy as np
import pytest

from simulation import PeerLearningModel
from simulation.core.blocks import N_EXPERT_CONTACT
from simulation.core.encoding import ACTIVE, IN_PROGRAMME, WAS_EXPERT_TAUGHT
from simulation.kernels.experts import CONTACTS_BROKERED, CONTACTS_SOUGHT, select_contacts

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
    _, rows = _weeks(sc, 5)
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


# --- hyper-connectivity to experts (levels.expert_contacts) ------------------------------------

def _chosen(scenario, mode, k):
    """Each community's expert contacts this week (select_contacts on the initial state)."""
    model = PeerLearningModel(scenario, seed=6)
    pop = model.population
    contacts = np.empty((pop.communities, k), dtype=np.int64)
    stats = np.zeros_like(model._stats)
    select_contacts(pop.skill, pop.flags, pop.motivation, pop.community_start,
                    pop.community_present, model.blocks, np.int64(mode), contacts, stats)
    return pop, contacts, stats


def test_brokered_contacts_go_to_learners_in_need_first():
    """At connectivity 1 each community's k contacts go to its enrolled members furthest behind."""
    sc = small("peer_only", size=1000, learning__participation=0.7)
    pop, contacts, stats = _chosen(sc, CONTACTS_BROKERED, 3)
    for c in range(pop.communities):
        first, n = pop.community_start[c], pop.community_present[c]
        slots = np.arange(first, first + n)
        eligible = slots[(pop.flags[slots] & (ACTIVE | IN_PROGRAMME)) == (ACTIVE | IN_PROGRAMME)]
        order = eligible[np.lexsort((eligible, pop.skill[eligible]))]  # skill, then slot
        assert list(contacts[c]) == list(order[:3])
    assert stats[:, N_EXPERT_CONTACT].sum() == 3 * pop.communities


def test_sought_contacts_go_to_the_most_motivated():
    """At connectivity 2 the k members who take the initiative (most motivated) reach experts."""
    sc = small("peer_only", size=1000)
    pop, contacts, _ = _chosen(sc, CONTACTS_SOUGHT, 2)
    for c in range(pop.communities):
        first, n = pop.community_start[c], pop.community_present[c]
        slots = np.arange(first, first + n)
        order = slots[np.lexsort((slots, -pop.motivation[slots].astype(np.int64)))]
        assert list(contacts[c]) == list(order[:2])


def test_expert_contacts_take_expert_hours_and_reach_the_few_in_need():
    """Contacts per learner = k / community size; each takes experts.contact_hours."""
    sc = small("peer_only", size=2000, steps=2, program__connectivity=1,
               experts__contact_hours=1.5).with_overrides({"levels.expert_contacts": (0, 2, 4)})
    model = PeerLearningModel(sc, seed=1)
    model.step()
    m = model.metrics
    assert m["expert_contacts"] == 2 * 20  # 20 communities of 100
    assert m["expert_contacts_per_learner"] == pytest.approx(0.02)
    assert m["expert_hours"] == pytest.approx(1.5 * 40)
    off = PeerLearningModel(small("peer_only", size=2000, steps=2), seed=1)
    off.step()
    assert off.metrics["expert_contacts"] == 0 and off.metrics["expert_hours"] == 0.0
