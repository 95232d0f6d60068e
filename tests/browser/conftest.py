"""Browser fixtures: the real app server, Debian's Chromium driven by Playwright, and helpers.

Playwright drives /usr/bin/chromium (never `playwright install`, which downloads a browser).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SCREENSHOT_DIR = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    # Without these, Chromium keeps trying to reach Google's services, which this
    # network refuses (many failed connections at every start).
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Generous: a real page may compute for a while on its first run (Receptive fields trains two
# small nets, capped at 90 s), and 2 busy cores are slower still.
TIMEOUT_MS = 180_000

_server_logs: list[Path] = []


@pytest.fixture(scope="session")
def app_server(streamlit_server):
    """Base URL (http://127.0.0.1:PORT) of `streamlit run explorer/Home.py`, for the session."""
    try:
        with streamlit_server(timeout=60) as server:
            _server_logs.append(server.log_path)
            yield server.url
    except RuntimeError as exc:  # did not start: its log is in the message
        pytest.fail(str(exc), pytrace=False)


def pytest_terminal_summary(terminalreporter, exitstatus):
    """When a browser test failed, show the app server's log (the app's tracebacks land there)."""
    here = Path(__file__).resolve().parent
    root = terminalreporter.config.rootpath
    reports = terminalreporter.stats.get("failed", []) + terminalreporter.stats.get("error", [])
    if not any(here in (root / r.nodeid.split("::")[0]).resolve().parents for r in reports):
        return
    for path in _server_logs:
        if path.exists():
            terminalreporter.write_sep("-", f"streamlit server log ({path})")
            terminalreporter.write_line(path.read_text(errors="replace")[-20_000:])


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser(require):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package is missing: pip install -r requirements-dev.txt")
    exe = chromium_path()
    require(exe, "Chromium is missing: apt-get install chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _ignorable(msg) -> bool:
    """Console errors that say nothing about the app, each with the reason."""
    url = (msg.location or {}).get("url", "")
    if "Failed to load resource" in msg.text:
        # On a page URL such as /train, Streamlit's frontend first looks for the server
        # under that path (/train/_stcore/health, /train/_stcore/host-config), gets a 404,
        # then uses the root. Normal on every page but the home page.
        if url.endswith(("/_stcore/health", "/_stcore/host-config")):
            return True
        # Chromium asks for /favicon.ico on its own; the app's icon comes from page_icon.
        if url.endswith("/favicon.ico"):
            return True
    return False


@pytest.fixture
def page(browser):
    """A fresh page (own context, 1400x900, 180 s default timeout). `page.js_errors` lists console errors and
    uncaught exceptions, less the documented noise in _ignorable()."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    _watch_errors(pg)
    yield pg
    context.close()


# The app is idle when, all at once: Streamlit 1.67 marks its root as connected and not running
# the script, the "Running..." status widget is gone, no element is left stale from the previous
# run, and no lazily loaded element (widget, component) still shows its placeholder skeleton.
_APP_STATE_JS = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    const widget = document.querySelector("[data-testid='stStatusWidget']");
    return {
        script: app ? app.dataset.testScriptState : null,
        connection: app ? app.dataset.testConnectionState : null,
        statusWidget: !!widget && widget.getClientRects().length > 0,
        stale: document.querySelectorAll("[data-stale='true']").length,
        skeletons: document.querySelectorAll("[data-testid='stSkeleton']").length,
    };
}"""
_APP_IDLE_JS = f"""() => {{
    const s = ({_APP_STATE_JS})();
    return s.script === "notRunning" && s.connection === "CONNECTED" && !s.statusWidget
        && s.stale === 0 && s.skeletons === 0;
}}"""


# The script has run ("initial" until a run begins) and every element it sent is drawn, lazily
# loaded ones (charts, widgets) perhaps still as placeholders: an exception box is never lazy.
_RUN_DRAWN_JS = f"""() => {{
    const s = ({_APP_STATE_JS})();
    return s.script === "notRunning" && s.connection === "CONNECTED" && s.stale === 0;
}}"""


def _wait_for(page, predicate_js: str, what: str, timeout_ms: float) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        # Timer polling, one JS predicate: cheap, and not tied to animation frames.
        page.wait_for_function(predicate_js, polling=250, timeout=timeout_ms)
    except PlaywrightTimeout:
        state = page.evaluate(_APP_STATE_JS)
        raise AssertionError(f"app not {what} after {timeout_ms / 1000:.0f} s: {state}") from None


def _wait_for_app(page, timeout_ms: float = TIMEOUT_MS) -> None:
    """Wait until Streamlit is connected and has finished running the script."""
    _wait_for(page, _APP_IDLE_JS, "idle", timeout_ms)


@pytest.fixture(scope="session")
def wait_for_app():
    """`wait_for_app(page, timeout_ms=180_000)`: block until the script run has finished.
    After a click that reruns the script, wait for its expected effect first: the app is
    idle for a moment before the rerun starts."""
    return _wait_for_app


@pytest.fixture(scope="session")
def wait_for_run():
    """`wait_for_run(page, timeout_ms=180_000)`: block until the script's run has finished and its
    elements are on the page, without waiting for the code of lazily loaded ones (plotly's is
    megabytes): enough to read what the server sent, such as exception boxes."""
    return lambda page, timeout_ms=TIMEOUT_MS: _wait_for(page, _RUN_DRAWN_JS, "run and drawn", timeout_ms)


def _screenshot(page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    if not full_page:
        page.screenshot(path=str(path))
        return path
    # Streamlit scrolls inside stMain, not the document, so Playwright's full_page sees only
    # the viewport: grow the viewport to the content's height for the shot instead.
    size = page.viewport_size
    height = page.evaluate(
        "() => document.querySelector(\"[data-testid='stMain']\")?.scrollHeight ?? 0")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    page.wait_for_timeout(300)  # let the layout settle
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


@pytest.fixture(scope="session")
def screenshot():
    """`screenshot(page, name, full_page=False) -> Path`: saves
    tests/artifacts/screenshots/NAME.png (gitignored); full_page captures the whole page."""
    return _screenshot


# --- more browser contexts: a window or a phone, several at once -----------------------------

DESKTOP = {"viewport": {"width": 1280, "height": 720}}  # a projector window
PHONE = {  # a phone held upright
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
VIEWPORTS = {"1280x720": DESKTOP, "390x844": PHONE}


def _watch_errors(pg) -> None:
    """Fill `pg.js_errors` with console errors and uncaught exceptions, less the noise in _ignorable()."""
    pg.js_errors = []

    def on_console(msg):
        if msg.type == "error" and not _ignorable(msg):
            pg.js_errors.append(f"console: {msg.text} ({(msg.location or {}).get('url', '')})")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: pg.js_errors.append(f"pageerror: {exc}"))


@pytest.fixture(scope="session")
def viewports() -> dict:
    """{"1280x720": context options, "390x844": phone context options} for `new_page`."""
    return VIEWPORTS


@pytest.fixture
def new_page(browser):
    """`new_page(**context_options) -> page`: a page in its own fresh browser context (its own
    cookies and session), e.g. `new_page(**viewports["390x844"])`; 1400x900 by default. Each has
    `page.js_errors`; every context is closed after the test."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", {"width": 1400, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        pg = context.new_page()
        _watch_errors(pg)
        return pg

    yield make
    for context in contexts:
        context.close()


_EXCEPTIONS_JS = """() => [...document.querySelectorAll("[data-testid='stException']")]
    .map(e => e.innerText.trim().split("\\n").slice(0, 3).join(" | "))"""


@pytest.fixture(scope="session")
def exception_texts():
    """`exception_texts(page) -> list[str]`: the first lines of each exception box on the page."""
    return lambda pg: pg.evaluate(_EXCEPTIONS_JS)
