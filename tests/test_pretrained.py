"""The shipped weights: each file matches its model card, and the card's accuracy is real."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from explorer.nn.checkpoints import ModelFileError, load_model, sha256_of
from explorer.nn.metrics import evaluation_report
from explorer.nn.pretrained import PRETRAINED_DIR, available, load_pretrained

SHIPPED = available()


def test_the_pretrained_folder_ships_models():
    assert {"nielsen", "keras-mlp", "zhou-cnn"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_card_matches_file(name):
    net, card = load_pretrained(name)
    path = PRETRAINED_DIR / f"{name}.npz"
    assert card["sha256"] == sha256_of(path)
    assert card["model"] == net.model_name
    assert card["parameters"] == net.parameter_count()
    assert [row["output"] for row in card["architecture"]] == [list(shape) for shape in net.shapes]
    assert card["command"].startswith("python -m explorer.train ")


@pytest.mark.mnist
@pytest.mark.parametrize("name", SHIPPED)
def test_card_accuracy_is_reproduced_on_the_full_test_set(name, mnist_dir):
    from explorer.data.mnist import load_mnist

    data = load_mnist(mnist_dir)
    net, card = load_pretrained(name)
    report = evaluation_report(net, data.test_images, data.test_labels)
    assert report["total"] == 10000
    assert report["accuracy"] == card["test_accuracy"]
    assert report["per_class_accuracy"] == card["per_class_accuracy"]


def rewrite_card(weights, **changes):
    """Edit the model card beside `weights`; the SHA-256 is recomputed unless given."""
    card_file = weights.with_suffix(".json")
    card = json.loads(card_file.read_text())
    card.update({"sha256": sha256_of(weights), **changes})
    card_file.write_text(json.dumps(card))


@pytest.fixture
def zhou_copy(tmp_path):
    name = "zhou-cnn"
    for suffix in (".npz", ".json"):
        shutil.copy(PRETRAINED_DIR / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path / f"{name}.npz"


def test_flipped_bytes_are_rejected(zhou_copy):
    data = bytearray(zhou_copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    zhou_copy.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_model(zhou_copy)


def test_truncated_file_is_rejected(zhou_copy):
    zhou_copy.write_bytes(zhou_copy.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_model(zhou_copy)


def test_truncated_file_with_matching_card_is_still_rejected(zhou_copy):
    zhou_copy.write_bytes(zhou_copy.read_bytes()[:1000])
    rewrite_card(zhou_copy)
    with pytest.raises(ModelFileError, match="not a readable .npz"):
        load_model(zhou_copy)


def test_wrong_architecture_is_rejected(zhou_copy):
    rewrite_card(zhou_copy, model="lenet")  # zhou-cnn weights claimed to be a LeNet
    with pytest.raises(ModelFileError, match="cannot be used"):
        load_model(zhou_copy)


def test_wrong_shapes_are_rejected(zhou_copy):
    with np.load(zhou_copy, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["conv1.W"] = arrays["conv1.W"][:, :, :, :4]
    np.savez(zhou_copy, **arrays)
    rewrite_card(zhou_copy)
    with pytest.raises(ModelFileError, match="shape"):
        load_model(zhou_copy)


def test_missing_card_is_rejected(zhou_copy):
    zhou_copy.with_suffix(".json").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load_model(zhou_copy)


def test_pickled_object_arrays_are_never_loaded(zhou_copy):
    np.savez(zhou_copy, **{"conv1.W": np.array([object()], dtype=object)})
    rewrite_card(zhou_copy)
    with pytest.raises(ModelFileError):
        load_model(zhou_copy)


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(ModelFileError, match="No pretrained model"):
        load_pretrained("no-such-model")
