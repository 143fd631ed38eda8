"""The model's foundations, shared by every structure.

Counter-based random numbers, the initial pyramid, the population's arrays and their encoding,
learning efficacy, blocks and aggregates.
"""
