"""Each lesson that is not a training race, played in Chromium from its link at 1280x720 (presenter
mode): the lesson card on top, no exception box, the lesson's claim checked from the numbers on
the page, and a screenshot in docs/lessons/<id>.png (README links them).

The three training races (inits, optimizers, augment) are played by test_train_browser.py."""

from __future__ import annotations

import re

import pytest

from explorer.ui.lessons import LESSONS, lesson_by_id, lesson_link
from explorer.lab.optim_paths import SURFACES
from explorer.ui.app_setup import REPO_ROOT
from tests.browser.drawing import SLOW, canvas_locator, draw_seven, draw_stroke

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1280, "height": 720}
DOCS = REPO_ROOT / "docs" / "lessons"
TRAINING_RACES = {"inits", "optimizers", "augment"}  # played by tests/browser/test_train_browser.py
PLAYED = [lesson for lesson in LESSONS if lesson.id not in TRAINING_RACES]


# --- helpers --------------------------------------------------------------------------------


def open_lesson(app_server, page, wait_for_app, lesson) -> None:
    page.set_viewport_size(PROJECTOR)
    page.goto(f"{app_server}/{lesson_link(lesson)}")
    wait_for_app(page, SLOW)
    card = page.locator(".st-key-lesson_card")
    card.wait_for(timeout=SLOW)
    assert lesson.title in card.inner_text()
    assert_in_view(page, card, "the lesson card")


def assert_clean(page) -> None:
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.js_errors == []


def assert_in_view(page, locator, what: str) -> None:
    """The element is on screen, whole, without scrolling further."""
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, f"{what} is off screen: {box}"


def scroll_to_top(page) -> None:
    page.evaluate("() => document.querySelector(\"[data-testid='stMain']\").scrollTo(0, 0)")
    page.wait_for_timeout(300)


def show_section(page, heading: str) -> None:
    """Scroll the page so this header is at the top of the screen (for the screenshot)."""
    page.locator("[data-testid='stMain'] h2").filter(has_text=heading).first.evaluate(
        "e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def draw_small_seven_in_a_corner(page, canvas) -> None:
    """A '7' a third of the canvas high in its top-left corner: unlike any MNIST digit until preprocessed."""
    draw_stroke(page, canvas, [(0.08, 0.1), (0.32, 0.1), (0.18, 0.4)], steps=11)


FILTERS_VERDICT = re.compile(r"reads your drawing as (\d) \((\d+)% sure\)")


def filters_verdict(page, wait_for_app, previous: str | None = None) -> tuple[int, int]:
    """(digit, percent sure) of the Filters page's answer; waits for a new one after `previous`."""
    page.wait_for_function(
        """previous => { const m = document.querySelector("[data-testid='stMain']").innerText
                            .match(/reads your drawing as \\d \\(\\d+% sure\\)/);
                         return m && m[0] !== previous; }""",
        arg=previous, timeout=SLOW, polling=250)  # fmt: skip
    wait_for_app(page, SLOW)
    match = FILTERS_VERDICT.search(main_text(page))
    return int(match.group(1)), int(match.group(2))


def metrics(page) -> list[tuple[str, str]]:
    """(label, value) of every visible st.metric, in page order."""
    return page.evaluate("""() => [...document.querySelectorAll("[data-testid='stMetric']")]
        .filter(m => m.offsetParent !== null)
        .map(m => [m.querySelector("[data-testid='stMetricLabel']").innerText.trim(),
                   m.querySelector("[data-testid='stMetricValue']").innerText.trim()])""")


def number(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text))


# --- each lesson: play it and check its claim -----------------------------------------------


def play_draw(page, wait_for_app) -> None:
    """Home: the canvas is on the first screen, a drawn 7 is read as a 7, and the answer is on
    screen while the canvas is."""
    canvas = canvas_locator(page)
    assert_in_view(page, canvas, "the canvas")  # the teacher draws without scrolling first
    draw_seven(page, canvas)
    verdict = page.locator(".st-key-home_verdict").get_by_text(re.compile(r"It's an? \d"))
    verdict.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    assert verdict.inner_text().startswith("It's a 7"), verdict.inner_text()
    assert_in_view(page, verdict, "the answer")
    assert re.search(r"\d+% sure", page.locator(".st-key-home_verdict").inner_text())
    scroll_to_top(page)


