"""Every page of the real app loads in Chromium: no Python exception, no JavaScript error,
its title is shown. Screenshots land in tests/artifacts/screenshots/."""

import pytest

from explorer.i18n import t
from explorer.ui.app_setup import PAGES

pytestmark = pytest.mark.browser

# (screenshot name, URL path, heading the page must show)
TARGETS = [("home", "", t("app.title"))] + [(p.url_path, p.url_path, p.title) for p in PAGES]


@pytest.mark.parametrize("name, url_path, title", TARGETS, ids=[t[0] for t in TARGETS])
def test_page_loads(app_server, page, wait_for_app, screenshot, name, url_path, title):
    page.goto(f"{app_server}/{url_path}")
    wait_for_app(page)
    screenshot(page, name, full_page=True)

    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.js_errors == []
    heading = page.locator("[data-testid='stMain'] h1").filter(has_text=title)
    assert heading.first.is_visible(), f"no visible heading {title!r} on /{url_path}"


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
