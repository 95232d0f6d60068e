"""Lessons: every lesson of the lesson plan as one link that opens its page preset, with its card."""

from __future__ import annotations

import streamlit as st

from explorer.ui.lessons import LESSONS, Lesson, lesson_query
from explorer.ui import url_state
from explorer.ui.app_setup import PAGES, page_for_link
from explorer.ui.presenter import presenting

_PAGE_TITLES = {info.url_path: info.title for info in PAGES} | {"": "Home"}
_PAGE_ICONS = {info.url_path: info.icon for info in PAGES} | {"": ":material/home:"}


def lesson_tile(number: int, lesson: Lesson, present: bool) -> None:
    with st.container(border=True):
        st.markdown(f"**{number}. {lesson.title}**")
        st.caption(f"{lesson.minutes} min. {lesson.goal}")
        st.page_link(page_for_link(lesson.page), label=f"Open in {_PAGE_TITLES[lesson.page]}",
                     icon=_PAGE_ICONS[lesson.page], query_params=lesson_query(lesson, present))  # fmt: skip


st.title("Lessons")
if not presenting():
    st.markdown("Each lesson is one link: it opens its page with the settings the lesson needs and a card on top "
                "with the goal, what to do, what to notice, a question for the class and its answer, folded away. "
                "**Presenter mode** is for a projector: larger text, the sidebar closed, and only what the lesson "
                "needs on screen. The links are also in the README.")  # fmt: skip
url_state.bind("lessons_present", True)
present = st.toggle("Open in presenter mode", key="lessons_present")
PER_ROW = 3  # a row of columns at a time, so a phone stacks the lessons in order
for start in range(0, len(LESSONS), PER_ROW):
    for column, (index, lesson) in zip(st.columns(PER_ROW, gap="medium"), enumerate(LESSONS[start:start + PER_ROW], start)):
        with column:
            lesson_tile(index + 1, lesson, present)
