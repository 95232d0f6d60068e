import sys
from pathlib import Path

# `streamlit run explorer/Home.py` puts only explorer/ on sys.path; add the repo root for `import explorer`.
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import streamlit as st  # noqa: E402

from explorer.ui.warmup import prepare_process  # noqa: E402

prepare_process()  # heavy imports once per process, before any session draws (concurrent first imports break plotly)

from explorer.theme import use_theme  # noqa: E402
from explorer.ui import url_state  # noqa: E402
from explorer.ui.charts import chart  # noqa: E402
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

INTRO = (
    "A neural network learns to read handwritten digits from 60,000 examples, and this app lets you watch it "
    "happen and look inside. Every layer is written from scratch in plain NumPy, so each number on screen comes "
    "from code you can read. Train a network yourself, see what its filters detect, and find which pixels a "
    "neuron can see."
)
HERO_SOURCES = ("Draw", "Test digit")


def _hero_network():
    """(name, network, card) of the best shipped CNN that loads, or None; damaged files get a warning."""
    from explorer.checkpoints import ModelFileError
    from explorer.results import best_available
    from explorer.ui.resources import pretrained_models, session_pretrained

    problems = []
    chosen = None
    for name in best_available(pretrained_models()):
        try:
            net, card = session_pretrained(name)
        except ModelFileError as error:
            problems.append(f"**{name}**: {error}")
            continue
        except Exception as error:  # noqa: BLE001 - any broken file: a message, never a traceback
            problems.append(f"**{name}**: {type(error).__name__}: {error}")
            continue
        chosen = (name, net, card)
        break
    if problems:
        fallback = f" Using **{chosen[0]}** instead." if chosen else ""
        st.warning("Some pretrained weights could not be used, so the app skips them: " + "; ".join(problems) + fallback,
                   icon=":material/report:")  # fmt: skip
    return chosen


def _hero() -> None:
    from explorer.figures.common import digit_figure, probability_bars
    from explorer.models import MODELS
    from explorer.ui.digit_input import draw_digit, empty_hint, pick_test_digit
    from explorer.ui.resources import mnist_or_none

    st.header("Draw a digit: the network answers", anchor="hero")
    left, right = st.columns([0.9, 1.6], gap="large")
    with left:
        source = st.segmented_control("Where the digit comes from", HERO_SOURCES, default=HERO_SOURCES[0],
                                      key="home_source", label_visibility="collapsed") or HERO_SOURCES[0]  # fmt: skip
        if source == "Draw":
            digit = draw_digit("home")
        else:
            digit = pick_test_digit(mnist_or_none(), "home")
    with right:
        hero = _hero_network()
        if hero is None:
            st.error("No pretrained CNN is available on this server (pretrained/ has none of deepconvnet, "
                     "tf-cnn-bn, lenet, zhou-cnn), so the demo cannot answer. The other pages still work.",
                     icon=":material/error:")  # fmt: skip
            return
        name, net, card = hero
        title = MODELS[card["model"]].title if card.get("model") in MODELS else name
        accuracy = card.get("test_accuracy")
        known = f", {accuracy:.2%} right on the 10,000 test digits" if isinstance(accuracy, (int, float)) else ""
        if digit is None:
            if source == "Draw":
                empty_hint()
            st.caption(f"Answering: **{title}** (`{name}`{known}).")
            return
        probabilities = net.predict_proba(digit.image[None])[0]
        predicted = int(probabilities.argmax())
        verdict = f"It's a <b>{predicted}</b>"
        if digit.label is not None:
            verdict += " — right" if digit.label == predicted else f" — wrong: the label says {digit.label}"
        st.markdown(f"<p style='font-size:2.6rem;font-weight:700;line-height:1.15;margin:0'>{verdict}</p>",
                    unsafe_allow_html=True)  # fmt: skip
        st.markdown(f"{probabilities[predicted]:.0%} sure. Answering: **{title}** (`{name}`{known}).")
        inputs, bars = st.columns([1, 2], vertical_alignment="top")
        with inputs:
            figure = digit_figure(digit.image, "Its input: 28×28", size=250)
            figure.update_xaxes(showline=False, ticks="").update_yaxes(showline=False, ticks="")
            chart(figure, key="home_input", toolbar=False, width="content")
        with bars:
            chart(probability_bars(probabilities, digit.label, title="Probability of each digit"), key="home_bars", toolbar=False)


def _cards() -> None:
    st.header("Explore", anchor="explore")
    cols = st.columns(len(PAGES), gap="medium")
    for col, info, page in zip(cols, PAGES, _pages):
        with col.container(border=True):
            st.image(_thumbnail(info.url_path), width="stretch")
            st.page_link(page, label=info.title, icon=info.icon)
            st.caption(info.description)


@st.cache_data(show_spinner=False)
def _thumbnail(url_path: str):
    from explorer.ui.app_setup import page_thumbnail

    return page_thumbnail(url_path)


def _results_table() -> None:
    from explorer.results import footer, markdown_table, rows

    titles = {p.url_path: p.title for p in PAGES}
    st.header("From 95% to 99.6%", anchor="results")
    st.markdown("The networks of the articles this app follows, from a small two-layer network to a modern "
                "CNN: what each article claims, and what the same network reached when we trained it with our "
                "NumPy core.")  # fmt: skip
    st.markdown(markdown_table(rows(), lambda path: f"[{titles.get(path, path)}]({path})"))
    st.caption(footer())


def home() -> None:
    from explorer.ui.data_status import show_data_status

    st.title(APP_TITLE)
    st.markdown(INTRO)
    _hero()
    _cards()
    _results_table()
    st.header("The MNIST data", anchor="data")
    show_data_status("home_data")


url_state.begin_run()
try:
    st.navigation([st.Page(home, title=HOME_TITLE, icon=HOME_ICON, default=True), *_pages]).run()
finally:  # also when the page stops early (st.stop, st.rerun): the URL keeps up with its widgets
    url_state.publish()
