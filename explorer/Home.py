"""The app: `streamlit run explorer/Home.py`.

Streamlit first imports this file to find `app` below, whose lifespan prepares the server process
before it opens its port (explorer/ui/warmup.py); then it runs the file as __main__ for every page
view of every session: `main()`, the settings all pages share, the navigation and the page.
"""
import json
import sys
from pathlib import Path

# `streamlit run explorer/Home.py` puts only explorer/ on sys.path; add the repo root for `import explorer`.
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import streamlit as st  # noqa: E402

from explorer.ui.warmup import prepare_process, prepared_server  # noqa: E402

prepare_process()  # heavy imports once per process, before any session draws (concurrent first imports break plotly)

from explorer.figures.theme import use_theme  # noqa: E402
from explorer.i18n import current as current_language, t  # noqa: E402
from explorer.lab.results import HERO_MODELS  # noqa: E402
from explorer.ui import url_state  # noqa: E402
from explorer.ui.language import language_switch, use_session_language  # noqa: E402
from explorer.ui.class_view import bind_room  # noqa: E402
from explorer.ui.charts import chart  # noqa: E402
from explorer.ui.digit_input import UNSURE_BELOW, doubt, percent_text, top_answers  # noqa: E402
from explorer.ui.scheduler import scheduler  # noqa: E402
from explorer.ui.lesson_card import current_lesson, show_lesson_card  # noqa: E402
from explorer.ui.train_state import session_id  # noqa: E402
from explorer.ui.presenter import presenting, use_presenter_style  # noqa: E402
from explorer.ui.app_setup import (  # noqa: E402
    APP_ICON,
    PAGES,
    home_page,
    make_st_pages,
    use_app_style,
)

HERO_SOURCES = ("draw", "test")  # URL ids; their labels are t("home.source.<id>")

# The answer sits above the canvas, in a box of fixed height: on a phone (columns stacked) it is on
# screen while drawing, and the canvas does not jump when the answer appears.
_HERO_CSS = """
<style>
.st-key-home_verdict { min-height: 5.6rem; gap: 0.2rem; }
.st-key-home_verdict p { margin: 0; }
/* Streamlit pulls a markdown block up by 1rem: a verdict that wraps (Chinese, or "— wrong: ...") would cover the line under it */
.st-key-home_verdict [data-testid="stMarkdownContainer"] { margin-bottom: 0 !important; }
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


def verdict_html(predicted: int, label: int | None, unsure: bool = False) -> str:
    """The big answer line, e.g. "It's a <b>7</b> — right", or "Maybe a <b>7</b>?"."""
    article = a_or_an(predicted)  # English: "a 7", "an 8"; the other languages use the same text for both
    digit = f"<b>{predicted}</b>"
    verdict = t(f"home.verdict.maybe_{article}", digit=digit) if unsure else t(f"home.verdict.{article}", digit=digit)
    if label == predicted:
        verdict = t("home.verdict.right", verdict=verdict)
    elif label is not None:
        verdict = t("home.verdict.wrong", verdict=verdict, label=label)
    return f"<p style='font-size:2.6rem;font-weight:700;line-height:1.15;margin:0'>{verdict}</p>"


def runner_up_text(probabilities) -> str:
    """ "97% sure; next: 9 (2%), 4 (<1%)": the top answer and the two after it."""
    (_, best), *others = top_answers(probabilities)
    text = "**" + t("home.verdict.sure", percent=percent_text(best)) + "**"
    if others:
        listed = t("home.verdict.separator").join(
            t("home.verdict.other", digit=digit, percent=percent_text(p)) for digit, p in others
        )
        text += t("home.verdict.next", answers=listed)
    return text


def doubt_text(reason: str, probabilities) -> str:
    return t(f"home.unsure.{reason}", percent=percent_text(top_answers(probabilities, 1)[0][1]),
             threshold=f"{UNSURE_BELOW:.0%}")  # fmt: skip


def _hero_network():
    """(name, network, card) of the best shipped CNN that loads, or None; damaged files get a warning."""
    from explorer.nn.checkpoints import ModelFileError
    from explorer.lab.results import best_available
    from explorer.ui.resources import error_text, pretrained_models, session_pretrained

    problems = []
    chosen = None
    for name in best_available(pretrained_models()):
        try:
            net, card = session_pretrained(name)
        except ModelFileError as error:
            problems.append(f"**{name}**: {error_text(error)}")
            continue
        except Exception as error:  # noqa: BLE001 - any broken file: a message, never a traceback
            problems.append(f"**{name}**: {type(error).__name__}: {error}")
            continue
        chosen = (name, net, card)
        break
    if problems:
        listed = "; ".join(problems)
        message = (t("home.weights_skipped_using", problems=listed, name=chosen[0]) if chosen
                   else t("home.weights_skipped", problems=listed))  # fmt: skip
        st.warning(message, icon=":material/report:")
    return chosen


def _drawn_or_linked_digit():
    """The drawing's digit, put in the link; or, before anything is drawn, the digit a link carries."""
    from explorer.ui.digit_input import Digit, digit_from_link, draw_digit, link_digit_text, put_digit_in_link

    digit = draw_digit("home")
    if digit is not None:
        put_digit_in_link("home", digit.image)  # a reload or a shared link brings this 28x28 digit back
        return digit
    linked = digit_from_link("home")
    if linked is None:
        put_digit_in_link("home", None)
        return None
    st.caption(t("home.link_digit_shown", what=link_digit_text()))
    return Digit(linked, link_digit_text())


