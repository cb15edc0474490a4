"""Sentence splitting per script (UDHR text, and sentences written for the test), and offsets
that are always valid."""

# The scripts' own punctuation (full-width marks, the Armenian and Urdu full stops) is the point.
# ruff: noqa: RUF001

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.highlights.sentences import (
    COMMA_LIKE_TERMINALS,
    SENTENCE_TERMINALS,
    SPACELESS_ENDS,
    split_sentences,
)


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_latin_sentences_end_at_a_stop_before_a_capital() -> None:
    text = (
        "All human beings are born free and equal in dignity and rights. They are endowed "
        "with reason and conscience, e.g. a sense of right and wrong! Is that so? It is."
    )
    assert _sentences(text) == [
        "All human beings are born free and equal in dignity and rights.",
        "They are endowed with reason and conscience, e.g. a sense of right and wrong!",
        "Is that so? It is.",  # "It is." is too short to stand alone: it joins the one before
    ]


def test_numbers_and_abbreviations_do_not_end_a_sentence() -> None:
    text = "The rate rose to 3.5 percent in 2020. Prices fell by 1.2 percent after that."
    assert _sentences(text) == [
        "The rate rose to 3.5 percent in 2020.",
        "Prices fell by 1.2 percent after that.",
    ]


def test_thai_has_no_punctuation_its_spaces_separate_sentences() -> None:
    # UDHR Article 1 and Article 3 in Thai, as one passage.
    first = "มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในเกียรติศักดิ์และสิทธิ"
    second = "ต่างมีเหตุผลและมโนธรรม และควรปฏิบัติต่อกันด้วยเจตนารมณ์แห่งภราดรภาพ"
    third = "คนทุกคนมีสิทธิในการดำรงชีวิต เสรีภาพ และความมั่นคงแห่งตัวตน"
    assert _sentences(f"{first} {second} {third}") == [first, second, third]


def test_amharic_full_stop_is_followed_by_the_ethiopic_word_space() -> None:
    text = (
        "የሰው፡ልጅ፡ሁሉ፡ሲወለድ፡ነጻና፡በክብርና፡በመብትም፡እኩልነት፡ያለው፡ነው።፡የተፈጥሮ፡ማስተዋልና፡ሕሊና፡"
        "ስላለው፡አንዱ፡ሌላውን፡በወንድማማችነት፡መንፈስ፡መመልከት፡ይገባዋል።"
    )
    assert _sentences(text) == [
        "የሰው፡ልጅ፡ሁሉ፡ሲወለድ፡ነጻና፡በክብርና፡በመብትም፡እኩልነት፡ያለው፡ነው።",
        "የተፈጥሮ፡ማስተዋልና፡ሕሊና፡ስላለው፡አንዱ፡ሌላውን፡በወንድማማችነት፡መንፈስ፡መመልከት፡ይገባዋል።",
    ]


def test_hindi_danda() -> None:
    text = (
        "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता और समानता प्राप्त है । "
        "उन्हें बुद्धि और अन्तरात्मा की देन प्राप्त है।प्रत्येक व्यक्ति को जीवन का अधिकार है ॥"
    )
    assert _sentences(text) == [
        "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता और समानता प्राप्त है ।",
        "उन्हें बुद्धि और अन्तरात्मा की देन प्राप्त है।",  # no space needed after a danda
        "प्रत्येक व्यक्ति को जीवन का अधिकार है ॥",
    ]


def test_chinese_and_japanese_stops_need_no_space() -> None:
    chinese = "人人生而自由,在尊严和权利上一律平等。他们赋有理性和良心,并应以兄弟关系的精神相对待。"
    assert _sentences(chinese) == [
        "人人生而自由,在尊严和权利上一律平等。",
        "他们赋有理性和良心,并应以兄弟关系的精神相对待。",
    ]
    japanese = (
        "すべての人は、生命、自由及び身体の安全に対する権利を有する。"
        "それは本当ですか？「はい」と答えた！"
    )
    assert _sentences(japanese) == [
        "すべての人は、生命、自由及び身体の安全に対する権利を有する。",
        "それは本当ですか？",
        "「はい」と答えた！",
    ]


