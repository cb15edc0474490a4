"""The languages XLM-R (the base of multilingual-e5) saw in pre-training: its 100 CC-100
languages (Conneau et al. 2020, table 6) as ISO 639-3 codes.

Macrolanguages are listed with the individual codes the UDHR uses for them (Arabic `arb`,
Persian `pes`/`prs`, Malay `zlm`/`zsm`, Estonian `ekk`, ...). Romanised variants in CC-100
(Hindi, Urdu, Bengali, Tamil, Telugu) add no language; Traditional Chinese shares `cmn`.
"""

from __future__ import annotations

XLMR_LANGUAGES: frozenset[str] = frozenset(
    """
    afr amh ara arb asm aze azj bel ben bre bos cat ces cym dan deu ell eng epo spa est ekk
    eus fas pes prs fin fra fry gle gla glg guj hau heb hin hrv hun hye ind isl ita jpn jav
    kat kaz khm kan kor kur kmr kir lat lao lit lav lvs mlg plt mkd mal mon khk mar msa zlm
    zsm mya nep npi nld nor nob nno orm gaz hae ori ory pan pol pus pbu pbt por ron rus san
    snd sin slk slv som sqi als srp sun swe swa swh tam tel tha tgl tur uig ukr urd uzb uzn
    vie xho yid ydd zho cmn
    """.split()  # noqa: SIM905  (a word list reads better than 120 quoted strings)
)


def seen_in_pretraining(iso639_3: str | None) -> bool:
    return iso639_3 is not None and iso639_3 in XLMR_LANGUAGES
