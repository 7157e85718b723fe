"""Language models: a decoder-only Transformer, an LSTM baseline, keras_hub's GPT-2, the registry.

Both map int token ids `(batch_size, time)` to float32 logits `(batch_size, time,
vocabulary_size)` and share one interface (`context_length`, `init_cache`, `call_with_cache`,
`flops_per_token`, and the class attributes `kind`, `label`, `presets`, `context_argument`,
`trains_faster_with_xla`), so one training recipe, one generation loop and one comparison serve
both. `register_model_kind` adds a kind of your own; `tlm.models.registry` documents the
interface, with an example.
"""

# The kinds are listed in registration order: the Transformer, the LSTM, then keras_hub's GPT-2.
from tlm.models.transformer import TransformerLanguageModel  # isort: skip
from tlm.models.lstm import LSTMLanguageModel  # isort: skip
from tlm.models.gpt2 import GPT2_PRESETS, GPT2LanguageModel  # isort: skip
from tlm.models.config import LSTM_PRESETS, TRANSFORMER_PRESETS, LSTMConfig, TransformerConfig
from tlm.models.registry import (
    MODEL_KINDS,
    build_model,
    count_parameters,
    default_sequence_length,
    flops_per_token,
    kind_of,
    label_of,
    matched_presets,
    model_class,
    preset_config,
    preset_names,
    register_model_kind,
    unregister_model_kind,
)

__all__ = [
    "GPT2_PRESETS",
    "LSTM_PRESETS",
    "MODEL_KINDS",
    "TRANSFORMER_PRESETS",
    "LSTMConfig",
    "GPT2LanguageModel",
    "LSTMLanguageModel",
    "TransformerConfig",
    "TransformerLanguageModel",
    "build_model",
    "count_parameters",
    "default_sequence_length",
    "flops_per_token",
    "kind_of",
    "label_of",
    "matched_presets",
    "model_class",
    "preset_config",
    "preset_names",
    "register_model_kind",
    "unregister_model_kind",
]
