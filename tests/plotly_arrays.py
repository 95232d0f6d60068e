"""Reading the arrays of a plotly figure's JSON in tests."""

from __future__ import annotations

import base64

import numpy as np


def values(data) -> np.ndarray:
    """A plotly array: a list, or plotly's typed-array form {"dtype", "bdata", "shape"}."""
    if isinstance(data, dict):
        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
        shape = data.get("shape")
        return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
    return np.array(data)
