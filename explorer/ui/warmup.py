"""Heavy imports and shared resources, prepared once per process before sessions draw."""

from __future__ import annotations


def prepare_process() -> None:
    """Placeholder until the warm-up lands."""
