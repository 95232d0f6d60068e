"""The app's plotly look: large fonts for a projector, white background, colour-blind-safe colours.

Pure plotly (no streamlit). Importing registers the template "explorer"; `use_theme()` makes it
plotly's default (explorer/Home.py calls it on every run). Note that `st.plotly_chart` applies
Streamlit's own theme unless it is called with `theme=None`; .streamlit/config.toml gives
Streamlit's chart theme the same Okabe–Ito colours, so charts match either way.
"""

from __future__ import annotations

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
        title=dict(font=dict(size=BASE_FONT_SIZE)),
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


def use_theme() -> str:
    """Make the "explorer" template plotly's default; returns its name.

    Idempotent: safe to call on every Streamlit rerun.
    """
    if TEMPLATE_NAME not in pio.templates:
        pio.templates[TEMPLATE_NAME] = make_template()
    pio.templates.default = TEMPLATE_NAME
    return TEMPLATE_NAME


# Importing registers the template (usable as template="explorer"); use_theme() makes it default.
pio.templates[TEMPLATE_NAME] = make_template()
