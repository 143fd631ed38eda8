"""The interactive dashboard: Mesa's SolaraViz over PeerLearningModel, one model per session.

`peerscale dashboard` (serve.py) starts it; `solara run simulation/dashboard/app.py` does too.
Modules: controls.py (controls generated from the scenario schema), session.py (the per-session
model and input messages), panels.py (matplotlib figures), app.py (the page), serve.py (the
server), offline_assets.py (the browser assets, fetched once from the npm registry).
"""

import warnings

with warnings.catch_warnings():
    # Mesa 3.3.1's ComponentsView has a hook after an early return that only fires with no
    # components; solara's hook check reports it once at import. The dashboard always passes
    # components, so the warning says nothing about it (and would fail tests run with -W error).
    warnings.filterwarnings(
        "ignore",
        message=r".*ComponentsView: `use_state` found despite early return",
        category=UserWarning,
    )
    try:
        import mesa.visualization  # noqa: F401
    except ModuleNotFoundError as exc:  # Mesa 3.3's visualization imports networkx and altair
        raise ModuleNotFoundError(
            f"the dashboard needs {exc.name}, which Mesa's visualization imports: "
            "pip install 'mesa[rec]'",
            name=exc.name,
        ) from exc
