"""The performance work changes speed, never numbers: results at 10^6 agents are frozen.

The fingerprints below were recorded with the kernels as they were before any optimisation
(commit f398335, also for the cases added later): a SHA-256 of the final state arrays and of
every weekly aggregate. A faster
kernel must reproduce them bit for bit; a change that alters numbers must be made on purpose,
in simulation/reference/peers.py too, explained in docs/performance.md, and the fingerprint
renewed (docs/CONTRIBUTING.md, rules for kernels).
"""

import hashlib

import numpy as np
import pytest

from simulation import PeerLearningModel, Scenario

# Every parameter as it was when the fingerprints were recorded, so that a later change of a
# default (a calibration) changes no fingerprint: only a change of the code can.
PINNED = {
    "population.community_size": 100, "population.arrival_rate": 0.0, "pyramid.shape": "layers",
    "pyramid.layers": 5, "pyramid.ratio": 0.5, "pyramid.decay": 5.0, "pyramid.top_skill": 0.9,
    "program.responsiveness": 1, "program.agency": 1, "program.connectivity": 1,
    "learning.optimal_gap": 0.1, "learning.peer_rate": 0.02, "learning.tutor_rate": 0.016,
    "learning.teaching_expectancy": 1.0, "learning.peer_teaching_skill": 0.0,
    "learning.participation": 1.0, "learning.candidates": 8, "learning.forgetting": 0.002,
    "learning.roles": "reciprocal", "learning.tutor_share": 0.5,
    "learning.tutor_selection": "top_skill", "learning.tutor_capacity": 0,
    "learning.tutor_hours": 1.0, "learning.strong_tutors": 0, "learning.strong_tutor_skill": 0.5,
    "experts.count": 10, "experts.learners_per_expert": 0, "experts.format": "auto",
    "experts.skill": 0.95, "experts.teaching_skill": 0.5, "experts.rate": 0.03,
    "experts.class_size_slope": 0.25, "experts.capacity": 30, "experts.hours_per_session": 1.0,
    "motivation.initial_min": 0.3, "motivation.initial_max": 1.0, "motivation.threshold": 0.2,
    "motivation.progress_reward": 0.04, "motivation.no_contact_penalty": 0.05,
    "motivation.shock": 0.05,
    "levels.responsiveness_narrowing": (0.0, 0.5, 0.9), "levels.module_spacing": 0.1,
    "levels.agency_choice": (0.0, 0.5, 1.0), "levels.agency_decay": (0.03, 0.015, 0.005),
    "levels.pool_contacts": (0, 2, 2), "levels.pool_per_community": 2, "metrics.competent": 0.5,
    "metrics.expert": 0.8, "metrics.bands": 5,
    # How experts reach many learners (experts branch): a cap of 30 holds the expert_only case's
    # classes of 30 (one expert per 30 learners), so classes are as they were.
    "experts.class_cap": 30, "experts.broadcast_input": 0.4,
    # No expert contacts through connectivity (hyper-connectivity off, as before).
    "levels.expert_contacts": (0, 0, 0), "experts.domain_teaching_skill": 0.0,
    "experts.contact_hours": 1.0,
}


def pinned(structure: str, **overrides) -> Scenario:
    """10^6 agents, four weeks, every other parameter as pinned above (overrides: a__b for a.b)."""
    changes = PINNED | {
        "program.structure": structure, "population.size": 10**6, "run.steps": 4,
        "run.replicates": 1,
    }
    changes |= {k.replace("__", "."): v for k, v in overrides.items()}
    return Scenario(name=structure).with_overrides(changes)

# The aggregates that existed when the fingerprints were recorded (later columns are not hashed).
COLUMNS = (
    "step", "present", "active", "active_fraction", "dropouts", "mean_skill", "sd_skill",
    "mean_motivation",
    "skill_q10", "skill_q25", "skill_q50", "skill_q75", "skill_q90",
    "competent_fraction", "expert_fraction", "mean_gain", "mean_tutee_gain", "mean_tutor_gain",
    "tutee_fraction", "tutor_fraction", "mean_partner_efficacy", "mean_partner_misfit",
    "expert_sessions", "expert_hours", "expert_load", "expert_gain", "gain_per_expert_hour",
    "band_0", "band_1", "band_2", "band_3", "band_4",
)

# Together the cases cover every structure, arrivals, the sorted pool (connectivity 2), assigned
# partners (agency 0), limited (agency 1) and full choice (agency 2), partial participation,
# mentoring, classes of a fixed expert share, and communities too large for the kernel's
# scratch row of contacts (CONTACT_WIDTH in kernels/peer_week.py).
CASES = {
    "peer_only": (
        "peer_only",
        {"population__arrival_rate": 0.01},
        "e612d1e9708908b538bb8d1a4d63c4916397ae4049499afc1590bbfe3f67b600",
    ),
    "mixed": (
        "mixed",
        {"program__connectivity": 2, "program__agency": 0, "learning__participation": 0.7},
        "3f771eecce98b314264a14e9412a85a8a64ec58e65445ae28e2684f9630d8e89",
    ),
    "expert_only": (
        "expert_only",
        {"program__responsiveness": 1, "experts__learners_per_expert": 30},
        "366d0350979b965119d4ea988d5f8de1137a10a18c148e009ba4e32e78f3e234",
    ),
    "peer_only_full_choice": (
        "peer_only",
        {"program__agency": 2, "program__responsiveness": 1, "program__connectivity": 1},
        "c5c83156fc9ee5520b04e6abf2c6d0d240667fdcff824d388ff3a5828bfb5d75",
    ),
    "mixed_large_communities": (
        "mixed",
        {
            "population__community_size": 10_000, "program__connectivity": 2, "program__agency": 2,
            "learning__participation": 0.8,
        },
        "3601e1b631f7a7731ecd637a4aec0db0a68f2f16ec6c507433929585778384a5",
    ),
}


def fingerprint(model: PeerLearningModel) -> str:
    """SHA-256 of the final skill, motivation and flags arrays and of every weekly aggregate."""
    digest = hashlib.sha256()
    pop = model.population
    for array in (pop.skill, pop.motivation, pop.flags):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(model.metrics_frame()[list(COLUMNS)].to_numpy(dtype=np.float64).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("case", list(CASES))
def test_results_at_a_million_agents_are_unchanged_by_the_performance_work(case):
    """Four weeks of 10^6 agents (seed 2024) end in exactly the recorded arrays and aggregates."""
    structure, overrides, expected = CASES[case]
    model = PeerLearningModel(pinned(structure, **overrides), seed=2024)
    model.run()
    assert fingerprint(model) == expected
