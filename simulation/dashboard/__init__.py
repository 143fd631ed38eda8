"""The interactive dashboard: one run or a comparison of structures, stepped week by week.

`peerscale dashboard` (serve.py) starts it; `solara run simulation/dashboard/app.py` does too.
Modules: controls.py (controls from the scenario schema and the structure registry), charts.py
and panels.py (the figures: how they are drawn, and what each shows), board.py (the models on
screen, stepped together, and their figures), session.py (one browser session's state),
address.py (the settings in the page's address), export.py (scenario files and figures to
download), explain.py (the introduction and the docs), widgets.py (two browser-side helpers),
app.py (the page), warmup.py (compiling the kernels at start), serve.py (the server),
offline_assets.py (the browser assets, fetched once from the npm registry), mesa_view.py (Mesa's
SolaraViz over one model: `peerscale dashboard --mesa`). docs/dashboard.md describes the page.
"""
