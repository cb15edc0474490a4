"""Weight-space ensembling: a trained student blended with the weights it started from.

Fine-tuning on parallel text moves a student towards the languages and the kind of text the
pairs hold, and away from what its init knew. Averaging the two sets of weights (WiSE-FT:
Wortsman et al., 2022, "Robust fine-tuning of zero-shot models") often keeps most of the gain
and wins back what was lost: both lie in one basin of the loss, so the straight line between
them stays good. A recipe asks for it with `student.init_weight`, chosen on the development
split (docs/distill.md). Torch-free: the state dicts are numpy.
"""

from __future__ import annotations

import numpy as np

from models.bert import StateDict


def blend_with_init(trained: StateDict, init: StateDict, init_weight: float) -> StateDict:
    """`init_weight` x init + (1 - init_weight) x trained, tensor by tensor. A tensor training
    left as it was (a frozen table) is kept bit for bit, so it still matches its source."""
    if not 0.0 <= init_weight < 1.0:
        raise ValueError(f"init_weight {init_weight}: from 0 up to (not) 1")
    if trained.keys() != init.keys():
        raise ValueError(
            f"the state dicts differ in tensors: {sorted(trained.keys() ^ init.keys())}"
        )
    blended: StateDict = {}
    for name, tensor in trained.items():
        start = init[name]
        if tensor.shape != start.shape:
            raise ValueError(f"{name}: shape {tensor.shape} against the init's {start.shape}")
        if np.array_equal(tensor, start):
            blended[name] = tensor
        else:
            mixed = init_weight * start.astype(np.float64) + (1.0 - init_weight) * tensor
            blended[name] = mixed.astype(np.float32)
    return blended
