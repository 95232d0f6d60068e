"""Calibration: ECE against a case computed by hand, temperature scaling on the validation split,
the galleries, and the temperatures written in the model cards."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.lab import calibration as cal


def one_hot_probabilities(answers, confidences) -> np.ndarray:
    """Rows whose top probability `confidence` sits on `answer`, the rest spread evenly."""
    rows = []
    for answer, confidence in zip(answers, confidences):
        row = np.full(10, (1 - confidence) / 9)
        row[answer] = confidence
        rows.append(row)
    return np.array(rows)


def test_ece_of_a_small_case_computed_by_hand():
    # Five answers. Bin (0.5, 0.6]: 0.55 right, 0.55 wrong -> confidence 0.55, accuracy 0.5, gap 0.05.
    # Bin (0.9, 1.0]: 0.95 right, 0.95 right, 1.0 wrong -> confidence 0.9667, accuracy 0.6667, gap 0.3.
    # ECE = 2/5 * 0.05 + 3/5 * 0.3 = 0.02 + 0.18 = 0.2
    answers = [1, 2, 3, 4, 5]
    labels = np.array([1, 0, 3, 4, 0])
    probabilities = one_hot_probabilities(answers, [0.55, 0.55, 0.95, 0.95, 1.0])
    result = cal.reliability(probabilities, labels)
    assert result.ece == pytest.approx(0.2)
    assert result.counts.tolist() == [0, 0, 0, 0, 0, 2, 0, 0, 0, 3]
    assert result.confidence[9] == pytest.approx(2.9 / 3) and result.accuracy[9] == pytest.approx(2 / 3)
    assert np.isnan(result.accuracy[0])


def test_a_perfectly_calibrated_set_has_zero_ece_and_a_sure_wrong_one_has_ece_one():
    labels = np.array([0, 0, 0, 0, 1])  # answers all 0 at 80%: 4 of 5 right
    probabilities = one_hot_probabilities([0] * 5, [0.8] * 5)
    assert cal.expected_calibration_error(probabilities, labels) == pytest.approx(0.0)
    assert cal.expected_calibration_error(one_hot_probabilities([3, 3], [1.0, 1.0]), np.array([1, 2])) == pytest.approx(1.0)


def test_bins_include_their_upper_edge():
    assert cal.bin_index(np.array([0.0, 0.1, 0.1001, 0.95, 1.0])).tolist() == [0, 0, 1, 9, 9]


def test_softmax_and_nll_agree():
    scores = np.random.default_rng(0).normal(size=(50, 10)) * 4
    labels = np.random.default_rng(1).integers(0, 10, 50)
    for temperature in (0.5, 1.0, 3.0):
        p = cal.softmax(scores, temperature)
        np.testing.assert_allclose(p.sum(axis=1), 1)
        assert cal.nll(scores, labels, temperature) == pytest.approx(-np.log(p[np.arange(50), labels]).mean())


def synthetic_overconfident(count: int = 4000, seed: int = 0):
    """Scores of a model that is right 80% of the time but far too sure: the fitted T must be > 1."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    answers = np.where(rng.random(count) < 0.8, labels, (labels + rng.integers(1, 10, count)) % 10)
    scores = rng.normal(size=(count, 10))
    scores[np.arange(count), answers] += 12
    return scores, labels


def test_fit_temperature_finds_the_minimum_of_the_nll():
    scores, labels = synthetic_overconfident()
    temperature = cal.fit_temperature(scores, labels)
    assert temperature > 2
    best = cal.nll(scores, labels, temperature)
    for other in (temperature * 0.9, temperature * 1.1, 1.0):
        assert best < cal.nll(scores, labels, other)
    assert cal.expected_calibration_error(cal.softmax(scores, temperature), labels) < \
        cal.expected_calibration_error(cal.softmax(scores), labels) / 2  # fmt: skip


def test_galleries_pick_the_least_sure_and_the_surest_mistakes():
    probabilities = one_hot_probabilities([0, 1, 2, 3, 4, 5], [0.3, 0.99, 0.5, 0.97, 0.2, 0.9])
    labels = np.array([0, 7, 2, 7, 4, 7])  # answers 1, 3 and 5 are wrong
    assert cal.least_sure(probabilities, 3).tolist() == [4, 0, 2]
    assert cal.confident_mistakes(probabilities, labels, 2).tolist() == [1, 3]
    assert cal.confident_mistakes(probabilities, np.arange(6), 5).tolist() == []


# --- on the shipped models ---------------------------------------------------------------------


def test_validation_split_is_the_trainers(mnist):
    from explorer.nn.training import TrainConfig, Trainer

    images, labels = cal.validation_split(mnist)
    trainer = Trainer(TrainConfig(model="zhou-cnn", epochs=1), mnist)
    np.testing.assert_array_equal(labels, mnist.train_labels[trainer.val_idx])
    np.testing.assert_array_equal(images, mnist.train_images[-5000:])


FAST_MODELS = ["lenet", "nielsen", "zhou-cnn", "keras-mlp"]


@pytest.mark.parametrize("model", FAST_MODELS)
def test_the_cards_temperature_lowers_the_validation_nll_and_keeps_every_answer(mnist, model):
    from explorer.nn.pretrained import available, card, load_pretrained

    if model not in available():
        pytest.skip(f"{model} is not shipped")
    temperature = card(model).get("temperature")
    assert isinstance(temperature, float) and temperature > 0, "run python -m explorer.cli.calibrate"
    net, _ = load_pretrained(model)
    images, labels = cal.validation_split(mnist)
    scores = cal.logits(net, images)
    np.testing.assert_allclose(cal.softmax(scores), net.predict_proba(images), atol=1e-4)  # the same answers as the app's
    assert cal.nll(scores, labels, temperature) < cal.nll(scores, labels)
    assert cal.fit_temperature(scores, labels) == pytest.approx(temperature, abs=2e-4)  # the card holds the fit
    test_scores = cal.logits(net, mnist.test_images[:2000])
    np.testing.assert_array_equal(cal.softmax(test_scores, temperature).argmax(axis=1), test_scores.argmax(axis=1))


def test_every_shipped_card_has_a_temperature():
    from explorer.nn.pretrained import available, card

    for model in available():
        temperature = card(model).get("temperature")
        assert isinstance(temperature, float) and 0.05 < temperature < 20, model


def test_write_temperature_changes_only_that_field(tmp_path, monkeypatch):
    from explorer.cli import calibrate
    from explorer.nn import pretrained

    original = pretrained.PRETRAINED_DIR / "zhou-cnn.json"
    copy = tmp_path / "zhou-cnn.json"
    copy.write_text(original.read_text())
    monkeypatch.setattr(calibrate, "card_path", lambda _weights: copy)
    calibrate.write_temperature("zhou-cnn", 1.234567)
    before, after = json.loads(original.read_text()), json.loads(copy.read_text())
    assert after.pop("temperature") == 1.2346
    before.pop("temperature", None)
    assert after == before