def play_paths(page, wait_for_app) -> None:
    """Train, optimizer paths on the bowl: the chart is on screen, whole, axes and all, and every
    optimizer ends nearer the minimum than it started."""
    surface = SURFACES[lesson_by_id("paths").params["path_surface"]]
    chart = page.locator("[data-testid='stMain'] [data-testid='stPlotlyChart']").first
    chart.wait_for(timeout=SLOW)
    assert_in_view(page, chart, "the paths chart")
    ends = re.findall(r"(\w[\w ]*?) ends at \((-?[\d.]+), (-?[\d.]+)\)", main_text(page))
    assert len(ends) >= 2, main_text(page)[:2000]
    (sx, sy), (mx, my) = surface.start, surface.minimum
    start_distance = ((sx - mx) ** 2 + (sy - my) ** 2) ** 0.5
    for name, x, y in ends:
        distance = ((float(x) - mx) ** 2 + (float(y) - my) ** 2) ** 0.5
        assert distance < start_distance, f"{name} ends farther from the minimum than it started"


def play_filters(page, wait_for_app) -> None:
    """Filters: a drawn 7 goes through DeepConvNet and is read as a 7."""
    canvas = canvas_locator(page)
    canvas.scroll_into_view_if_needed()
    draw_seven(page, canvas)
    digit, sure = filters_verdict(page, wait_for_app)
    assert digit == 7 and sure >= 50, (digit, sure)
    assert "deepconvnet" in main_text(page).lower()
    maps = page.locator("[data-testid='stMain'] [role='tab']").filter(has_text="before ReLU").first
    if maps.count():  # the first layer's feature maps, with the bottom of its filters above them
        maps.evaluate("e => { e.scrollIntoView({block: 'start'}); "
                      "document.querySelector(\"[data-testid='stMain']\").scrollBy(0, -180); }")
        page.wait_for_timeout(300)
    else:
        show_section(page, "3. Layer by layer")


def play_receptive_fields(page, wait_for_app) -> None:
    """Two 3x3 against one 5x5, 64 channels in and out: the same 5x5 field; 18 weights per channel pair
    against 25, read back from the parameter counts on the page (each conv has 64 biases)."""
    lesson = lesson_by_id("receptive-fields")
    c_in, c_out = int(lesson.params["rf_c_in"]), int(lesson.params["rf_c_out"])
    shown = metrics(page)
    params = [number(value) for label, value in shown if label == "parameters"]
    fields = [value for label, value in shown if label == "receptive field"]
    assert len(params) == 2 and len(fields) == 2, shown
    single, stack = params  # the 5x5 card comes first
    assert fields == ["5x5", "5x5"]
    assert (single - c_out) / (c_in * c_out) == 25
    assert (stack - 2 * c_out) / (c_in * c_out) == 2 * 9  # == 18 when C_in = C_out
    assert stack < single
    assert page.get_by_text("Here the claim holds").first.is_visible()


# How many lines the text of an element takes (its boxes' distinct tops).
TEXT_LINES_JS = """el => { const range = document.createRange(); range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map(box => Math.round(box.top))).size; }"""


def play_results(page, wait_for_app) -> None:
    """Home opens on the table: from Nielsen's 95% to the best network, more than ten times fewer mistakes."""
    table = page.locator("[data-testid='stMain'] table").first
    table.wait_for(timeout=SLOW)
    assert table.bounding_box()["y"] < PROJECTOR["height"] - 250, "the table is not at the top"
    headers = [cell.strip() for cell in table.locator("th").all_inner_texts()]
    accuracy = headers.index("Our test accuracy")
    rows = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
    accuracies = [number(row[accuracy]) for row in rows]
    assert rows[0][0].startswith("Michael Nielsen")
    first, best = accuracies[0], max(accuracies)
    assert 94 < first < 96 and best > 99.5
    assert (100 - first) / (100 - best) > 10  # the lesson's answer: more than ten times fewer mistakes
    times = table.locator(f"tbody td:nth-child({headers.index('Training time') + 1})").all()
    lines = [cell.evaluate(TEXT_LINES_JS) for cell in times]
    assert lines and set(lines) == {1}, f"a training time breaks across lines: {lines}"


