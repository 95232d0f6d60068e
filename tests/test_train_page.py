"""The Train page in streamlit's in-process AppTest, on the real MNIST (env MNIST_DIR).

AppTest runs the whole script on every `at.run()`, the live fragments included, but it has no
run_every timer: each `at.run()` plays the part of one live update, and the training scheduler's
workers train in the background meanwhile (rerun_until waits for them). Small settings (1,000
images, Nielsen's tiny MLP) keep it fast."""
import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from explorer.lab.compare import PRESETS
from explorer.nn.models import MODELS
from explorer.nn.optimizers import OPTIMIZERS
from explorer.ui.app_setup import REPO_ROOT
from explorer.ui.resources import SESSION_MODEL_KEY
from tests.app_pages import names_start, rerun_until

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
    return next(m.value for m in at.metric if m.label == label)


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
    assert any(names_start(at, info.value) for info in at.info)  # the hint: choose, then press Start


def shown_step(at) -> int:
    value = metric(at, "Step").replace(",", "")
    return int(value) if value.isdigit() else 0


def test_start_advances_pause_stops_resume_and_reset(at):
    small(at, epochs=30)  # 30,000 steps: far more than this test trains
    at.button(key="btn_start").click().run()
    assert run(at).status == "running"
    assert rerun_until(at, lambda: shown_step(at) > 0)  # the scheduler trains it between the updates
    shown = shown_step(at)
    assert shown <= run(at).step  # the page drew the step of its moment
    assert rerun_until(at, lambda: shown_step(at) > shown)  # ... and the next update shows progress
    loss = float(metric(at, "Loss"))
    assert 0 < loss < 1  # Nielsen's quadratic cost, per step
    assert len(charts(at)["Training loss per step"]["data"][0]["y"]) > 0
    guesses = charts(at)["Its guesses on test digits"]["data"][1]["y"]  # the prediction stream
    assert len(guesses) == 60 and abs(sum(guesses) - 6) < 1e-3  # six digits' ten probabilities

    at.button(key="btn_pause").click().run()
    with run(at).net.lock:  # the turn that was running when Pause was clicked has ended
        paused = run(at).step
    time.sleep(0.3)
    at.run()
    assert run(at).step == paused and run(at).status == "paused" and shown_step(at) == paused
    assert at.button(key="btn_resume")

    at.button(key="btn_step").click().run()
    assert run(at).step == paused + 1

    at.button(key="btn_resume").click().run()
    assert rerun_until(at, lambda: run(at).step > paused + 1)

    dropped = run(at)
    at.button(key="btn_reset").click().run()
    assert "train_run" not in at.session_state
    assert metric(at, "Step") == "–"
    assert at.button(key="btn_start")
    with dropped.net.lock:
        steps = dropped.step
    time.sleep(0.3)
    assert dropped.step == steps  # the scheduler no longer trains the dropped run


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
    assert rerun_until(at, lambda: run(at).status == "finished")
    assert any("Test accuracy" in s.value for s in at.success)
    assert {"Confusion matrix", "Most confident mistakes"} <= set(charts(at))
    assert len(at.get("download_button")) == 3
    net, card = at.session_state[SESSION_MODEL_KEY]
    assert net is run(at).net and card["model"] == "nielsen" and card["test_accuracy"] == run(at).trainer.history.test_accuracy


def test_absurd_learning_rate_gives_a_plain_message(at):
    small(at, model="keras-mlp", batch=8, epochs=1)
    at.selectbox(key="tr_optimizer").set_value("sgd").run()
    at.select_slider(key="tr_lr").set_value(1000.0).run()
    at.button(key="btn_start").click().run()
    rerun_until(at, lambda: at.error)
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


def test_a_start_clicked_before_the_model_change_came_back_trains_what_the_page_then_shows(at):
    """On a busy server a student can click Start before the rerun of a model change reaches the
    browser: both arrive in one rerun, the button's arguments from the page before the change."""
    at.selectbox(key="tr_model").set_value("nielsen")
    at.button(key="btn_start").click().run()
    assert not at.exception, at.exception
    started = run(at).config
    at.button(key="btn_pause").click().run()
    recipe = MODELS["nielsen"].recipe
    assert (started.model, started.optimizer, started.batch_size, started.epochs) == ("nielsen", recipe.optimizer, recipe.batch_size, recipe.epochs)
    assert not any("Reset" in w.value for w in at.warning)  # what trains is what the sidebar shows


