"""Which characters a text may hold: one rule for queries, texts to embed and documents.

Refused: lone surrogates (not Unicode text; the tokenizer and the store cannot take them, and
JSON lets them through as `\\ud800`), and the C0 control characters that are not whitespace
(NUL, BEL, ESC, ...) plus DEL, which no language writes and which mark binary or corrupted
input. Tabs, newlines, form feeds and other whitespace are fine. C1 controls (U+0080-U+009F)
stay allowed: real corpora hold them as mojibake (the UDHR has U+0092 for an apostrophe).
Right-to-left scripts, combining marks, emoji, joiners and mixed scripts are all allowed.
"""

from __future__ import annotations

import re

_REFUSED = re.compile(r"[\x00-\x08\x0e-\x1b\x7f\ud800-\udfff]")


def refused_character(value: str) -> str | None:
    """A description of the first refused character in `value`, or None if all are fine."""
    found = _REFUSED.search(value)
    if found is None:
        return None
    char = found.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"U+{ord(char):04X} at position {found.start()} is {kind}"


def check_characters(value: str) -> str:
    """Pydantic validator body: ValueError naming the first refused character."""
    problem = refused_character(value)
    if problem is not None:
        raise ValueError(f"must not contain control characters or lone surrogates: {problem}")
    return value