def play_my_digit(page, wait_for_app) -> None:
    """A small 7 in a corner is read as a 7 after preprocessing; with Fit 20x20 off it is stretched to
    fill the 28x28 square, and the answer changes or the network is much less sure."""
    canvas = canvas_locator(page)
    canvas.scroll_into_view_if_needed()
    draw_small_seven_in_a_corner(page, canvas)
    digit, sure = filters_verdict(page, wait_for_app)
    assert digit == 7, (digit, sure)
    toggle = page.locator("[data-testid='stMain'] [data-testid='stCheckbox']").filter(has_text="Fit 20×20").first
    toggle.locator("label").click()
    stretched_digit, stretched_sure = filters_verdict(page, wait_for_app, f"reads your drawing as {digit} ({sure}% sure)")
    assert "draw_fit=0" in page.url  # the switch is in the link
    assert stretched_digit != 7 or stretched_sure <= sure - 20, (stretched_digit, stretched_sure, sure)
    show_section(page, "2. What the network says")


PLAY = {
    "draw": play_draw,
    "paths": play_paths,
    "filters": play_filters,
    "receptive-fields": play_receptive_fields,
    "results": play_results,
    "my-digit": play_my_digit,
}


def test_every_lesson_is_played_somewhere():
    assert set(PLAY) | TRAINING_RACES == {lesson.id for lesson in LESSONS}


@pytest.mark.parametrize("lesson", PLAYED, ids=lambda lesson: lesson.id)
def test_play_the_lesson_from_its_link(app_server, page, wait_for_app, lesson):
    open_lesson(app_server, page, wait_for_app, lesson)
    PLAY[lesson.id](page, wait_for_app)
    wait_for_app(page, SLOW)
    assert_clean(page)
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{lesson.id}.png"))


def test_lessons_page_opens_a_lesson_in_presenter_mode(app_server, page, wait_for_app, screenshot):
    page.set_viewport_size(PROJECTOR)
    page.goto(f"{app_server}/lessons")
    wait_for_app(page, SLOW)
    screenshot(page, "lessons")
    lesson = lesson_by_id("receptive-fields")
    tile = page.locator("[data-testid='stMain'] [data-testid='stVerticalBlock']").filter(
        has_text=lesson.title).last  # the lesson's own bordered tile
    tile.locator("[data-testid='stPageLink'] a").click()
    card = page.locator(".st-key-lesson_card")
    card.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    assert lesson.title in card.inner_text()
    assert "/receptive_fields?" in page.url and "lesson=receptive-fields" in page.url and "present=1" in page.url
    assert page.locator("[data-testid='stMain']").bounding_box()["width"] == page.viewport_size["width"]  # sidebar closed
    assert_clean(page)


# Columns of the card that are displayed but show no text: on a phone, where the columns stack,
# such a column is a blank band between the goal and the expanders.
_EMPTY_CARD_COLUMNS_JS = """() => [...document.querySelectorAll(".st-key-lesson_card [data-testid='stColumn']")]
    .filter(column => column.getClientRects().length > 0 && column.innerText.trim() === "")
    .map(column => Math.round(column.getBoundingClientRect().height))"""


def test_on_a_phone_the_lesson_card_is_compact(app_server, new_page, viewports, wait_for_app):
    """390x844: the steps fold into an expander, their column leaves no blank band, and the page's
    first control (Home's canvas) starts on the first screen under the card."""
    page = new_page(**viewports["390x844"])
    page.goto(f"{app_server}/{lesson_link(lesson_by_id('draw'))}")
    wait_for_app(page, SLOW)
    card = page.locator(".st-key-lesson_card")
    assert_in_view(page, card, "the lesson card")
    assert page.evaluate(_EMPTY_CARD_COLUMNS_JS) == []
    assert card.get_by_text("What to do").is_visible()  # the steps, folded
    assert not card.get_by_text(lesson_by_id("draw").steps[0]).first.is_visible()
    canvas = canvas_locator(page)
    assert canvas.bounding_box()["y"] < page.viewport_size["height"], "the canvas starts below the first screen"
    assert_clean(page)
