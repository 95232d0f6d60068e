"""The "From 95% to 99.6%" table: each source article's network, what the article claims,
and what our own NumPy core measured (read from the model cards in pretrained/).

Pure Python (no streamlit): the Home page and README.md are built from the same rows. The words come
from the catalogs (table [results]) in the current language; README.md is built in English.

    python -m explorer.results --markdown     # the table as Markdown, for README.md
    python -m explorer.results                # the same, as plain text
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from explorer.i18n import DEFAULT, catalog, t
from explorer.nn import pretrained
from explorer.nn.checkpoints import ModelFileError, read_card

NOT_TRAINED = "not trained yet"  # a row's status (shown as t("results.not_trained"))
UNREADABLE = "card unreadable"  # a row's status (shown as t("results.unreadable"))


@dataclass(frozen=True)
class Article:
    """One source article and the pretrained model that reproduces its network.

    The texts are English; the catalogs hold them for every language under
    results.articles.<model>.source / .network / .note, and results.articles.<extra model>.what."""

    source: str  # the article (Markdown allowed: *italics*)
    network: str  # the network, in a few words
    model: str  # name of the model card in pretrained/ (NAME.json)
    claim: float | None  # the test accuracy the article reports (None: our own network, no article)
    claim_note: str  # what that claim refers to, in a few words
    page: str  # url_path of the app page that shows this network (see explorer.ui.app_setup.PAGES)
    also: tuple[tuple[str, str], ...] = ()  # other cards of the same network: (model, what differs)


# Claims as the articles state them (test-set accuracy), in the order the networks improve.
ARTICLES: tuple[Article, ...] = (
    Article("Michael Nielsen, *Neural Networks and Deep Learning*, ch. 1",
            "784-30-10 sigmoid MLP, SGD", "nielsen", 0.9542, "best epoch", "train"),
    Article("François Chollet, *Deep Learning with Python*, ch. 2 (Keras)",
            "784-512-10 ReLU MLP, RMSprop", "keras-mlp", 0.978, "5 epochs", "train"),
    Article("Victor Zhou, *CNNs from scratch*, parts 1–2",
            "conv 3×3 ×8, max-pool, softmax", "zhou-cnn-article", 0.78, "3 epochs on 1,000 images", "filters",
            also=(("zhou-cnn", "the same network trained on all 55,000 training images, 5 epochs"),)),
    Article("LeCun et al. 1998, *Gradient-Based Learning…*",
            "LeNet-5: two 5×5 conv + pool, dense 120-84", "lenet", 0.9905, "no distortions", "filters"),
    Article("Koki Saitoh, *Deep Learning from Scratch*, ch. 8",
            "DeepConvNet: six 3×3 convs, dense 50, dropout", "deepconvnet", 0.9938, "", "receptive_fields",
            also=(("deepconvnet-article", "the article's protocol: Adam, 20 epochs, no augmentation"),)),
    Article("A TensorFlow CNN tutorial",
            "two 3×3 convs, SELU dense, batch norm, dropout", "tf-cnn-bn", 0.995, "", "filters"),
    Article("This project: trained for the real world",
            "DeepConvNet trained on distorted digits: rotations, scaling, stroke thickness, elastic distortion, noise",
            "deepconvnet-realworld", None, "", "robustness"),
)  # fmt: skip

# The CNNs the Home page's hero demo may use, best first: students' own digits are read best by
# the network trained on distorted digits.
HERO_MODELS = ("deepconvnet-realworld", "deepconvnet", "tf-cnn-bn", "lenet", "zhou-cnn")


@dataclass(frozen=True)
class Row:
    article: Article
    status: str  # "ok", NOT_TRAINED or UNREADABLE
    accuracy: float | None = None  # the card's test_accuracy
    parameters: int | None = None
    training_seconds: float | None = None
    detail: str = ""  # why the card is unreadable
    also: tuple[tuple[str, float], ...] = ()  # (what differs, test accuracy) of the extra cards

    @property
    def trained(self) -> bool:
        return self.status == "ok"


def card_file(model: str, directory: Path | None = None) -> Path:
    """Where the card of `model` lives (read at call time, so tests can move PRETRAINED_DIR)."""
    return Path(directory if directory is not None else pretrained.PRETRAINED_DIR) / f"{model}.json"


def _number(card: dict, key: str, kind: type) -> float | int | None:
    value = card.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return kind(value)


def read_row(article: Article, directory: Path | None = None) -> Row:
    """The measured figures of one article's network; never raises for a missing or bad card.

    Read again only when one of its cards changes (the Home page shows the table at every rerun)."""
    cards = [card_file(model, directory) for model in (article.model, *(model for model, _ in article.also))]
    return _read_row(article, directory, tuple(_stamp(path) for path in cards))


def _stamp(path: Path) -> tuple[int, int] | None:
    """(modification time, size) of a file, None if missing: a changed card gets a new stamp."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=64)
