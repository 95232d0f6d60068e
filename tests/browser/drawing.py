"""Drawing on the streamlit-drawable-canvas with real mouse events, for the browser tests."""

from __future__ import annotations

SLOW = 180_000  # ms: two shared cores


def canvas_locator(page, timeout_ms: float = SLOW):
    """The drawing surface: in the page (components v2) or inside the component's iframe.
    Polls for either, since count() does not wait for the component to load."""
    direct = page.locator("canvas.upper-canvas")
    framed = page.frame_locator("iframe").first.locator("canvas.upper-canvas")
    for _ in range(int(timeout_ms / 250)):
        if direct.count():
            return direct.first
        if page.locator("iframe").count() and framed.count():
            return framed.first
        page.wait_for_timeout(250)
    raise AssertionError("no drawing canvas on the page")


def draw_seven(page, canvas) -> None:
    """A '7' as a student draws it: across the top, then down to the bottom left."""
    canvas.wait_for(timeout=SLOW)
    box = canvas.bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x0 + 0.28 * w, y0 + 0.2 * h)
    page.mouse.down()
    for step in range(1, 16):
        page.mouse.move(x0 + (0.28 + 0.44 * step / 15) * w, y0 + 0.2 * h)
    for step in range(1, 21):
        page.mouse.move(x0 + (0.72 - 0.3 * step / 20) * w, y0 + (0.2 + 0.65 * step / 20) * h)
    page.mouse.up()
