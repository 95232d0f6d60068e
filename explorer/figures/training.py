"""Every plotly figure of the Train page, as plain functions of arrays (no streamlit).

Titles stay within 30 characters: explorer.figures.theme.fit_layout wraps longer ones to fit a phone.
Every word comes from the catalogs ([train.figures]) in the current language; a title passed in wins."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from explorer.figures.common import DIGIT_SCALE, filter_maps, heatmap_grid, tiles, unchecked_figure
from explorer.figures.theme import DIVERGING, PALETTE, SEQUENTIAL
from explorer.i18n import t

LIGHT = "#9ecae1"
DIGITS = list(range(10))
STREAM_FONT = 14  # px: the prediction stream must be readable from the back of a classroom
# Horizontal, above the plot area and right-aligned (the title is on the left): never over an axis title.
LEGEND_ABOVE = dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right", font=dict(size=13))


def colour(index: int) -> str:
    return PALETTE[index % (len(PALETTE) - 1)]  # skip yellow (last): weak on white


def _layout(fig: go.Figure, title: str, height: int = 360, **kw) -> go.Figure:
    kw.setdefault("margin", dict(l=60, r=20, t=60, b=55))
    fig.update_layout(title=title, height=height, **kw)
    return fig


def _figure(traces: list, title: str, height: int = 360, empty: str | None = None, **layout) -> go.Figure:
    """A figure made in one go.Figure call, which plotly does not check. `empty` is a note in the
    middle, for a figure with nothing to show yet.

    Plotly checks every part of a figure as it is made: half the time of the Train page's live
    charts, which every training student redraws at every update (with a whole class training,
    a quarter of the server's busy time went into them). These come as plain dicts, traces as
    dict(type="scatter", x=..., ...) (see explorer.figures.common.unchecked_figure), so the check
    would change nothing: tests/test_training_figures.py has plotly check every figure made here
    and finds the same figure."""
    layout.setdefault("margin", dict(l=60, r=20, t=60, b=55))
    if empty:
        layout["annotations"] = [_empty_note(empty)]
    return unchecked_figure(traces, dict(title=title, height=height, **layout))


def _empty_note(text: str) -> dict:
    return dict(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=18, color="#666"))


# --- curves --------------------------------------------------------------------------------
def loss_figure(steps, losses, smoothed=None, title: str | None = None, log_y: bool = False) -> go.Figure:
    """Raw per-step loss (light) and its smoothed trend (bold)."""
    raw_name, smooth_name, step = t("train.figures.raw"), t("train.figures.smoothed"), t("train.figures.step")
    steps, losses = np.asarray(steps), np.asarray(losses, dtype=float)
    traces = [dict(type="scatter", x=steps, y=losses, name=raw_name, mode="lines", line=dict(color=LIGHT, width=1.5), hovertemplate=f"{step} %{{x}}: %{{y:.4f}}<extra>{raw_name}</extra>")]
    if smoothed is not None:
        traces.append(dict(type="scatter", x=steps, y=np.asarray(smoothed, dtype=float), name=smooth_name, mode="lines", line=dict(color=PALETTE[0], width=3), hovertemplate=f"{step} %{{x}}: %{{y:.4f}}<extra>{smooth_name}</extra>"))
    return _figure(traces, title or t("train.figures.loss_title"), empty=None if len(steps) else t("train.figures.loss_empty"),
                   xaxis=dict(title=t("train.figures.step_axis"), rangemode="tozero"),
                   yaxis=dict(title=t("train.figures.loss"), type="log" if log_y else "linear", rangemode="tozero" if not log_y else None),
                   legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))  # fmt: skip


def accuracy_figure(epochs, train_acc, val_acc, test_accuracy: float | None = None, title: str | None = None,
                    class_curve: tuple[list, list] | None = None) -> go.Figure:
    """Train and validation accuracy per epoch; `class_curve` (epochs, values) adds the accuracy on
    the class's own digits, measured at the same moments as the validation accuracy."""
    train, validation, epoch = t("train.figures.train"), t("train.figures.validation"), t("train.figures.epoch")
    epochs = list(epochs)
    traces = [dict(type="scatter", x=epochs, y=list(train_acc), name=train, mode="lines+markers", line=dict(color=PALETTE[0]), hovertemplate=f"{epoch} %{{x}}: %{{y:.1%}}<extra>{train}</extra>")]
    val = [v for v in val_acc]
    if any(v is not None for v in val):
        traces.append(dict(type="scatter", x=epochs, y=[v if v is not None else math.nan for v in val], name=validation, mode="lines+markers", line=dict(color=PALETTE[1], dash="dash"), marker=dict(symbol="square"), hovertemplate=f"{epoch} %{{x}}: %{{y:.1%}}<extra>{validation}</extra>"))
    if class_curve is not None:
        name = t("train.class.figures.class_digits")
        traces.append(dict(type="scatter", x=list(class_curve[0]), y=list(class_curve[1]), name=name, mode="lines+markers", line=dict(color=PALETTE[5], width=3),
                                           marker=dict(symbol="diamond", size=9), hovertemplate=f"{epoch} %{{x}}: %{{y:.1%}}<extra>{name}</extra>"))  # fmt: skip
    fig = _figure(traces, title or t("train.figures.accuracy_title"), empty=None if epochs else t("train.figures.after_first_epoch"),
                  xaxis=dict(title=epoch, tickmode="linear", dtick=max(1, math.ceil(len(epochs) / 10)) if epochs else 1, rangemode="tozero"),
                  yaxis=dict(title=t("train.figures.accuracy"), tickformat=".0%", range=[0, 1.02]),
                  legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))  # fmt: skip
    if test_accuracy is not None:
        fig.add_hline(y=test_accuracy, line=dict(color=PALETTE[2], width=2, dash="dot"), annotation_text=t("train.figures.test_line", value=f"{test_accuracy:.2%}"), annotation_position="bottom right")
    return fig


