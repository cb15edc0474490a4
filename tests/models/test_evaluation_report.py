"""The report's prefix-protocol section: the served protocol is checked against the figures."""

from __future__ import annotations

from typing import Any

from models.evaluation.report import _protocol_section


def _encoder(udhr: tuple[float, float], pool_map: tuple[float, float]) -> dict[str, Any]:
    """Served (asymmetric) and symmetric figures, in that order."""

    def bitext(mean: float) -> dict[str, Any]:
        return {"macro": {g: {"mean": mean} for g in ("all", "seen", "unseen")}}

    def pool(value: float, own: float) -> dict[str, Any]:
        return {"map": value, "own_language_share_top10": own, "english_share_top10": 0.1}

    return {
        "name": "model (fp32)",
        "tasks": {
            "udhr-bitext": {"asymmetric": bitext(udhr[0]), "symmetric": bitext(udhr[1])},
            "multilingual-pool": {
                "asymmetric": pool(pool_map[0], 0.2),
                "symmetric": pool(pool_map[1], 0.4),
            },
        },
    }


def test_figures_that_favour_the_served_protocol_support_it() -> None:
    section = "\n".join(_protocol_section([_encoder((0.41, 0.40), (0.30, 0.27))]))
    assert "The measurement supports the served protocol" in section
    assert "| multilingual pool mAP | 30.0 | 27.0 | -3.0 |" in section


def test_a_deciding_figure_that_favours_symmetric_prefixes_is_flagged() -> None:
    section = "\n".join(_protocol_section([_encoder((0.41, 0.40), (0.27, 0.30))]))
    assert "does not support the served protocol** on multilingual pool mAP" in section
    assert "Symmetric prefixes do better on: multilingual pool mAP" in section


def test_no_section_without_a_symmetric_row() -> None:
    encoder = _encoder((0.4, 0.4), (0.3, 0.3))
    del encoder["tasks"]["udhr-bitext"]["symmetric"]
    assert _protocol_section([encoder]) == []
