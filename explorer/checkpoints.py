"""Saving and loading trained models: weights in .npz, a JSON model card beside them.

The .npz holds plain arrays only and is always read with allow_pickle=False, so a
weights file can never run code. The card records the architecture, how the weights
were trained and the SHA-256 of the .npz; loading checks the hash and every shape, so a
corrupt, truncated, tampered or mismatched file gives a clear error, never a wrong model.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from explorer.models import build_model
from explorer.network import Network

MAX_WEIGHTS_BYTES = 50 * 1024 * 1024


class ModelFileError(Exception):
    """A weights file or its model card cannot be used; the message says why."""


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
    import io

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
        raise ModelFileError(f"The model card {card_file.name} is missing: it must lie beside {Path(path).name}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"The model card {card_file.name} is not valid JSON ({error}).") from None
    if not isinstance(card, dict) or not isinstance(card.get("model"), str) or not isinstance(card.get("sha256"), str):
        raise ModelFileError(f"The model card {card_file.name} lacks the model name or the SHA-256 of the weights.")
    return card


def read_weights(data) -> dict[str, np.ndarray]:
    """Arrays from .npz bytes or a path; never unpickles."""
    import io

    source = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        with np.load(source, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ModelFileError(f"The weights file is not a readable .npz archive ({error}).") from None


def load_model(path: str | os.PathLike) -> tuple[Network, dict]:
    """Load PATH.npz with its card, verifying the hash and the architecture."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"No weights file at {path}.")
    if path.stat().st_size > MAX_WEIGHTS_BYTES:
        raise ModelFileError(f"{path.name} is larger than {MAX_WEIGHTS_BYTES >> 20} MB: not a model of this app.")
    card = read_card(path)
    if sha256_of(path) != card["sha256"]:
        raise ModelFileError(
            f"{path.name} does not match its model card (SHA-256 differs): the file is corrupt, "
            "truncated or was changed after training."
        )
    return network_from(read_weights(str(path)), card, path.name), card


def network_from(arrays: dict[str, np.ndarray], card: dict, label: str = "the weights") -> Network:
    """Build the card's architecture and load the arrays into it, checking every shape."""
    try:
        net = build_model(card["model"], init=card.get("init") or None, activation=card.get("activation") or None)
        net.load_state(arrays)
    except ValueError as error:
        raise ModelFileError(f"{label} cannot be used: {error}.") from None
    return net
