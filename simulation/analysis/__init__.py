"""From runs to results: replicates, comparisons, virtual trials, results folders and figures.

Replicates and comparisons are in `runner`, virtual trials in `trial` and `effect_size`, results
folders in `results` and figures in `figures`.
"""
