"""models.distill.merge: the weight-space blend of a trained student with its init."""

from __future__ import annotations

import numpy as np
import pytest

from models.distill.merge import blend_with_init


def _states() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    frozen = rng.standard_normal((5, 3)).astype(np.float32)
    init = {"frozen": frozen, "layer": rng.standard_normal((3, 3)).astype(np.float32)}
    trained = {"frozen": frozen.copy(), "layer": rng.standard_normal((3, 3)).astype(np.float32)}
    return trained, init


def test_moved_tensors_are_blended_and_frozen_ones_kept_bit_for_bit() -> None:
    trained, init = _states()
    blended = blend_with_init(trained, init, 0.6)
    np.testing.assert_allclose(
        blended["layer"], 0.6 * init["layer"] + 0.4 * trained["layer"], rtol=1e-6
    )
    assert blended["layer"].dtype == np.float32
    assert blended["frozen"] is trained["frozen"]
    assert blend_with_init(trained, init, 0.0)["layer"].tobytes() == trained["layer"].tobytes()


def test_states_that_do_not_match_and_weights_out_of_range_are_refused() -> None:
    trained, init = _states()
    with pytest.raises(ValueError, match="differ in tensors"):
        blend_with_init(trained, {"layer": init["layer"]}, 0.5)
    with pytest.raises(ValueError, match="shape"):
        blend_with_init(trained, {**init, "layer": init["layer"][:2]}, 0.5)
    for weight in (-0.1, 1.0):
        with pytest.raises(ValueError, match="init_weight"):
            blend_with_init(trained, init, weight)
