"""The lesson card: when the URL names a lesson (`lesson=<id>`), a bordered card at the top of the page.

The entrypoint calls `show_lesson_card()` before the page runs. In presenter mode the card stays
short (goal and steps side by side, the rest folded away) so the page's key chart still fits a
1280x720 projector window.
"""

from __future__ import annotations

import streamlit as st

from explorer import i18n
from explorer.i18n import t
from explorer.ui.lessons import LANG_PARAM, LESSON_PARAM, Lesson, lesson_by_id
from explorer.ui.presenter import presenting

LESSONS_PAGE = "lessons"  # url_path of the Lessons page

# The card's text a size smaller than the page's, so the page's key chart stays on a projector's screen.
_COMPACT_CSS = """
<style>
.st-key-lesson_card { padding: 0.6rem 1rem 0.9rem; gap: 0.4rem; }
.st-key-lesson_card p, .st-key-lesson_card li { font-size: 0.85rem; line-height: 1.4; margin-bottom: 0.2rem; }
.st-key-lesson_card [data-testid="stExpander"] summary { padding-top: 0.3rem; padding-bottom: 0.3rem; }
/* On a phone the columns stack: the steps fold away too, so the page starts on the first screen;
   their whole column goes, or its empty place and gaps stay between the goal and the expanders. */
@media (min-width: 641px) { .st-key-lesson_steps_folded { display: none; } }
@media (max-width: 640px) { [data-testid="stColumn"]:has(.st-key-lesson_steps) { display: none; } }
</style>
"""


def current_lesson_id() -> str | None:
    """The lesson id in the URL, or None."""
    return st.query_params.get(LESSON_PARAM) or None


def current_lesson() -> Lesson | None:
    """The lesson named in the URL, or None (also for an unknown id)."""
    return lesson_by_id(current_lesson_id())


def show_lesson_card() -> Lesson | None:
    """Draw the card of the lesson in the URL and return the lesson; an unknown id gets a quiet note."""
    lesson_id = current_lesson_id()
    if lesson_id is None:
        return None
    lesson = lesson_by_id(lesson_id)
    if lesson is None:
        st.caption(t("lesson_card.unknown", lesson_id=lesson_id, lessons_page=_lessons_page_link()))
        return None
    with st.container(border=True, key="lesson_card"):
        if presenting():
            _compact_card(lesson)
        else:
            _full_card(lesson)
    return lesson


def _lessons_page_link() -> str:
    """The Lessons page's address, in the session's language (English, the default, needs no `lang`)."""
    lang = i18n.current()
    return LESSONS_PAGE if lang == i18n.DEFAULT else f"{LESSONS_PAGE}?{LANG_PARAM}={lang}"


def _heading(lesson: Lesson) -> None:
    st.markdown(f"**:material/school: {t('lesson_card.heading', minutes=lesson.minutes, title=lesson.title)}**")


def _steps_markdown(lesson: Lesson) -> str:
    return "\n".join(f"{number}. {step}" for number, step in enumerate(lesson.steps, start=1))


def _full_card(lesson: Lesson) -> None:
    _heading(lesson)
    goal, steps = st.columns([2, 3], gap="medium")
    goal.markdown(f"**{t('lesson_card.goal')}** {lesson.goal}")
    steps.markdown(f"**{t('lesson_card.what_to_do')}**\n\n" + _steps_markdown(lesson))
    notice, question = st.columns([2, 3], gap="medium")
    notice.markdown(f"**{t('lesson_card.what_to_notice')}** {lesson.notice}")
    question.markdown(f"**{t('lesson_card.question_for_the_class')}** {lesson.question}")
    with st.expander(t("lesson_card.answer")):
        st.markdown(lesson.answer)


def _compact_card(lesson: Lesson) -> None:
    """Three columns (goal, steps, what is folded away): about 200 px high at 1280x720."""
    st.html(_COMPACT_CSS)
    goal, steps, folded = st.columns([3, 4, 2], gap="medium")
    with goal:
        _heading(lesson)
        st.markdown(lesson.goal)
    steps.container(key="lesson_steps").markdown(_steps_markdown(lesson))
    with folded.container(key="lesson_steps_folded").expander(t("lesson_card.what_to_do")):
        st.markdown(_steps_markdown(lesson))
    with folded.expander(t("lesson_card.for_the_class")):
        st.markdown(f"**{t('lesson_card.what_to_notice')}** {lesson.notice}\n\n**{t('lesson_card.question')}** {lesson.question}")
    with folded.expander(t("lesson_card.answer")):
        st.markdown(lesson.answer)
