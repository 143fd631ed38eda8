"""Running at scale: the memory guard, sharded runs and the vector width numba compiles for.

The memory guard is `memory`, sharded runs are `sharding`, and the vector width is `vector_width`,
which must run before numba is imported: keep this file free of imports.
"""
