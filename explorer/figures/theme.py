"""The app's plotly look: large fonts for a projector, white background, colour-blind-safe colours.

Pure plotly (no streamlit). Importing registers the template "explorer" and makes it plotly's
default (`use_theme()`, which explorer/Home.py calls on every run, keeps it so). Note that `st.plotly_chart` applies
Streamlit's own theme unless it is called with `theme=None`; .streamlit/config.toml gives
Streamlit's chart theme the same Okabe–Ito colours, so charts match either way.
"""

from __future__ import annotations

import math
import re

import plotly.graph_objects as go
import plotly.io as pio

TEMPLATE_NAME = "explorer"

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Ordered for contrast on white; yellow (weakest on white) comes last.
PALETTE = [
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#000000",  # black
    "#F0E442",  # yellow
]
SEQUENTIAL = "Cividis"  # perceptually uniform and colour-blind safe (images, activations)
DIVERGING = "RdBu_r"  # for signed values (weights, filters): use with zmid=0

BASE_FONT_SIZE = 18
TITLE_FONT_SIZE = 22
TEXT_COLOR = "#1a1a1a"
GRID_COLOR = "#d9d9d9"
FONT_FAMILY = "Source Sans Pro, Arial, Helvetica, sans-serif"


def _axis() -> dict:
    return dict(
        showgrid=True,
        gridcolor=GRID_COLOR,
        gridwidth=1,
        zeroline=True,
        zerolinecolor="#969696",
        zerolinewidth=1.5,
        showline=True,
        linecolor="#444444",
        ticks="outside",
        tickcolor="#444444",
        # A set standoff (with automargin, the margin makes room for it): plotly's own put a
        # vertical Chinese title against the tick labels.
        title=dict(font=dict(size=BASE_FONT_SIZE), standoff=12),
        tickfont=dict(size=BASE_FONT_SIZE - 2),
        automargin=True,
    )


def make_template() -> go.layout.Template:
    """Build (without registering) the "explorer" plotly template."""
    return go.layout.Template(
        layout=dict(
            font=dict(family=FONT_FAMILY, size=BASE_FONT_SIZE, color=TEXT_COLOR),
            title=dict(font=dict(size=TITLE_FONT_SIZE), x=0.0, xanchor="left"),
            paper_bgcolor="white",
            plot_bgcolor="white",
            colorway=PALETTE,
            colorscale=dict(sequential=SEQUENTIAL, diverging=DIVERGING),
            xaxis=_axis(),
            yaxis=_axis(),
            legend=dict(font=dict(size=BASE_FONT_SIZE - 2)),
            hoverlabel=dict(font=dict(size=BASE_FONT_SIZE - 2)),
            coloraxis=dict(colorbar=dict(tickfont=dict(size=BASE_FONT_SIZE - 2))),
            margin=dict(l=60, r=30, t=60, b=60),
        ),
        data=dict(
            heatmap=[go.Heatmap(colorscale=SEQUENTIAL)],
            scatter=[go.Scatter(line=dict(width=3), marker=dict(size=8))],
        ),
    )


# --- fitting a figure's title and legend to any width, from a phone to a projector -------------

# The narrowest chart the app draws is a phone's full width, about 320 px; a title line must fit it.
NARROWEST_CHART_PX = 316
CHAR_WIDTH_EM = 0.45  # average width of a title character, in font sizes (0.43-0.46 measured in Chromium)
TITLE_PAD_PX = 8  # above the title, and between the title and the legend
LINE_HEIGHT_EM = 1.3
DEFAULT_HEIGHT_PX = 450  # plotly's height when a figure sets none
LEGEND_TRACE_TYPES = {"scatter", "scattergl", "bar", "histogram", "box", "violin", "scatterpolar"}
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"(?:<[^>]*>|[^\s<])+")  # a word, with any tags inside it (tags may hold spaces)


def visible_length(text: str) -> int:
    """Characters a reader sees: plotly's tags (<b>, <sup>, <span style=...>) take no room."""
    return len(_TAG.sub("", text))


def wrap_title(text: str, max_chars: int) -> str:
    """Break `text` with <br> into as few lines of at most `max_chars` visible characters as
    possible, of about equal length (a long word keeps its own line). Existing <br>s stay."""
    lines = []
    for line in re.split(r"<br\s*/?>", text, flags=re.IGNORECASE):
        words = _WORD.findall(line)
        if visible_length(line) <= max_chars or len(words) < 2:
            lines.append(line.strip())
            continue
        lines.extend(_balanced(words, max_chars))
    return "<br>".join(lines)


