"""Lessons as links: the lesson data, each lesson's link opening its page preset with the lesson
card (AppTest), the Lessons page, presenter mode, and README's lesson links."""

from __future__ import annotations

import ast
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from explorer.ui.lessons import LESSONS, Lesson, lesson_by_id, lesson_link, lesson_query, lesson_url
from explorer.ui import url_state
from explorer.ui.app_setup import PAGES, REPO_ROOT
from tests.home_app import HOME, fresh_caches  # noqa: F401 (fresh_caches is an autouse fixture)

TIMEOUT = 180
PAGE_FILES = {info.url_path: info.entrypoint_relative for info in PAGES}


def open_link(lesson_or_query, page: str = "") -> AppTest:
    """The app as a browser opens a lesson link: the query parameters, then the page's first run."""
    if isinstance(lesson_or_query, Lesson):
        page, query = lesson_or_query.page, lesson_query(lesson_or_query)
    else:
        query = lesson_or_query
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    if page:
        at.switch_page(PAGE_FILES[page])
    at.run()
    return at


def card_texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.markdown, *at.caption))


# --- the data -------------------------------------------------------------------------------


def test_at_least_eight_lessons_with_every_part_filled_in():
    assert len(LESSONS) >= 8
    assert len({lesson.id for lesson in LESSONS}) == len(LESSONS)
    for lesson in LESSONS:
        assert re.fullmatch(r"[a-z0-9-]+", lesson.id), lesson.id
        assert lesson.page == "" or lesson.page in PAGE_FILES, lesson.page
        for part in ("title", "goal", "notice", "question", "answer"):
            assert getattr(lesson, part).strip(), f"{lesson.id} has no {part}"
        assert lesson.steps and all(step.strip() for step in lesson.steps)
        assert all(isinstance(value, str) for value in lesson.params.values())
        assert lesson_by_id(lesson.id) is lesson
    assert lesson_by_id("no-such-lesson") is None and lesson_by_id(None) is None


def test_the_readme_lessons_and_the_two_new_ones_are_there():
    by_id = {lesson.id: lesson for lesson in LESSONS}
    expected = {  # id: (page, preset the link must carry)
        "draw": ("", {}),
        "inits": ("train", {"tr_mode": "compare", "cmp_preset": "inits"}),
        "optimizers": ("train", {"tr_mode": "compare", "cmp_preset": "optimizers"}),
        "filters": ("filters", {"filters_source": "draw", "filters_model": "deepconvnet"}),
        "receptive-fields": ("receptive_fields", {"rf_n": "2"}),
        "results": ("", {}),
        "augment": ("train", {"tr_mode": "compare", "cmp_preset": "augment"}),
        "my-digit": ("filters", {"filters_source": "draw"}),
    }
    for lesson_id, (page, preset) in expected.items():
        assert by_id[lesson_id].page == page
        assert preset.items() <= by_id[lesson_id].params.items(), lesson_id


def test_optimizer_paths_lesson_names_a_real_surface():
    from explorer.lab.optim_paths import SURFACES

    paths = lesson_by_id("paths")
    assert paths.params["tr_mode"] == "paths" and paths.params["path_surface"] in SURFACES


def test_lesson_link_carries_the_lesson_the_preset_and_presenter_mode():
    inits = lesson_by_id("inits")
    assert lesson_link(inits) == "train?lesson=inits&tr_mode=compare&cmp_preset=inits&present=1"
    assert lesson_link(inits, present=False) == "train?lesson=inits&tr_mode=compare&cmp_preset=inits"
    assert lesson_url(inits) == "http://localhost:8501/train?" + urlencode(lesson_query(inits))
    home = lesson_by_id("results")
    assert lesson_link(home) == "?lesson=results&present=1"
    for lesson in LESSONS:
        path, _, query = lesson_link(lesson).partition("?")
        assert path == lesson.page
        assert dict(parse_qsl(query)) == {"lesson": lesson.id, **lesson.params, "present": "1"}


# --- each link opens its page preset, with the card ------------------------------------------


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_each_lesson_link_opens_its_page_preset_with_the_card(lesson):
    at = open_link(lesson)
    assert not at.exception, at.exception
    texts = card_texts(at)
    assert lesson.title in texts and lesson.goal in texts  # the card
    assert all(step in texts for step in lesson.steps)
    assert {"For the class", "Answer"} <= {e.label for e in at.expander}  # folded away (presenter mode)
    bound = at.session_state[url_state._BOUND]
    for key, text in lesson.params.items():
        assert key in bound, f"the {lesson.page or 'Home'} page does not bind {key!r} (url_state.bind)"
        assert url_state.encode(at.session_state[key]) == text, f"{key}: {at.session_state[key]!r} != {text!r}"
    assert at.query_params.get("lesson") == lesson.id and at.query_params.get("present") == "1"


