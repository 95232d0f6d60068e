"""The app's page list, in one place: explorer/Home.py builds the navigation from it and the tests
walk it, so a page added here is automatically navigable and smoke-tested."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

APP_TITLE = "MNIST Deep-Learning Explorer"
APP_ICON = "🔢"
HOME_TITLE = "Home"
HOME_ICON = ":material/home:"

REPO_ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO_ROOT / "explorer" / "Home.py"


@dataclass(frozen=True)
class PageInfo:
    file: str  # path relative to the repository root, e.g. "pages/train.py"
    title: str
    icon: str  # an emoji or a ":material/name:" icon
    description: str  # one line, shown on the home page
    url_path: str  # the page is served at http://HOST:PORT/<url_path>

    @property
    def path(self) -> Path:
        return REPO_ROOT / self.file

    @property
    def entrypoint_relative(self) -> str:
        """The path as st.Page wants it: relative to the entrypoint's folder (explorer/)."""
        return f"../{self.file}"


PAGES: tuple[PageInfo, ...] = (
    PageInfo(
        file="pages/train.py",
        title="Train",
        icon=":material/model_training:",
        description="Train a small neural network on MNIST and watch the loss and accuracy move.",
        url_path="train",
    ),
    PageInfo(
        file="pages/filters.py",
        title="Filters & feature maps",
        icon=":material/filter:",
        description="See what each convolution filter has learned and what it responds to in a digit.",
        url_path="filters",
    ),
    PageInfo(
        file="pages/receptive_fields.py",
        title="Receptive fields",
        icon=":material/center_focus_strong:",
        description="Find which input pixels a neuron deep in the network can actually see.",
        url_path="receptive_fields",
    ),
)


def make_st_pages() -> list[st.Page]:
    """One st.Page per entry of PAGES (must be called from the running entrypoint script)."""
    return [
        st.Page(p.entrypoint_relative, title=p.title, icon=p.icon, url_path=p.url_path)
        for p in PAGES
    ]
