"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

The tests start `peerscale dashboard` on a free port of 127.0.0.1, as a user would, and use it
the way a person does: type into the boxes, pick from the menus, press Reset and Step. They are
skipped (with the reason) where /usr/bin/chromium, the playwright package or the offline assets
are missing; `.ci/setup-dashboard.sh` installs all three. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from simulation import load

from .helpers import ROOT, SCENARIOS

CHROMIUM = Path("/usr/bin/chromium")
# Never a browser download, never a call home: Debian's Chromium with its background traffic off.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
SMALL = "2000"  # learners in every model the tests build
WAIT_MS = 60_000  # first page load may compile the numba kernels on a cold cache


def _why_skip() -> str | None:
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing: run `bash .ci/setup-dashboard.sh` (installs Debian's chromium)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[test]'"
    from simulation.dashboard import offline_assets

    absent = offline_assets.missing()
    if absent:
        return (
            f"offline assets missing ({', '.join(a.spec for a in absent)}): "
            "run `python -m simulation.dashboard.offline_assets`"
        )
    return None


_SKIP = _why_skip()
pytestmark = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dashboard:
    """A `peerscale dashboard` process on 127.0.0.1 and what it printed."""

    def __init__(self):
        self.port = _free_port()
        env = os.environ | {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulation.cli", "dashboard", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    @property
    def url(self) -> str:
        """The address the server was asked to listen on."""
        return f"http://127.0.0.1:{self.port}/"

    def wait_ready(self, timeout: float = 60.0) -> str:
        """Wait for the printed URL and an HTTP 200; return the printed line."""
        deadline = time.monotonic() + timeout
        printed = ""
        while not printed:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no URL printed in {timeout:.0f} s: {''.join(self.output)}"
                ) from None
            if self.url in line:
                printed = line
        while urllib.request.urlopen(self.url, timeout=10).status != 200:
            time.sleep(0.2)
        return printed

    def interrupt(self, timeout: float = 20.0) -> int:
        """Ctrl-C, as a person stops it; the exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def stop(self) -> None:
        """Kill the server if it still runs, and close its output."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.reader.join(timeout=10)  # the pipe is at its end once the process is gone
        self.process.stdout.close()


def expect(locator):
    """Playwright's retrying assertions (imported late: the module loads without playwright)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def dashboard():
    """One dashboard server for the module's tests."""
    server = Dashboard()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright (no browser of Playwright's own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, dashboard):
    """Open the dashboard in a new browser context (a new session, as another person)."""
    contexts = []

    def open_():
        # Tall enough for all six panels in one screenshot (the page scrolls inside its layout).
        context = browser.new_context(viewport={"width": 1400, "height": 1750})
        contexts.append(context)
        page = context.new_page()
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.goto(dashboard.url)
        page.locator("img.peerscale-panel-pyramid").wait_for(timeout=WAIT_MS)
        return page

    yield open_
    for context in contexts:
        context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def _type(page, label_start: str, text: str) -> None:
    box = page.get_by_label(label_start, exact=False).first
    box.fill(text)
    box.press("Enter")  # solara's text boxes apply on Enter


def _choose(page, label: str, option: str) -> None:
    page.locator(".v-select", has=page.locator("label", has_text=label)).first.locator(
        ".v-select__slot"
    ).click()
    page.locator(".menuable__content__active").get_by_role(
        "option", name=option, exact=True
    ).click()


def _press(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def _week(page, week: int) -> None:
    page.get_by_text(f"Step: {week}", exact=True).wait_for(timeout=WAIT_MS)


def _small_model(page) -> None:
    """Rebuild the session's model at 2,000 learners (Reset applies the controls)."""
    _type(page, "Population", SMALL)
    _press(page, "Reset")
    page.locator(".peerscale-summary", has_text="2,000 learners").wait_for(timeout=WAIT_MS)


def test_page_loads_with_the_pyramid_and_fetches_nothing_from_outside(open_page, dashboard):
    """Every figure shows, and every URL the page asks for is served by the dashboard itself."""
    page = open_page()
    for name in ("pyramid", "skill", "retention", "gains", "expert_load", "expert_gain"):
        page.locator(f"img.peerscale-panel-{name}").wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle")
    _shot(page, "loaded")
    assert page.locator("img.peerscale-panel-pyramid").bounding_box()["height"] > 100
    outside = [u for u in page.requests if not u.startswith((dashboard.url, "blob:", "data:"))]
    assert outside == []
    assert any("/_solara/cdn/" in u for u in page.requests)  # the cache filled by offline_assets


def test_step_advances_the_week_and_redraws_the_pyramid(open_page):
    """Step moves the counter from week 0 to 1 and the pyramid image changes."""
    page = open_page()
    _small_model(page)
    _week(page, 0)
    pyramid = page.locator("img.peerscale-panel-pyramid")
    before = pyramid.get_attribute("src")
    _press(page, "Step")
    _week(page, 1)
    page.wait_for_function(
        "before => document.querySelector('img.peerscale-panel-pyramid').src !== before", arg=before
    )
    page.locator(".peerscale-summary", has_text="Week 1 of").wait_for()
    _shot(page, "stepped")


def test_reset_rebuilds_the_model_with_the_chosen_structure(open_page):
    """Changing the structure and pressing Reset runs the new structure from week 0."""
    page = open_page()
    _small_model(page)
    _press(page, "Step")
    _week(page, 1)
    _choose(page, "Structure", "expert_only")
    _press(page, "Reset")
    page.locator(".peerscale-summary", has_text="expert_only from").wait_for(timeout=WAIT_MS)
    _week(page, 0)
    assert "2,000 learners" in page.locator(".peerscale-summary").inner_text()
    _shot(page, "expert-only")


def test_two_browser_sessions_step_independently(open_page):
    """Each session has its own model: stepping one leaves the other at its own week."""
    first, second = open_page(), open_page()
    _small_model(first)
    _small_model(second)
    _press(first, "Step")
    _week(first, 1)
    _press(first, "Step")
    _week(first, 2)
    assert second.get_by_text("Step: 0", exact=True).is_visible()
    _press(second, "Step")
    _week(second, 1)
    assert first.get_by_text("Step: 2", exact=True).is_visible()
    assert second.get_by_text("Step: 1", exact=True).is_visible()


def test_a_bad_seed_shows_a_message_keeps_the_model_and_the_server(open_page, dashboard):
    """Text in the seed box: a message, the model stays at its week, the server keeps serving."""
    page = open_page()
    _small_model(page)
    _press(page, "Step")
    _week(page, 1)
    _type(page, "Seed", "forty-two")
    _press(page, "Reset")
    message = page.locator(".peerscale-message")
    message.wait_for(timeout=WAIT_MS)
    assert "Seed: invalid value 'forty-two'" in message.inner_text()
    _week(page, 1)  # the last valid model, unchanged
    _shot(page, "bad-seed")
    _press(page, "Step")
    _week(page, 2)  # and it still runs
    assert dashboard.process.poll() is None
    another = open_page()
    assert another.get_by_text("Step: 0", exact=True).is_visible()
    _type(page, "Seed", "42")
    _press(page, "Reset")
    page.locator(".peerscale-summary", has_text="seed 42").wait_for(timeout=WAIT_MS)
    assert page.locator(".peerscale-message").count() == 0


def test_a_scenario_file_is_a_starting_point(open_page):
    """Choosing peer_only.toml loads it and fills the controls with its values."""
    page = open_page()
    _choose(page, "Scenario file", "peer_only.toml")
    page.locator(".peerscale-summary", has_text="peer_only from peer_only.toml").wait_for(
        timeout=WAIT_MS
    )
    structure = page.locator(".v-select", has=page.locator("label", has_text="Structure")).first
    expect(structure).to_contain_text("peer_only")
    expect(page.get_by_label("Population", exact=False).first).to_have_value(
        str(load(SCENARIOS / "peer_only.toml").population.size)
    )
    _shot(page, "peer-only-file")


def test_ctrl_c_stops_the_dashboard_cleanly():
    """`peerscale dashboard` prints its URL, serves, and exits 0 on Ctrl-C."""
    server = Dashboard()
    try:
        printed = server.wait_ready()
        assert printed.startswith("PeerScale dashboard: http://127.0.0.1:")
        assert server.interrupt() == 0
        assert "dashboard stopped" in "".join(server.output)
        assert "Traceback" not in "".join(server.output)
    finally:
        server.stop()
