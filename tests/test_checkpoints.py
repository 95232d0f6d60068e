"""explorer.nn.checkpoints: weights that must be refused before they become a wrong model.

Right shapes but integer, complex, NaN or infinite values; a model card whose architecture is
not the model's; an .npz whose headers declare far more data than a model has (refused after
reading the headers, with little memory).
"""
from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from explorer.nn.checkpoints import ModelFileError, load_model, network_from, read_weights, save_model, sha256_of
from explorer.nn.models import build_model


@pytest.fixture
def saved(tmp_path):
    """A small trained-looking model saved with its card: (weights path, network)."""
    net = build_model("nielsen", seed=3)
    path = tmp_path / "nielsen.npz"
    save_model(net, path, command="python -m explorer.train --model nielsen --out nielsen.npz")
    return path, net


def arrays_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def edit_card(weights, **changes):
    """Change fields of the card beside `weights`; its SHA-256 is made to match the file again,
    so only the check under test can refuse it."""
    card_file = weights.with_suffix(".json")
    card = json.loads(card_file.read_text())
    card.update(changes)
    card["sha256"] = sha256_of(weights)
    card_file.write_text(json.dumps(card))
    return card


def rewrite_weights(weights, arrays):
    np.savez(weights, **arrays)
    edit_card(weights)


