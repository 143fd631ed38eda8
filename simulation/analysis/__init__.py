"""From runs to results: replicates and comparisons (`runner`), virtual trials (`trial`,
`effect_size`), results folders (`results`) and figures (`figures`).
"""
