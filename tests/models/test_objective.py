"""`hybrid_batch_loss`, the default recipe's contrastive objective: a case worked out by hand,
its masking of pairs that share their English text, and its symmetries; and `token_loss`, the
token-level term, by hand too."""

from __future__ import annotations

import math

import pytest
import torch

from models.distill.objective import hybrid_batch_loss, token_loss

E = math.e


def _no_mask(size: int) -> torch.Tensor:
    return torch.zeros(size, size, dtype=torch.bool)


def test_a_two_pair_batch_worked_out_by_hand() -> None:
    en = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    xx = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    # Foreign queries (candidates: the English texts, then the other foreign texts):
    #   row 0 logits [1, 0 | -inf, 1], positive 1:  log(2e + 1) - 1
    #   row 1 logits [1, 0 | 1, -inf], positive 0:  log(2e + 1)
    # English queries (candidates: the foreign texts, then the other English texts):
    #   row 0 logits [1, 1 | -inf, 0], positive 1:  log(2e + 1) - 1
    #   row 1 logits [0, 0 | 0, -inf], positive 0:  log(3)
    foreign = (math.log(2 * E + 1) - 1 + math.log(2 * E + 1)) / 2
    english = (math.log(2 * E + 1) - 1 + math.log(3)) / 2
    loss = hybrid_batch_loss(en, xx, _no_mask(2), temperature=1.0)
    assert loss.item() == pytest.approx((foreign + english) / 2, rel=1e-6)


def test_the_temperature_divides_every_logit() -> None:
    en = torch.eye(2)
    # Each row: positive 1/t, one cross negative 0, one same-side negative 0, itself masked.
    for temperature in (1.0, 0.5, 0.05):
        expected = math.log(math.exp(1 / temperature) + 2) - 1 / temperature
        loss = hybrid_batch_loss(en, en.clone(), _no_mask(2), temperature)
        assert loss.item() == pytest.approx(expected, rel=1e-6, abs=1e-7)


def _random_batch(size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    en = torch.nn.functional.normalize(torch.randn(size, 16, generator=generator), dim=1)
    xx = torch.nn.functional.normalize(torch.randn(size, 16, generator=generator), dim=1)
    return en, xx


def test_pairs_sharing_their_english_text_are_not_negatives() -> None:
    en, xx = _random_batch(4, seed=1)
    everything_shared = torch.ones(4, 4, dtype=torch.bool)
    # With every other pair masked, only the positive is left in each row: nothing to lose.
    assert hybrid_batch_loss(en, xx, everything_shared, 0.05).item() == pytest.approx(0.0)
    # The diagonal (a pair and itself) is never a negative to mask: same loss as no mask.
    assert hybrid_batch_loss(en, xx, torch.eye(4, dtype=torch.bool), 0.05).item() == (
        pytest.approx(hybrid_batch_loss(en, xx, _no_mask(4), 0.05).item())
    )


def test_a_twin_pair_costs_nothing_masked_and_is_a_hard_negative_unmasked() -> None:
    """Two pairs with the same English text and the same translation (a CLDR name shared by
    two languages): masked, each row has only its positive left; unmasked, the twin scores
    exactly as the positive does, so no row gives its positive more than half the mass."""
    en, xx = _random_batch(1, seed=2)
    en, xx = en.repeat(2, 1), xx.repeat(2, 1)
    shared = torch.ones(2, 2, dtype=torch.bool)
    assert hybrid_batch_loss(en, xx, shared, 0.05).item() == pytest.approx(0.0)
    assert hybrid_batch_loss(en, xx, _no_mask(2), 0.05).item() >= math.log(2) - 1e-6


def test_the_loss_is_symmetric_in_the_languages_and_the_batch_order() -> None:
    en, xx = _random_batch(5, seed=3)
    mask = _no_mask(5)
    mask[1, 3] = mask[3, 1] = True
    loss = hybrid_batch_loss(en, xx, mask, 0.05)
    assert hybrid_batch_loss(xx, en, mask, 0.05).item() == pytest.approx(loss.item(), rel=1e-5)
    order = torch.tensor([4, 2, 0, 3, 1])
    permuted = hybrid_batch_loss(en[order], xx[order], mask[order][:, order], 0.05)
    assert permuted.item() == pytest.approx(loss.item(), rel=1e-5)
    # A perfect student (each translation on its English text, far from the rest) loses less.
    assert hybrid_batch_loss(en, en.clone(), mask, 0.05).item() < loss.item()


def test_token_loss_is_the_mean_cosine_distance_over_real_tokens() -> None:
    """By hand: text 0 has two real tokens (same direction: 0; opposite: 2) and one pad whose
    states disagree but must not count; text 1 has one real token at right angles (1)."""
    student = torch.tensor(
        [[[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]], [[3.0, 0.0], [1.0, 1.0], [1.0, 1.0]]]
    )
    teacher = torch.tensor(
        [[[2.0, 0.0], [0.0, -1.0], [-5.0, 5.0]], [[0.0, 4.0], [1.0, 1.0], [1.0, 1.0]]]
    )
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert token_loss(student, teacher, mask).item() == pytest.approx((0 + 2 + 1) / 3)
    assert token_loss(teacher, teacher * 3.0, mask).item() == pytest.approx(0.0, abs=1e-6)