def _read_row(article: Article, directory: Path | None, stamps: tuple) -> Row:  # noqa: ARG001 - stamps key the cache
    path = card_file(article.model, directory)
    if not path.is_file():
        return Row(article, NOT_TRAINED)
    try:
        card = read_card(path.with_suffix(".npz"))
    except ModelFileError as error:
        return Row(article, UNREADABLE, detail=str(error))
    accuracy = _number(card, "test_accuracy", float)
    if accuracy is None or not 0.0 <= accuracy <= 1.0:
        return Row(article, UNREADABLE, detail=f"{path.name} has no valid test_accuracy.")
    also = []
    for model, what in article.also:
        extra = card_file(model, directory)
        try:
            extra_accuracy = _number(read_card(extra.with_suffix(".npz")), "test_accuracy", float) if extra.is_file() else None
        except ModelFileError:
            extra_accuracy = None
        if extra_accuracy is not None:
            also.append((what, extra_accuracy))
    return Row(
        article,
        "ok",
        accuracy=accuracy,
        parameters=_number(card, "parameters", int),
        training_seconds=_number(card, "training_seconds", float),
        also=tuple(also),
    )


def rows(directory: Path | None = None, articles: tuple[Article, ...] = ARTICLES) -> list[Row]:
    """One row per article, in ARTICLES order, from the cards in `directory` (default pretrained/)."""
    return [read_row(article, directory) for article in articles]


def best_available(available: list[str], preferences: tuple[str, ...] = HERO_MODELS) -> list[str]:
    """The preferred models that are shipped, best first (the caller tries them in turn)."""
    return [name for name in preferences if name in available]


# --- formatting ---------------------------------------------------------------------------------


def percent(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def duration(seconds: float | None) -> str:
    """35 s, 4 min 39 s, 2 h 05 min."""
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return t("results.duration.seconds", seconds=seconds)
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return t("results.duration.minutes", minutes=minutes, seconds=f"{secs:02d}")
    hours, minutes = divmod(minutes, 60)
    return t("results.duration.hours", hours=hours, minutes=f"{minutes:02d}")


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def article_text(article: Article, field: str, model: str | None = None) -> str:
    """An article's `field` ("source", "network", "note"; "what" of an extra card `model`) in the
    current language; an article the catalogs do not know keeps its own (English) text."""
    model = model or article.model
    if f"results.articles.{model}.{field}" in catalog(DEFAULT):
        return t(f"results.articles.{model}.{field}")
    if field == "what":
        return dict(article.also).get(model, "")
    return {"source": article.source, "network": article.network, "note": article.claim_note}[field]


def claim_text(article: Article) -> str:
    if article.claim is None:
        return "–"
    text = f"{article.claim * 100:g}%"
    return t("results.claim_with_note", claim=text, note=article_text(article, "note")) if article.claim_note else text


def measured_text(row: Row) -> str:
    if row.status == NOT_TRAINED:
        return f"*{t('results.not_trained')}*"
    if row.status == UNREADABLE:
        return f"*{t('results.unreadable')}*"
    return f"**{percent(row.accuracy)}**"


COLUMNS = ("article", "network", "claim", "accuracy", "parameters", "training_time", "shown_on")  # ids: t("results.columns.<id>")


def column_titles() -> list[str]:
    return [t(f"results.columns.{column}") for column in COLUMNS]


def table_cells(row: Row, page_link: Callable[[str], str] = str) -> list[str]:
    """The cells of one row as Markdown strings (page_link turns a url_path into a link)."""
    return [
        article_text(row.article, "source"),
        article_text(row.article, "network"),
        claim_text(row.article),
        measured_text(row),
        count(row.parameters),
        duration(row.training_seconds),
        page_link(row.article.page),
    ]


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def markdown_table(table_rows: list[Row], page_link: Callable[[str], str] = str) -> str:
    """A Markdown table, one line per row, plus footnotes for the extra cards."""
    lines = ["| " + " | ".join(column_titles()) + " |", "|" + "|".join(["---"] * 2 + ["--:"] * 4 + ["---"]) + "|"]
    for row in table_rows:
        lines.append("| " + " | ".join(_escape(c) for c in table_cells(row, page_link)) + " |")
    notes = [t("results.extra_card", author=row.article.source.split(",")[0], accuracy=percent(accuracy),
               what=_extra_what(row.article, what))
             for row in table_rows for what, accuracy in row.also]  # fmt: skip
    if notes:
        lines.append("")
        lines.extend(f"* {note}" for note in notes)
    return "\n".join(lines)


def _extra_what(article: Article, what: str) -> str:
    """What differs in an extra card, in the current language (Row.also keeps the English text)."""
    model = next((model for model, english in article.also if english == what), None)
    return article_text(article, "what", model) if model else what


def footer() -> str:
    return t("results.footer")
