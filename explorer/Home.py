import sys
from pathlib import Path

# `streamlit run explorer/Home.py` puts only explorer/ on sys.path; add the repo root for `import explorer`.
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import streamlit as st  # noqa: E402

from explorer.theme import use_theme  # noqa: E402
from explorer.ui.app_setup import (  # noqa: E402
    APP_ICON,
    APP_TITLE,
    HOME_ICON,
    HOME_TITLE,
    PAGES,
    make_st_pages,
)

st.set_page_config(page_title=APP_TITLE, page_icon=APP_ICON, layout="wide")
use_theme()

_pages = make_st_pages()


def home() -> None:
    st.title(APP_TITLE)
    st.markdown(
        "This app lets you look inside a neural network that learns to read handwritten digits. "
        "The network is built from scratch with NumPy, so every number you see is computed in plain Python you can read. "
        "Train a model, then explore what its filters detect and which pixels each neuron looks at."
    )
    cols = st.columns(len(PAGES))
    for col, info, page in zip(cols, PAGES, _pages):
        with col.container(border=True):
            st.page_link(page, label=info.title, icon=info.icon)
            st.caption(info.description)


st.navigation([st.Page(home, title=HOME_TITLE, icon=HOME_ICON, default=True), *_pages]).run()
