"""The highlight task on one language, with the tests' real model: its passages, its figures
far above chance, and the report's section."""

from __future__ import annotations

from pathlib import Path

from app.lexical.terms import TermSplitter
from indexer.udhr import UdhrDeclaration
from models.evaluation.cache import CachedEncoder
from models.evaluation.encoders import OnnxModelEncoder
from models.evaluation.highlight import PARAGRAPHS_PER_PASSAGE, highlight_report, passages
from models.evaluation.highlight_report import highlight_section
from models.evaluation.udhr_data import aligned_texts


def test_highlights_find_the_paragraph_far_above_chance(
    model_dir: Path, declarations: dict[str, UdhrDeclaration], tmp_path: Path
) -> None:
    texts = aligned_texts([declarations["eng"], declarations["fra"]])
    model = OnnxModelEncoder(model_dir, "int8")
    found = passages(texts["fra"], texts["eng"], model.onnx)
    assert found and all(2 <= len(p.queries) <= PARAGRAPHS_PER_PASSAGE for p in found)
    for passage in found:
        assert [passage.text[a:b] for a, b in passage.paragraphs] == [
            p for p in texts["fra"].paragraphs if p in passage.text
        ][: len(passage.paragraphs)]
    report = highlight_report(
        CachedEncoder(model, tmp_path),
        model.onnx,
        TermSplitter(model.onnx.tokenizer),
        texts,
        ["fra"],
    )
    scores = report["per_language"]["fra"]
    assert 0.2 < scores["chance"] < 0.35
    assert scores["late"] > scores["chance"] + 0.4
    assert scores["separate"] > scores["chance"] + 0.4
    assert scores["pooled"] == scores["late"]  # the tests' model has no highlight projection
    assert report["summary"]["late"]["test"]["seen"] == scores["late"]
    section = "\n".join(highlight_section([{"name": "m", "tasks": {"highlight": report}}]))
    assert "## Highlight accuracy" in section and "| fra |" in section and "| pooled |" in section
    # A report written before the `pooled` row existed still renders, without that row.
    older = report | {"methods": [m for m in report["methods"] if m != "pooled"]}
    section = "\n".join(highlight_section([{"name": "m", "tasks": {"highlight": older}}]))
    assert "| fra |" in section and "| pooled |" not in section
