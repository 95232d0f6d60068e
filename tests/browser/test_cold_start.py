"""A class opening the link at once on a freshly started server: no session sees an exception.

On a cold server the first sessions import numpy, pandas and plotly at the same moment, each in
its own script thread; plotly then found half-imported modules in sys.modules ("partially
initialized module 'pandas' has no attribute 'Series'"). explorer/ui/warmup.py prepares the
process once, under a lock, before any page runs. Each round starts a new server and opens eight
tabs together, on Home and on every other page. A tab is read as soon as its first run has
finished and what it sent is drawn, then closed: its charts' code, megabytes of JavaScript that
eight tabs would each load at once, says nothing about the server (each round took 40-50 s on
two cores with it, most of it Chromium's).
"""

from __future__ import annotations

import pytest

from tests.browser.drawing import SLOW

pytestmark = pytest.mark.browser

ROUNDS = 5  # the lessons issue asks for five fresh servers per run (each round 17-25 s on two cores)
# Each page twice, in an order that mixes them: a class opens Home, and a lesson link opens a page.
TAB_PATHS = ["", "train", "filters", "receptive_fields", "", "receptive_fields", "filters", "train"]


def open_tabs_together(new_page, base_url: str, paths: list[str]) -> list:
    """One browser context per tab (its own session), all requested before any is awaited.

    Playwright's sync API is not thread-safe, so the tabs are started from this thread:
    `wait_until="commit"` returns as soon as the server answers, long before the app connects."""
    pages = [new_page() for _ in paths]
    for page, path in zip(pages, paths):
        page.goto(f"{base_url}/{path}", wait_until="commit")
    return pages


@pytest.mark.parametrize("round_number", range(1, ROUNDS + 1))
def test_eight_tabs_on_a_fresh_server_show_no_exception(round_number, streamlit_server, new_page, wait_for_run,
                                                        exception_texts):
    with streamlit_server(timeout=60) as server:
        pages = open_tabs_together(new_page, server.url, TAB_PATHS)
        problems = []
        for tab, (page, path) in enumerate(zip(pages, TAB_PATHS), start=1):
            wait_for_run(page, SLOW)
            for text in exception_texts(page):
                problems.append(f"tab {tab} (/{path}): {text}")
            page.context.close()
        log = server.log()
    assert not problems, (f"round {round_number}: exception boxes on a cold start:\n  " + "\n  ".join(problems)
                          + f"\nserver log (end):\n{log[-3000:]}")
