"""The Filters & feature maps page in real Chromium: draw a digit with the mouse and get a
prediction, upload a PNG and see its preprocessing steps, upload a corrupt file and see the
message. Screenshots land in tests/artifacts/screenshots/filters_*.png."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.browser

SLOW = 90_000  # ms: the page runs a CNN and draws many charts on two shared cores


def open_page(app_server, page, wait_for_app, source: str):
    page.goto(f"{app_server}/filters")
    wait_for_app(page, SLOW)
    page.locator("[data-testid='stButtonGroup'] button").filter(has_text=source).click()


def assert_clean(page):
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.js_errors == []


def png_bytes(light_background=True) -> bytes:
    image = Image.new("RGB", (200, 240), (240, 236, 228) if light_background else (0, 0, 0))
    draw = ImageDraw.Draw(image)
    ink = (25, 25, 35) if light_background else (255, 255, 255)
    draw.line([(40, 50), (160, 50), (90, 200)], fill=ink, width=16)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(page, name: str, data: bytes, mime: str = "image/png"):
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_draw_a_digit_and_see_a_prediction(app_server, page, wait_for_app, screenshot):
    open_page(app_server, page, wait_for_app, "Draw")
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    page.get_by_text("The drawing is empty").first.wait_for(timeout=SLOW)
    box = canvas.bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    # a '1': one vertical stroke, with mouse events as a student would draw it
    page.mouse.move(x0 + 0.5 * w, y0 + 0.15 * h)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x0 + 0.5 * w, y0 + (0.15 + 0.7 * step / 20) * h)
    page.mouse.up()
    verdict = page.get_by_text(re.compile(r"reads your drawing as \d"))
    verdict.first.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    screenshot(page, "filters_draw")
    assert_clean(page)
    assert page.get_by_text("Preprocessing, step by step").first.is_visible()
    assert page.get_by_text("4. One convolution, number by number").first.is_visible()


def test_upload_a_png_and_see_the_steps(app_server, page, wait_for_app, screenshot):
    open_page(app_server, page, wait_for_app, "Upload")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").wait_for(state="attached", timeout=SLOW)
    upload(page, "seven.png", png_bytes())
    page.get_by_text(re.compile(r"reads your picture as \d")).first.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    screenshot(page, "filters_upload")
    assert_clean(page)
    images = page.locator("[data-testid='stMain'] [data-testid='stImage']")
    assert images.count() == 6
    for caption in ("1. Grayscale", "2. Invert", "3. Crop to the ink", "4. Scale to fit 20x20", "5. Centre of mass"):
        assert page.get_by_text(caption).first.is_visible(), caption
    assert page.get_by_text("so the image was inverted").first.is_visible()


def test_corrupt_upload_shows_a_message(app_server, page, wait_for_app, screenshot):
    open_page(app_server, page, wait_for_app, "Upload")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").wait_for(state="attached", timeout=SLOW)
    upload(page, "broken.png", b"\x89PNG\r\n\x1a\n" + b"not really a png" * 40)
    warning = page.locator("[data-testid='stAlert']").filter(has_text="damaged")
    warning.first.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    screenshot(page, "filters_corrupt_upload")
    assert_clean(page)
    assert "broken.png" in warning.first.inner_text()
    assert page.get_by_text(re.compile(r"reads your picture as")).count() == 0
