"""The Train page in real Chromium: a small run updates live (driven by the page's own
st.fragment timer, not by clicks), pauses, resumes. Screenshot: tests/artifacts/screenshots/train_running.png."""
import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def step_text(page) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(has_text=re.compile(r"^Step")).first
    return metric.locator("[data-testid='stMetricValue']").inner_text()


def wait_for_change(page, old: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = step_text(page)
        if text != old and re.fullmatch(r"[\d,]+", text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"the step counter stayed at {old!r} for {timeout} s")


def steps(text: str) -> int:
    return int(text.replace(",", "").strip())


def test_small_run_updates_live_pauses_and_resumes(app_server, page, wait_for_app, screenshot, mnist_dir):
    page.set_default_timeout(90_000)  # a shared 2-core machine can be slow; the live checks below are what matter
    page.goto(f"{app_server}/train")
    wait_for_app(page, timeout_ms=90_000)
    page.locator("[data-testid='stMain'] h1").filter(has_text="Train").wait_for()
    # DeepConvNet: 20 epochs on 10,000 images take minutes even on a fast machine, so the run is
    # still going when the test pauses it (a small MLP can finish before Pause is clicked).
    page.locator(".st-key-tr_model [data-testid='stSelectbox']").click()  # (the sidebar's first selectbox is the language)
    page.get_by_role("option", name=re.compile("Deep ConvNet")).click()
    # The app is idle for a moment before the rerun starts: wait for its effect first. A Start
    # clicked before that rerun reached the browser went back with the old model's settings.
    page.wait_for_function("() => location.search.includes('tr_model=deepconvnet')", polling=250)
    wait_for_app(page, timeout_ms=90_000)
    assert "tr_epochs" not in page.url and "tr_optimizer" not in page.url, f"the model's recipe did not come with it: {page.url}"

    page.get_by_role("button", name="Start").click()
    first = wait_for_change(page, "–")
    second = wait_for_change(page, first)  # the timer ticks without any click
    third = wait_for_change(page, second)
    assert steps(first) < steps(second) < steps(third)
    time.sleep(2)  # let the slower "inside the network" views draw too
    screenshot(page, "train_running")

    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Resume").wait_for(timeout=90_000)
    wait_for_app(page, timeout_ms=90_000)
    paused = step_text(page)
    time.sleep(2.5)
    assert step_text(page) == paused

    page.get_by_role("button", name="Resume").click()
    assert steps(wait_for_change(page, paused)) > steps(paused)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Resume").wait_for(timeout=90_000)

    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.js_errors == []


# --- the Train lessons, played from their links on a 1280x720 projector -------------------------
LESSON_PRESETS = ("inits", "optimizers", "augment")
RACE_TIMEOUT_MS = 900_000  # a race takes a minute or two on an idle machine; far longer on a busy shared one
DOCS_LESSONS = Path(__file__).resolve().parents[2] / "docs" / "lessons"


def lesson_link(lesson_id: str) -> str:
    from explorer.ui.lessons import LESSONS, lesson_link as link

    return link(next(lesson for lesson in LESSONS if lesson.id == lesson_id), present=True)


def percent(text: str) -> float | None:
    text = text.strip()
    return None if text in ("–", "") else float(text.rstrip("%")) / 100


def results_on_page(page) -> list:
    """The results table the page shows after a race, read back as the preset's Result rows."""
    from explorer.lab.compare import Result

    table = page.locator(".st-key-cmp_results table")
    header = [cell.strip() for cell in table.locator("thead th").all_inner_texts()]
    rows = []
    for row in table.locator("tbody tr").all():
        cells = dict(zip(header, (text.strip() for text in row.locator("th, td").all_inner_texts()[-len(header):])))
        rows.append(Result(cells["configuration"], float(cells["final loss"]), percent(cells["validation accuracy"]),
                           percent(cells["rotated test accuracy"]) if "rotated test accuracy" in cells else None))  # fmt: skip
    return rows


@pytest.mark.mnist
@pytest.mark.parametrize("lesson_id", LESSON_PRESETS)
def test_train_lesson_plays_from_its_link(app_server, page, wait_for_app, mnist_dir, lesson_id):
    from explorer.lab.compare import PRESETS

    page.set_viewport_size({"width": 1280, "height": 720})
    link = lesson_link(lesson_id)
    assert f"cmp_preset={lesson_id}" in link and "present=1" in link
    page.goto(f"{app_server}/{link}")
    wait_for_app(page)
    start = page.get_by_role("button", name="Start comparison")
    assert start.is_visible()
    start.click()
    page.locator(".st-key-cmp_results table").wait_for(timeout=RACE_TIMEOUT_MS)
    wait_for_app(page)
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    results = results_on_page(page)
    preset = PRESETS[lesson_id]
    assert [r.label for r in results] == preset.labels
    assert preset.problems(results) == [], results  # the lesson's claim, from the numbers on the page
    box = page.locator(".stPlotlyChart").first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 720, f"the loss chart does not fit the projector window: {box}"
    if preset.rotated_test:  # this lesson's numbers are in the table: show it
        page.locator(".st-key-cmp_results").scroll_into_view_if_needed()
    DOCS_LESSONS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_LESSONS / f"{lesson_id}.png"))
