"""Every page of the real app loads in Chromium: no Python exception, no JavaScript error,
its title is shown. Each load also writes the README's screenshot of the page,
docs/screenshots/<page>.png at 1400x900 (palette-quantised to stay under 300 KB), and the whole
page to tests/artifacts/screenshots/."""

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from explorer.i18n import t
from explorer.ui.app_setup import PAGES
from tests.browser.drawing import SLOW, canvas_locator, draw_seven

pytestmark = pytest.mark.browser

# (screenshot name, URL path, heading the page must show)
TARGETS = [("home", "", t("app.title"))] + [(p.url_path, p.url_path, p.title) for p in PAGES]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
README_SIZE = (1400, 900)  # the `page` fixture's window
MAX_BYTES = 300_000


def save_small(png: bytes, path: Path) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == README_SIZE
    small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    small.save(path, format="PNG", optimize=True)
    return path.stat().st_size


@pytest.mark.parametrize("name, url_path, title", TARGETS, ids=[t[0] for t in TARGETS])
def test_page_loads(app_server, page, wait_for_app, screenshot, name, url_path, title):
    page.goto(f"{app_server}/{url_path}")
    wait_for_app(page, SLOW)
    if name == "home":  # the hero demo with an answer is the picture worth showing
        draw_seven(page, canvas_locator(page, SLOW))
        page.get_by_text(re.compile(r"It's a \d")).first.wait_for(timeout=SLOW)
        wait_for_app(page, SLOW)
    page.wait_for_timeout(1500)  # charts finish their first paint

    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.js_errors == []
    heading = page.locator("[data-testid='stMain'] h1").filter(has_text=title)
    assert heading.first.is_visible(), f"no visible heading {title!r} on /{url_path}"
    size = save_small(page.screenshot(), DOCS / f"{name}.png")
    assert size < MAX_BYTES, f"{name}.png is {size} bytes"
    screenshot(page, name, full_page=True)


def test_home_links_open_pages(app_server, page, wait_for_app):
    page.goto(app_server)
    wait_for_app(page)
    for info in PAGES:
        page.locator("[data-testid='stMain'] [data-testid='stPageLink']").get_by_text(
            info.title, exact=True).click()
        page.locator("[data-testid='stMain'] h1").filter(has_text=info.title).wait_for()
        wait_for_app(page)
        assert page.url.rstrip("/").endswith(f"/{info.url_path}")
        page.go_back()
        page.locator("[data-testid='stMain'] h1").filter(has_text=t("app.title")).wait_for()
        wait_for_app(page)
    assert page.js_errors == []


@pytest.mark.parametrize("name, url_path, title", TARGETS, ids=[t[0] for t in TARGETS])
def test_page_loads_in_presenter_mode(app_server, page, wait_for_app, screenshot, name, url_path, title):
    """present=1 at 1280x720: the page runs, its heading is on the first screen, Streamlit's header
    bar and the sidebar are out of the way (the sidebar's button still opens it)."""
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{app_server}/{url_path}?present=1")
    wait_for_app(page)
    screenshot(page, f"{name}_present")
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.js_errors == []
    heading = page.locator("[data-testid='stMain'] h1").filter(has_text=title).first
    assert heading.is_visible() and heading.bounding_box()["y"] < 200
    style = page.evaluate("""() => ({
        header: getComputedStyle(document.querySelector("[data-testid='stHeader']")).backgroundColor,
        top: parseFloat(getComputedStyle(document.querySelector("[data-testid='stMainBlockContainer']")).paddingTop),
    })""")
    assert style["header"] == "rgba(0, 0, 0, 0)" and style["top"] < 40, style  # no header bar, little blank above
    assert page.locator("[data-testid='stMain']").bounding_box()["width"] == page.viewport_size["width"]  # sidebar closed
    assert page.locator("[data-testid='stExpandSidebarButton']").is_visible()  # but can be opened
