"""Writes the README's screenshots: docs/screenshots/<page>.png, one per page at 1400x900.

Runs in the normal test run (it only rewrites those files) and still checks that each page
loaded without a Python exception. PNGs are palette-quantised to stay small (< 300 KB)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from explorer.ui.app_setup import PAGES
from tests.browser.drawing import canvas_locator, draw_seven

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZE = (1400, 900)
MAX_BYTES = 300_000
SLOW = 240_000  # ms: the heavy pages on two shared cores
TARGETS = [("home", "")] + [(p.url_path, p.url_path) for p in PAGES]


def save_small(png: bytes, path: Path) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == SIZE
    small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    small.save(path, format="PNG", optimize=True)
    return path.stat().st_size


@pytest.mark.parametrize("name, url_path", TARGETS, ids=[t[0] for t in TARGETS])
def test_screenshot(app_server, page, wait_for_app, name, url_path):
    page.goto(f"{app_server}/{url_path}")
    wait_for_app(page, SLOW)
    if name == "home":  # the hero demo with an answer is the picture worth showing
        draw_seven(page, canvas_locator(page, SLOW))
        page.get_by_text(re.compile(r"It's a \d")).first.wait_for(timeout=SLOW)
        wait_for_app(page, SLOW)
    page.wait_for_timeout(1500)  # charts finish their first paint
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.locator("[data-testid='stMain'] h1").count() >= 1
    size = save_small(page.screenshot(), DOCS / f"{name}.png")
    assert size < MAX_BYTES, f"{name}.png is {size} bytes"