def _balanced(words: list[str], max_chars: int) -> list[str]:
    """The fewest lines of at most `max_chars`, made as even as possible: the narrowest width
    that still needs no more lines than a greedy fill at `max_chars`."""
    fewest = len(_greedy(words, max_chars))
    for width in range(math.ceil(visible_length(" ".join(words)) / fewest), max_chars):
        if len(_greedy(words, width)) <= fewest:
            return _greedy(words, width)
    return _greedy(words, max_chars)


def _greedy(words: list[str], width: int) -> list[str]:
    lines, current = [], ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and visible_length(candidate) > width:
            lines.append(current)
            candidate = word
        current = candidate
    return [*lines, current]


def _title_text(fig: go.Figure) -> str:
    return fig.layout.title.text or ""


def _shows_legend(fig: go.Figure) -> bool:
    """Whether plotly will draw a legend: asked for, or two or more traces that show in one."""
    if fig.layout.showlegend is False:
        return False
    entries = [t for t in fig.data if t.showlegend is not False and
               (t.showlegend is True or t.type in LEGEND_TRACE_TYPES)]  # fmt: skip
    return bool(entries) and (fig.layout.showlegend is True or len(entries) > 1
                              or any(t.showlegend is True for t in entries))


def fit_layout(fig: go.Figure, height: int | None = None) -> go.Figure:
    """Make `fig` readable at any width, in place: a long title wraps onto lines that fit a phone,
    the title sits at the top, and a legend (horizontal, left-aligned) right under it, above the
    plot area. Plotly then keeps the top margin free for both, so title, legend, axis titles and
    the plot never overlap, however many rows the legend wraps into. Idempotent."""
    title = _title_text(fig)
    size = fig.layout.title.font.size or TITLE_FONT_SIZE
    width = fig.layout.width or NARROWEST_CHART_PX
    lines = 0
    if title:
        title = wrap_title(title, max(8, int(min(width, NARROWEST_CHART_PX) / (CHAR_WIDTH_EM * size))))
        lines = title.count("<br>") + 1
        # Plotly centres a title of several lines on where its first line would be: push it down
        # by half of the extra lines so the block starts at the top.
        shift = (lines - 1) * LINE_HEIGHT_EM * size / 2
        _merge(fig, "title", text=title, yref="container", y=1, yanchor="top", pad=dict(t=TITLE_PAD_PX + shift), automargin=False)
    below_title = TITLE_PAD_PX + lines * LINE_HEIGHT_EM * size + TITLE_PAD_PX
    if _shows_legend(fig):
        # In container units, plotly keeps the margin above the plot free down to the legend's
        # bottom (however many rows it wraps into), so the legend also makes room for the title.
        total = height or fig.layout.height or DEFAULT_HEIGHT_PX
        _merge(fig, "legend", orientation="h", xref="paper", x=0, xanchor="left", yref="container",
               y=max(0.0, 1 - below_title / total), yanchor="top")  # fmt: skip
    elif title:
        top = fig.layout.margin.t
        _merge(fig, "margin", t=max(top if top is not None else 0, math.ceil(below_title)))
    return fig


def _merge(fig: go.Figure, part: str, **changes) -> None:
    """fig.update_layout({part: changes}), five times faster: plotly's update walks and checks
    every key by its path, while assigning the merged part checks it once (chart() fits every
    figure of every rerun)."""
    fig.layout[part] = {**fig.layout[part].to_plotly_json(), **changes}


def use_theme() -> str:
    """Make the "explorer" template plotly's default; returns its name.

    Idempotent: safe to call on every Streamlit rerun.
    """
    if TEMPLATE_NAME not in pio.templates:
        pio.templates[TEMPLATE_NAME] = make_template()
    if pio.templates.default != TEMPLATE_NAME:  # setting it validates the whole template (~40 ms a rerun)
        pio.templates.default = TEMPLATE_NAME
    return TEMPLATE_NAME


# Importing registers the template and makes it plotly's default. Our figures name no template: a
# figure without one is sent with the default, shared as it is, while naming it on a figure copies
# and checks the whole template again (4 of a loss curve's 12 ms, for every figure of every rerun).
pio.templates[TEMPLATE_NAME] = make_template()
pio.templates.default = TEMPLATE_NAME
