import sys
from pathlib import Path

# `streamlit run explorer/Home.py` puts only explorer/ on sys.path; add the repo root for `import explorer`.
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import streamlit as st  # noqa: E402

from explorer.ui.warmup import prepare_process  # noqa: E402

prepare_process()  # heavy imports once per process, before any session draws (concurrent first imports break plotly)

from explorer.figures.theme import use_theme  # noqa: E402
from explorer.i18n import t  # noqa: E402
from explorer.ui import url_state  # noqa: E402
from explorer.ui.language import language_switch, use_session_language  # noqa: E402
from explorer.ui.charts import chart  # noqa: E402
from explorer.ui.scheduler import scheduler  # noqa: E402
from explorer.ui.lesson_card import current_lesson, show_lesson_card  # noqa: E402
from explorer.ui.train_state import session_id  # noqa: E402
from explorer.ui.presenter import presenting, use_presenter_style  # noqa: E402
from explorer.ui.app_setup import (  # noqa: E402
    APP_ICON,
    PAGES,
    home_page,
    make_st_pages,
)

url_state.begin_run()
use_session_language()  # before any text is read
st.set_page_config(page_title=t("app.title"), page_icon=APP_ICON, layout="wide")
use_presenter_style()
use_theme()

_pages = make_st_pages()

INTRO = (
    "A neural network learns to read handwritten digits from 60,000 examples, and this app lets you watch it "
    "happen and look inside. Every layer is written from scratch in plain NumPy, so each number on screen comes "
    "from code you can read. Train a network yourself, see what its filters detect, and find which pixels a "
    "neuron can see."
)
HERO_SOURCES = {"draw": "Draw", "test": "Test digit"}  # URL id -> label
ANY_DIGIT = "any digit"

# The answer sits above the canvas, in a box of fixed height: on a phone (columns stacked) it is on
# screen while drawing, and the canvas does not jump when the answer appears.
_HERO_CSS = """
<style>
.st-key-home_verdict { min-height: 5.6rem; gap: 0.2rem; }
.st-key-home_verdict p { margin: 0; }
@media (max-width: 640px) {
  .st-key-home_verdict { min-height: 5rem; }
  [data-testid="stMain"] h1 { font-size: 2rem !important; }
  [data-testid="stMain"] h2 { font-size: 1.5rem !important; }
}
</style>
"""


def a_or_an(number: int) -> str:
    """The article English puts before a number said aloud: "an 8", "an 11", "an 18", "an 80", "a 7"."""
    digits = str(abs(int(number)))
    leading_group = digits[: len(digits) % 3 or 3]  # 11 in 11,000; 8 in 8,500; 180 in 180,000
    return "an" if leading_group.startswith("8") or leading_group in ("11", "18") else "a"


def verdict_html(predicted: int, label: int | None) -> str:
    """The big answer line, e.g. "It's a <b>7</b> — right"."""
    verdict = f"It's {a_or_an(predicted)} <b>{predicted}</b>"
    if label is not None:
        verdict += " — right" if label == predicted else f" — wrong: the label says {label}"
    return f"<p style='font-size:2.6rem;font-weight:700;line-height:1.15;margin:0'>{verdict}</p>"


def runner_up_text(probabilities) -> str:
    """ "97% sure" and, when the second guess has at least 1%, "next: 9 (2%)"."""
    order = probabilities.argsort()[::-1]
    text = f"**{probabilities[order[0]]:.0%} sure**"
    if probabilities[order[1]] >= 0.01:
        text += f"; next: {order[1]} ({probabilities[order[1]]:.0%})"
    return text


def _hero_network():
    """(name, network, card) of the best shipped CNN that loads, or None; damaged files get a warning."""
    from explorer.nn.checkpoints import ModelFileError
    from explorer.lab.results import best_available
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


def _drawn_or_linked_digit():
    """The drawing's digit, put in the link; or, before anything is drawn, the digit a link carries."""
    from explorer.ui.digit_input import LINK_DIGIT_TEXT, Digit, digit_from_link, draw_digit, put_digit_in_link

    digit = draw_digit("home")
    if digit is not None:
        put_digit_in_link("home", digit.image)  # a reload or a shared link brings this 28x28 digit back
        return digit
    linked = digit_from_link("home")
    if linked is None:
        put_digit_in_link("home", None)
        return None
    st.caption(f"Showing **{LINK_DIGIT_TEXT}**. Draw on the canvas to replace it.")
    return Digit(linked, LINK_DIGIT_TEXT)