def fine_tune_figure(test_sets: list[str], before: list[float], after: list[float], title: str | None = None) -> go.Figure:
    """Accuracy before and after fine-tuning, one pair of bars per test set."""
    fig = go.Figure()
    for name, values, colour_index in ((t("train.class.fine_tune.before"), before, 4), (t("train.class.fine_tune.after"), after, 0)):
        fig.add_trace(go.Bar(x=test_sets, y=list(values), name=name, marker_color=PALETTE[colour_index], text=[f"{v:.1%}" for v in values],
                             textposition="outside", hovertemplate=f"%{{x}}: %{{y:.1%}}<extra>{name}</extra>"))  # fmt: skip
    fig.update_yaxes(title=t("train.figures.accuracy"), tickformat=".0%", range=[0, 1.12])
    return _layout(fig, title or t("train.class.figures.fine_tune_title"), height=320, barmode="group",
                   legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))


def comparison_loss_figure(curves: list[dict], title: str | None = None, log_y: bool = False, height: int | None = None) -> go.Figure:
    """curves: dicts with label, steps, values, and optional colour and dash."""
    traces = [dict(type="scatter", x=np.asarray(c["steps"]), y=np.asarray(c["values"], dtype=float), name=c["label"], mode="lines",
                                   line=dict(color=c.get("colour", colour(i)), width=3, dash=c.get("dash", "solid")),
                                   hovertemplate=f"{t('train.figures.step')} %{{x}}: %{{y:.4f}}<extra>" + c["label"] + "</extra>")
              for i, c in enumerate(curves)]  # fmt: skip
    return _figure(traces, title or t("train.figures.comparison_loss_title"), height=height or 400,
                   empty=None if curves else t("train.figures.comparison_empty"),
                   xaxis=dict(title=t("train.figures.comparison_step_axis"), rangemode="tozero"),
                   yaxis=dict(title=t("train.figures.loss"), type="log" if log_y else "linear"),
                   legend=dict(orientation="h", y=-0.25, x=0, yanchor="top"))  # fmt: skip


def comparison_accuracy_figure(series: list[dict], title: str | None = None, height: int | None = None) -> go.Figure:
    """series: dicts with label, epochs, values (and optional colour, dash)."""
    traces = [dict(type="scatter", x=list(s["epochs"]), y=list(s["values"]), name=s["label"], mode="lines+markers",
                                   line=dict(color=s.get("colour", colour(i)), width=3, dash=s.get("dash", "solid")),
                                   hovertemplate=f"{t('train.figures.epoch')} %{{x}}: %{{y:.1%}}<extra>" + s["label"] + "</extra>")
              for i, s in enumerate(series)]  # fmt: skip
    return _figure(traces, title or t("train.figures.comparison_accuracy_title"), height=height or 400, showlegend=False,
                   empty=None if any(len(s["epochs"]) for s in series) else t("train.figures.after_first_epoch"),
                   xaxis=dict(title=t("train.figures.epoch"), tickmode="linear", rangemode="tozero"),
                   yaxis=dict(title=t("train.figures.accuracy"), tickformat=".0%", range=[0, 1.02]))  # fmt: skip


