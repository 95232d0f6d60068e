"""Saving and loading trained models: weights in .npz, a JSON model card beside them.

The .npz holds plain arrays only and is always read with allow_pickle=False, so a
weights file can never run code. The card records the architecture, how the weights
were trained and the SHA-256 of the .npz; loading checks the hash, that the card's
architecture is the model's, every array's header (floating-point type, shape) before the
array is inflated, and that every value is a finite number. So a corrupt, truncated,
tampered or mismatched file gives a clear error, never a wrong model, and a small file
that would inflate to gigabytes is refused after reading its headers.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from explorer.nn.models import build_model
from explorer.nn.network import Network

MAX_WEIGHTS_BYTES = 50 * 1024 * 1024  # for the .npz file, and for the arrays it declares

# What an array of another kind holds, in words (weights must be floating-point numbers).
_KIND_WORDS = {
    "b": "true/false values", "i": "whole numbers", "u": "whole numbers", "c": "complex numbers",
    "O": "Python objects", "S": "bytes", "U": "text", "V": "raw records", "M": "dates", "m": "durations",
}  # fmt: skip


class ModelFileError(Exception):
    """A weights file or its model card cannot be used; the message says why.

    The English message is for the command line and logs; the app shows `key` with `params` in the
    user's language (explorer/locales, table [errors.model])."""

    def __init__(self, message: str, key: str = "errors.model.other", **params):
        super().__init__(message)
        self.key = key
        self.params = params or {"detail": message}


def card_path(weights_path: str | os.PathLike) -> Path:
    return Path(weights_path).with_suffix(".json")


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_bytes(net: Network) -> bytes:
    """The .npz file of a network's state, in memory (for downloads)."""
    buffer = io.BytesIO()
    np.savez(buffer, **net.state())
    return buffer.getvalue()


def model_card(net: Network, sha256: str, **details) -> dict:
    return {
        "model": net.model_name,
        "activation": net.activation,
        "init": net.init,
        "parameters": net.parameter_count(),
        "architecture": [
            {"name": row["name"], "layer": row["layer"], "config": row["config"], "output": list(row["output"])}
            for row in net.describe()
        ],
        "sha256": sha256,
        "numpy": np.__version__,
        **details,
    }


def save_model(net: Network, path: str | os.PathLike, **details) -> dict:
    """Write PATH.npz and PATH.json atomically; `details` (command, config, accuracy...) go on the card."""
    path = Path(path).with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, weights_bytes(net))
    card = model_card(net, sha256_of(path), **details)
    _atomic_write(card_path(path), (json.dumps(card, indent=2) + "\n").encode())
    return card


def _atomic_write(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_card(path: str | os.PathLike) -> dict:
    card_file = card_path(path)
    try:
        card = json.loads(card_file.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"The model card {card_file.name} is missing: it must lie beside {Path(path).name}.",
                             "errors.model.card_missing", card=card_file.name, weights=Path(path).name) from None  # fmt: skip
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"The model card {card_file.name} is not valid JSON ({error}).",
                             "errors.model.card_not_json", card=card_file.name, detail=str(error)) from None  # fmt: skip
    if not isinstance(card, dict) or not isinstance(card.get("model"), str) or not isinstance(card.get("sha256"), str):
        raise ModelFileError(f"The model card {card_file.name} lacks the model name or the SHA-256 of the weights.")
    return card


def read_weights(data, shapes: dict[str, tuple] | None = None) -> dict[str, np.ndarray]:
    """Arrays from .npz bytes or a path; never unpickles.

    Every array's header is checked before any array is read: floating-point type, and
    the names and shapes in `shapes` if given (else a total size under MAX_WEIGHTS_BYTES).
    Then every value must be finite. Raises ModelFileError.
    """
    source = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        with zipfile.ZipFile(source) as archive:
            members = _array_members(archive)
            headers = {name: _array_header(archive, member) for name, member in members.items()}
            _check_headers(headers, shapes)
            arrays = {name: _read_array(archive, member) for name, member in members.items()}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ModelFileError(f"The weights file is not a readable .npz archive ({error}).") from None
    check_values(arrays)
    return arrays


def _array_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """{array name: zip member}; an .npz holds nothing but NAME.npy members."""
    members = {}
    for member in archive.infolist():
        if not member.filename.endswith(".npy"):
            raise ModelFileError(f"The weights file holds '{member.filename}', which is not an array.")
        members[member.filename.removesuffix(".npy")] = member
    return members