def test_the_card_without_presenter_mode_shows_notice_and_question_and_folds_the_answer():
    lesson = lesson_by_id("receptive-fields")
    at = open_link({"lesson": lesson.id, **lesson.params}, lesson.page)
    assert not at.exception, at.exception
    texts = card_texts(at)
    assert lesson.notice in texts and lesson.question in texts
    answer = next(e for e in at.expander if e.label == "Answer")
    assert answer.proto.expanded is False and lesson.answer in card_texts(answer)


def test_an_unknown_lesson_gives_a_quiet_note_and_the_page_as_usual():
    at = open_link({"lesson": "no-such-lesson"})
    assert not at.exception and not at.error
    assert any("no lesson called “no-such-lesson”" in c.value for c in at.caption)
    assert [h.value for h in at.header][0] == "Draw a digit: the network answers"


def test_the_results_lesson_opens_home_on_the_table():
    at = open_link(lesson_by_id("results"))
    assert not at.exception
    assert [h.value for h in at.header][0] == "From 95% to 99.6%"


def test_presenter_mode_skips_home_intro_and_styles_the_page():
    from explorer.ui.presenter import _PRESENTER_CSS

    plain, presenting = open_link({}), open_link({"present": "1"})
    intro = "A neural network learns to read handwritten digits"
    assert any(intro in m.value for m in plain.markdown)
    assert not any(intro in m.value for m in presenting.markdown)
    style = "header[data-testid=\"stHeader\"]"
    assert not any(style in h.proto.body for h in plain.get("html"))
    assert any(h.proto.body == _PRESENTER_CSS.strip() or style in h.proto.body for h in presenting.get("html"))


# --- the Lessons page -----------------------------------------------------------------------


def lesson_links(at: AppTest) -> list:
    return [link for link in at.get("page_link") if link.proto.query_string]


@pytest.mark.parametrize("present", [True, False])
def test_lessons_page_links_every_lesson_to_its_page_preset(present):
    at = open_link({} if present else {"lessons_present": "0"}, "lessons")
    assert not at.exception, at.exception
    assert at.title[0].value == "Lessons"
    links = lesson_links(at)
    assert len(links) == len(LESSONS)
    for link, lesson in zip(links, LESSONS):
        assert link.proto.page == lesson.page  # the page's URL path ("" for Home)
        assert link.proto.query_string == urlencode(lesson_query(lesson, present))
    titles = card_texts(at)
    assert all(lesson.title in titles for lesson in LESSONS)


def test_lessons_page_toggle_switches_presenter_mode_off_in_every_link():
    at = open_link({}, "lessons")
    at.toggle(key="lessons_present").set_value(False).run()
    assert not at.exception
    assert all("present=" not in link.proto.query_string for link in lesson_links(at))
    assert at.query_params.get("lessons_present") == "0"  # the choice is in the URL


def test_home_has_a_card_leading_to_the_lessons_page():
    at = open_link({})
    lessons = next(info for info in PAGES if info.url_path == "lessons")
    assert any(link.proto.page == "lessons" for link in at.get("page_link"))
    assert any(lessons.description in c.value for c in at.caption)


# --- Home's answer --------------------------------------------------------------------------


def a_or_an():
    """Home's own a_or_an (Home.py is the entrypoint script, so it is read, not imported)."""
    with open(HOME) as source:
        tree = ast.parse(source.read())
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "a_or_an")
    namespace: dict = {}
    exec(compile(ast.Module([function], type_ignores=[]), HOME, "exec"), namespace)
    return namespace["a_or_an"]


@pytest.mark.parametrize("number, article", [(0, "a"), (1, "a"), (7, "a"), (8, "an"), (11, "an"), (18, "an"),
                                             (80, "an"), (88, "an"), (100, "a"), (110, "a"), (800, "an"),
                                             (1100, "a"), (8000, "an"), (11_000, "an"), (180_000, "a")])  # fmt: skip
def test_a_or_an(number, article):
    assert a_or_an()(number) == article


