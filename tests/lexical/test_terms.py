"""Terms for lexical search, with the served model's real tokenizer."""

from __future__ import annotations

import pytest

from app.encoder import OnnxEncoder
from app.lexical.terms import TermSplitter


@pytest.fixture(scope="module")
def words(encoder: OnnxEncoder) -> TermSplitter:
    return TermSplitter(encoder.tokenizer, "words")


def test_spaced_scripts_give_whole_case_folded_words_without_stemming(words: TermSplitter) -> None:
    assert words.terms("Everyone has the RIGHT to rights, liberty — Straße №42!") == [
        "everyone", "has", "the", "right", "to", "rights", "liberty", "strasse", "no42",
    ]  # fmt: skip
    # Marks belong to their word (Devanagari vowel signs, Amharic), not split off.
    assert words.terms("सभी मनुष्यों को") == ["सभी", "मनुष्यों", "को"]
    assert words.terms("ሰው ሁሉ፣ በሕይወት።") == ["ሰው", "ሁሉ", "በሕይወት"]


@pytest.mark.parametrize(
    ("text", "word"),
    [("ทุกคนมีสิทธิในการดำรงชีวิต", "ชีวิต"), ("人人有权享有生命、自由和人身安全。", "生命")],
)
def test_unspaced_scripts_are_cut_into_subword_pieces(
    words: TermSplitter, text: str, word: str
) -> None:
    terms = words.terms(text)
    assert len(terms) > 3  # not one term for the whole sentence
    assert word in terms
    assert "".join(terms) == "".join(words.terms(text.replace("、", "").replace("。", "")))


def test_subword_scheme_cuts_every_script_and_refuses_unknown_schemes(
    encoder: OnnxEncoder,
) -> None:
    pieces = TermSplitter(encoder.tokenizer, "subwords").terms("Everyone has liberty.")
    assert pieces[:2] == ["everyone", "has"] and len(pieces) > 3 and "." not in pieces
    with pytest.raises(ValueError, match="unknown term scheme"):
        TermSplitter(encoder.tokenizer, "stems")  # type: ignore[arg-type]


def test_tibetan_terms_are_its_syllables_not_single_letters(words: TermSplitter) -> None:
    # The tokenizer knows Tibetan letter by letter: its pieces would be single letters, which
    # every passage shares. The tsheg ends each syllable.
    assert words.terms("བོད་ཀྱི་སྐད་ཡིག། ཤེས་རབ།") == ["བོད", "ཀྱི", "སྐད", "ཡིག", "ཤེས", "རབ"]


def test_yi_and_rare_han_are_cut_like_chinese(words: TermSplitter) -> None:
    yi = "ꊿꂷꃅꄿꐨꐥ"  # Nuosu, written without spaces
    assert len(words.terms(yi)) > 1
    assert "".join(words.terms(yi)) == yi
    extension_b = "\U00020000\U00020001"  # Han beyond the Basic Multilingual Plane
    assert len(words.terms(f"人{extension_b}人")) > 1


def test_myanmar_script_is_cut_into_syllables(words: TermSplitter) -> None:
    # Burmese: a final consonant (killed by the asat, past a dot below) stays in its syllable.
    assert words.terms("အသက်ရှင်ခွင့်") == ["အ", "သက်", "ရှင်", "ခွင့်"]
    # Shan, whose letters the tokenizer knows one by one.
    assert words.terms("ၵူၼ်းၵူႈၵေႃႉ") == ["ၵူၼ်း", "ၵူႈ", "ၵေႃႉ"]
    # A stacked letter belongs to the syllable above it; other scripts' runs stay whole.
    assert words.terms("မင်္ဂလာ abcမြန်မာ") == ["မင်္ဂ", "လာ", "abc", "မြန်", "မာ"]


def test_javanese_tai_tham_balinese_and_buginese_are_cut_into_syllables(
    words: TermSplitter,
) -> None:
    # Javanese, written without spaces ("aku mangan sega"): a letter before the pangkon closes
    # the syllable before; the letter after it (a pasangan) starts the next.
    running = words.terms("ꦲꦏꦸꦩꦔꦤ꧀ꦱꦼꦒ")
    assert running == ["ꦲ", "ꦏꦸ", "ꦩ", "ꦔꦤ꧀", "ꦱꦼ", "ꦒ"]
    # So a word typed alone gives terms its running text holds, which a phrase term did not.
    assert set(words.terms("ꦩꦔꦤ꧀")) <= set(running)
    assert set(words.terms("ꦱꦼꦒ")) <= set(running)
    # Tai Tham: a letter under the sakot stays in its syllable, a letter before the karan
    # closes the syllable before.
    assert words.terms("ᨠᩥ᩠ᨶᨵᨾ᩠ᨾ᩼") == ["ᨠᩥ᩠ᨶ", "ᨵ", "ᨾ᩠ᨾ᩼"]
    # Balinese ("sakti manusa"): the adeg-adeg as Javanese's pangkon; Buginese has no killer.
    assert words.terms("ᬲᬓ᭄ᬢᬶᬫᬦᬸᬲ") == ["ᬲᬓ᭄", "ᬢᬶ", "ᬫ", "ᬦᬸ", "ᬲ"]
    assert words.terms("ᨆᨊᨘᨔ") == ["ᨆ", "ᨊᨘ", "ᨔ"]


def test_a_number_in_a_syllabic_script_is_one_term(words: TermSplitter) -> None:
    assert words.terms("၁၉၄၈ခုနှစ်") == ["၁၉၄၈", "ခု", "နှစ်"]
    assert words.terms("꧑꧙꧔꧘ꦲꦏꦸ") == ["꧑꧙꧔꧘", "ꦲ", "ꦏꦸ"]
    assert words.terms("᪑᪙᪔᪘") == ["᪑᪙᪔᪘"]
