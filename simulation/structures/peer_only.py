"""peer_only: no designated experts; everyone learns from and teaches peers.

Each learner learns from a best-fit contact above and teaches a best-fit contact below
(docs/ODD.md, the weekly peer step).
"""

from .base import Structure
from .peer_learning import PeerEngine, peer_memory

STRUCTURE = Structure(
    name="peer_only",
    label="only peers teach: each learns from a contact just above and teaches one just below",
    engine=PeerEngine,
    peers=True,
    experts=False,
    dashboard_panels=("pyramid", "skill", "retention", "gains", "expert_load", "expert_gain"),
    shardable=True,
    memory=peer_memory,
    order=20,
)
