"""Benchmark: one dashboard Step at 10^6 agents, model step plus the redraw of every panel.

What a person waits for after pressing Step: the weekly kernel, then each matplotlib panel drawn
and encoded as the PNG the browser receives. Measured two ways, after a warm-up (numba compile):
  - direct: model.step() and panels.render_png(panel.draw(model)) for each panel;
  - page: the dashboard page rendered in-process (solara.render) and its Step button clicked,
    which adds Mesa's update and the widget diff (everything but the network and the browser).
Target: under 1 s per Step on 2 cores. Run: python benchmarks/dashboard_step.py [--agents N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    """Time Step in the dashboard at --agents agents: directly, then through the page."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per method")
    args = parser.parse_args()

    import ipyvuetify as v
    import numba
    import solara

    from simulation.dashboard import app, panels, session
    from simulation.dashboard.session import DashboardModel

    print(
        f"cores: {os.cpu_count()}, numba threads: {numba.get_num_threads()}, "
        f"agents: {args.agents:,}"
    )

    # direct
    model = DashboardModel(population=str(args.agents))
    model.step()
    for panel in panels.PANELS:  # warm-up: kernels compiled, matplotlib fonts cached
        panels.render_png(panel.draw(model))
    step_s, draw_s = [], []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        for panel in panels.PANELS:
            panels.render_png(panel.draw(model))
        t2 = time.perf_counter()
        step_s.append(t1 - t0)
        draw_s.append(t2 - t1)
    total = [a + b for a, b in zip(step_s, draw_s, strict=True)]
    print(
        f"direct: step {statistics.median(step_s):.3f} s + redraw of {len(panels.PANELS)} panels "
        f"{statistics.median(draw_s):.3f} s = {statistics.median(total):.3f} s per Step "
        f"(median of {args.steps})"
    )

    # page
    session.model.value = DashboardModel(population=str(args.agents))
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    step_button = rc.find(v.Btn, children=["Step"]).widget
    step_button.click()  # warm-up
    clicks = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step_button.click()  # returns once the step ran and the page re-rendered
        clicks.append(time.perf_counter() - t0)
    rc.close()
    print(
        f"page: Step click with re-render {statistics.median(clicks):.3f} s "
        f"(median of {args.steps}, max {max(clicks):.3f} s)"
    )


if __name__ == "__main__":
    main()
