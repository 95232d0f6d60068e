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


def wait_for_the_pen(page, canvas, timeout_ms: float = SLOW) -> None:
    """Hover the canvas until it shows the pen's crosshair, as a student waits for it. The canvas
    element exists before the component has switched on its drawing tool (after loading the
    initial drawing, asynchronously); a stroke drawn in that moment is lost, so the app never
    hears of it. On a busy machine that moment lasts long enough for a test to fall into."""
    canvas.wait_for(timeout=timeout_ms)
    for _ in range(int(timeout_ms / 250)):
        box = canvas.bounding_box()
        if box:
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            if canvas.evaluate("element => element.style.cursor") == "crosshair":
                return
        page.wait_for_timeout(250)
    raise AssertionError("the canvas never switched on its pen")


# Pixels of the canvas's drawing layer unlike its first (corner) pixel: the ink of the strokes.
_INK_PIXELS_JS = """upper => {
    const layer = upper.parentElement.querySelector("canvas.lower-canvas");
    const pixels = layer.getContext("2d").getImageData(0, 0, layer.width, layer.height).data;
    let ink = 0;
    for (let i = 0; i < pixels.length; i += 4)
        for (let channel = 0; channel < 4; channel++)
            if (Math.abs(pixels[i + channel] - pixels[channel]) > 64) { ink++; break; }
    return ink;
}"""


def ink_pixels(canvas) -> int:
    return canvas.evaluate(_INK_PIXELS_JS)


def _move_through(page, canvas, corners: list[tuple[float, float]], steps: int) -> None:
    """Press, move through `corners` (fractions of the canvas) in `steps` moves per leg, release."""
    box = canvas.bounding_box()
    points = [(x0 + (x1 - x0) * step / steps, y0 + (y1 - y0) * step / steps)
              for (x0, y0), (x1, y1) in zip(corners, corners[1:]) for step in range(1, steps + 1)]
    page.mouse.move(box["x"] + corners[0][0] * box["width"], box["y"] + corners[0][1] * box["height"])
    page.mouse.down()
    for x, y in points:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
    page.mouse.up()


def draw_stroke(page, canvas, corners: list[tuple[float, float]], steps: int = 15) -> None:
    """One stroke through `corners` (fractions of the canvas), in small mouse moves as a hand draws,
    once the canvas shows its pen. A stroke that never shows on the canvas (the browser dropped the
    gesture on a busy machine) is drawn again, as a student would; whether the app answers a stroke
    that shows is for the test to check."""
    for _attempt in range(3):
        wait_for_the_pen(page, canvas)
        ink_before = ink_pixels(canvas)
        _move_through(page, canvas, corners, steps)
        for _ in range(20):
            if ink_pixels(canvas) > ink_before:
                return
            page.wait_for_timeout(250)
    raise AssertionError("three strokes in a row never showed on the canvas")


def draw_seven(page, canvas) -> None:
    """A '7' as a student draws it: across the top, then down to the bottom left."""
    draw_stroke(page, canvas, [(0.28, 0.2), (0.72, 0.2), (0.42, 0.85)], steps=18)
