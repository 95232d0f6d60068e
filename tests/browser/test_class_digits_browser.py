"""Class digits in real Chromium: two browser contexts in one room, as in a classroom. A student
draws digits on the canvas with mouse events and submits them; the projector's class view, opened
before, sees them arrive by itself (its live fragment), without a reload. The app runs with its
own temporary class database (CLASS_DB)."""

from __future__ import annotations

import pytest

from explorer.data.class_rooms import open_class_rooms
from explorer.i18n import t
from tests.browser.conftest import DESKTOP, _wait_for_app, _watch_errors
from tests.browser.drawing import SLOW, canvas_locator, draw_seven

pytestmark = pytest.mark.browser


@pytest.fixture
def class_server(streamlit_server, tmp_path, monkeypatch):
    """The app on its own server, with a fresh class database the test can read too."""
    path = tmp_path / "class.sqlite3"
    monkeypatch.setenv("CLASS_DB", str(path))
    monkeypatch.setenv("STREAMLIT_SERVER_FILE_WATCHER_TYPE", "none")  # other edits in the checkout: no reloads
    with streamlit_server(timeout=90) as server:
        yield server.url, path


def new_page(browser):
    context = browser.new_context(**DESKTOP)
    context.set_default_timeout(SLOW)
    page = context.new_page()
    _watch_errors(page)
    return context, page


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def submit_a_drawing(page, number: int) -> None:
    draw_seven(page, canvas_locator(page))
    page.wait_for_timeout(1000)  # the drawing's rerun starts a moment after the pen lifts
    _wait_for_app(page, SLOW)
    page.get_by_role("button", name=t("class_digits.contribute.submit")).click()
    page.get_by_text(t("class_digits.contribute.ask", digit=number + 1).replace("**", "")).first.wait_for(timeout=SLOW)
    _wait_for_app(page, SLOW)


def test_a_students_digits_arrive_on_the_projector(class_server, browser, screenshot):
    url, path = class_server
    room = open_class_rooms(path).create_room()
    projector_context, projector = new_page(browser)
    student_context, student = new_page(browser)
    try:
        projector.goto(f"{url}/class_digits?room={room.code}&class_view=class")
        _wait_for_app(projector, SLOW)
        projector.get_by_text(t("class_digits.view.empty", code=room.code)).first.wait_for(timeout=SLOW)

        student.goto(f"{url}/class_digits?room={room.code}")
        _wait_for_app(student, SLOW)
        assert "read it as" not in main_text(student)  # nothing about the network before submitting
        for number in range(2):
            if number:
                student.wait_for_timeout(1100)  # one digit per second and session
            submit_a_drawing(student, number)
        assert "read it as" in main_text(student)
        digits = open_class_rooms(path).digits(room.code)
        assert digits.labels.tolist() == [0, 1]
        assert all(image.sum() / 255 > 15 for image in digits.images)  # real drawings, with ink

        # the projector was not touched: its live view picks the digits up by itself
        live = t("class_digits.view.live", seconds="3", count=2)
        projector.get_by_text(live).first.wait_for(timeout=60_000)
        projector.get_by_text(t("class_digits.view.gallery_row", digit=1, count=1)).first.wait_for(timeout=SLOW)
        _wait_for_app(projector, SLOW)
        screenshot(projector, "class_digits_projector")
        screenshot(student, "class_digits_student")
        for page in (projector, student):
            exceptions = page.locator("[data-testid='stException']")
            assert exceptions.count() == 0, exceptions.first.inner_text()
            assert page.js_errors == []
    finally:
        projector_context.close()
        student_context.close()