def _answering_text(name: str, title: str, card: dict) -> str:
    accuracy = card.get("test_accuracy")
    if isinstance(accuracy, (int, float)):
        return t("home.answering_known", title=title, name=name, accuracy=f"{accuracy:.2%}")
    return t("home.answering", title=title, name=name)


def _show_answer(digit, net, verdict_box, answering: str) -> None:
    from explorer.figures.common import digit_figure, probability_bars

    probabilities = net.predict_proba(digit.image[None])[0]
    predicted = int(probabilities.argmax())
    reason = doubt(probabilities, digit.image)
    verdict_box.markdown(verdict_html(predicted, digit.label, unsure=reason is not None), unsafe_allow_html=True)
    verdict_box.markdown(runner_up_text(probabilities))
    if reason is not None:
        st.warning(doubt_text(reason, probabilities), icon=":material/help:")
    st.markdown(answering)
    inputs, bars = st.columns([1, 2], vertical_alignment="top")
    with inputs:
        figure = digit_figure(digit.image, t("home.input_title"), size=250, axis_lines=False)
        chart(figure, key="home_input", toolbar=False, width="content")
    with bars:
        chart(probability_bars(probabilities, digit.label, title=t("home.bars_title")), key="home_bars", toolbar=False)


@st.fragment
def _hero() -> None:
    """Draw a digit, the network answers. A fragment: a stroke or a choice reruns only this part,
    not the whole page (Home reruns at every stroke of every student in the class)."""
    scheduler().visit(session_id())  # main() does not run when the fragment reruns alone
    try:
        _draw_and_answer()
    finally:
        url_state.publish_values()  # when the fragment reruns alone, main() does not publish


