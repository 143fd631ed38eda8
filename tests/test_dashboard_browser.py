"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

The tests start `peerscale dashboard` on a free port of 127.0.0.1, as a user would, and use it
the way a person does: type into the boxes, pick from the menus, press Reset and Step, download.
One server and one browser serve the whole module; each test opens its own session (a new
browser context). Models are small (`?population.size=2000` in the address). They are skipped
(with the reason) where /usr/bin/chromium, the playwright package or the offline assets are
missing; `.ci/setup-dashboard.sh` installs all three. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from simulation.config.schema import field_info

from .helpers import ROOT, SCENARIOS, run_cli

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
SMALL = "population.size=2000"  # in the address: every model the tests build is small
WAIT_MS = 90_000  # a first start may compile the numba kernels


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

    def __init__(self, scenarios: Path | None = None, mesa: bool = False):
        self.port = _free_port()
        env = os.environ | {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false", "PYTHONUNBUFFERED": "1"}
        if scenarios is not None:
            env["PEERSCALE_SCENARIOS"] = str(scenarios)
        command = ["dashboard", "--port", str(self.port)] + (["--mesa"] if mesa else [])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulation.cli", *command],
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
def scenario_folder(tmp_path_factory) -> Path:
    """The shipped scenario files, plus one that cannot be read."""
    folder = tmp_path_factory.mktemp("scenarios")
    for path in SCENARIOS.glob("*.toml"):
        shutil.copy(path, folder / path.name)
    (folder / "broken.toml").write_text("[population\nsize = 10\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def dashboard(scenario_folder):
    """One dashboard server for the module's tests."""
    server = Dashboard(scenario_folder)
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

    def open_(query: str = SMALL, width: int = 1440, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.goto(dashboard.url + ("?" + query if query else ""))
        page.locator("img.peerscale-panel-skill").wait_for(timeout=WAIT_MS)
        _idle(page)
        return page

    yield open_
    for context in contexts:
        context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def _idle(page) -> None:
    """Wait until the session says it is busy with nothing."""
    page.locator(".peerscale-busy").wait_for(state="detached", timeout=WAIT_MS)


def _box(page, label_start: str):
    return page.locator(".v-text-field", has=page.locator("label", has_text=label_start)).first


def _type(page, label_start: str, text: str) -> None:
    field = _box(page, label_start).locator("input")
    field.fill(text)
    field.press("Enter")  # solara's text boxes apply on Enter


def _choose(page, label: str, option: str) -> None:
    page.locator(".v-select", has=page.locator("label", has_text=label)).first.locator(
        ".v-select__slot"
    ).click()
    page.locator(".menuable__content__active").get_by_role(
        "option", name=option, exact=True
    ).click()


def _press(page, name: str) -> None:
    page.locator(f".peerscale-{name}").click()


def _image_digest(page, name: str) -> list[int]:
    """The length and a hash of the PNG a figure shows (its blob address changes each load)."""
    return page.evaluate(
        """async (name) => {
            const img = document.querySelector('img.peerscale-panel-' + name);
            const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
            let hash = 0;
            for (const b of bytes) hash = (hash * 31 + b) >>> 0;
            return [bytes.length, hash];
        }""",
        name,
    )


def _week(page, week: int, of: int = 26) -> None:
    expect(page.locator(".peerscale-week")).to_have_text(f"Week {week} of {of}", timeout=WAIT_MS)


def test_page_explains_itself_without_leftovers_or_outside_requests(open_page, dashboard):
    """Intro, help under every control and docs links; no Mesa leftovers, badge or CDN request."""
    page = open_page()
    for name in ("pyramid", "skill", "retention", "gains", "expert_load", "expert_gain"):
        expect(page.locator(f"img.peerscale-panel-{name}")).to_be_visible()
    expect(page.locator(".peerscale-intro")).to_contain_text("expertise pyramid")
    expect(page.locator(".peerscale-intro")).to_contain_text("1 calibrated")
    meaning = field_info("learning.optimal_gap").description  # the help is the schema's meaning
    expect(_box(page, "Optimal gap Z")).to_contain_text(meaning)
    expect(page.locator("a[href='?doc=ODD.md']").first).to_be_visible()
    text = page.locator("body").inner_text()
    for leftover in ("Page 0", "PAGE 0", "Play Interval", "Render Interval", "Use Threads",
                     "Step:", "runs on Solara"):
        assert leftover not in text
    assert page.locator(".v-tab").count() == 0
    page.wait_for_load_state("networkidle")
    _shot(page, "loaded")
    outside = [u for u in page.requests if not u.startswith((dashboard.url, "blob:", "data:"))]
    assert outside == []
    assert any("/_solara/cdn/" in u for u in page.requests)  # the cache filled by offline_assets


def test_step_redraws_the_figures_and_moves_the_week(open_page):
    """Step moves the week from 0 to 1 and every figure is redrawn."""
    page = open_page()
    _week(page, 0)
    before = {n: page.locator(f"img.peerscale-panel-{n}").get_attribute("src")
              for n in ("pyramid", "skill")}
    _press(page, "step")
    _week(page, 1)
    for name, src in before.items():
        page.wait_for_function(
            "([name, src]) => document.querySelector('img.peerscale-panel-' + name).src !== src",
            arg=[name, src],
        )
    expect(page.locator(".peerscale-panel-tools").first).to_contain_text("PNG")


def test_a_changed_box_is_pending_until_reset_and_a_bad_one_is_marked_in_place(
    open_page, dashboard
):
    """A changed seed says 'press Reset to apply'; a bad seed is marked at its box, the run kept."""
    page, other = open_page(), open_page()
    _press(page, "step")
    _week(page, 1)
    _type(page, "Seed", "9")
    expect(_box(page, "Seed")).to_have_class(re.compile("peerscale-pending"))
    expect(_box(page, "Seed")).to_contain_text("press Reset to apply")
    expect(page.locator(".peerscale-pending-note")).to_contain_text("Seed")
    _press(page, "reset")
    _week(page, 0)
    expect(page.locator(".peerscale-summary")).to_contain_text("seed 9")
    expect(page.locator(".peerscale-pending-note")).to_have_count(0)
    _press(page, "step")
    _week(page, 1)
    _type(page, "Seed", "forty-two")
    expect(_box(page, "Seed")).to_have_class(re.compile("error--text"))
    expect(_box(page, "Seed")).to_contain_text("invalid value 'forty-two': allowed 0 to 2^62")
    _shot(page, "bad-seed")
    _press(page, "reset")
    expect(page.locator(".peerscale-message")).to_contain_text("Seed: invalid value 'forty-two'")
    _week(page, 1)  # the run on screen is kept
    _press(page, "step")
    _week(page, 2)
    _week(other, 0)  # another session is untouched
    assert dashboard.process.poll() is None


def test_the_comparison_steps_three_configurations_on_shared_axes(open_page):
    """Compare shows expert_only, peer_only and mixed side by side and steps them together."""
    page = open_page()
    page.locator(".peerscale-view-compare").click()
    page.locator("img.peerscale-panel-pyramid-2").wait_for(timeout=WAIT_MS)
    _idle(page)
    header = page.locator(".peerscale-numbers thead")
    for name in ("expert_only", "peer_only", "mixed"):
        expect(header).to_contain_text(name)
    _press(page, "step")
    _week(page, 1)
    expect(page.locator(".peerscale-numbers thead")).to_contain_text("At week 1")
    boxes = [page.locator(f"img.peerscale-panel-pyramid-{i}").bounding_box() for i in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"]  # side by side at 1440 px
    assert "view=compare" in page.url and "config=expert_only" in page.url
    _shot(page, "compare")


def test_exports_run_with_peerscale_run_and_reproduce_the_week(open_page, tmp_path):
    """The downloaded scenario runs unchanged; its replicate 0 equals the downloaded metrics."""
    import pandas as pd

    page = open_page(SMALL + "&run.steps=5&run.seed=3")
    for _ in range(2):
        _press(page, "step")
    _week(page, 2, of=5)
    downloads = {}
    for label in ("Scenario (TOML)", "Metrics (CSV)"):
        with page.expect_download() as info:
            page.get_by_role("button", name=label).click()
        downloads[label] = tmp_path / info.value.suggested_filename
        info.value.save_as(downloads[label])
    done = run_cli("run", str(downloads["Scenario (TOML)"]), "--replicates", "1",
                   "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    ran = pd.read_parquet(tmp_path / "out" / "metrics.parquet")
    ran = ran[ran["step"] <= 2].reset_index(drop=True)
    shown = pd.read_csv(downloads["Metrics (CSV)"])
    assert len(shown) == 3
    for column in shown.columns:
        assert shown[column].tolist() == ran[column].tolist(), column


def test_a_refused_file_leaves_the_menu_on_the_file_shown(open_page):
    """broken.toml is refused beside the menu, which keeps showing the file on screen."""
    page = open_page()
    menu = page.locator(".peerscale-starting-point")
    _choose(page, "Starting point", "peer_only.toml")
    summary = page.locator(".peerscale-summary")
    expect(summary).to_contain_text("from peer_only.toml", timeout=WAIT_MS)
    _choose(page, "Starting point", "broken.toml (cannot be read)")
    expect(menu).to_contain_text("broken.toml was not loaded: ")
    expect(menu.locator(".v-select__selection")).to_have_text("peer_only.toml")
    expect(page.locator(".peerscale-summary")).to_contain_text("from peer_only.toml")
    _choose(page, "Starting point", "billion.toml (scaled to 1,000,000 learners)")
    expect(page.locator(".peerscale-summary")).to_contain_text("1,000,000 learners",
                                                               timeout=WAIT_MS)
    expect(menu).to_contain_text("sets 1,000,000,000 learners")


def test_on_a_phone_the_figures_fill_the_screen_and_the_settings_drawer_closes(open_page):
    """At 390 px the drawer starts closed, opens from the app bar and closes again."""
    page = open_page(width=390, height=844)
    drawer = page.locator(".peerscale-drawer")
    expect(drawer).not_to_be_in_viewport()
    assert page.locator("img.peerscale-panel-skill").bounding_box()["width"] <= 390
    page.locator(".peerscale-menu").click()
    expect(drawer).to_be_in_viewport()
    _shot(page, "phone-drawer")
    page.locator(".peerscale-close").click()
    expect(drawer).not_to_be_in_viewport()
    page.locator(".peerscale-menu").click()
    expect(drawer).to_be_in_viewport()
    page.mouse.click(380, 600)  # the dimmed page beside the drawer
    expect(drawer).not_to_be_in_viewport()
    _press(page, "step")
    _week(page, 1)


@pytest.mark.parametrize(("width", "beside"), [(940, False), (1100, True)])
def test_the_settings_drawer_stands_beside_the_figures_from_960_px(open_page, width, beside):
    """From 960 px the drawer starts open beside the figures; below, closed over them.

    1100 px lies between the page's breakpoint (960 px) and Vuetify's own default (1264 px), so
    a breakpoint the drawer ignores (a misspelt keyword once did) fails here at 1100 px.
    """
    page = open_page(width=width, height=900)
    drawer = page.locator(".peerscale-drawer")
    main = page.locator(".peerscale-main").bounding_box()  # the run bar and the figures
    if beside:
        expect(drawer).to_be_in_viewport()
        box = drawer.bounding_box()
        assert main["x"] >= box["x"] + box["width"]  # beside the drawer, not under it
    else:
        expect(drawer).not_to_be_in_viewport()
        assert main["x"] == 0 and main["width"] > width - 30  # the whole width (a scrollbar)
        page.locator(".peerscale-menu").click()
        expect(drawer).to_be_in_viewport()


def test_a_reload_restores_the_settings_and_the_week_from_the_address(open_page):
    """The address carries the applied settings and week; reloading shows the same run."""
    page = open_page()
    _type(page, "Seed", "5")
    _choose(page, "Agency", "2 active")
    _press(page, "reset")
    expect(page.locator(".peerscale-summary")).to_contain_text("seed 5")
    for week in (1, 2):
        _press(page, "step")
        _week(page, week)
    page.wait_for_function("() => location.search.includes('week=2')")
    assert "run.seed=5" in page.url and "program.agency=2" in page.url
    pyramid = _image_digest(page, "pyramid")
    page.reload()
    page.locator("img.peerscale-panel-skill").wait_for(timeout=WAIT_MS)
    _idle(page)
    _week(page, 2)
    expect(_box(page, "Seed").locator("input")).to_have_value("5")
    expect(page.locator(".peerscale-summary")).to_contain_text("agency 2 active")
    assert _image_digest(page, "pyramid") == pyramid  # the same figure, byte for byte


def test_the_docs_open_on_the_dashboard_s_own_server(browser, dashboard):
    """The ODD link shows the model description, fetched from nowhere else."""
    context = browser.new_context()
    try:
        page = context.new_page()
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(dashboard.url + "?doc=ODD.md")
        expect(page.locator(".peerscale-doc h1")).to_contain_text("ODD", timeout=WAIT_MS)
        expect(page.locator(".peerscale-doc a[href='?doc=parameters.md']").first).to_be_visible()
        outside = [u for u in requests if not u.startswith((dashboard.url, "blob:", "data:"))]
        assert outside == []
    finally:
        context.close()


def test_the_mesa_view_steps_its_own_model_and_redraws_the_figures(browser):
    """`peerscale dashboard --mesa`: Mesa's SolaraViz loads offline, Step redraws the figures.

    A second browser session has a model of its own: the first one's Step leaves it at week 0.
    """
    server = Dashboard(mesa=True)
    contexts = []
    try:
        server.wait_ready()
        pages = []
        for _ in range(2):
            contexts.append(browser.new_context(viewport={"width": 1440, "height": 900}))
            page = contexts[-1].new_page()
            page.requests = []
            page.on("request", lambda request, page=page: page.requests.append(request.url))
            page.goto(server.url)
            page.locator("img.peerscale-panel-skill").wait_for(timeout=WAIT_MS)
            pages.append(page)
        page, other = pages
        expect(page.get_by_text("Step: 0")).to_be_visible()
        pyramid = page.locator("img.peerscale-panel-pyramid")
        before = pyramid.get_attribute("src")
        page.get_by_role("button", name="Step").click()
        expect(page.get_by_text("Step: 1")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator(".peerscale-summary")).to_contain_text("Week 1 of 26")
        page.wait_for_function(
            "src => document.querySelector('img.peerscale-panel-pyramid').src !== src",
            arg=before,
        )
        expect(pyramid).to_be_visible()
        _shot(page, "mesa-view")
        expect(other.get_by_text("Step: 0")).to_be_visible()
        outside = [u for u in page.requests
                   if not u.startswith((server.url, "blob:", "data:"))]
        assert outside == []
        assert server.process.poll() is None
    finally:
        for context in contexts:
            context.close()
        server.stop()


def test_ctrl_c_stops_the_dashboard_cleanly():
    """`peerscale dashboard` says it prepares the kernels, prints its URL, exits 0 on Ctrl-C."""
    server = Dashboard()
    try:
        printed = server.wait_ready()
        assert printed.startswith("PeerScale dashboard: http://127.0.0.1:")
        deadline = time.monotonic() + WAIT_MS / 1000
        while "kernels ready in" not in "".join(server.output) and time.monotonic() < deadline:
            time.sleep(0.2)
        output = "".join(server.output)
        assert "preparing the simulation kernels" in output and "kernels ready in" in output
        assert server.interrupt() == 0
        assert "dashboard stopped" in "".join(server.output)
        assert "Traceback" not in "".join(server.output)
    finally:
        server.stop()