def test_arabic_armenian_myanmar_khmer_marks() -> None:
    arabic = "هل يولد جميع الناس أحرارًا؟ نعم، يولدون متساوين في الكرامة والحقوق."
    assert len(split_sentences(arabic)) == 2
    armenian = (
        "Բոլոր մարդիկ ծնվում են ազատ ու հավասար իրենց արժանապատվությամբ ու իրավունքներով։"
        "Նրանք ունեն բանականություն ու խիղճ։"
    )
    assert len(split_sentences(armenian)) == 2
    myanmar = "လူတိုင်း၌ အသက်ရှင်ရန် လွတ်လပ်ခွင့် ရှိသည်။ ထိုသူတို့၌ ဉာဏ်နှင့် စိတ်တို့ရှိကြ၏။"
    assert len(split_sentences(myanmar)) == 2
    khmer = "បុគ្គលម្នាក់ៗ មានសិទ្ធិរស់រានមានជីវិត។ មនុស្ស មានវិចារណញ្ញាណនិងសតិសម្បជញ្ញៈ។"
    assert len(split_sentences(khmer)) == 2


def test_the_sentence_terminals_are_unicodes() -> None:
    regex = pytest.importorskip("regex")
    unicode_terminals = {
        chr(code)
        for code in range(sys.maxunicode + 1)
        if regex.match(r"\p{Sentence_Terminal}", chr(code))
    }
    assert unicode_terminals == SENTENCE_TERMINALS
    assert COMMA_LIKE_TERMINALS < SENTENCE_TERMINALS


def test_georgian_sentences_start_with_letters_unicode_calls_lower_case() -> None:
    text = "ეს პირველი წინადადებაა. ეს მეორე წინადადებაა, და ის უფრო გრძელია."
    assert _sentences(text) == [
        "ეს პირველი წინადადებაა.",
        "ეს მეორე წინადადებაა, და ის უფრო გრძელია.",
    ]


def test_two_ethiopic_word_spaces_stand_for_the_full_stop() -> None:
    # Tigrinya as often typed: `፡፡` where `።` would be, kept in its sentence as `።` is; a
    # single word space at a sentence's edge is not.
    assert _sentences("እዚ ቀዳማይ ሓረግ እዩ፡፡ እዚ ካልኣይ ሓረግ እዩ፡፡") == [
        "እዚ ቀዳማይ ሓረግ እዩ፡፡",
        "እዚ ካልኣይ ሓረግ እዩ፡፡",
    ]
    assert _sentences("እዚ ቀዳማይ ሓረግ እዩ።፡እዚ ካልኣይ ሓረግ እዩ።፡") == [
        "እዚ ቀዳማይ ሓረግ እዩ።",
        "እዚ ካልኣይ ሓረግ እዩ።",
    ]