def _array_header(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[tuple, np.dtype]:
    """(shape, dtype) from the start of a .npy member, without reading its data."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    with archive.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        if version not in readers:
            raise ValueError(f"unsupported .npy format version {version}")
        shape, _fortran_order, dtype = readers[version](stream)
        header_size = stream.tell()
    name = member.filename.removesuffix(".npy")
    check_dtype(name, dtype)
    # The zip directory gives each member's inflated size: it must be what the header declares.
    if member.file_size != header_size + int(np.prod(shape)) * dtype.itemsize:
        raise ModelFileError(f"'{name}' holds a different amount of data than its header declares.")
    return shape, dtype


def _check_headers(headers: dict[str, tuple[tuple, np.dtype]], shapes: dict[str, tuple] | None) -> None:
    if shapes is None:
        declared = sum(int(np.prod(shape)) * dtype.itemsize for shape, dtype in headers.values())
        if declared > MAX_WEIGHTS_BYTES:
            raise ModelFileError(
                f"The weights file declares {declared / 1e6:,.0f} MB of arrays, "
                f"more than the {MAX_WEIGHTS_BYTES >> 20} MB a model of this app can have."
            )
        return
    check_names(headers, shapes)
    for name, (shape, _) in headers.items():
        if tuple(shape) != tuple(shapes[name]):
            raise ModelFileError(f"'{name}' has shape {tuple(shape)}, the architecture needs {tuple(shapes[name])}.")


def _read_array(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> np.ndarray:
    with archive.open(member) as stream:
        return np.load(stream, allow_pickle=False)


def check_dtype(name: str, dtype: np.dtype) -> None:
    """Weights are floating-point numbers: refuse integers, complex numbers, objects..."""
    if dtype.kind != "f":
        words = _KIND_WORDS.get(dtype.kind, "values of an unknown kind")
        raise ModelFileError(f"'{name}' holds {words} ({dtype}), not the decimal numbers trained weights are.")


def check_names(arrays, shapes: dict[str, tuple]) -> None:
    missing, extra = sorted(set(shapes) - set(arrays)), sorted(set(arrays) - set(shapes))
    if missing or extra:
        raise ModelFileError(
            f"The weights do not fit this architecture (missing {', '.join(missing) or 'none'}; "
            f"unexpected {', '.join(extra) or 'none'})."
        )


def check_values(arrays: dict[str, np.ndarray]) -> None:
    """Every array is floating point and every value finite (NaN means training diverged)."""
    for name, array in arrays.items():
        check_dtype(name, array.dtype)
        if not np.isfinite(array).all():
            raise ModelFileError(
                f"'{name}' holds NaN or infinite values: these weights are broken (did training diverge?)."
            )


def load_model(path: str | os.PathLike) -> tuple[Network, dict]:
    """Load PATH.npz with its card, verifying the hash and the architecture."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"No weights file at {path}.", "errors.model.no_weights", path=str(path))
    if path.stat().st_size > MAX_WEIGHTS_BYTES:
        raise ModelFileError(f"{path.name} is larger than {MAX_WEIGHTS_BYTES >> 20} MB: not a model of this app.")
    card = read_card(path)
    if sha256_of(path) != card["sha256"]:
        raise ModelFileError(
            f"{path.name} does not match its model card (SHA-256 differs): the file is corrupt, "
            "truncated or was changed after training.",
            "errors.model.hash_differs", file=path.name,
        )
    net = _model_of_card(card, path.name)
    try:
        arrays = read_weights(str(path), shapes={name: value.shape for name, value in net.state().items()})
    except ModelFileError as error:
        raise ModelFileError(f"{path.name} cannot be used: {_sentence(error)}",
                             "errors.model.unusable", label=path.name, detail=_sentence(error)) from None
    net.load_state(arrays)
    return net, card


def network_from(arrays: dict[str, np.ndarray], card: dict, label: str = "the weights") -> Network:
    """Build the card's architecture and load the arrays into it, checking names, shapes,
    types and values first."""
    net = _model_of_card(card, label)
    try:
        check_names(arrays, {name: value.shape for name, value in net.state().items()})
        check_values(arrays)
        net.load_state(arrays)
    except ModelFileError as error:
        raise ModelFileError(f"{label} cannot be used: {_sentence(error)}",
                             "errors.model.unusable", label=label, detail=_sentence(error)) from None
    except ValueError as error:
        raise ModelFileError(f"{label} cannot be used: {error}.",
                             "errors.model.unusable", label=label, detail=f"{error}.") from None
    return net


def _model_of_card(card: dict, label: str) -> Network:
    """Build (untrained) the model the card names, after checking the card describes that model."""
    try:
        net = build_model(card["model"], init=card.get("init") or None, activation=card.get("activation") or None)
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"{label} cannot be used: {_sentence(error)}",
                             "errors.model.unusable", label=label, detail=_sentence(error)) from None
    check_architecture(card, net, label)
    return net


def check_architecture(card: dict, net: Network, label: str) -> None:
    """The card's layers (names, kinds, output shapes) and parameter count must be the model's."""
    rows = card.get("architecture")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ModelFileError(f"{label} cannot be used: its model card does not describe the architecture.")
    described = [(row.get("name"), row.get("layer"), _as_list(row.get("output"))) for row in rows]
    actual = [(row["name"], row["layer"], list(row["output"])) for row in net.describe()]
    if described != actual:
        where = next((i for i, (a, b) in enumerate(zip(described, actual)) if a != b), min(len(described), len(actual)))
        card_says = _layer_words(described[where]) if where < len(described) else "nothing"
        model_has = _layer_words(actual[where]) if where < len(actual) else "nothing"
        raise ModelFileError(
            f"{label} cannot be used: its model card does not describe the model '{net.model_name}' "
            f"(layer {where + 1}: the card says {card_says}, the model has {model_has})."
        )
    if "parameters" in card and card["parameters"] != net.parameter_count():
        raise ModelFileError(
            f"{label} cannot be used: its model card counts {card['parameters']} parameters, "
            f"the model '{net.model_name}' has {net.parameter_count():,}."
        )


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def _layer_words(row: tuple) -> str:
    name, layer, output = row
    return f"{name} ({layer}, output {output})"


def _sentence(error: Exception) -> str:
    """An error's message, starting lower-case and ending with one full stop."""
    text = str(error).strip().rstrip(".")
    return (text[:1].lower() + text[1:] if not text[:2].isupper() else text) + "."
