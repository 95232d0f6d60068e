"""The Train page in 简体中文 and 繁體中文: its opening view, a run after a few steps, a finished run,
a diverged run, a comparison, the optimizer paths and a shared link render without an exception and
without an English sentence (tests/english_check.py), and their texts come from the reader's catalog.

The page runs inside the app (explorer/Home.py, then switch_page), as in a browser: the entrypoint
reads ?lang= and tells the catalogs which language this session speaks. Small settings (Nielsen's
tiny MLP on 1,000 images) keep it fast."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from explorer import i18n
from explorer.ui.app_setup import REPO_ROOT
from tests import app_pages
from tests.app_pages import names_start, rerun_until
from tests.english_check import english_in

HOME = str(REPO_ROOT / "explorer" / "Home.py")
PAGE = "../pages/train.py"
TIMEOUT = 120
CHINESE = ("zh-Hans", "zh-Hant")
pytestmark = pytest.mark.mnist


@pytest.fixture(params=CHINESE)
def lang(request, mnist_dir, monkeypatch):
    """Each test in both languages. AppTest formats a choice widget's value in the test's own thread,
    with the page's format_func, so the test speaks the page's language too."""
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    with i18n.language(request.param):
        yield request.param


def open_page(lang: str) -> AppTest:
    return app_pages.open_page(PAGE, lang, TIMEOUT)


def follow_link(at: AppTest, **params) -> AppTest:
    """Open a link to the page in this session: the page takes the link's new values."""
    at.query_params.update({name: str(value) for name, value in params.items()})
    at.run()
    assert not at.exception, at.exception
    return at


