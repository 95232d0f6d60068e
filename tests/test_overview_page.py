"""The overview on the Filters page under AppTest: it renders for every CNN, and the map chosen
(a click sets ov_column/ov_channel; a link carries them) opens below with the maps it reads."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from explorer.i18n import t
from explorer.lab.dissect import dissect
from explorer.nn.pretrained import available, load_pretrained
from explorer.ui.app_setup import REPO_ROOT
from explorer.ui.resources import CNN_MODELS
from tests.test_overview import digit

PAGE = str(REPO_ROOT / "pages" / "filters.py")
SHIPPED_CNNS = [name for name in CNN_MODELS if name in available()]


def page(**params) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = str(value)
    at.run()
    assert not at.exception, at.exception
    return at


def chart_titles(at: AppTest) -> list[str]:
    titles = []
    for chart in at.get("plotly_chart"):
        layout = json.loads(chart.proto.spec).get("layout", {})
        titles += [annotation.get("text", "") for annotation in layout.get("annotations", [])]
    return titles


@pytest.mark.skipif(not SHIPPED_CNNS, reason="no trained CNN in pretrained/")
@pytest.mark.parametrize("name", SHIPPED_CNNS)
def test_the_overview_renders_for_every_cnn(name):
    at = page(filters_model=name)
    assert t("overview.title") in [header.value for header in at.subheader]
    net, _ = load_pretrained(name)
    first_map = next(layer for layer in dissect(net, net.prepare(digit()[None])).maps)
    assert t("overview.selected", layer=first_map.name, channel=1) in chart_titles(at)


@pytest.mark.skipif(not SHIPPED_CNNS, reason="no trained CNN in pretrained/")
def test_a_chosen_map_opens_with_the_maps_it_reads():
    name = SHIPPED_CNNS[0]
    net, _ = load_pretrained(name)
    maps = dissect(net, net.prepare(digit()[None])).maps
    at = page(filters_model=name, ov_column=2, ov_channel=1)
    chosen, before = maps[1], maps[0]
    titles = chart_titles(at)
    assert t("overview.selected", layer=chosen.name, channel=2) in titles
    assert any(title == t("overview.reads", layer=before.name, channel=c) for c in (1, 2) for title in titles)
