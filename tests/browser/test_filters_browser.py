"""The Filters & feature maps page in real Chromium: draw a digit with the mouse and get a
prediction, upload a PNG and see its preprocessing steps, upload a corrupt file and see the
message. Screenshots land in tests/artifacts/screenshots/filters_*.png."""

from __future__ import annotations

import io
import re

import pytest
from tests.browser.drawing import canvas_locator, draw_seven, draw_stroke
from PIL import Image, ImageDraw

pytestmark = pytest.mark.browser

SLOW = 90_000  # ms: the page runs a CNN and draws many charts on two shared cores


def open_page(app_server, page, wait_for_app, source: str):
    page.goto(f"{app_server}/filters?filters_source=test")
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
    draw_stroke(page, canvas, [(0.5, 0.15), (0.5, 0.85)], steps=20)  # a '1', one vertical stroke
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


# --- layout on a projector and a phone; a drawing in the link ----------------------------------

# Text cut short (an ellipsis, or clipped by overflow) outside formulas and charts, and chart
# titles, subplot titles, legends, axis titles and annotations that overlap inside one plotly chart.
LAYOUT_PROBLEMS_JS = """() => {
  const visible = (e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden';
  const sidebar = document.querySelector('[data-testid=stSidebar]');
  const sidebarShown = sidebar && sidebar.getAttribute('aria-expanded') !== 'false' && sidebar.getBoundingClientRect().right > 10;
  const cut = [];
  for (const e of document.querySelectorAll('[data-testid=stMain] *, [data-testid=stSidebar] *')) {
    if (!visible(e) || !e.innerText || e.closest('.katex, .js-plotly-plot')) continue;
    if (!sidebarShown && e.closest('[data-testid=stSidebar]')) continue;
    const cs = getComputedStyle(e);
    const clips = cs.textOverflow === 'ellipsis' || cs.overflow === 'hidden' || cs.overflowX === 'hidden';
    if (clips && e.scrollWidth > e.clientWidth + 1) cut.push(e.innerText.trim().slice(0, 60));
  }
  const overlaps = [];
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  document.querySelectorAll('.js-plotly-plot').forEach((g, index) => {
    const boxes = [];
    g.querySelectorAll('.gtitle, .annotation-text, .legend, [class$=title]').forEach(e => {
      if (visible(e) && e.textContent.trim()) boxes.push([e.textContent.trim().slice(0, 40), e.getBoundingClientRect(), e]);
    });
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i][2], boxes[j][2]];
      if (a.contains(b) || b.contains(a)) continue;  // a title's group and its own text
      // Tilted labels side by side (a row of column titles): their upright boxes overlap, not their text.
      if (a.closest('[transform*=rotate]') && b.closest('[transform*=rotate]')) continue;
      if (hit(boxes[i][1], boxes[j][1])) overlaps.push(`chart ${index}: "${boxes[i][0]}" over "${boxes[j][0]}"`);
    }
  });
  return {cut: [...new Set(cut)], overlaps};
}"""

VIEWPORTS = {"projector": {"width": 1280, "height": 720}, "phone": {"width": 390, "height": 844}}


def layout_problems(page) -> dict:
    return page.evaluate(LAYOUT_PROBLEMS_JS)


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("query", ["filters_source=draw", "filters_source=upload", "filters_model=zhou-cnn", "backward_open=1"])
def test_nothing_is_cut_off_or_overlapping(app_server, page, wait_for_app, viewport, query):
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(f"{app_server}/filters?{query}")
    wait_for_app(page, SLOW)
    assert layout_problems(page) == {"cut": [], "overlaps": []}
    assert_clean(page)


def test_presenter_mode_shows_the_canvas_without_scrolling(app_server, page, wait_for_app):
    page.set_viewport_size(VIEWPORTS["projector"])
    page.goto(f"{app_server}/filters?lesson=filters&present=1&filters_source=draw")
    wait_for_app(page, SLOW)
    canvas = canvas_locator(page)
    box = canvas.bounding_box()
    assert box["y"] + box["height"] <= 720, box  # the whole canvas on the first screen
    assert page.get_by_text("Pick, draw or upload a digit and follow it").count() == 0  # no intro paragraph
    assert_clean(page)