# --- inside the network --------------------------------------------------------------------
def activation_histograms(current, initial=None, title: str | None = None) -> go.Figure:
    """One panel per watched layer: bars now, outline at the start. `current`/`initial` are
    LayerHistogram-like objects (name, edges, fractions, std, zero_fraction)."""
    n = max(len(current), 1)
    titles = []
    for h in current:
        std = f"{h.std:.2g}"
        titles.append(t("train.figures.histogram_zero", name=h.name, std=std, zero=f"{h.zero_fraction:.0%}") if h.zero_fraction
                      else t("train.figures.histogram", name=h.name, std=std))  # fmt: skip
    spacing = 0.06
    width = (1 - spacing * (n - 1)) / n
    traces, layout, notes = [], {}, []
    for i in range(n):  # one panel per layer, side by side (as make_subplots lays them out)
        axis, left = str(i + 1) if i else "", i * (width + spacing)
        layout[f"xaxis{axis}"] = dict(domain=[left, left + width], anchor=f"y{axis}", title=t("train.figures.output_value"), nticks=4)
        layout[f"yaxis{axis}"] = dict(domain=[0, 1], anchor=f"x{axis}", tickformat=".0%", rangemode="tozero",
                                      title=t("train.figures.share_of_values") if i == 0 else None)  # fmt: skip
        if titles:
            notes.append(dict(text=titles[i], x=left + width / 2, y=1, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                              showarrow=False, font=dict(size=15)))  # fmt: skip
    for i, h in enumerate(current):
        axes = dict(xaxis=f"x{i + 1 if i else ''}", yaxis=f"y{i + 1 if i else ''}")
        centres = (h.edges[:-1] + h.edges[1:]) / 2
        width = float(h.edges[1] - h.edges[0])
        traces.append(dict(type="bar", x=centres, y=h.fractions, width=width, marker_color=PALETTE[0], name=t("train.figures.now"), showlegend=i == 0,
                                       hovertemplate="%{x:.3g}: %{y:.1%}<extra>" + t("train.figures.now") + "</extra>", **axes))  # fmt: skip
        if initial is not None and i < len(initial):
            h0 = initial[i]
            c0 = (h0.edges[:-1] + h0.edges[1:]) / 2
            traces.append(dict(type="scatter", x=c0, y=h0.fractions, mode="lines", line=dict(color=PALETTE[1], width=2, shape="hvh"), name=t("train.figures.at_start"),
                                               showlegend=i == 0, hovertemplate="%{x:.3g}: %{y:.1%}<extra>" + t("train.figures.at_start") + "</extra>", **axes))  # fmt: skip
    # The legend sits above the panels, right of the title: below, it would cover the axis titles.
    return _figure(traces, title or t("train.figures.activations_title"), height=360, legend=LEGEND_ABOVE, bargap=0.05,
                   margin=dict(l=60, r=20, t=110, b=55), annotations=notes, **layout)  # fmt: skip


def norms_figure(steps, series: dict, title: str, y_title: str) -> go.Figure:
    """One line per parameter (weight or gradient norms), log scale."""
    steps = np.asarray(steps)  # an array goes to the browser in one piece; a list, number by number
    traces = []
    for i, (name, values) in enumerate(series.items()):
        vals = np.asarray(values, dtype=float)
        vals = np.where(vals > 0, vals, np.nan)  # log axis: zero norms (dead or zero init) leave gaps
        traces.append(dict(type="scatter", x=steps, y=vals, name=name, mode="lines", line=dict(color=colour(i), width=2.5),
                                           hovertemplate=f"{t('train.figures.step')} %{{x}}: %{{y:.3g}}<extra>" + name + "</extra>"))  # fmt: skip
    return _figure(traces, title, height=380, empty=None if series else t("train.figures.no_weights"),
                   xaxis=dict(title=t("train.figures.step"), rangemode="tozero"), yaxis=dict(title=y_title, type="log", exponentformat="power"),
                   legend=LEGEND_ABOVE, margin=dict(l=60, r=20, t=110, b=55))  # fmt: skip


def dead_relu_figure(steps, dead: dict, title: str | None = None) -> go.Figure:
    steps = np.asarray(steps)
    traces = [dict(type="scatter", x=steps, y=np.asarray(values, dtype=float), name=name, mode="lines", line=dict(color=colour(i), width=2.5),
                                   hovertemplate=f"{t('train.figures.step')} %{{x}}: %{{y:.1%}}<extra>" + name + "</extra>")
              for i, (name, values) in enumerate(dead.items())]  # fmt: skip
    return _figure(traces, title or t("train.figures.dead_title"), height=380, empty=None if dead else t("train.figures.no_relu"),
                   xaxis=dict(title=t("train.figures.step"), rangemode="tozero"),
                   yaxis=dict(title=t("train.figures.dead_units"), tickformat=".0%", range=[0, 1.02]),
                   legend=LEGEND_ABOVE, margin=dict(l=60, r=20, t=110, b=55))  # fmt: skip


