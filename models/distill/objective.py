"""The distillation loss: Reimers & Gurevych MSE plus the optional hybrid-batch term."""

from __future__ import annotations

import torch
from torch.nn import functional


def mse_loss(
    student_en: torch.Tensor, student_xx: torch.Tensor, teacher: torch.Tensor
) -> torch.Tensor:
    """S(en) ≈ T(en) and S(xx) ≈ T(en), on unit vectors (what the runtime serves)."""
    return functional.mse_loss(student_en, teacher) + functional.mse_loss(student_xx, teacher)


def token_loss(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Token-level distillation: the mean cosine distance between the student's and the
    teacher's last hidden states, over the real (unpadded) tokens of a batch. Cosine rather
    than MSE: the two models' states need not share a scale, only directions, which is what
    mean pooling and normalisation serve."""
    weights = mask.to(torch.float32)
    cosine = functional.cosine_similarity(student.float(), teacher.float(), dim=-1)
    return ((1.0 - cosine) * weights).sum() / weights.sum().clamp(min=1.0)


def hybrid_batch_loss(
    student_en: torch.Tensor,
    student_xx: torch.Tensor,
    same_english: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """In-batch InfoNCE whose candidates mix languages (after arXiv 2408.10536): each text's
    positive is its translation, and the negatives are the other pairs' texts in English *and*
    in other languages, so ranking by language instead of meaning is penalised.

    `same_english[i, j]` marks pairs sharing their English text (a CLDR name in many
    languages): those are not negatives and are masked out.
    """
    size = student_en.shape[0]
    eye = torch.eye(size, dtype=torch.bool, device=student_en.device)
    not_negative = same_english & ~eye
    losses = []
    for queries, translations, same_side in (
        (student_xx, student_en, student_xx),
        (student_en, student_xx, student_en),
    ):
        cross = queries @ translations.T / temperature  # the diagonal holds the positives
        mono = (queries @ same_side.T / temperature).masked_fill(eye, float("-inf"))
        cross = cross.masked_fill(not_negative, float("-inf"))
        mono = mono.masked_fill(not_negative, float("-inf"))
        logits = torch.cat([cross, mono], dim=1)
        losses.append(functional.cross_entropy(logits, torch.arange(size, device=logits.device)))
    return (losses[0] + losses[1]) / 2