def npy_member(shape, dtype, data: bytes) -> bytes:
    """A .npy file's bytes: a header declaring `shape` and `dtype`, then `data` as given."""
    buffer = io.BytesIO()
    header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def write_npz(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def traced_peak(function):
    """(ModelFileError raised by `function`, peak bytes traced meanwhile)."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as info:
            function()
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_saved_model_loads_back_identical(saved):
    path, net = saved
    loaded, card = load_model(path)
    assert card["model"] == "nielsen"
    for name, value in net.state().items():
        np.testing.assert_array_equal(loaded.state()[name], value)


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype, words", [(np.int64, "whole numbers"), (np.complex64, "complex numbers"), (bool, "true/false values")]
)
def test_weights_of_the_right_shape_but_not_decimal_numbers_are_refused(saved, dtype, words):
    path, _ = saved
    arrays = arrays_of(path)
    arrays["dense2.W"] = arrays["dense2.W"].astype(dtype)
    rewrite_weights(path, arrays)
    with pytest.raises(ModelFileError, match=f"nielsen.npz cannot be used: 'dense2.W' holds {words}"):
        load_model(path)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_weights_with_nan_or_infinity_are_refused(saved, bad_value):
    path, _ = saved
    arrays = arrays_of(path)
    arrays["dense1.b"][7] = bad_value
    rewrite_weights(path, arrays)
    with pytest.raises(ModelFileError, match="'dense1.b' holds NaN or infinite values"):
        load_model(path)


def test_float64_weights_are_accepted(saved):
    path, net = saved
    rewrite_weights(path, {name: value.astype(np.float64) for name, value in arrays_of(path).items()})
    loaded, _ = load_model(path)
    np.testing.assert_array_equal(loaded.state()["dense1.W"], net.state()["dense1.W"])


@pytest.mark.parametrize("change", ["integers", "nan", "missing"])
def test_network_from_arrays_in_memory_checks_them_too(saved, change):
    path, net = saved
    card = json.loads(path.with_suffix(".json").read_text())
    arrays = {name: value.copy() for name, value in net.state().items()}
    if change == "integers":
        arrays["dense1.W"] = arrays["dense1.W"].astype(np.int32)
    elif change == "nan":
        arrays["dense2.b"][0] = np.nan
    else:
        del arrays["dense2.b"]
    with pytest.raises(ModelFileError, match="mine.npz cannot be used: .*dense"):
        network_from(arrays, card, "mine.npz")


# --- the card's architecture ----------------------------------------------------------------


def test_card_naming_another_model_is_refused(saved):
    path, _ = saved
    edit_card(path, model="keras-mlp")
    with pytest.raises(ModelFileError, match="does not describe the model 'keras-mlp'.*layer 1"):
        load_model(path)


def test_card_with_a_changed_layer_shape_is_refused(saved):
    path, _ = saved
    card = json.loads(path.with_suffix(".json").read_text())
    card["architecture"][0]["output"] = [64]
    edit_card(path, architecture=card["architecture"])
    with pytest.raises(ModelFileError, match=r"layer 1: the card says dense1 \(Dense, output \[64\]\)"):
        load_model(path)


def test_card_with_a_missing_layer_is_refused(saved):
    path, _ = saved
    card = json.loads(path.with_suffix(".json").read_text())
    edit_card(path, architecture=card["architecture"][:-1])
    with pytest.raises(ModelFileError, match="the card says nothing"):
        load_model(path)


def test_card_with_a_wrong_parameter_count_is_refused(saved):
    path, net = saved
    edit_card(path, parameters=net.parameter_count() + 1)
    with pytest.raises(ModelFileError, match="parameters"):
        load_model(path)


def test_card_without_architecture_is_refused(saved):
    path, _ = saved
    card_file = path.with_suffix(".json")
    card = json.loads(card_file.read_text())
    del card["architecture"]
    card_file.write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="does not describe the architecture"):
        load_model(path)


def test_card_with_an_unknown_activation_is_refused(saved):
    path, _ = saved
    edit_card(path, activation="softsign")
    with pytest.raises(ModelFileError, match="nielsen.npz cannot be used: .*activation 'softsign'"):
        load_model(path)


# --- files declaring more than a model holds ------------------------------------------------


def test_npz_declaring_a_huge_array_is_refused_from_its_header(saved):
    path, _ = saved
    members = {f"{name}.npy": npy_member(value.shape, value.dtype, value.tobytes()) for name, value in arrays_of(path).items()}
    # 1.6 GB declared by the header; the zip holds 1 MB, and nothing past the header is read.
    members["dense1.W.npy"] = npy_member((20000, 20000), np.float32, bytes(1 << 20))
    write_npz(path, members)
    edit_card(path)
    for load in (lambda: load_model(path), lambda: read_weights(path.read_bytes())):
        error, peak = traced_peak(load)
        assert "'dense1.W' holds a different amount of data than its header declares" in str(error)
        assert peak < 8 << 20  # reading the array would take 1.6 GB


def test_array_of_another_shape_is_refused_from_its_header(saved):
    path, _ = saved
    arrays = arrays_of(path)
    arrays["dense1.W"] = np.zeros((784, 300), np.float32)
    rewrite_weights(path, arrays)
    with pytest.raises(ModelFileError, match=r"'dense1.W' has shape \(784, 300\), the architecture needs \(784, 30\)"):
        load_model(path)


def test_npz_member_declaring_its_true_size_but_too_big_is_refused_without_shapes(tmp_path):
    path = tmp_path / "big.npz"
    declared = (4096, 4096)  # 64 MiB of float32, and the zip directory agrees with the header
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("W.npy", "w", force_zip64=True) as member:
            member.write(npy_member(declared, np.float32, b""))
            zeros = bytes(1 << 20)
            for _ in range(4096 * 4096 * 4 >> 20):
                member.write(zeros)
    assert path.stat().st_size < 1 << 20
    error, peak = traced_peak(lambda: read_weights(str(path)))
    assert "declares 67 MB of arrays" in str(error)
    assert peak < 8 << 20


def test_npz_member_with_extra_data_after_the_array_is_refused(saved):
    path, _ = saved
    members = {f"{name}.npy": npy_member(value.shape, value.dtype, value.tobytes()) for name, value in arrays_of(path).items()}
    members["dense2.b.npy"] += bytes(4096)
    write_npz(path, members)
    edit_card(path)
    with pytest.raises(ModelFileError, match="'dense2.b' holds a different amount of data than its header declares"):
        load_model(path)


def test_npz_with_a_member_that_is_not_an_array_is_refused(saved):
    path, _ = saved
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.txt", "hello")
    edit_card(path)
    with pytest.raises(ModelFileError, match="'notes.txt', which is not an array"):
        load_model(path)


def test_object_arrays_are_refused_from_their_header(saved):
    path, _ = saved
    arrays = arrays_of(path)
    arrays["dense1.b"] = np.array([object()] * 30, dtype=object)
    rewrite_weights(path, arrays)
    with pytest.raises(ModelFileError, match="'dense1.b' holds Python objects"):
        load_model(path)
