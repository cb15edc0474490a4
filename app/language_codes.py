"""What language codes mean: which of a collection's codes a requested code means, and the name
of a code's language.

Documents carry the codes their sources gave (`eng`, `deu_1996`, `cmn_hans`, `hau_NG`, `swh`);
users ask in the codes they know (`en`, `ENG`, `de`, `zh`, `sw`). A requested code means a stored
one when, standardised as BCP 47 (`langcodes`: an ISO 639-3 code with a two-letter form takes
it; case, `_` and `-` do not matter), both name the same language, or the requested one is the
stored language's macrolanguage (`zh` covers `cmn`, `sw` covers `swh`, `ar` covers `arb`).

A bare language (`de`) means the language in any script, region or variant (`deu_1996`); a code
with more (`pt-BR`, `zh-Hans`) means just that form (`por_BR`, `cmn_hans`). Codes that are no
BCP 47 tag (`nya_chinyanja`, `pes_1`, `007`) still match themselves, in any case, and their
language subtag answers for them to a bare language (`ny` finds `nya_chinyanja`).

Names come from CLDR through `langcodes` and `language_data` (`swh`: "Swahili (individual
language)", `cmn_hans`: "Mandarin Chinese (Simplified)"), in English.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import Literal

from langcodes import Language, standardize_tag
from langcodes.tag_parser import LanguageTagError

_SEPARATOR = re.compile(r"[-_@]")

# How a request names stored codes: spelled alike (but for case), as the same whole tag, or as
# the same bare language.
_Way = Literal["spelling", "tag", "language"]


@cache
def _standard(tag: str) -> tuple[str, ...]:
    """The tag in BCP 47, and the same with the language as its macrolanguage (`cmn-Hans`,
    `zh-Hans`); none when it is no BCP 47 tag."""
    try:
        return standardize_tag(tag), standardize_tag(tag, macro=True)
    except LanguageTagError:
        return ()


def _language(code: str) -> str:
    return _SEPARATOR.split(code, maxsplit=1)[0]


class LanguageIndex:
    """A collection's language codes, found by every name a request may give them."""

    def __init__(self, stored: Iterable[str]) -> None:
        self._codes: defaultdict[tuple[_Way, str], set[str]] = defaultdict(set)
        for code in stored:
            self._codes["spelling", code.casefold()].add(code)
            for form in _standard(code):
                self._codes["tag", form].add(code)
            for form in _standard(_language(code)):
                self._codes["language", form].add(code)

    def meant(self, requested: Iterable[str]) -> list[str]:
        """The stored codes the requested ones mean, and each requested code itself (a language
        not indexed yet still filters exactly), sorted."""
        found: set[str] = set()
        for code in requested:
            found.add(code)
            found |= self._codes.get(("spelling", code.casefold()), set())
            way: _Way = "tag" if _SEPARATOR.search(code) else "language"
            for form in _standard(code)[:1]:
                found |= self._codes.get((way, form), set())
        return sorted(found)


@cache
def language_name(code: str) -> str | None:
    """The English name of the code's language (its first part's when the whole is no BCP 47
    tag: `nya_chinyanja` is "Nyanja"); None for a code that names no known language (`007`)."""
    for tag in (code, _language(code)):
        try:
            language = Language.get(tag)
        except LanguageTagError:
            continue
        return language.display_name() if language.has_name_data() else None
    return None
