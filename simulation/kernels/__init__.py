"""The numba kernels: pure functions over arrays (no I/O, no Python objects per agent).

`peer_week` (one week of peer learning with experts), `pool` (the weekly global pool),
`experts` (class summaries) and `study_groups` (one course week of study groups); `bundles`
holds the namedtuples of arrays they take and the rule for using them in parallel loops. The
Python that resolves a scenario into their arguments lives in simulation/structures/.
"""