def _hero() -> None:
    from explorer.figures.common import digit_figure, probability_bars
    from explorer.nn.models import MODELS
    from explorer.ui.digit_input import empty_hint, pick_test_digit
    from explorer.ui.resources import mnist_or_none

    st.html(_HERO_CSS)
    st.header("Draw a digit: the network answers", anchor="hero")
    left, right = st.columns([0.9, 1.6], gap="large")
    with left:
        url_state.bind("home_source", "draw", options=list(HERO_SOURCES))
        source = st.segmented_control("Where the digit comes from", list(HERO_SOURCES), format_func=HERO_SOURCES.get,
                                      key="home_source", required=True, label_visibility="collapsed")  # fmt: skip
        verdict_box = st.container(key="home_verdict")  # filled once the network has answered
        if source == "test":
            url_state.bind("home_class", ANY_DIGIT, options=[ANY_DIGIT, *range(10)])
            digit = pick_test_digit(mnist_or_none(), "home")
        else:
            digit = _drawn_or_linked_digit()
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
            if source == "draw":
                empty_hint()
                verdict_box.caption("The network's answer appears here.")
            st.caption(f"Answering: **{title}** (`{name}`{known}).")
            return
        probabilities = net.predict_proba(digit.image[None])[0]
        predicted = int(probabilities.argmax())
        verdict_box.markdown(verdict_html(predicted, digit.label), unsafe_allow_html=True)
        verdict_box.markdown(runner_up_text(probabilities))
        st.markdown(f"Answering: **{title}** (`{name}`{known}).")
        inputs, bars = st.columns([1, 2], vertical_alignment="top")
        with inputs:
            figure = digit_figure(digit.image, "Its input: 28×28", size=250)
            figure.update_xaxes(showline=False, ticks="").update_yaxes(showline=False, ticks="")
            chart(figure, key="home_input", toolbar=False, width="content")
        with bars:
            chart(probability_bars(probabilities, digit.label, title="Probability of each digit"), key="home_bars", toolbar=False)


def _cards() -> None:
    st.header("Explore", anchor="explore")
    per_row = 2  # wide enough for each page's full title next to the sidebar at 1280 px
    for start in range(0, len(PAGES), per_row):
        row = zip(st.columns(per_row, gap="medium"), PAGES[start:start + per_row], _pages[start:start + per_row])
        for col, info, page in row:
            with col.container(border=True):
                st.image(_thumbnail(info.url_path), width="stretch")
                st.page_link(page, label=info.title, icon=info.icon)
                st.caption(info.description)


@st.cache_data(show_spinner=False)
def _thumbnail(url_path: str):
    from explorer.ui.app_setup import page_thumbnail

    return page_thumbnail(url_path)


def _results_table() -> None:
    from explorer.lab.results import footer, markdown_table, rows

    titles = {p.url_path: p.title for p in PAGES}
    st.header("From 95% to 99.6%", anchor="results")
    if presenting():  # the whole table on a projector's screen
        st.html("<style>[data-testid='stMain'] table { font-size: 0.78rem; line-height: 1.25; }</style>")
    else:
        st.markdown("The networks of the articles this app follows, from a small two-layer network to a modern "
                    "CNN: what each article claims, and what the same network reached when we trained it with "
                    "our NumPy core.")  # fmt: skip
    st.markdown(markdown_table(rows(), lambda path: f"[{titles.get(path, path)}]({path})"))
    st.caption(footer())


def home() -> None:
    from explorer.ui.data_status import show_data_status

    lesson = current_lesson()
    if lesson is None or not presenting():  # on a projector, the lesson card titles the page
        st.title(t("app.title"))
    results_first = lesson is not None and lesson.id == "results"  # the lesson is about the table
    if results_first:
        _results_table()
    if not presenting():
        st.markdown(INTRO)
    _hero()
    _cards()
    if not results_first:
        _results_table()
    st.header("The MNIST data", anchor="data")
    show_data_status("home_data")


scheduler().visit(session_id())  # the training scheduler keeps a core free while others click
try:
    _page = st.navigation([home_page(home), *_pages])
    language_switch()
    show_lesson_card()
    _page.run()
finally:  # also when the page stops early (st.stop, st.rerun): the URL keeps up with its widgets
    url_state.publish()
