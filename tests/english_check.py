"""Find English sentences in what a page rendered under AppTest (for the zh-Hans and zh-Hant pages).

A run of three or more English words (two or more letters each) is a sentence left untranslated,
unless every word is a name or symbol of ALLOWED (MNIST, ReLU, Adam, model names...)."""

from __future__ import annotations

import json
import re

ALLOWED = {
    # data, layers, functions, optimizers, inits, libraries
    "mnist", "relu", "leaky", "leakyrelu", "selu", "tanh", "sigmoid", "softmax", "adam", "sgd", "adagrad",
    "rmsprop", "momentum", "xavier", "he", "numpy", "plotly", "streamlit", "keras", "tensorflow", "pytorch",
    "im2col", "dropout", "batchnorm", "max", "avg", "conv", "dense", "flatten", "pool", "lenet", "deepconvnet",
    "cnn", "mlp", "bn", "tf", "zhou", "nielsen", "deep", "rf", "idx", "png", "jpeg", "jpg", "csv", "zip", "gz",
    "npz", "json", "url", "http", "https", "localhost", "sqlite", "std", "lr", "eps", "rho", "beta", "epoch",
    "epochs", "latex", "cpu", "avx", "gpu", "ok", "id", "ms", "mb", "kb", "gb", "px", "fps", "x", "xy",
    "victor", "michael", "lecun", "et", "al", "top", "explorer",
}  # fmt: skip
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,;:]+[A-Za-z][A-Za-z'’-]*){2,}")
MATH = re.compile(r"\$[^$]*\$|\\\([^)]*\\\)|`[^`]*`|https?://\S+|\{[^}]*\}")


def english_runs(text: str) -> list[str]:
    """The runs of 3+ English words in `text` that are not all names or symbols."""
    text = MATH.sub(" ", text)
    runs = []
    for match in RUN.finditer(text):
        words = [w.lower().strip("'’-") for w in WORD.findall(match.group(0)) if len(w) >= 2]
        if len(words) >= 3 and any(word not in ALLOWED for word in words):
            runs.append(match.group(0))
    return runs


def rendered_texts(at) -> list[str]:
    """Every text an AppTest run shows: markdown, captions, titles, labels, help, options, alerts,
    metrics, and the titles, axes, legends and hover templates of its charts."""
    texts = []
    shown = ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "error",
             "success", "metric", "latex")  # their value is text
    widgets = ("button", "checkbox", "radio", "selectbox", "multiselect", "slider", "select_slider",
               "number_input", "text_input", "toggle", "tabs", "expander")  # their value is state
    for kind in shown + widgets:
        attributes = ("label", "help", "options", "placeholder") + (("value", "body") if kind in shown else ())
        for element in getattr(at, kind, []):
            for attribute in attributes:
                value = getattr(element, attribute, None)
                if isinstance(value, str):
                    texts.append(value)
                elif isinstance(value, (list, tuple)):
                    texts.extend(str(item) for item in value)
    for chart in at.get("plotly_chart"):
        texts.extend(_figure_texts(json.loads(chart.proto.spec)))
    return texts + _other_texts(at)


def _other_texts(at) -> list[str]:
    """What the elements AppTest has no typed accessor for show: segmented controls and pills,
    page links, st.html (its text, not its CSS), toasts, progress bars, image captions, download and
    upload buttons, and a table's column headers (its cells may be article titles: left out)."""
    texts = []
    for group in at.get("button_group"):
        texts += [group.proto.label, group.proto.help] + [option.content for option in group.proto.options]
    for kind in ("page_link", "download_button", "file_uploader"):
        texts += [text for element in at.get(kind) for text in (element.proto.label, element.proto.help)]
    texts += [_html_text(element.proto.body) for element in at.get("html")]
    texts += [element.proto.body for element in at.get("toast")]
    texts += [element.proto.text for element in at.get("progress")]
    texts += [image.caption for element in at.get("imgs") for image in element.proto.imgs]
    for kind in ("dataframe", "table"):
        for element in at.get(kind):
            texts += _table_headers(element.proto)
    return [text for text in texts if text]


def _html_text(body: str) -> str:
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S | re.I)
    return re.sub(r"<[^>]+>", " ", body)


def _table_headers(proto) -> list[str]:
    import pyarrow as pa

    headers = []
    if proto.arrow_data.data:
        headers += [str(name) for name in pa.ipc.open_stream(proto.arrow_data.data).schema.names
                    if not str(name).startswith("__")]  # pandas' index columns  # fmt: skip
    config = json.loads(getattr(proto, "columns", "") or "{}")
    for column in config.values():
        headers += [column.get("label") or "", column.get("help") or ""]
    return headers


def _figure_texts(spec: dict) -> list[str]:
    found = []

    def walk(node, key=""):
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, name)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str) and key in ("text", "name", "hovertemplate", "title", "ticktext"):
            found.append(re.sub(r"<[^>]+>|%\{[^}]*\}", " ", node))

    walk({key: value for key, value in spec.items() if key in ("data", "layout")})
    return found


def english_in(at) -> list[str]:
    return [run for text in rendered_texts(at) for run in english_runs(text)]
