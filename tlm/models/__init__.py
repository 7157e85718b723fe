"""Language models: a decoder-only Transformer and an LSTM baseline, with presets.

Both map int token ids `(batch_size, time)` to float32 logits `(batch_size, time,
vocabulary_size)` and share one incremental-decoding interface (`context_length`, `init_cache`,
`call_with_cache`), so one generation loop serves both.
"""

from tlm.models.config import (
    MODEL_KINDS,
    PRESETS,
    LSTMConfig,
    TransformerConfig,
    build_model,
    count_parameters,
    flops_per_token,
)
from tlm.models.lstm import LSTMLanguageModel
from tlm.models.transformer import TransformerLanguageModel

__all__ = [
    "MODEL_KINDS",
    "PRESETS",
    "LSTMConfig",
    "LSTMLanguageModel",
    "TransformerConfig",
    "TransformerLanguageModel",
    "build_model",
    "count_parameters",
    "flops_per_token",
]
