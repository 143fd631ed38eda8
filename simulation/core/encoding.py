"""How one agent's state is stored: the flag bits and the motivation code.

Every kernel (the weekly peer step, study groups, the pool, experts) and every analysis (trial
groups, checkpoints) reads agents through these encodings, so they live here, below all of them:
a module that needs a flag imports it from here and from nowhere else.

- `flags` is one uint8 per agent: present (has arrived), active (has not dropped out), enrolled
  in the programme, assigned the tutor role (split programmes), and whether the agent was ever
  a tutee, a tutor or taught by an expert (the groups a virtual trial compares).
- `motivation` is a uint16 code: engagement in [0, 1] in exact steps of 1/65535 (2 bytes
  instead of 4; docs/performance.md, memory budget).
"""

from __future__ import annotations

import numpy as np

PRESENT = np.uint8(1)  # has arrived
ACTIVE = np.uint8(2)  # present and not dropped out
NOT_ACTIVE = np.uint8(0xFF ^ 2)  # mask that clears ACTIVE
WAS_TUTEE = np.uint8(4)  # received peer teaching at least once
WAS_TUTOR = np.uint8(8)  # taught a peer at least once
WAS_EXPERT_TAUGHT = np.uint8(16)  # received expert teaching at least once
IN_PROGRAMME = np.uint8(32)  # enrolled in peer learning (learning.participation)
TUTOR_ROLE = np.uint8(64)  # learning.roles = split: assigned to tutor (else, if enrolled: tutee)

MOTIVATION_SCALE = 65535.0  # motivation code = round(motivation * MOTIVATION_SCALE)
