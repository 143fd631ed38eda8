"""The performance work changes speed, never numbers: results at 10^6 agents are frozen.

The fingerprints below were recorded with the kernels as they were before any optimisation
(commit f398335): a SHA-256 of the final state arrays and of every weekly aggregate. A faster
kernel must reproduce them bit for bit; a change that alters numbers must be made on purpose,
in simulation/reference.py too, explained in docs/performance.md, and the fingerprint renewed.
"""

import hashlib

import numpy as np
import pytest

from simulation import PeerLearningModel

from .helpers import small

# The aggregates that existed when the fingerprints were recorded (later columns are not hashed).
COLUMNS = (
    "step", "present", "active", "active_fraction", "dropouts", "mean_skill", "sd_skill", "mean_motivation",
    "skill_q10", "skill_q25", "skill_q50", "skill_q75", "skill_q90",
    "competent_fraction", "expert_fraction", "mean_gain", "mean_tutee_gain", "mean_tutor_gain",
    "tutee_fraction", "tutor_fraction", "mean_partner_efficacy", "mean_partner_misfit",
    "expert_sessions", "expert_hours", "expert_load", "expert_gain", "gain_per_expert_hour",
    "band_0", "band_1", "band_2", "band_3", "band_4",
)

# One case per structure, together covering arrivals, the sorted pool (connectivity 2), assigned
# partners (agency 0), partial participation, mentoring and classes of a fixed expert share.
CASES = {
    "peer_only": (
        dict(population__arrival_rate=0.01),
        "e612d1e9708908b538bb8d1a4d63c4916397ae4049499afc1590bbfe3f67b600",
    ),
    "mixed": (
        dict(program__connectivity=2, program__agency=0, learning__participation=0.7),
        "3f771eecce98b314264a14e9412a85a8a64ec58e65445ae28e2684f9630d8e89",
    ),
    "expert_only": (
        dict(program__responsiveness=1, experts__learners_per_expert=30),
        "366d0350979b965119d4ea988d5f8de1137a10a18c148e009ba4e32e78f3e234",
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


@pytest.mark.parametrize("structure", list(CASES))
def test_results_at_a_million_agents_are_unchanged_by_the_performance_work(structure):
    """Four weeks of 10^6 agents (seed 2024) end in exactly the recorded arrays and aggregates."""
    overrides, expected = CASES[structure]
    model = PeerLearningModel(small(structure, size=10**6, steps=4, **overrides), seed=2024)
    model.run()
    assert fingerprint(model) == expected
