"""explorer.lab.results: the "From 95% to 99.6%" table built from model cards."""

from __future__ import annotations

import json
import re

import pytest

from explorer.cli import results as results_cli
from explorer.lab import results
from explorer.lab.results import ARTICLES, NOT_TRAINED, UNREADABLE, Article, markdown_table, rows


def write_card(folder, name, **fields):
    card = {"model": name, "sha256": "0" * 64, **fields}
    (folder / f"{name}.json").write_text(json.dumps(card))


def test_rows_from_fake_cards(tmp_path):
    write_card(tmp_path, "nielsen", test_accuracy=0.9123, parameters=23860, training_seconds=61.4)
    write_card(tmp_path, "lenet", test_accuracy=0.9871, parameters=61706, training_seconds=7300)
    (tmp_path / "keras-mlp.json").write_text("{not json")
    table = {row.article.model: row for row in rows(tmp_path)}

    assert [row.article for row in rows(tmp_path)] == list(ARTICLES)
    assert table["nielsen"].accuracy == pytest.approx(0.9123)
    assert table["nielsen"].parameters == 23860
    assert table["lenet"].training_seconds == 7300
    assert table["keras-mlp"].status == UNREADABLE and "keras-mlp.json" in table["keras-mlp"].detail
    assert table["deepconvnet"].status == NOT_TRAINED and table["deepconvnet"].accuracy is None

    text = markdown_table(rows(tmp_path))
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + len(ARTICLES)  # header + one row per article
    nielsen = next(line for line in lines if "Nielsen" in line)
    assert "**91.23%**" in nielsen and "23,860" in nielsen and "1 min 01 s" in nielsen
    assert "2 h 01 min" in next(line for line in lines if "LeNet" in line)
    assert f"*{NOT_TRAINED}*" in next(line for line in lines if "DeepConvNet" in line)
    assert f"*{UNREADABLE}*" in next(line for line in lines if "Chollet" in line)


def test_bad_values_are_not_shown_as_numbers(tmp_path):
    write_card(tmp_path, "nielsen", test_accuracy=1.7, parameters=10)
    write_card(tmp_path, "lenet", test_accuracy=0.99, parameters="many", training_seconds=float("nan"))
    table = {row.article.model: row for row in rows(tmp_path)}
    assert table["nielsen"].status == UNREADABLE
    assert table["lenet"].trained and table["lenet"].parameters is None and table["lenet"].training_seconds is None


def test_extra_cards_become_footnotes(tmp_path):
    article = Article("Someone, *A post*", "a net", "main", 0.9, "", "train", also=(("extra", "all the data"),))
    write_card(tmp_path, "main", test_accuracy=0.8)
    write_card(tmp_path, "extra", test_accuracy=0.95)
    table = rows(tmp_path, (article,))
    assert table[0].also == (("all the data", 0.95),)
    assert "95.00% for all the data" in markdown_table(table)


def test_page_links_and_pipes(tmp_path):
    article = Article("A | B", "net", "main", 0.5, "", "filters")
    text = markdown_table(rows(tmp_path, (article,)), lambda page: f"[go]({page})")
    assert "A \\| B" in text and "[go](filters)" in text


@pytest.mark.parametrize("seconds, text", [(4.6, "5 s"), (59.4, "59 s"), (113.9, "1 min 54 s"), (3600, "1 h 00 min")])
def test_duration(seconds, text):
    assert results.duration(seconds) == text


def test_every_article_links_to_a_real_page():
    from explorer.ui.app_setup import PAGES

    assert {a.page for a in ARTICLES} <= {p.url_path for p in PAGES}


def test_real_cards_match_the_table():
    """Each row shows exactly its card's test_accuracy (on whatever cards are shipped now)."""
    shipped = [a for a in ARTICLES if results.card_file(a.model).is_file()]
    if not shipped:
        pytest.skip("no model cards in pretrained/")
    text = markdown_table(rows())
    for article in shipped:
        card = json.loads(results.card_file(article.model).read_text())
        line = next(line for line in text.splitlines() if line.startswith("| " + article.source.replace("|", "\\|")))
        shown = re.search(r"\*\*(\d+\.\d+)%\*\*", line)
        assert shown, line
        assert float(shown.group(1)) == pytest.approx(card["test_accuracy"] * 100, abs=0.005)
        assert f"{card['parameters']:,}" in line


def test_cli_prints_the_markdown(capsys):
    assert results_cli.main(["--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n| ") >= len(ARTICLES)


def test_best_available_keeps_the_preference_order():
    assert results.best_available(["zhou-cnn", "lenet", "nielsen"]) == ["lenet", "zhou-cnn"]
    assert results.best_available([]) == []


def test_the_catalogs_hold_each_article_as_written():
    """English reads the catalog's article texts: they must be the ARTICLES' own words."""
    from explorer.i18n import language

    with language("en"):
        for article in ARTICLES:
            assert results.article_text(article, "source") == article.source
            assert results.article_text(article, "network") == article.network
            assert results.article_text(article, "note") == article.claim_note
            for model, what in article.also:
                assert results.article_text(article, "what", model) == what


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_the_table_in_chinese_has_no_english_sentence(tmp_path, lang):
    from explorer.i18n import language, t
    from tests.english_check import english_runs

    for article in ARTICLES:
        write_card(tmp_path, article.model, test_accuracy=0.99, parameters=1234, training_seconds=4000)
        for model, _ in article.also:
            write_card(tmp_path, model, test_accuracy=0.98)
    write_card(tmp_path, "lenet", test_accuracy=2.0)  # an unreadable card: its note is translated too
    with language(lang):
        text = markdown_table(rows(tmp_path)) + "\n" + results.footer()
        assert text.startswith("| " + t("results.columns.article")) and t("results.unreadable") in text
        assert t("results.duration.hours", hours=1, minutes="06") in text
    assert english_runs(text) == []
    assert "98.00%" in text  # the extra cards' footnotes