SETTING_WIDGETS = {"tr_optimizer": "selectbox", "tr_batch": "select_slider", "tr_epochs": "slider", "tr_lr": "select_slider",
                   "tr_seen_reset": "text_input"}  # the hidden widget holding the number of the last reset shown  # fmt: skip


def setting(at, key: str):
    return getattr(at, SETTING_WIDGETS[key])(key=key)


def start_sent_with(at, values: dict):
    """Start clicked by a browser that still holds `values` (it had not shown the last reset):
    the config that trained."""
    for key, value in values.items():
        setting(at, key).set_value(value)
    at.button(key="btn_start").click().run()
    assert not at.exception, at.exception
    started = run(at).config
    at.button(key="btn_pause").click().run()
    return started


def test_a_start_sent_with_the_settings_from_before_a_model_change_trains_the_new_models_recipe(at):
    """The model change's rerun ran, but the browser had not shown it when the student clicked
    Start: the click carries the old model's optimizer, batch and epochs (and the old number of the
    hidden reset widget). The page applies the reset again instead of taking them for a choice."""
    before = {key: setting(at, key).value for key in ("tr_optimizer", "tr_batch", "tr_epochs", "tr_seen_reset")}
    at.selectbox(key="tr_model").set_value("nielsen").run()
    recipe = MODELS["nielsen"].recipe
    assert (at.selectbox(key="tr_optimizer").value, at.slider(key="tr_epochs").value) == (recipe.optimizer, recipe.epochs)
    assert before["tr_optimizer"] != recipe.optimizer and before["tr_epochs"] != recipe.epochs

    started = start_sent_with(at, before)  # what the browser still had
    assert (started.model, started.optimizer, started.batch_size, started.epochs) == ("nielsen", recipe.optimizer, recipe.batch_size, recipe.epochs)
    assert (at.selectbox(key="tr_optimizer").value, at.slider(key="tr_epochs").value) == (recipe.optimizer, recipe.epochs)

    at.selectbox(key="tr_optimizer").set_value(before["tr_optimizer"]).run()  # the browser has seen it: a choice
    assert at.selectbox(key="tr_optimizer").value == before["tr_optimizer"]


def test_an_optimizer_chosen_before_the_model_change_came_back_is_kept_with_its_own_defaults(at):
    """As above, but meanwhile the student also picked another optimizer: that is a choice (the
    browser did not have it before the reset), so it trains, with its own learning rate; the
    other stale values still give way to the new model's recipe."""
    before = {key: setting(at, key).value for key in ("tr_batch", "tr_epochs", "tr_lr", "tr_seen_reset")}
    old_optimizer = at.selectbox(key="tr_optimizer").value
    at.selectbox(key="tr_model").set_value("nielsen").run()
    recipe = MODELS["nielsen"].recipe
    chosen = next(name for name in OPTIMIZERS if name not in (old_optimizer, recipe.optimizer))

    started = start_sent_with(at, {**before, "tr_optimizer": chosen})  # picked before the reset came back
    chosen_lr = OPTIMIZERS[chosen].DEFAULTS["lr"]  # not the model's recipe: the optimizer's own default
    assert (started.model, started.optimizer, started.lr) == ("nielsen", chosen, chosen_lr)
    assert (started.batch_size, started.epochs) == (recipe.batch_size, recipe.epochs)
    assert (at.selectbox(key="tr_optimizer").value, at.select_slider(key="tr_lr").value) == (chosen, chosen_lr)


def test_a_race_started_before_the_preset_change_came_back_races_that_preset(at):
    at.segmented_control(key="tr_mode").set_value("compare").run()
    at.selectbox(key="cmp_preset").set_value("inits")
    at.button(key="cmp_start").click().run()
    assert not at.exception, at.exception
    cmp = at.session_state["train_comparison"]
    at.button(key="cmp_pause").click().run()
    raced = [(r.config.optimizer, r.config.init) for r in cmp.runs]
    assert raced == [(c.optimizer, c.init) for c in PRESETS["inits"].configs]  # not the default preset's optimizers


def test_compare_two_optimizers_from_identical_weights(at):
    small(at, model="nielsen", batch=10, epochs=1)
    at.segmented_control(key="tr_mode").set_value("compare").run()
    at.selectbox(key="cmp_preset").set_value("custom").run()
    at.pills(key="cmp_opts").set_value(["sgd", "adam"]).run()
    at.button(key="cmp_start").click().run()
    cmp = at.session_state["train_comparison"]
    assert [r.config.optimizer for r in cmp.runs] == ["sgd", "adam"]
    assert cmp.shared_start and len(set(cmp.initial_digests)) == 1
    at.run()
    assert not at.exception
    assert abs(cmp.runs[0].step - cmp.runs[1].step) <= 1 and cmp.runs[0].step > 0
    loss = charts(at)["Training loss (smoothed)"]
    assert len(loss["data"]) == 2
    assert loss["data"][0]["line"]["color"] != loss["data"][1]["line"]["color"]


