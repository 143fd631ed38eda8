"""Role-split programmes (learning.roles = split): tutors tutor, tutees are tutored."""

import numpy as np
import pytest

from simulation import PeerLearningModel
from simulation.core.encoding import IN_PROGRAMME, TUTOR_ROLE, WAS_TUTEE, WAS_TUTOR
from simulation.core.population import tutor_count

from .helpers import run_cli, small


def _split(weeks: int = 8, **overrides) -> PeerLearningModel:
    """A split programme among classmates (communities of 30) after `weeks` weeks."""
    settings = {
        "learning__roles": "split", "population__community_size": 30,
        "program__connectivity": 1, "learning__participation": 0.9,
    } | overrides
    model = PeerLearningModel(small("peer_only", size=3000, steps=weeks, **settings), seed=5)
    for _ in range(weeks):
        model.step()
    return model


@pytest.mark.parametrize("selection", ["top_skill", "random"])
def test_with_split_roles_no_tutee_ever_teaches(selection):
    """Over 8 weeks no tutee teaches and no tutor is taught by a peer; both roles are played."""
    flags = _split(learning__tutor_selection=selection).population.flags[:3000]
    tutor = (flags & TUTOR_ROLE) != 0
    assert not np.any(tutor & ((flags & WAS_TUTEE) != 0)), "a tutor was taught by a peer"
    assert not np.any(~tutor & ((flags & WAS_TUTOR) != 0)), "a tutee taught"
    assert np.count_nonzero(tutor & ((flags & WAS_TUTOR) != 0)) > 300
    assert np.count_nonzero(~tutor & ((flags & WAS_TUTEE) != 0)) > 300


def test_reciprocal_programmes_let_the_same_learner_play_both_roles():
    """The check above can fail: in a reciprocal programme many learners both teach and learn."""
    flags = _split(learning__roles="reciprocal").population.flags[:3000]
    assert not np.any(flags & TUTOR_ROLE)
    assert np.count_nonzero(((flags & WAS_TUTEE) != 0) & ((flags & WAS_TUTOR) != 0)) > 100


def test_split_tutors_are_the_most_skilled_share_of_each_community_at_the_start():
    """By starting skill, each class's top 30% of participants tutor (rounded), none below them."""
    model = PeerLearningModel(
        small("peer_only", size=3000, learning__roles="split", learning__tutor_share=0.3,
              population__community_size=30, learning__participation=0.9), seed=5,
    )
    pop = model.population
    for c in range(pop.communities):
        lo, hi = pop.community_start[c], pop.community_start[c] + pop.community_present[c]
        f, s = pop.flags[lo:hi], pop.skill[lo:hi]
        enrolled = (f & IN_PROGRAMME) != 0
        tutor = (f & TUTOR_ROLE) != 0
        assert not np.any(tutor & ~enrolled)
        assert tutor.sum() == tutor_count(0.3, int(enrolled.sum()))
        assert s[tutor].min() >= s[enrolled & ~tutor].max()


def test_random_tutor_selection_assigns_about_the_share():
    """At random, about tutor_share of participants tutor (4 SDs of a binomial around it)."""
    model = PeerLearningModel(
        small("peer_only", size=20000, learning__roles="split", learning__tutor_share=0.25,
              learning__tutor_selection="random"), seed=5,
    )
    flags = model.population.flags[:20000]
    n = np.count_nonzero(flags & IN_PROGRAMME)
    share = np.count_nonzero(flags & TUTOR_ROLE) / n
    assert abs(share - 0.25) < 4 * np.sqrt(0.25 * 0.75 / n)


def test_the_cross_age_scenario_and_trials_run_through_the_cli(tmp_path):
    """`peerscale run` takes the cross-age scenario and `peerscale trial` its two trial files."""
    run = run_cli("run", "scenarios/cross_age.toml", "--set", "run.steps=2", "--set",
                  "population.size=600", "--replicates", "1", "--out", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    for name in ("cross_age_tutees", "cross_age_tutors"):
        trial = run_cli("trial", f"experiments/programmes/{name}.toml", "--replicates", "1",
                        "--out", str(tmp_path / name))
        assert trial.returncode == 0, trial.stderr
        assert "d (control SD)" in trial.stdout
