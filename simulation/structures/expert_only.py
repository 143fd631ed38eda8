"""expert_only (the lecture): only designated experts teach.

Each expert has limited capacity, so class sizes grow with the population; content is pitched at
the class, not at each learner (responsiveness decides how far it fits). Experts teach in classes
by default (`experts.format = "auto"`); docs/ODD.md gives the rules.
"""

from .base import Structure
from .peer_learning import PeerEngine, peer_memory

STRUCTURE = Structure(
    name="expert_only",
    label="only designated experts teach (lectures: classes grow with the population)",
    engine=PeerEngine,
    peers=False,
    experts=True,
    expert_format="class",
    sections=("experts",),
    dashboard_panels=("pyramid", "skill", "retention", "gains", "expert_load", "expert_gain"),
    shardable=True,
    memory=peer_memory,
    order=10,
)
