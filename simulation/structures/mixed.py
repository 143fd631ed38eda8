"""mixed: peer learning plus designated experts with limited capacity.

The experts provide mentoring, diagnosis and the top of the pyramid; they mentor by default
(`experts.format = "auto"`).
"""

from .base import Structure
from .peer_learning import PeerEngine, peer_memory

STRUCTURE = Structure(
    name="mixed",
    label="peers teach each other and capacity-limited experts mentor a few learners a week",
    engine=PeerEngine,
    peers=True,
    experts=True,
    expert_format="mentoring",
    sections=("experts",),
    dashboard_panels=("pyramid", "skill", "retention", "gains", "expert_load", "expert_gain"),
    shardable=True,
    memory=peer_memory,
    order=30,
)
