"""Lessons: every lesson of the lesson plan as one link that opens its page preset, with its card.

The links carry the session's language, so a teacher who copies one from the Chinese page sends a
link that opens in Chinese."""

from __future__ import annotations

import streamlit as st

from explorer import i18n
from explorer.i18n import t
from explorer.ui.lessons import LESSONS, Lesson, lesson_query
from explorer.ui import url_state
from explorer.ui.app_setup import PAGES, page_for_link
from explorer.ui.presenter import presenting

_PAGE_ICONS = {info.url_path: info.icon for info in PAGES} | {"": ":material/home:"}


def page_title(url_path: str) -> str:
    return t(f"pages.{url_path or 'home'}.title")


def lesson_tile(number: int, lesson: Lesson, present: bool) -> None:
    with st.container(border=True):
        st.markdown(f"**{number}. {lesson.title}**")
        st.caption(t("lessons.page.minutes_goal", minutes=lesson.minutes, goal=lesson.goal))
        st.page_link(page_for_link(lesson.page), label=t("lessons.page.open_in", page=page_title(lesson.page)),
                     icon=_PAGE_ICONS[lesson.page], query_params=lesson_query(lesson, present, i18n.current()))  # fmt: skip


st.title(t("pages.lessons.title"))
if not presenting():
    st.markdown(t("lessons.page.intro"))
url_state.bind("lessons_present", True)
present = st.toggle(t("lessons.page.present_toggle"), key="lessons_present")
PER_ROW = 3  # a row of columns at a time, so a phone stacks the lessons in order
for start in range(0, len(LESSONS), PER_ROW):
    for column, (index, lesson) in zip(st.columns(PER_ROW, gap="medium"), enumerate(LESSONS[start:start + PER_ROW], start)):
        with column:
            lesson_tile(index + 1, lesson, present)