def test_optimizer_paths_view(at):
    at.segmented_control(key="tr_mode").set_value("paths").run()
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
    assert run(app).step == 1 and metric(app, "Step") == "1"


# --- issue 14: the Train page as a teacher uses it ------------------------------------------------
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_optimizer_preset_starts_under_every_sidebar_optimizer(at, optimizer):
    """The sidebar's optimizer and its extras (eps, rho...) never leak into a preset (it raised
    "SGD has no hyperparameter eps, rho" under the default RMSprop)."""
    at.selectbox(key="tr_optimizer").set_value(optimizer).run()
    at.segmented_control(key="tr_mode").set_value("compare").run()
    assert at.selectbox(key="cmp_preset").value == "optimizers"
    at.button(key="cmp_start").click().run()
    assert not at.exception, at.exception
    cmp = at.session_state["train_comparison"]
    assert [r.config for r in cmp.runs] == [c.resolved() for c in PRESETS["optimizers"].configs]
    assert [r.label for r in cmp.runs] == PRESETS["optimizers"].labels
    rerun_until(at, lambda: min(r.step for r in cmp.runs) > 0)
    assert cmp.running and min(r.step for r in cmp.runs) > 0 and not any(r.done for r in cmp.runs)
    at.button(key="cmp_reset").click().run()


def test_inits_preset_ends_with_a_results_table_and_its_claim(at):
    at.segmented_control(key="tr_mode").set_value("compare").run()
    at.selectbox(key="cmp_preset").set_value("inits").run()
    assert any("fixed" in c.value.lower() and "sidebar" in c.value for c in at.caption)  # the page says the sidebar does not apply
    at.button(key="cmp_start").click().run()
    rerun_until(at, lambda: at.session_state["train_comparison"].done, seconds=300)
    at.run()
    assert not at.exception, at.exception
    table = at.table[0].value
    assert list(table["configuration"]) == ["std 0.01 init", "Xavier init", "He init"]
    assert list(table.columns) == ["configuration", "final loss", "validation accuracy"]
    losses = [float(v) for v in table["final loss"]]
    assert losses[0] > 2.2 > 1.0 > losses[2]  # std 0.01 stalls at ln 10, He learns
    assert any(s.value.startswith("The claim holds") for s in at.success)
    loss_chart = charts(at)["Training loss (smoothed)"]
    assert [t["name"] for t in loss_chart["data"]] == ["std 0.01 init", "Xavier init", "He init"]
    run_list = at.dataframe[-1].value
    assert {"std 0.01 init", "Xavier init", "He init"} <= set(run_list["run"])
    assert set(run_list["test accuracy"]) == {"–"}  # never "None"


def test_epoch_metric_shows_the_epoch_in_progress(at):
    small(at, model="nielsen", batch=100, epochs=3)  # 10 steps an epoch
    for _ in range(12):
        at.button(key="btn_step").click().run()
    assert run(at).trainer.epoch == 1
    assert metric(at, "Epoch") == "2 / 3"


def test_rmsprop_at_learning_rate_1000_is_stopped_with_a_message(at):
    small(at, model="keras-mlp", batch=8, epochs=1)
    at.selectbox(key="tr_optimizer").set_value("rmsprop").run()
    at.select_slider(key="tr_lr").set_value(1000.0).run()
    at.button(key="btn_start").click().run()
    rerun_until(at, lambda: run(at).done)
    assert run(at).status == "diverged" and run(at).step <= 60
    assert any("too large" in e.value and names_start(at, e.value) for e in at.error)


def test_augmentation_offers_rotations_scaling_flips_and_the_real_world_recipe(at):
    assert at.selectbox(key="tr_augment").options == ["no augmentation", "shifts", "shifts + rotations", "shifts + scaling",
                                                      "shifts + flips", "real-world recipe"]  # fmt: skip
    small(at, model="nielsen")
    at.selectbox(key="tr_augment").set_value("shift+flip").run()
    at.button(key="btn_step").click().run()
    assert run(at).config.augment == "shift+flip"
    at.segmented_control(key="tr_mode").set_value("compare").run()
    at.selectbox(key="cmp_preset").set_value("custom").run()
    assert at.pills(key="cmp_augments").options == at.selectbox(key="tr_augment").options


