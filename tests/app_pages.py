"""Open a page of the app under AppTest as a student would: Home first (the entrypoint reads the
language and binds the app-wide parameters), then the page."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from explorer import i18n
from explorer.ui.app_setup import REPO_ROOT

HOME = str(REPO_ROOT / "explorer" / "Home.py")


def open_page(page: str, lang: str, timeout: float = 180, **state) -> AppTest:
    """`page` as st.switch_page names it ("../pages/train.py"), in `lang`, the session already
    holding `state` (as a link or a click would leave it). Call it inside `with i18n.language(lang)`
    when the test reads choice widgets: AppTest formats their values in the test's own thread."""
    at = AppTest.from_file(HOME, default_timeout=timeout)
    at.query_params["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def in_language(lang: str, key: str, **params) -> str:
    with i18n.language(lang):
        return i18n.t(key, **params)


def rerun_until(at: AppTest, done, seconds: float = 120) -> bool:
    """Rerun the page, as its live updates do, until `done()` holds (or `seconds` pass): the
    training scheduler's worker threads train in the background between the updates."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
        at.run()
        assert not at.exception, at.exception
    at.run()  # the page as it draws the state reached
    assert not at.exception, at.exception
    return done()


def names_start(at: AppTest, text: str) -> bool:
    """Does `text` name the Start button by its icon and its label? On a phone the button shows
    only its icon (pages/train.py: page_styles), so a hint naming the label alone points nowhere."""
    start = at.button(key="btn_start")
    return f"{start.proto.icon} **{start.label}**" in text


def open_tab(at: AppTest, tabs_key: str, label: str, callback_state: dict | None = None) -> AppTest:
    """Click the tab `label` of the st.tabs with key `tabs_key` and rerun, as a student's click
    does. AppTest cannot click a tab, and setting the tabs' state does not call their on_change
    callback: `callback_state` is what that callback would have set."""
    at.session_state[tabs_key] = label
    for key, value in (callback_state or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    assert [tab.label for tab in at.tabs if tab.label == label], f"no tab {label!r}"
    return at