def _draw_and_answer() -> None:
    from explorer.ui.digit_input import ANY_DIGIT, empty_hint, pick_test_digit
    from explorer.ui.resources import mnist_or_none

    st.html(_HERO_CSS)
    if presenting() and current_lesson() is not None:
        # On a projector the lesson card titles the demo; the canvas needs the height at 1280x720.
        st.html("<style>.st-key-home_verdict { min-height: 4.2rem; }</style>")
    else:
        st.header(t("home.hero"), anchor="hero")
    left, right = st.columns([0.9, 1.6], gap="large")
    with left:
        url_state.bind("home_source", "draw", options=list(HERO_SOURCES))
        source = st.segmented_control(t("home.source_label"), list(HERO_SOURCES),
                                      format_func=lambda id: t(f"home.source.{id}"),
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
            st.error(t("home.no_network", models=", ".join(HERO_MODELS)), icon=":material/error:")
            return
        name, net, card = hero
        title = t(f"home.model.{name}")  # one of HERO_MODELS
        answering = _answering_text(name, title, card)
        if digit is None:
            if source == "draw":
                empty_hint()
                verdict_box.caption(t("home.answer_here"))
            st.caption(answering)
            return
        _show_answer(digit, net, verdict_box, answering)


def _cards() -> None:
    st.header(t("home.explore"), anchor="explore")
    per_row = 2  # wide enough for each page's full title next to the sidebar at 1280 px
    for start in range(0, len(PAGES), per_row):
        for col, info in zip(st.columns(per_row, gap="medium", border=True), PAGES[start:start + per_row]):
            with col:
                st.image(_thumbnail(info.url_path, current_language()), width="stretch", output_format="PNG")
                st.page_link(info.entrypoint_relative, label=info.title, icon=info.icon)
                st.caption(info.description)


@st.cache_resource(show_spinner=False)
def _thumbnail(url_path: str, lang: str) -> bytes:  # noqa: ARG001 - the language keys the cache: its words are drawn in
    """The card's picture as PNG bytes, drawn and encoded once per process (not at every rerun)."""
    import io

    from explorer.ui.app_setup import page_thumbnail

    buffer = io.BytesIO()
    page_thumbnail(url_path).save(buffer, format="PNG")
    return buffer.getvalue()


RESULTS_UNBROKEN = ("accuracy", "parameters", "training_time")  # "39 min 39 s" must not leave its "s" alone on a line
PHONE_PX = 640  # narrower, and the seven columns would scroll sideways: each network becomes a card


def _results_table_css() -> str:
    """The table's numbers on one line; on a phone, each row a card whose cells say their column."""
    from explorer.lab.results import COLUMNS, column_titles

    table = ".st-key-results_table"
    unbroken = ", ".join(f"{table} td:nth-child({COLUMNS.index(c) + 1})" for c in RESULTS_UNBROKEN)
    labels = "".join(f"{table} td:nth-child({number})::before {{ content: {json.dumps(title + ': ', ensure_ascii=False)}; font-weight: 600; }}"
                     for number, title in enumerate(column_titles(), start=1))  # fmt: skip
    return (f"{unbroken} {{ white-space: nowrap; }}"
            f"@media (max-width: {PHONE_PX}px) {{"
            f"{table} thead {{ display: none; }}"
            f"{table} table, {table} tbody, {table} tr, {table} td {{ display: block; width: auto; }}"
            f"{table} tr {{ border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; margin-bottom: 0.75rem; padding: 0.4rem 0.7rem; }}"
            f"{table} td {{ border: none; text-align: left !important; padding: 0.1rem 0; }}"
            f"{labels}}}")  # fmt: skip


def _results_table() -> None:
    from explorer.lab.results import footer, markdown_table, rows

    titles = {p.url_path: p.title for p in PAGES}
    st.header(t("home.results_header"), anchor="results")
    if presenting():  # the whole table on a projector's screen
        st.html("<style>[data-testid='stMain'] table { font-size: 0.78rem; line-height: 1.25; }</style>")
    else:
        st.markdown(t("home.results_intro"))
    st.html(f"<style>{_results_table_css()}</style>")
    with st.container(key="results_table"):
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
        st.markdown(t("home.intro"))
    _hero()
    _cards()
    if not results_first:
        _results_table()
    st.header(t("home.data_header"), anchor="data")
    show_data_status("home_data")


def main() -> None:
    """One run for one session: what every page shares, the navigation, then the page itself."""
    url_state.begin_run()
    use_session_language()  # before any text is read
    bind_room()  # a class room joined on any page stays in every page's link
    st.set_page_config(page_title=t("app.title"), page_icon=APP_ICON, layout="wide")
    use_app_style()
    use_presenter_style()
    use_theme()
    scheduler().visit(session_id())  # the training scheduler rests between turns while others click
    try:
        page = st.navigation([home_page(home), *make_st_pages()])
        language_switch()
        show_lesson_card()
        page.run()
    finally:  # also when the page stops early (st.stop, st.rerun): the URL keeps up with its widgets
        url_state.publish()


if __name__ == "__main__":  # Streamlit runs this file as __main__ for each page view of each session
    main()
else:  # `streamlit run explorer/Home.py` imports it once first, finds `app` and serves it: the
    # server prepares the process (imports, MNIST, the shipped networks) before it opens its port
    app = st.App(__file__, lifespan=prepared_server)
