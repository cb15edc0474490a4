"""Requested language codes against the codes documents carry (app/language_codes.py)."""

from __future__ import annotations

import pytest

from app.language_codes import LanguageIndex, language_name

STORED = (
    "eng", "enm", "deu_1996", "cmn_hans", "cmn_hant", "yue", "hau_NG", "swh", "arb",
    "pes_1", "nya_chinyanja", "007", "por_BR", "por_PT", "twi", "fra",
)  # fmt: skip


@pytest.mark.parametrize(
    ("asked", "meant"),
    [
        ("en", ["eng"]),  # two-letter code, three-letter spelling; not Middle English
        ("ENG", ["eng"]),  # case
        ("de", ["deu_1996"]),  # a bare language covers its variants
        ("zh", ["cmn_hans", "cmn_hant"]),  # a macrolanguage covers its members...
        ("cmn", ["cmn_hans", "cmn_hant"]),
        ("sw", ["swh"]),
        ("ar", ["arb"]),
        ("fa", ["pes_1"]),  # ...also when the stored code is no BCP 47 tag
        ("ak", ["twi"]),
        ("ny", ["nya_chinyanja"]),
        ("zh-Hans", ["cmn_hans"]),  # a script: only that script
        ("pt-BR", ["por_BR"]),  # a region: only that region
        ("Hau_ng", ["hau_NG"]),  # a stored code in another case and separator
        ("007", ["007"]),  # codes without a language name match themselves
        ("pes_1", ["pes_1"]),
    ],
)
def test_a_code_means_the_stored_codes_of_its_language(asked: str, meant: list[str]) -> None:
    assert LanguageIndex(STORED).meant([asked]) == sorted({asked, *meant})


@pytest.mark.parametrize(
    ("asked", "stored"),
    [
        ("swh", "sw"),  # a member does not cover its macrolanguage
        ("en-US", "eng"),  # a region asked is not assumed of a code that names none
        ("pt-PT", "por_BR"),
        ("zh", "yue"),  # Cantonese is its own language in CLDR
        ("xx", "007"),
        ("english", "eng"),  # names are not codes
    ],
)
def test_other_languages_and_forms_do_not_match(asked: str, stored: str) -> None:
    assert LanguageIndex([stored]).meant([asked]) == [asked]


def test_requested_codes_are_kept_beside_the_stored_ones_they_mean() -> None:
    """A language not indexed yet still filters exactly (it may arrive with the next write)."""
    assert LanguageIndex(STORED).meant(["de", "xx"]) == ["de", "deu_1996", "xx"]
    assert LanguageIndex([]).meant(["eng"]) == ["eng"]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("eng", "English"),
        ("deu_1996", "German"),
        ("cmn_hans", "Mandarin Chinese (Simplified)"),
        ("hau_NG", "Hausa (Nigeria)"),
        ("nya_chinyanja", "Nyanja"),  # no BCP 47 tag: its language subtag's name
        ("pes_1", "Iranian Persian"),
        ("007", None),  # the UDHR's code for a language without an ISO code
        ("qaa", None),  # private use
    ],
)
def test_a_code_is_named_in_english(code: str, name: str | None) -> None:
    assert language_name(code) == name