def test_optimizer_path_text_depends_on_the_surface(at):
    at.segmented_control(key="tr_mode").set_value("paths").run()
    assert any(m.value.startswith("**SGD**") and "zig-zag" in m.value for m in at.markdown)
    at.radio(key="path_surface").set_value("valley").run()
    sgd = next(m.value for m in at.markdown if m.value.startswith("**SGD**"))
    assert "zig-zag" not in sgd and "floor" in sgd


URL_KEYS = {"tr_model", "tr_optimizer", "tr_lr", "tr_init", "tr_activation", "tr_batch", "tr_train_size", "tr_epochs",
            "tr_augment", "tr_seed", "tr_mode", "tr_log"}  # fmt: skip


def test_every_control_is_bound_to_the_url(at):
    bound = set(at.session_state["_url_bound"])
    assert URL_KEYS | {"tr_eps", "tr_rho"} <= bound  # RMSprop: its extras too
    at.segmented_control(key="tr_mode").set_value("compare").run()
    at.selectbox(key="cmp_preset").set_value("custom").run()
    assert {"cmp_preset", "cmp_opts", "cmp_inits", "cmp_augments"} <= set(at.session_state["_url_bound"])
    at.segmented_control(key="tr_mode").set_value("paths").run()
    bound = set(at.session_state["_url_bound"])
    assert {"path_surface", "path_opts", "path_steps_bowl", "path_lr_bowl_sgd"} <= bound


def test_a_link_opens_the_view_it_names(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    app.query_params.update({"tr_mode": "compare", "cmp_preset": "augment", "tr_model": "lenet", "tr_lr": "0.01", "tr_augment": "shift+rotate"})
    app.run()
    assert not app.exception
    assert app.segmented_control(key="tr_mode").value == "compare" and app.selectbox(key="cmp_preset").value == "augment"
    assert app.selectbox(key="tr_model").value == "lenet"
    assert app.selectbox(key="tr_optimizer").value == "adam"  # the model's recipe, as on the author's screen
    assert app.select_slider(key="tr_lr").value == 0.01 and app.selectbox(key="tr_augment").value == "shift+rotate"


def test_a_link_to_a_run_of_another_session_says_what_happened(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    app.query_params.update({"run": "a1b2c3", "tr_model": "nielsen"})
    app.run()
    assert not app.exception
    assert any("another browser session" in i.value and names_start(app, i.value) for i in app.info)
    assert app.selectbox(key="tr_model").value == "nielsen"  # its settings are restored


def test_a_live_run_puts_its_marker_in_the_url(at):
    small(at, model="nielsen", epochs=30)
    at.button(key="btn_start").click().run()
    assert at.query_params.get("run") in ([run(at).id], run(at).id)
    assert not any("another browser session" in i.value for i in at.info)  # our own run
    at.button(key="btn_pause").click().run()
    at.button(key="btn_reset").click().run()
    assert "run" not in at.query_params


def test_presenter_mode_skips_the_intro_and_the_inside_of_the_network(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    app.query_params["present"] = "1"
    app.run()
    small(app, model="nielsen", epochs=30)
    app.button(key="btn_step").click().run()
    assert not any("Watch a network learn" in m.value for m in app.markdown)
    assert not any(h.value == "Inside the network" for h in app.subheader)
    app.toggle(key="tr_inside").set_value(True).run()
    assert any(h.value == "Inside the network" for h in app.subheader)


def test_on_a_crowded_server_the_inside_of_the_network_is_drawn_on_request(mnist_dir, monkeypatch):
    """With many networks training, the five charts inside the network wait for a toggle: they
    are a fifth of every click's work. On a quiet server they are drawn without asking."""
    from explorer.ui import train_state

    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    training = {"count": train_state.crowd_size()}
    monkeypatch.setattr(train_state.scheduler(), "training_count", lambda: training["count"])
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    small(app, model="nielsen", epochs=30)
    app.button(key="btn_step").click().run()
    assert not any(h.value == "Inside the network" for h in app.subheader)
    assert f"{train_state.crowd_size()} networks are training" in app.toggle(key="tr_inside").help
    app.toggle(key="tr_inside").set_value(True).run()
    assert any(h.value == "Inside the network" for h in app.subheader)
    app.toggle(key="tr_inside").set_value(False).run()
    training["count"] = train_state.crowd_size() - 1
    app.run()
    assert not any(toggle.key == "tr_inside" for toggle in app.toggle)
    assert any(h.value == "Inside the network" for h in app.subheader)
