"""The lesson plan: each lesson is one link that opens its page preset, with a lesson card on top.

Plain data (no streamlit): the Lessons page lists these, the entrypoint shows the card of the
lesson named in the URL (`lesson=<id>`), README links to them and the tests play them. A lesson's
words are in the catalogs ([lessons.<id>] in explorer/locales/*.toml), so they follow the session's
language; a link may carry the language too (`lang=zh-Hans`), so it opens in the class's language.

    python -m explorer.lessons                  # the lesson links, as README lists them
    python -m explorer.lessons --lang zh-Hans   # the links README.zh-CN.md lists
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from urllib.parse import urlencode

from explorer import i18n
from explorer.i18n import t

LESSON_PARAM = "lesson"
PRESENT_PARAM = "present"
LANG_PARAM = "lang"
LOCAL_SERVER = "http://localhost:8501/"


@dataclass(frozen=True)
class Lesson:
    id: str  # the URL value of `lesson=`, and the lesson's table in the catalogs
    page: str  # the url_path of the page it opens ("" is Home)
    params: dict[str, str] = field(default_factory=dict)  # the page's URL parameters: the preset
    minutes: int = 10

    def _text(self, part: str) -> str:
        return t(f"lessons.{self.id}.{part}")

    @property
    def title(self) -> str:
        return self._text("title")

    @property
    def goal(self) -> str:
        """One sentence: what the class should take away."""
        return self._text("goal")

    @property
    def steps(self) -> tuple[str, ...]:
        """What to do, in order ([lessons.<id>.steps] numbers them 1, 2, ...)."""
        return tuple(self._text(f"steps.{number}") for number in range(1, self.step_count + 1))

    @property
    def step_count(self) -> int:
        prefix = f"lessons.{self.id}.steps."
        return sum(1 for key in i18n.catalog(i18n.DEFAULT) if key.startswith(prefix))

    @property
    def notice(self) -> str:
        """What to point at on the screen."""
        return self._text("notice")

    @property
    def question(self) -> str:
        """For the class."""
        return self._text("question")

    @property
    def answer(self) -> str:
        """Folded away until asked."""
        return self._text("answer")


def lesson_query(lesson: Lesson, present: bool = True, lang: str | None = None) -> dict[str, str]:
    """The URL parameters of the lesson's link: the lesson id, the page's preset, presenter mode and
    the language (English, the default, is left out)."""
    query = {LESSON_PARAM: lesson.id, **lesson.params}
    if present:
        query[PRESENT_PARAM] = "1"
    if lang and lang != i18n.DEFAULT:
        query[LANG_PARAM] = lang
    return query


def lesson_link(lesson: Lesson, present: bool = True, lang: str | None = None) -> str:
    """The link relative to the app's root, e.g. `train?lesson=inits&tr_mode=compare&cmp_preset=inits&present=1`
    (Home's lessons start with `?`)."""
    return f"{lesson.page}?{urlencode(lesson_query(lesson, present, lang))}"


def lesson_url(lesson: Lesson, base: str = LOCAL_SERVER, present: bool = True, lang: str | None = None) -> str:
    """The full link on a server, e.g. http://localhost:8501/train?lesson=inits&..."""
    return base.rstrip("/") + "/" + lesson_link(lesson, present, lang)


LESSONS: tuple[Lesson, ...] = (
    Lesson(id="draw", page="", params={"home_source": "draw"}, minutes=5),
    Lesson(id="inits", page="train", params={"tr_mode": "compare", "cmp_preset": "inits"}),
    Lesson(id="optimizers", page="train", params={"tr_mode": "compare", "cmp_preset": "optimizers"}),
    Lesson(id="paths", page="train", params={"tr_mode": "paths", "path_surface": "bowl"}),
    Lesson(id="filters", page="filters", params={"filters_source": "draw", "filters_model": "deepconvnet"}, minutes=15),
    Lesson(id="receptive-fields", page="receptive_fields", params={"rf_n": "2", "rf_c_in": "64", "rf_c_out": "64"}),
    Lesson(id="results", page="", params={}),
    Lesson(id="augment", page="train", params={"tr_mode": "compare", "cmp_preset": "augment"}),
    Lesson(id="my-digit", page="filters", params={"filters_source": "draw"}),
)

_BY_ID = {lesson.id: lesson for lesson in LESSONS}


def lesson_by_id(lesson_id: str | None) -> Lesson | None:
    """The lesson with that id, or None."""
    return _BY_ID.get(lesson_id or "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explorer.lessons", description="Print the lesson links.")
    parser.add_argument("--lang", choices=list(i18n.LANGUAGES), default=i18n.DEFAULT,
                        help="the language the links open in (and the titles are printed in)")  # fmt: skip
    parser.add_argument("--base", default=LOCAL_SERVER, help="the server's address")
    args = parser.parse_args(argv)
    with i18n.language(args.lang):
        for lesson in LESSONS:
            print(f"{lesson.id:18} {lesson_url(lesson, args.base, lang=args.lang)}  {lesson.title}")
    return 0


if __name__ == "__main__":
    main()
