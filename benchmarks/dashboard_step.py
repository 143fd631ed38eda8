"""Benchmark: what a person waits for after pressing Step, at 10^5 and 10^6 learners.

Step + redraw is the weekly kernel, then every figure redrawn (its data over the kept axes,
simulation/dashboard/charts.py) and encoded as the PNG the browser receives. Measured three
ways, after a warm-up (numba compiled, fonts cached), as the median (and the slowest) of
--steps weeks:
  - direct: Board.step(), the model step and the redraw of every figure (what the page calls);
  - page: the page rendered in-process (solara.render) and its Step button clicked, which adds
    the re-render and the widget diff (everything but the network and the browser);
  - browser: `peerscale dashboard` served on 127.0.0.1 and Debian's Chromium (Playwright)
    clicking Step, timed in the page from the click until every figure shows the new week.
Targets (issue 14): at most 0.25 s at 10^5 and 0.5 s at 10^6 on 2 cores.

Run: python benchmarks/dashboard_step.py [--agents 100000 1000000] [--steps 10] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PANELS_JS = """
async () => {
  const images = () => Array.from(document.querySelectorAll('.peerscale-panel img'));
  const before = images().map(i => i.src);
  const week = document.querySelector('.peerscale-week').textContent;
  const started = performance.now();
  document.querySelector('.peerscale-step').click();
  await new Promise(resolve => {
    const check = () => {
      const now = images().map(i => i.src);
      const done = document.querySelector('.peerscale-week').textContent !== week
        && now.length === before.length && now.every((src, k) => src !== before[k]);
      if (done) resolve(); else requestAnimationFrame(check);
    };
    check();
  });
  // the new images decoded and laid out
  await Promise.all(images().map(i => i.decode().catch(() => null)));
  return (performance.now() - started) / 1000;
}
"""


def _summary(name: str, seconds: list[float], extra: str = "") -> str:
    return (f"  {name:<8} Step + redraw {statistics.median(seconds):.3f} s median, "
            f"{max(seconds):.3f} s slowest of {len(seconds)}{extra}")


def direct(agents: int, steps: int) -> None:
    """Board.step(): the model's week and the redraw of every figure."""
    from simulation.config.schema import Scenario
    from simulation.dashboard.board import Board

    scenario = Scenario().with_overrides({"population.size": agents, "run.steps": steps + 2})
    board = Board([scenario], [scenario.program.structure])
    board.step()  # warm-up
    totals, model_only = [], []
    for _ in range(steps):
        started = time.perf_counter()
        board.step()
        totals.append(time.perf_counter() - started)
    probe = Board([scenario], [scenario.program.structure])
    for _ in range(steps):
        started = time.perf_counter()
        probe.models[0].step()
        model_only.append(time.perf_counter() - started)
    redraw = statistics.median(totals) - statistics.median(model_only)
    print(_summary("direct", totals, f" (model step {statistics.median(model_only):.3f} s, "
                   f"redraw of {len(board.charts)} figures {redraw:.3f} s)"))


def page(agents: int, steps: int) -> None:
    """The page rendered in-process; the Step button clicked."""
    import ipyvuetify as v
    import solara

    from simulation.dashboard import app, session

    session.reset_session()
    session.texts.value = {**session.texts.value, "population.size": str(agents),
                           "run.steps": str(steps + 2)}
    _, rc = solara.render(app.Page(), handle_error=False)
    while session.busy.value or session._work.pending or session.board.value is None:
        time.sleep(0.05)
    if session.board.value.scenarios[0].population.size != agents:
        session.apply()
    button = rc.find(v.Btn, class_="peerscale-step").widget
    button.click()  # warm-up
    clicks = []
    for _ in range(steps):
        started = time.perf_counter()
        button.click()  # returns once the week ran and the page re-rendered
        clicks.append(time.perf_counter() - started)
    rc.close()
    print(_summary("page", clicks))


def browser(agents: int, steps: int) -> None:
    """The served page in Debian's Chromium, timed in the page from click to new figures."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.test_dashboard_browser import CHROMIUM, CHROMIUM_FLAGS, Dashboard

    server = Dashboard()
    try:
        server.wait_ready()
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                  args=CHROMIUM_FLAGS)
            tab = chromium.new_page(viewport={"width": 1440, "height": 900})
            tab.goto(f"{server.url}?population.size={agents}&run.steps={steps + 2}")
            tab.locator("img.peerscale-panel-skill").wait_for(timeout=180_000)
            tab.locator(".peerscale-busy").wait_for(state="detached", timeout=180_000)
            time.sleep(1.0)  # the width report and any redraw for it
            tab.locator(".peerscale-busy").wait_for(state="detached", timeout=180_000)
            tab.evaluate(PANELS_JS)  # warm-up
            seconds = [tab.evaluate(PANELS_JS) for _ in range(steps)]
            chromium.close()
        print(_summary("browser", seconds, " (1440x900, Chromium headless)"))
    finally:
        server.stop()


def main() -> None:
    """Measure Step + redraw for each population size, three ways (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=10, help="timed weeks per method")
    parser.add_argument("--no-browser", action="store_true", help="skip the browser measurement")
    args = parser.parse_args()

    import numba

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores: {os.cpu_count()}, numba threads: {numba.get_num_threads()}, "
          f"load average (1 min) at start: {load:.2f}")
    for agents in args.agents:
        print(f"{agents:,} learners (mixed, schema defaults):")
        direct(agents, args.steps)
        page(agents, args.steps)
        if not args.no_browser:
            browser(agents, args.steps)


if __name__ == "__main__":
    main()
