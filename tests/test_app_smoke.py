"""Every script of the app runs without an exception (streamlit's in-process AppTest).

Generic on purpose: it covers whatever pages/*.py holds; deeper page tests live elsewhere."""

import pytest
from streamlit.testing.v1 import AppTest

from explorer.i18n import t
from explorer.ui.app_setup import PAGES, REPO_ROOT

HOME = REPO_ROOT / "explorer" / "Home.py"
PAGE_FILES = sorted((REPO_ROOT / "pages").glob("*.py"))
TIMEOUT = 30  # s; real pages may load data or a model on their first run


def test_home_runs():
    at = AppTest.from_file(str(HOME), default_timeout=TIMEOUT)
    at.run(timeout=TIMEOUT)
    assert not at.exception
    assert any(t("app.title") in title.value for title in at.title)


def test_every_page_file_is_in_the_navigation():
    assert {p.path for p in PAGES} == set(PAGE_FILES)


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_page_runs_on_its_own(path):
    at = AppTest.from_file(str(path), default_timeout=TIMEOUT)
    at.run(timeout=TIMEOUT)
    assert not at.exception


@pytest.mark.parametrize("info", PAGES, ids=lambda p: p.url_path)
def test_page_runs_through_navigation(info):
    at = AppTest.from_file(str(HOME), default_timeout=TIMEOUT)
    at.run(timeout=TIMEOUT)
    at.switch_page(info.entrypoint_relative).run(timeout=TIMEOUT)
    assert not at.exception
    assert any(info.title in t.value for t in at.title)
