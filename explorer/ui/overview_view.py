"""The Filters page's overview: the whole network at a glance, a click on a map opens it below
with its filter and the maps it reads, and the first convolution's kernel sliding over the digit."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.conv_animation import kernel_animation
from explorer.figures.filters import panels_figure
from explorer.figures.overview import network_overview, overview_columns, sources_of
from explorer.i18n import t
from explorer.lab.dissect import Dissection, conv_indices
from explorer.nn.network import Network
from explorer.ui import url_state
from explorer.ui.charts import chart
from explorer.ui.figure_cache import shared

COLUMN, CHANNEL = "ov_column", "ov_channel"  # the selected map, in the URL
MIN_COLUMN_PX = 40  # narrower, and a column's maps and its layer name are too small to read
MIN_PANEL_PX = 150  # a panel of the selected map's row: its title ("reads conv2, map 12") needs the width


def show_overview(net: Network, view: Dissection) -> None:
    st.subheader(t("overview.title"), anchor="overview")
    columns = overview_columns(view)
    column = url_state.bind_number(COLUMN, 1, 0, len(columns) - 1)
    channel = url_state.bind_number(CHANNEL, 0, 0, len(columns[column]["maps"]) - 1)
    chart(shared(network_overview)(view, (column, channel)), key="ov_chart", on_select=_clicked, selection_mode="points",
          toolbar=False, min_width=MIN_COLUMN_PX * (len(columns) + 1))  # a phone scrolls it rather than shrink it  # fmt: skip
    st.caption(t("overview.caption"))
    _selected_map(net, columns, column, channel)
    first_conv = conv_indices(net)[0]
    show_kernel_animation(net, view, channel if columns[column]["index"] == first_conv else 0)


def _clicked() -> None:
    event = st.session_state.get("ov_chart") or {}
    for point in (event.get("selection") or {}).get("points") or []:
        data = point.get("customdata")
        if data is not None and len(data) == 2:
            st.session_state[COLUMN], st.session_state[CHANNEL] = int(data[0]), int(data[1])
            return


def _selected_map(net: Network, columns: list[dict], column: int, channel: int) -> None:
    """The clicked map large, beside the maps it reads and (for a convolution) its filter."""
    chosen = columns[column]
    panels = [(t("overview.selected", layer=chosen["name"], channel=channel + 1), chosen["maps"][channel], _limit(chosen["maps"][channel]))]
    sources = sources_of(columns, column, channel)[:4]
    before = columns[column - 1] if column else None
    if chosen["kind"] == "conv" and before is not None:
        weights = net.layers[chosen["index"]].W.value  # (k, k, in, out)
        panels = [(t("overview.filter", channel=source + 1), weights[:, :, source, channel], _limit(weights[:, :, :, channel]))
                  for source in sources] + panels  # fmt: skip
    if before is not None:
        panels = [(t("overview.reads", layer=before["name"], channel=source + 1), before["maps"][source], _limit(before["maps"][source]))
                  for source in sources] + panels  # fmt: skip
    chart(shared(panels_figure)(panels, height=260), key="ov_selected", toolbar=False, min_width=MIN_PANEL_PX * len(panels))
    st.caption(t(f"overview.explain.{_kind(chosen['kind'])}"))


def _kind(kind: str) -> str:
    return kind if kind in ("input", "conv", "activation", "pool", "batchnorm") else "other"


def _limit(values: np.ndarray) -> float:
    return float(np.abs(values).max()) or 1.0


def show_kernel_animation(net: Network, view: Dissection, channel: int) -> None:
    """The first convolution's kernel `channel` sliding over the digit."""
    first = conv_indices(net)[0]
    layer = net.layers[first]
    if view.input.shape[2] != 1:
        return
    st.subheader(t("overview.anim_title"), anchor="kernel-animation")
    output = next(item for item in view.layers if item.index == first).output[:, :, channel]
    figure = shared(kernel_animation)(view.input[:, :, 0], layer.W.value[:, :, 0, channel], float(layer.b.value[channel]), output,
                              stride=layer.stride, padding=layer.padding)  # fmt: skip
    chart(figure, key="ov_animation", toolbar=False)
    st.caption(t("overview.anim_caption", kernel=layer.kernel, channel=channel + 1))
