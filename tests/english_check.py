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
    return texts


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