def test_home_says_an_8(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    at = open_link({"home_source": "test", "home_class": "8"})
    assert not at.exception, at.exception
    assert at.session_state["home_source"] == "test" and at.session_state["home_class"] == 8  # from the link
    # The test digit is a random 8: the network may be unsure of it ("Maybe an 8?"), rarely but not never.
    verdict = next(m.value for m in at.markdown if re.search(r"(It's|Maybe) an? <b>", m.value))
    opening, shown = re.search(r"(It's|Maybe) an? <b>(\d)</b>", verdict).groups()
    assert f"{opening} {'an' if shown == '8' else 'a'} <b>{shown}</b>" in verdict


def test_home_source_and_class_follow_the_widgets_into_the_url(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    at = open_link({})
    next(b for b in at.button_group if b.key == "home_source").set_value("test").run()
    at.selectbox(key="home_class").set_value(3).run()
    assert not at.exception
    assert at.query_params.get("home_source") == "test" and at.query_params.get("home_class") == "3"


# --- README ---------------------------------------------------------------------------------


def readme_lessons_section() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"^## Lessons\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert match, "README has no '## Lessons' section"
    return match.group(1)


def test_readme_lesson_links_match_the_lessons():
    section = readme_lessons_section()
    links = re.findall(r"\((http://localhost:8501/[^)\s]*)\)", section)
    assert links == [lesson_url(lesson) for lesson in LESSONS]
    for lesson in LESSONS:
        assert lesson.title in section
        assert f"(docs/lessons/{lesson.id}.png)" in section
    for url in links:  # each opens a page of the app
        assert urlsplit(url).path.strip("/") in {"", *PAGE_FILES}


def readme_zh_lessons_section() -> str:
    text = (REPO_ROOT / "README.zh-CN.md").read_text()
    match = re.search(r"^## 课程\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert match, "README.zh-CN.md has no '## 课程' section"
    return match.group(1)


def test_readme_zh_cn_lesson_links_open_in_simplified_chinese():
    from explorer import i18n

    section = readme_zh_lessons_section()
    links = re.findall(r"\((http://localhost:8501/[^)\s]*)\)", section)
    assert links == [lesson_url(lesson, lang="zh-Hans") for lesson in LESSONS]
    assert all(dict(parse_qsl(urlsplit(url).query))["lang"] == "zh-Hans" for url in links)
    with i18n.language("zh-Hans"):
        for lesson in LESSONS:
            assert lesson.title in section, lesson.id
            assert f"(docs/lessons/{lesson.id}.png)" in section


def test_the_two_readmes_link_to_each_other_with_the_same_commands():
    english, chinese = (REPO_ROOT / "README.md").read_text(), (REPO_ROOT / "README.zh-CN.md").read_text()
    assert "(README.zh-CN.md)" in english.split("\n## ")[0]  # at the top
    assert "(README.md)" in chinese.split("\n## ")[0]
    commands = re.findall(r"```bash\n(.*?)\n```", english.split("\n## ")[0], flags=re.S)
    assert len(commands) == 2 and all(command in chinese for command in commands)
    for image in re.findall(r"\((docs/[^)\s]+\.png)\)", chinese):
        assert (REPO_ROOT / image).is_file(), f"README.zh-CN.md shows {image}, which does not exist"


# --- the lessons in three languages ---------------------------------------------------------


def test_every_lesson_has_every_part_in_every_language_and_the_same_steps():
    from explorer import i18n

    english_steps = {lesson.id: lesson.steps for lesson in LESSONS}
    for lang in i18n.LANGUAGES:
        with i18n.language(lang):
            for lesson in LESSONS:
                for part in ("title", "goal", "notice", "question", "answer"):
                    text = getattr(lesson, part)
                    assert text.strip() and not text.startswith("lessons."), f"{lang}: {lesson.id} has no {part}"
                prefix = f"lessons.{lesson.id}.steps."
                assert sum(key.startswith(prefix) for key in i18n.catalog(lang)) == len(english_steps[lesson.id])
                if lang != i18n.DEFAULT:
                    assert lesson.title != i18n.catalog(i18n.DEFAULT)[f"lessons.{lesson.id}.title"], (lang, lesson.id)


def test_a_lesson_link_carries_a_language_other_than_english():
    inits = lesson_by_id("inits")
    assert lesson_query(inits, lang="en") == lesson_query(inits)  # English is the default: left out
    assert lesson_link(inits, lang="zh-Hant") == "train?lesson=inits&tr_mode=compare&cmp_preset=inits&present=1&lang=zh-Hant"
    assert lesson_url(lesson_by_id("results"), lang="zh-Hans") == "http://localhost:8501/?lesson=results&present=1&lang=zh-Hans"


def test_the_lessons_command_prints_the_links_in_a_language(capsys):
    from explorer import i18n
    from explorer.ui.lessons import main

    assert main(["--lang", "zh-Hant"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(LESSONS)
    with i18n.language("zh-Hant"):
        for line, lesson in zip(lines, LESSONS):
            assert lesson_url(lesson, lang="zh-Hant") in line and lesson.title in line
    main([])
    assert all("lang=" not in line for line in capsys.readouterr().out.splitlines())


def test_the_lessons_page_and_a_card_in_chinese():
    from explorer import i18n
    from explorer.i18n import t

    at = open_link({"lang": "zh-Hans"}, "lessons")
    assert not at.exception, at.exception
    with i18n.language("zh-Hans"):
        assert at.title[0].value == t("pages.lessons.title")
        assert all(lesson.title in card_texts(at) for lesson in LESSONS)
    assert all(link.proto.query_string.endswith("&lang=zh-Hans") for link in lesson_links(at))

    lesson = lesson_by_id("receptive-fields")
    at = open_link({"lesson": lesson.id, **lesson.params, "lang": "zh-Hans"}, lesson.page)  # not presenting
    assert not at.exception, at.exception
    with i18n.language("zh-Hans"):
        texts = card_texts(at)
        assert t("lesson_card.heading", minutes=lesson.minutes, title=lesson.title) in texts
        assert all(part in texts for part in (lesson.goal, lesson.notice, lesson.question, *lesson.steps))
        assert f"**{t('lesson_card.goal')}**" in texts
        assert t("lesson_card.answer") in {e.label for e in at.expander}
