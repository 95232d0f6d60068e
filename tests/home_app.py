"""The Home page under AppTest, each test starting like a fresh server."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from explorer.ui.app_setup import REPO_ROOT

HOME = str(REPO_ROOT / "explorer" / "Home.py")
TIMEOUT = 180


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts like a fresh server: nothing cached from another test's data or weights."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()


def run_home() -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at