def test_the_brahmic_and_javanese_stops_and_the_commas_unicode_calls_terminals() -> None:
    chakma_danda = "\U00011141"
    assert chakma_danda in SPACELESS_ENDS
    first = "\U00011103\U00011107\U00011134\U00011107\U00011125\U00011101 \U0001111a\U00011128"
    second = "\U0001111a\U0001112c\U0001112d \U0001110e\U00011127\U0001111a\U00011134"
    text = f"{first}{first}{chakma_danda} {second}{second}{chakma_danda}"
    assert len(split_sentences(text)) == 2
    # Javanese: the pada lungsi `꧉` ends a sentence (a zero-width space after it is trimmed),
    # the pada lingsa `꧈` is its comma.
    javanese = "ꦲꦏꦸꦩꦔꦤ꧀ꦱꦼꦒ꧈\u200bꦲꦏꦸꦔꦸꦚ꧀ꦗꦸꦏ꧀ꦮꦺꦴꦤ꧀ꦠꦺꦃ꧉\u200bꦏꦺꦴꦮꦺꦏꦺꦴꦤ꧀ꦠꦸꦏꦸꦤꦺꦴꦒ꧉\u200b"
    assert _sentences(javanese) == [
        "ꦲꦏꦸꦩꦔꦤ꧀ꦱꦼꦒ꧈\u200bꦲꦏꦸꦔꦸꦚ꧀ꦗꦸꦏ꧀ꦮꦺꦴꦤ꧀ꦠꦺꦃ꧉",
        "ꦏꦺꦴꦮꦺꦏꦺꦴꦤ꧀ꦠꦸꦏꦸꦤꦺꦴꦒ꧉",
    ]
    # The Myanmar little section `၊` is a comma too.
    assert len(split_sentences("လူတိုင်း၌ အသက်ရှင်ရန်၊ လွတ်လပ်ခွင့် ရှိသည်။")) == 1


def test_a_tibetan_shad_or_a_tai_tham_space_ends_only_a_piece_long_enough() -> None:
    clause = "ང་ཚོ་ཡོངས་ཀྱིས་དཔེ་ཆ་ཀློག་པ་དང་ཡི་གེ་འབྲི་བ་ལ་དགའ"  # 27 letters
    long_clause = f"{clause}་{clause}"
    assert _sentences(f"{clause}། {clause}།") == [f"{clause}། {clause}།"]
    assert _sentences(f"{long_clause}། {long_clause}།") == [f"{long_clause}།", f"{long_clause}།"]
    tai_tham = "ᨠᩤ᩠ᨾᨾᩯ᩠ᨶᨣᩤ᩠ᨾᨾᩯ᩠ᨶᩈᩯ᩠ᨶᨯᩦᩉᩮ᩠ᨶᨤᩢ᩠ᨶᩉ᩠ᨶᩢᨣᩤ᩠ᨾᨾᩯ᩠ᨶᨣᩤ᩠ᨾᨾᩯ᩠ᨶᩈᩯ᩠ᨶᨯᩦᩉᩮ᩠ᨶᨤᩢ᩠ᨶᩉ᩠ᨶᩢ"
    assert _sentences(f"{tai_tham} {tai_tham}") == [tai_tham, tai_tham]
    assert len(split_sentences(f"{tai_tham[:12]} {tai_tham[:12]}")) == 1


def test_a_heading_joins_the_sentence_after_it_and_one_sentence_is_the_whole_text() -> None:
    assert _sentences("第三条\n人人有权享有生命、自由和人身安全。") == [
        "第三条\n人人有权享有生命、自由和人身安全。"
    ]
    text = "Everyone has the right to life, liberty and security of person."
    assert split_sentences(text) == [(0, len(text))]
    assert split_sentences("   ") == []


ALPHABET = st.sampled_from(
    list("ab Z.!?\n\t,;")
    + list("。！？।॥።፡։။၊។؟۔།༎꧉꧈ა")
    + list("กขค ᨠᨡ")
    + ["\u200b", "«", "»", '"', "\U00011141"]
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=120) | st.text(max_size=80))
def test_offsets_are_always_valid_ordered_and_cover_the_text(text: str) -> None:
    spans = split_sentences(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert not piece[0].isspace() and not piece[-1].isspace()
        previous_end = end
    # Nothing but separators falls outside the spans.
    covered: set[int] = set()
    for start, end in spans:
        covered.update(range(start, end))
    outside = [text[i] for i in range(len(text)) if i not in covered]
    assert all(_separator(c) for c in outside), outside
    assert spans or all(_separator(c) for c in text)


def _separator(character: str) -> bool:
    return character.isspace() or character in "\u1361\u200b"  # Ethiopic word, zero-width
