"""Running at scale: the memory guard (`memory`), sharded runs (`sharding`) and the vector width
numba compiles for (`vector_width`, which must run before numba is imported: keep this file free
of imports).
"""
