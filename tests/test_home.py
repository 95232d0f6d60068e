"""The Home page in Streamlit's AppTest: it renders, the hero demo answers for a test digit
(checked against the same network loaded and run here independently), the results table has one
row per article, and the data status offers a download that really fills the cache."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.data import mnist as mnist_data
from explorer.data.mnist import load_mnist
from explorer.nn.pretrained import available, load_pretrained
from explorer.lab.results import ARTICLES, HERO_MODELS
from explorer.i18n import t
from explorer.ui.app_setup import PAGES, REPO_ROOT
from tests.home_app import fresh_caches, run_home  # noqa: F401 (fresh_caches is an autouse fixture)



def texts(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "warning", "success", "error", "header", "title")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def hero_source(at: AppTest):
    return next(b for b in at.button_group if b.key == "home_source")


def test_home_renders_with_hint_cards_and_table():
    at = run_home()
    assert at.title[0].value == t("app.title")
    assert [h.value for h in at.header][:1] == ["Draw a digit: the network answers"]
    page = texts(at)
    # an empty canvas: a friendly hint, no error
    assert "The drawing is empty" in page and not at.error
    # a card per page, each linking to its page
    assert len(at.get("page_link")) >= len(PAGES)
    for info in PAGES:
        assert info.description in page
    # the results table: a header line and one line per article
    table = next(m.value for m in at.markdown if m.value.startswith("| Article"))
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + len(ARTICLES)
    for article, line in zip(ARTICLES, lines[1:]):
        assert line.startswith("| " + article.source)
        assert f"]({article.page})" in line  # links to the page that shows the network


def test_hero_answers_for_a_test_digit(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    at = run_home()
    hero_source(at).set_value("test").run()
    assert not at.exception
    at.selectbox(key="home_class").set_value(4).run()
    assert not at.exception

    page = texts(at)
    index = int(re.search(r"Test digit #(\d+) of", page).group(1))
    verdict = next(m.value for m in at.markdown if "It's a" in m.value)
    shown = int(re.search(r"It's an? <b>(\d)</b>", verdict).group(1))
    model = re.search(r"Answering: \*\*.*?\*\* \(`([\w-]+)`", page).group(1)

    # the best available CNN answers
    assert model == next(name for name in HERO_MODELS if name in available())
    # independently: the same weights, the same test digit
    data = load_mnist(mnist_dir)
    assert data.test_labels[index] == 4
    net, _ = load_pretrained(model)
    probabilities = net.predict_proba(data.test_images[index : index + 1])[0]
    assert shown == int(probabilities.argmax())
    assert f"{probabilities.max():.0%} sure" in page
    assert ("— right" in verdict) == (shown == 4)

    before = index
    for _ in range(3):  # a new random test digit of the class (3 draws: a repeat is ~1e-9 likely)
        at.button(key="home_again").click().run()
        index = int(re.search(r"Test digit #(\d+) of", texts(at)).group(1))
        if index != before:
            break
    assert index != before and data.test_labels[index] == 4


def test_data_status_download_fills_the_cache(mnist_dir, monkeypatch, tmp_path):
    """The Download button fetches the four files (here from a local 'mirror') into the cache,
    verifies them, and the page then reports MNIST as ready."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist_data, "MIRRORS", (mnist_dir.resolve().as_uri() + "/",))
    at = run_home()
    assert "MNIST is not available yet" in texts(at)
    at.button(key="home_data_download").click().run()
    assert not at.exception, at.exception
    assert "MNIST is ready" in texts(at)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(f + ".gz" for f in mnist_data.FILES)
    # the hero can now use test digits
    hero_source(at).set_value("test").run()
    assert not at.exception and any("It's a" in m.value for m in at.markdown)


def _home_with(params: dict) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "explorer" / "Home.py"), default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.mnist
def test_a_link_names_the_test_digit_and_a_reload_brings_it_back(mnist_dir):
    at = _home_with({"home_source": "test", "home_test_index": "123"})
    label = int(load_mnist(mnist_dir).test_labels[123])
    assert f"Test digit #123 of 10,000, labelled **{label}**." in texts(at)
    at.button(key="home_again").click().run()  # a new digit goes into the link
    index = int(at.query_params["home_test_index"])
    assert index != 123 and f"Test digit #{index} of" in texts(at)


def test_a_link_carries_a_drawn_digit(tmp_path):
    from explorer.data.preprocess import encode_digit

    seven = np.zeros((28, 28), np.uint8)
    seven[6:9, 7:21] = 255
    for row in range(9, 23):
        seven[row, 19 - (row - 9) // 2 : 22 - (row - 9) // 2] = 255
    at = _home_with({"digit": encode_digit(seven)})
    page = texts(at)
    assert "the digit from the link" in page and "It's a" in page
    assert not at.toast  # the parameter was used, not dropped


def test_a_malformed_drawn_digit_in_a_link_is_dropped_quietly():
    at = _home_with({"digit": "not-a-digit!"})
    assert "the digit from the link" not in texts(at)
    assert "digit" not in at.query_params
