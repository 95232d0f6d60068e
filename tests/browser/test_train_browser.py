"""The Train page in real Chromium: a small run updates live (driven by the page's own
st.fragment timer, not by clicks), pauses, resumes. Screenshot: tests/artifacts/screenshots/train_running.png."""
import re
import time

import pytest

pytestmark = pytest.mark.browser


def step_text(page) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(has_text=re.compile(r"^Step \(of")).first
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
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name=re.compile("Deep ConvNet")).click()
    wait_for_app(page, timeout_ms=90_000)

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