def assert_all_translated(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert english_in(at) == []


def small(at: AppTest, model: str = "nielsen", batch: int = 100, epochs: int = 1) -> None:
    at.selectbox(key="tr_model").set_value(model).run()  # first: a model brings its own recipe
    at.select_slider(key="tr_batch").set_value(batch)
    at.select_slider(key="tr_train_size").set_value(1000)
    at.slider(key="tr_epochs").set_value(epochs)
    at.run()
    assert not at.exception, at.exception


def run_of(at: AppTest):
    return at.session_state["train_run"]


def chart_titles(at: AppTest) -> set[str]:
    return {json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")}


def test_opening_view(lang):
    at = open_page(lang)
    assert_all_translated(at)
    assert [title.value for title in at.title] == [i18n.t("pages.train.title")]
    assert i18n.t("train.start_hint") in [info.value for info in at.info]
    assert names_start(at, i18n.t("train.start_hint"))  # on a phone Start shows only its icon
    assert i18n.t("train.figures.loss_title") in chart_titles(at)
    assert at.segmented_control(key="tr_mode").options == [i18n.t(f"train.mode.{mode}") for mode in ("train", "compare", "paths")]
    assert at.selectbox(key="tr_augment").options == [i18n.t(f"train.augment.{a}") for a in ("none", "shift", "shift_rotate", "shift_scale", "shift_flip",
                                                                                      "shift_affine_thickness_elastic_noise")]


def test_a_run_after_a_few_steps_and_a_changed_setting(lang):
    at = open_page(lang)
    small(at, batch=10)
    for _ in range(3):
        at.button(key="btn_step").click().run()
    assert run_of(at).step == 3
    assert [m.label for m in at.metric][0] == i18n.t("train.metrics.step") and at.metric[0].value == "3"
    assert_all_translated(at)
    at.selectbox(key="tr_init").set_value("xavier").run()  # the run keeps its own: the page says so
    assert i18n.t("train.changed_running", fields=i18n.t("train.field.init")) in [w.value for w in at.warning]
    at.button(key="btn_resume").click().run()
    at.run()
    assert_all_translated(at)
    assert i18n.t("train.inside.header") in [s.value for s in at.subheader]


def test_a_finished_run_shows_its_results(lang):
    at = open_page(lang)
    small(at, batch=100)
    at.button(key="btn_start").click().run()
    assert rerun_until(at, lambda: run_of(at).status == "finished")
    assert_all_translated(at)
    assert {i18n.t("train.figures.confusion_title"), i18n.t("train.figures.mistakes_title")} <= chart_titles(at)
    assert [b.proto.label for b in at.get("download_button")] == [i18n.t(f"train.after.{name}") for name in ("weights", "card", "curves")]


def test_a_diverged_run_says_why_in_the_readers_language(lang):
    at = open_page(lang)
    small(at, model="keras-mlp", batch=8)
    at.selectbox(key="tr_optimizer").set_value("sgd").run()
    at.select_slider(key="tr_lr").set_value(1000.0).run()
    at.button(key="btn_start").click().run()
    rerun_until(at, lambda: run_of(at).done)
    run = run_of(at)
    assert run.status == "diverged"
    reason = i18n.t(f"train.stop.{run.message_code}", **run.message_params)
    assert [e.value for e in at.error] == [i18n.t("train.diverged", reason=reason)]
    assert "1000" in reason and "100" in reason  # the learning rate, and one 10x smaller
    assert_all_translated(at)


def test_a_comparison_its_results_and_the_run_list(lang):
    at = open_page(lang)
    small(at, batch=100)
    at.segmented_control(key="tr_mode").set_value("compare").run()
    assert_all_translated(at)  # the default preset, its title and claim
    claim = i18n.t("train.presets.optimizers.claim")
    assert any(claim in m.value for m in at.markdown)
    at.selectbox(key="cmp_preset").set_value("custom").run()
    at.pills(key="cmp_opts").set_value(["sgd", "adam"]).run()
    at.pills(key="cmp_inits").set_value(["xavier", "he"]).run()
    at.button(key="cmp_start").click().run()
    rerun_until(at, lambda: at.session_state["train_comparison"].done)
    at.run()
    assert at.session_state["train_comparison"].done
    assert_all_translated(at)  # results table, curves' legends, the run list
    table = at.table[0].value
    labels = list(table[i18n.t("train.results.configuration")])
    assert labels[0].startswith("SGD η=") and labels[0].endswith(f" · {i18n.t('train.label.init', name='Xavier')}")
    assert i18n.t("train.runs.header") in [s.value for s in at.subheader]
    assert set(labels) <= set(at.dataframe[-1].value[i18n.t("train.runs.run")])


def test_optimizer_paths_on_both_surfaces(lang):
    at = open_page(lang)
    at.segmented_control(key="tr_mode").set_value("paths").run()
    assert_all_translated(at)
    assert any(m.value.startswith("**SGD**") and i18n.t("train.paths.why.bowl.sgd") in m.value for m in at.markdown)
    at.radio(key="path_surface").set_value("valley").run()
    assert_all_translated(at)
    assert i18n.t("train.paths.short.valley") in chart_titles(at)


def test_a_link_in_traditional_chinese_shows_traditional_text(mnist_dir, monkeypatch):
    """A lesson's kind of link, ?lang=zh-Hant&tr_mode=compare&cmp_preset=inits: the preset's claim in
    繁體中文, not in 简体中文 (the two differ: 權重標準差 / 权重标准差)."""
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()  # a session in English...
    at.switch_page(PAGE).run()
    follow_link(at, lang="zh-Hant", tr_mode="compare", cmp_preset="inits")  # ...follows the link
    with i18n.language("zh-Hant"):
        assert at.selectbox(key="cmp_preset").value == "inits"
        assert_all_translated(at)
    traditional, simplified = (i18n.catalog(lang)["train.presets.inits.claim"] for lang in ("zh-Hant", "zh-Hans"))
    assert traditional != simplified
    shown = " ".join(m.value for m in at.markdown)
    assert traditional in shown and simplified not in shown
    assert [title.value for title in at.title] == [i18n.catalog("zh-Hant")["pages.train.title"]]


def test_presenter_mode(lang):
    """A projector's view: the preset's claim beside the buttons (details in its tooltip), and the
    single run's toggle for the inside of the network."""
    at = follow_link(open_page(lang), tr_mode="compare", cmp_preset="inits", present=1)
    assert_all_translated(at)
    claim = next(m for m in at.markdown if i18n.t("train.presets.inits.claim") in m.value)
    assert i18n.t("train.compare.different_start") in claim.help
    follow_link(at, tr_mode="train")
    assert_all_translated(at)
    assert at.toggle(key="tr_inside").label == i18n.t("train.inside.show")
