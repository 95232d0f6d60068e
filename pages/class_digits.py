"""Class digits: students contribute handwritten digits to a class room; the class sees, live,
how each network does on them (issue 19). The work is in explorer/ui/class_view.py."""

from __future__ import annotations

import streamlit as st

from explorer.data.classdb import ClassDbUnavailable
from explorer.i18n import t
from explorer.ui import class_view
from explorer.ui.presenter import presenting

if not (presenting() and st.query_params.get("lesson")):  # in a lesson, its card titles the page
    st.title(t("pages.class_digits.title"))


def class_page() -> None:
    try:
        rooms = class_view.class_rooms()
    except ClassDbUnavailable as problem:
        st.error(class_view.unavailable_text(problem), icon=":material/database_off:")
        st.caption(t("class_digits.without_rooms"))
        return
    class_view.show_flash()
    code = class_view.bind_room()
    info = class_view.room_info_or_leave(rooms, code) if code else None
    if info is None:
        class_view.no_room(rooms)
        return
    class_view.room_header(info)
    view = class_view.choose_view()
    if view == "class":
        class_view.class_view(rooms, info.code)
    elif view == "teacher":
        class_view.teacher(rooms, info)
    else:
        class_view.contribute(rooms, info)
    st.caption(t("class_digits.not_permanent"))


try:
    class_page()
except ClassDbUnavailable as problem:  # the file broke while the page ran: say why, keep the app
    st.error(class_view.unavailable_text(problem), icon=":material/database_off:")