def filters_figure(weights: np.ndarray, title: str | None = None, columns: int = 16) -> go.Figure:
    """Conv weights (k, k, C_in, F): each filter of input channel 0 as a small red/blue tile,
    on one colour scale centred on zero."""
    maps = filter_maps(np.asarray(weights))
    limit = float(np.nanmax(np.abs(maps))) if maps.size and np.isfinite(maps).any() else 1.0
    limit = limit or 1.0
    mosaic = tiles(maps, columns)[0]
    fig = go.Figure(go.Heatmap(z=mosaic, colorscale=DIVERGING, zmin=-limit, zmax=limit, zmid=0, hoverongaps=False,
                               colorbar=dict(title=t("train.figures.weight"), thickness=14), hovertemplate="%{z:.3f}<extra></extra>"))  # fmt: skip
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, zeroline=False, showline=False, ticks="")
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, showline=False, ticks="")
    rows = mosaic.shape[0] / max(mosaic.shape[1], 1)
    return _layout(fig, title or t("train.figures.filters_title"), height=int(140 + 900 * rows), margin=dict(l=10, r=10, t=60, b=10))


def prediction_stream_figure(images, probabilities, labels, title: str | None = None) -> go.Figure:
    """A row of test digits, each above its ten probability bars (the top guess is green when
    right, vermillion when wrong). Two traces in all, so it redraws fast."""
    images, probabilities = np.asarray(images, dtype=float), np.asarray(probabilities, dtype=float)
    n = len(images)
    step = 12  # 10 bars + a gap of 2 per digit
    mosaic = tiles(images, n, gap=int(step * 28 / 10) - 28)[0] if n else np.zeros((28, 1))
    xs, ys, colours, digits, titles = [], [], [], [], []
    for i in range(n):
        predicted = int(probabilities[i].argmax())
        right = predicted == int(labels[i])
        for d in range(10):
            xs.append(i * step + d)
            ys.append(probabilities[i, d])
            digits.append(d)
            colours.append((PALETTE[2] if right else PALETTE[1]) if d == predicted else "#b0b0b0")
        titles.append(dict(x=i * step + 4.5, y=1.0, yref="paper", yanchor="bottom", showarrow=False, text=_stream_title(probabilities[i], labels[i]),
                           font=dict(size=STREAM_FONT + 4, color=PALETTE[2] if right else PALETTE[1])))  # fmt: skip
    traces = [
        dict(type="heatmap", z=mosaic, x0=-0.5, dx=10 / 28, y0=0, dy=1, colorscale=DIGIT_SCALE, showscale=False, hoverinfo="skip", xaxis="x", yaxis="y2"),
        dict(type="bar", x=xs, y=ys, marker_color=colours, customdata=digits, hovertemplate=t("train.figures.digit_hover") + "<extra></extra>", xaxis="x", yaxis="y"),
    ]  # fmt: skip
    return _figure(
        traces, title or t("train.figures.stream_title"), height=380, showlegend=False, bargap=0.1, margin=dict(l=60, r=10, t=95, b=35),
        annotations=titles,
        # Only 0 and 9 under each digit's ten bars: all ten labels did not fit (plotly turned them
        # on end, unreadable); the top guess is named above the digit and every bar says its digit on hover.
        xaxis=dict(tickmode="array", tickvals=[i * step + d for i in range(n) for d in (0, 9)], ticktext=["0", "9"] * n, tickangle=0,
                   tickfont=dict(size=STREAM_FONT), showgrid=False, zeroline=False, range=[-0.7, n * step - 1.3], ticks=""),
        yaxis=dict(domain=[0, 0.36], range=[0, 1], tickformat=".0%", tickvals=[0, 0.5, 1], title=None, tickfont=dict(size=STREAM_FONT)),
        yaxis2=dict(domain=[0.42, 1], autorange="reversed", showticklabels=False, showgrid=False, zeroline=False, showline=False, ticks="", anchor="x"),
    )  # fmt: skip


