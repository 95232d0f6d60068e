"""The pretrained models shipped in pretrained/, trained by our own core (see pretrained/README.md)."""
from __future__ import annotations

from pathlib import Path

from explorer.nn.checkpoints import ModelFileError, load_model, read_card

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "pretrained"


def weights_path(name: str) -> Path:
    return PRETRAINED_DIR / f"{name}.npz"


def available() -> list[str]:
    """Names of the shipped models that have both weights and a model card."""
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.npz") if p.with_suffix(".json").is_file())


def load_pretrained(name: str):
    """(network, card) for a shipped model; ModelFileError with a clear message if unusable."""
    if name not in available():
        found = ", ".join(available()) or "none"
        raise ModelFileError(f"No pretrained model '{name}' in {PRETRAINED_DIR.name}/ (found: {found}).",
                             "errors.model.not_shipped", name=name, folder=PRETRAINED_DIR.name, found=found)  # fmt: skip
    return load_model(weights_path(name))


def card(name: str) -> dict:
    return read_card(weights_path(name))
