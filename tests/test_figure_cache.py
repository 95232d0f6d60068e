"""Figures shared across sessions (explorer/ui/figure_cache.py): the same arguments (arrays by
content) in the same language give the very same figure, built once; anything else builds anew."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer import i18n
from explorer.ui import figure_cache
from explorer.ui.figure_cache import is_shared, shared

calls: list[tuple] = []


def heatmap(values: np.ndarray, title: str) -> go.Figure:
    calls.append((values.tobytes(), title))
    return go.Figure(go.Heatmap(z=values), layout=dict(title=title))


def test_equal_arrays_share_one_figure_built_once():
    calls.clear()
    build = shared(heatmap)
    first = build(np.arange(4.0).reshape(2, 2), "maps")
    again = build(np.arange(4.0).reshape(2, 2).copy(), "maps")  # another array, the same content
    assert again is first and len(calls) == 1
    assert is_shared(first) and not is_shared(heatmap(np.zeros((2, 2)), "maps"))


def test_other_content_other_arguments_or_another_language_build_anew():
    calls.clear()
    build = shared(heatmap)
    base = build(np.ones((2, 2)), "t")
    assert build(np.ones((2, 2)) * 2, "t") is not base
    assert build(np.ones((2, 3)), "t") is not base
    assert build(np.ones((2, 2), np.float32), "t") is not base  # same numbers, another dtype
    assert build(np.ones((2, 2)), "u") is not base
    with i18n.language("zh-Hans"):
        assert build(np.ones((2, 2)), "t") is not base
    assert len(calls) == 6


def test_the_cache_keeps_the_most_recent_figures(monkeypatch):
    monkeypatch.setattr(figure_cache, "MAX_FIGURES", 3)
    build = shared(heatmap)
    figures = [build(np.full((1, 1), value), "n") for value in range(5)]
    assert build(np.full((1, 1), 4), "n") is figures[4]
    assert build(np.full((1, 1), 0), "n") is not figures[0]  # the oldest went


def test_sessions_asking_at_once_wait_for_one_build():
    import threading
    import time

    builds = []

    def slow(values: np.ndarray) -> go.Figure:
        builds.append(1)
        time.sleep(0.2)
        return go.Figure(go.Heatmap(z=values))

    build = shared(slow)
    results = [None] * 8

    def ask(number: int) -> None:
        results[number] = build(np.eye(3))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and all(result is results[0] for result in results)


def test_dataclasses_are_keyed_by_their_fields():
    from dataclasses import dataclass

    @dataclass
    class Step:
        window: np.ndarray
        total: float

    key = figure_cache.content_key
    assert key(Step(np.eye(2), 1.0)) == key(Step(np.eye(2).copy(), 1.0))
    assert key(Step(np.eye(2), 1.0)) != key(Step(np.eye(2) * 2, 1.0))
    assert key(Step(np.eye(2), 1.0)) != key(Step(np.eye(2), 2.0))


def test_a_shared_figure_gives_its_dict_made_once_as_the_figure_is():
    figure = shared(heatmap)(np.arange(6.0).reshape(2, 3), "dict")
    spec = figure.to_dict()
    assert figure.to_dict() is spec  # no new deep copy for the next session
    fresh = go.Figure(figure).to_dict()  # what an unshared copy of the figure would send
    assert spec["layout"]["title"] == fresh["layout"]["title"] and spec["data"][0]["type"] == "heatmap"
    assert spec["data"][0]["z"] == fresh["data"][0]["z"]
