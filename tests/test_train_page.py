"""The Train page in streamlit's in-process AppTest, on the real MNIST (env MNIST_DIR).

AppTest runs the whole script on every `at.run()`, the live fragments included, but it has no
run_every timer: each `at.run()` therefore plays the part of one timer tick (one time slice
of training). Small settings (1,000 images, Nielsen's tiny MLP) keep it fast."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from explorer.models import MODELS
from explorer.ui.app_setup import REPO_ROOT
from explorer.ui.resources import SESSION_MODEL_KEY

PAGE = str(REPO_ROOT / "pages" / "train.py")
HOME = str(REPO_ROOT / "explorer" / "Home.py")
TIMEOUT = 60
pytestmark = pytest.mark.mnist


@pytest.fixture
def at(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception, app.exception
    return app


def small(at, model="nielsen", batch=1, epochs=3, train=1000):
    at.selectbox(key="tr_model").set_value(model).run()
    at.select_slider(key="tr_batch").set_value(batch)
    at.select_slider(key="tr_train_size").set_value(train)
    at.slider(key="tr_epochs").set_value(epochs)
    at.run()
    assert not at.exception, at.exception


def metric(at, label):
    return next(m.value for m in at.metric if m.label.startswith(label))


def run(at):
    return at.session_state["train_run"]


def charts(at):
    return {json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_page_renders_with_its_controls(at):
    assert any(t.value == "Train" for t in at.title)
    assert at.button(key="btn_start") and at.selectbox(key="tr_model") and at.selectbox(key="tr_optimizer")
    names = ("nielsen", "keras-mlp", "zhou-cnn", "lenet", "deepconvnet", "tf-cnn", "tf-cnn-bn")
    assert set(at.selectbox(key="tr_model").options) >= {MODELS[n].title for n in names}
    assert any("parameters" in c.value for c in at.sidebar.caption)
    assert at.latex and "eta" in at.latex[0].value  # the update rule
    assert "Training loss per step" in charts(at)


def test_start_advances_pause_stops_resume_and_reset(at):
    small(at, epochs=30)  # 30,000 steps: far more than this test trains
    at.button(key="btn_start").click().run()
    first = run(at).step
    assert first > 0 and run(at).status == "running"
    at.run()  # one timer tick
    second = run(at).step
    assert second > first
    assert metric(at, "Step (of") == f"{second:,}"
    loss = float(metric(at, "Loss (last 20 steps)"))
    assert 0 < loss < 1  # Nielsen's quadratic cost, per step
    assert len(charts(at)["Training loss per step"]["data"][0]["y"]) > 0

    at.button(key="btn_pause").click().run()
    paused = run(at).step
    at.run()
    at.run()
    assert run(at).step == paused and run(at).status == "paused"
    assert at.button(key="btn_resume")

    at.button(key="btn_step").click().run()
    assert run(at).step == paused + 1

    at.button(key="btn_resume").click().run()
    assert run(at).step > paused + 1

    at.button(key="btn_reset").click().run()
    assert "train_run" not in at.session_state
    assert metric(at, "Step") == "–"
    assert at.button(key="btn_start")


def test_learning_rate_applies_from_the_next_step(at):
    small(at, model="nielsen")
    at.button(key="btn_step").click().run()
    assert run(at).trainer.optimizer.lr == 3.0  # Nielsen's recipe
    at.select_slider(key="tr_lr").set_value(0.3).run()
    assert run(at).trainer.optimizer.lr == 0.3
    assert not at.warning  # no reset needed for a learning rate


def test_run_finishes_with_test_results_and_offers_the_model(at):
    small(at, model="nielsen", batch=100, epochs=1)
    at.button(key="btn_start").click().run()
    for _ in range(60):
        if run(at).status == "finished":
            break
        at.run()
    assert run(at).status == "finished"
    assert any("Test accuracy" in s.value for s in at.success)
    assert {"Confusion matrix on the 10,000 test digits"} <= set(charts(at))
    assert len(at.get("download_button")) == 3
    net, card = at.session_state[SESSION_MODEL_KEY]
    assert net is run(at).net and card["model"] == "nielsen" and card["test_accuracy"] == run(at).trainer.history.test_accuracy


def test_absurd_learning_rate_gives_a_plain_message(at):
    small(at, model="keras-mlp", batch=8, epochs=1)
    at.selectbox(key="tr_optimizer").set_value("sgd").run()
    at.select_slider(key="tr_lr").set_value(1000.0).run()
    at.button(key="btn_start").click().run()
    for _ in range(40):
        if at.error:
            break
        at.run()
    assert not at.exception
    assert run(at).status == "diverged"
    message = at.error[0].value
    assert "too large" in message and "10x smaller" in message


def test_switching_model_applies_its_recipe_and_asks_for_a_reset(at):
    small(at, model="nielsen")
    at.button(key="btn_step").click().run()
    at.selectbox(key="tr_model").set_value("lenet").run()
    assert at.selectbox(key="tr_optimizer").value == "adam" and at.selectbox(key="tr_init").value == "he"
    assert any("Reset" in w.value and "architecture" in w.value for w in at.warning)
    assert run(at).config.model == "nielsen"  # not silently restarted
    at.button(key="btn_reset").click().run()
    at.select_slider(key="tr_train_size").set_value(1000).run()
    at.button(key="btn_step").click().run()
    assert not at.exception
    assert run(at).config.model == "lenet" and run(at).step == 1
    assert any(t.startswith("First-layer filters") for t in charts(at))


def test_compare_two_optimizers_from_identical_weights(at):
    small(at, model="nielsen", batch=10, epochs=1)
    at.segmented_control(key="tr_mode").set_value("Compare").run()
    at.selectbox(key="cmp_preset").set_value("Custom").run()
    at.multiselect(key="cmp_opts").set_value(["sgd", "adam"]).run()
    at.button(key="cmp_start").click().run()
    cmp = at.session_state["train_comparison"]
    assert [r.config.optimizer for r in cmp.runs] == ["sgd", "adam"]
    assert cmp.shared_start and len(set(cmp.initial_digests)) == 1
    at.run()
    assert not at.exception
    assert abs(cmp.runs[0].step - cmp.runs[1].step) <= 1 and cmp.runs[0].step > 0
    loss = charts(at)["Training loss (smoothed), one colour per configuration"]
    assert len(loss["data"]) == 2
    assert loss["data"][0]["line"]["color"] != loss["data"][1]["line"]["color"]


def test_optimizer_paths_view(at):
    at.segmented_control(key="tr_mode").set_value("Optimizer paths (2-D)").run()
    assert not at.exception
    fig = next(spec for title, spec in charts(at).items() if title.startswith("Elongated bowl"))
    assert len([t for t in fig["data"] if t.get("name", "").endswith("steps)")]) == 4
    assert any("zig-zag" in m.value for m in at.markdown)


def test_run_survives_a_page_switch(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    app = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
    app.switch_page("../pages/train.py").run()
    small(app, model="zhou-cnn", epochs=1)
    app.button(key="btn_step").click().run()
    app.switch_page("../pages/filters.py").run()
    app.switch_page("../pages/train.py").run()
    assert not app.exception
    assert app.selectbox(key="tr_model").value == "zhou-cnn"
    assert run(app).step == 1 and metric(app, "Step (of") == "1"