def test_the_bin_icon_is_where_the_hint_says(app_server, page, wait_for_app):
    open_page(app_server, page, wait_for_app, "Draw")
    canvas = canvas_locator(page)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the toolbar shows on hover
    bin_button = page.get_by_role("button", name="Reset canvas & history")
    bin_button.wait_for(timeout=SLOW)
    page.wait_for_timeout(1000)  # let the toolbar finish sliding in
    box, bin_box = canvas.bounding_box(), bin_button.bounding_box()
    above = bin_box["y"] + bin_box["height"] <= box["y"] + 1
    hint = page.get_by_text(re.compile(r"The bin icon .* clears it")).first.inner_text()
    assert above and "above" in hint, (bin_box, box, hint)


def test_a_drawing_comes_back_from_the_link(app_server, page, wait_for_app, screenshot):
    open_page(app_server, page, wait_for_app, "Draw")
    draw_seven(page, canvas_locator(page))
    verdict = re.compile(r"reads your drawing as (\d)")
    page.get_by_text(verdict).first.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    answer = verdict.search(page.get_by_text(verdict).first.inner_text()).group(1)
    link = page.url
    assert "digit=" in link and len(link) < 800, link

    fresh = page.context.browser.new_context(viewport={"width": 1400, "height": 900})  # another device
    other = fresh.new_page()
    try:
        other.goto(link)
        wait_for_app(other, SLOW)
        from_link = re.compile(r"reads the digit from the link as (\d)")
        other.get_by_text(from_link).first.wait_for(timeout=SLOW)
        assert from_link.search(other.get_by_text(from_link).first.inner_text()).group(1) == answer
        assert other.get_by_text("Draw on the canvas to replace it").first.is_visible()
        assert other.locator("[data-testid='stException']").count() == 0
        screenshot(other, "filters_digit_from_link")
    finally:
        fresh.close()


def test_a_malformed_digit_in_the_link_is_ignored_quietly(app_server, page, wait_for_app):
    page.goto(f"{app_server}/filters?filters_source=draw&digit=not-a-digit!")
    wait_for_app(page, SLOW)
    page.get_by_text("The digit in the link was ignored").first.wait_for(timeout=SLOW)
    assert page.get_by_text("The drawing is empty").first.is_visible()
    assert_clean(page)


def test_clicking_a_cell_of_the_feature_map_moves_the_window_there(app_server, page, wait_for_app):
    page.goto(f"{app_server}/filters?filters_source=upload")
    wait_for_app(page, SLOW)
    upload(page, "seven.png", png_bytes())
    page.get_by_text(re.compile(r"reads your picture as \d")).first.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    index = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .findIndex(g => (g.data || []).some(t => t.name === 'cells'))""")
    assert index >= 0, "no feature map with clickable cells"
    plot = page.locator(".js-plotly-plot").nth(index)
    plot.scroll_into_view_if_needed()
    where = plot.evaluate("""(g) => { const xa = g._fullLayout.xaxis2, ya = g._fullLayout.yaxis2;
        const r = g.getBoundingClientRect();
        return {x: r.left + xa._offset + xa.l2p(6), y: r.top + ya._offset + ya.l2p(5)}; }""")
    page.mouse.move(where["x"], where["y"])
    page.mouse.click(where["x"], where["y"])
    page.get_by_text(re.compile(r"map at row 5, column 6, channel 0")).first.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    assert "filters_row=5" in page.url and "filters_col=6" in page.url
    assert_clean(page)


def test_the_backward_step_is_worked_out_when_opened_and_stays_open_on_reload(app_server, page, wait_for_app):
    page.goto(f"{app_server}/filters?filters_source=test")
    wait_for_app(page)
    header = page.get_by_role("heading", name="One backward step, with numbers")
    header.scroll_into_view_if_needed()
    image_number = page.get_by_label("Training image (of 60,000)")
    assert image_number.count() == 0  # closed: nothing of it drawn
    page.get_by_text("Work through one step, number by number").click()
    image_number.wait_for(timeout=60_000)
    wait_for_app(page)
    assert "backward_open=1" in page.url
    page.reload()
    wait_for_app(page)
    page.get_by_label("Training image (of 60,000)").wait_for(timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.js_errors == []