# --- optimizer paths -----------------------------------------------------------------------
def optimizer_paths_figure(xs, ys, zs, paths: dict, minimum=None, title: str | None = None, height: int | None = None) -> go.Figure:
    """Contours of the function and one path (array (n, 2)) per optimizer."""
    fig = go.Figure()
    levels = np.log1p(np.asarray(zs, dtype=float))  # log-spaced contours show both the floor and the walls
    fig.add_trace(go.Contour(x=xs, y=ys, z=levels, colorscale=[[0, "#f7fbff"], [1, "#6baed6"]], showscale=False, ncontours=18,
                             contours=dict(coloring="fill", showlines=True), line=dict(color="#ffffff", width=0.8), hoverinfo="skip"))  # fmt: skip
    for i, (name, path) in enumerate(paths.items()):
        path = np.asarray(path, dtype=float)
        steps = len(path) - 1
        fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], name=_path_name(name, steps), mode="lines+markers",
                                 line=dict(color=colour(i), width=2.5), marker=dict(size=6),
                                 hovertemplate="(%{x:.3f}, %{y:.3f})<extra>" + name + "</extra>"))  # fmt: skip
        if len(path):
            fig.add_trace(go.Scatter(x=[path[0, 0]], y=[path[0, 1]], mode="markers", marker=dict(size=12, color="black", symbol="circle-open", line=dict(width=3)), showlegend=False, hoverinfo="skip"))
    if minimum is not None:
        fig.add_trace(go.Scatter(x=[minimum[0]], y=[minimum[1]], mode="markers", name=t("train.figures.minimum"), marker=dict(symbol="star", size=18, color="black")))
    fig.update_xaxes(title="x", range=[float(np.min(xs)), float(np.max(xs))], showgrid=False)
    fig.update_yaxes(title="y", range=[float(np.min(ys)), float(np.max(ys))], showgrid=False)
    return _layout(fig, title or t("train.figures.paths_title"), height=height or 540, legend=LEGEND_ABOVE,
                   margin=dict(l=60, r=20, t=120, b=55))


# --- after training ------------------------------------------------------------------------
def confusion_figure(counts: np.ndarray, title: str | None = None) -> go.Figure:
    """Rows: true digit 0 (top) to 9; columns: predicted 0 to 9. Square cells, each with its count."""
    counts = np.asarray(counts)
    totals = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    share = counts / totals
    text = [[str(int(v)) if v else "" for v in row] for row in counts]
    fig = go.Figure(go.Heatmap(z=share, x=DIGITS, y=DIGITS, colorscale=SEQUENTIAL, zmin=0, zmax=1, text=text, xgap=1, ygap=1,
                               texttemplate="%{text}", textfont=dict(size=12), showscale=False,
                               hovertemplate=t("train.figures.confusion_hover") + "<extra></extra>"))  # fmt: skip
    # Fixed ranges: plotly's autorange with scaleanchor pads the short axis (it showed -5 to 14).
    fig.update_xaxes(title=t("train.figures.predicted_digit"), tickvals=DIGITS, range=[-0.5, 9.5], side="bottom", showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(title=t("train.figures.true_digit"), tickvals=DIGITS, range=[9.5, -0.5], showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1, constrain="domain")
    return _layout(fig, title or t("train.figures.confusion_title"), height=520, margin=dict(l=60, r=20, t=60, b=55))


def misclassified_figure(images, labels, predictions, confidences, columns: int = 8, title: str | None = None) -> go.Figure:
    images = np.asarray(images)
    title = title or t("train.figures.mistakes_title")
    if not len(images):
        return _figure([], title, height=200, empty=t("train.figures.no_mistakes"))
    titles = [f"{int(t)}→{int(p)} {float(c):.0%}" for t, p, c in zip(labels, predictions, confidences)]
    fig = heatmap_grid(images, titles=titles, columns=columns, height_per_row=115)
    fig.update_traces(colorscale=DIGIT_SCALE, showscale=False, zmin=0, zmax=255)
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=80, b=10))
    return fig


def memory_figure(sizes: dict[str, int], title: str | None = None) -> go.Figure:
    names = list(sizes)
    mb = [sizes[n] / 2**20 for n in names]
    fig = go.Figure(go.Bar(x=mb, y=names, orientation="h", marker_color=[colour(i) for i in range(len(names))], text=[f"{v:.2f} MB" for v in mb], textposition="auto"))
    fig.update_xaxes(title="MB")
    return _layout(fig, title or t("train.figures.memory_title"), height=260)


def _path_name(name: str, steps: int) -> str:
    if steps == 1:
        return t("train.figures.path_one_step", name=name)
    return t("train.figures.path_steps", name=name, steps=steps)


def _stream_title(p, true_label) -> str:
    predicted = int(np.argmax(p))
    mark = "✓" if predicted == int(true_label) else "✗"
    return f"{mark} {predicted} ({float(np.max(p)):.0%})"
