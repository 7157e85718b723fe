"""Reference figures computed in NumPy (float64) from a model's logits, sharing no code with tlm."""

import numpy as np


def numpy_nats(model, batches, mask_token_id=None):
    """(total negative log-likelihood in nats, number of scored tokens) over `batches` of (x, y)."""
    total, count = 0.0, 0
    for x, y in batches:
        logits = np.asarray(model(x), dtype="float64")
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        y = np.asarray(y)
        picked = np.take_along_axis(log_probabilities, y[..., None], axis=-1)[..., 0]
        scored = np.ones_like(y, bool) if mask_token_id is None else y != mask_token_id
        total -= picked[scored].sum()
        count += int(scored.sum())
    return total, count
