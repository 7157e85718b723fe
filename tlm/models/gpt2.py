"""keras_hub's GPT-2 as a tlm model kind: pretrained weights on tlm's decoding, scoring, training.

`GPT2LanguageModel` holds a `keras_hub.models.GPT2CausalLM` (no preprocessor: tlm's tokenizer
wrapper, `tlm.data.tokenizers.KerasHubTokenizer`, does that part) and gives it the interface
every tlm tool uses (`tlm.models.registry`): `call(token_ids)` returns the logits of keras_hub's
forward pass, and `call_with_cache` is keras_hub's own cached call, so `tlm.generation.generate`
decodes GPT-2 with the same loop, samplers and stop strings as tlm's own models.

Pretrained weights come from a keras_hub preset (`tlm.pretrained.load_pretrained`); the presets
here (`gpt2-tiny`, `gpt2-base`) are GPT-2 shapes with fresh random weights, for tests and for
timing a GPT-2-sized model without downloading one.

Taught in notebooks/07_pretrained_gpt2.ipynb.
"""

import keras
from keras import ops

from tlm.checks import check_positive_int, check_rate
from tlm.layers.attention import head_dim_for
from tlm.models.registry import count_parameters, register_model_kind
from tlm.models.transformer import TransformerLanguageModel

# keras_hub's GPT-2 sizes (`keras_hub.models.GPT2Backbone`): `gpt2-base` is `gpt2_base_en`'s shape.
GPT2_PRESETS = {
    "gpt2-tiny": {
        "sequence_length": 128,
        "num_layers": 2,
        "num_heads": 2,
        "hidden_dim": 32,
        "intermediate_dim": 64,
        "dropout": 0.0,
    },
    "gpt2-base": {
        "sequence_length": 1024,
        "num_layers": 12,
        "num_heads": 12,
        "hidden_dim": 768,
        "intermediate_dim": 3072,
        "dropout": 0.1,
    },
}


@keras.saving.register_keras_serializable(package="tlm")
@register_model_kind
class GPT2LanguageModel(keras.Model):
    """keras_hub's GPT-2 (`GPT2CausalLM`) behind tlm's language-model interface.

    `model(token_ids)` maps int ids `(batch_size, time)`, `time <= sequence_length`, to float32
    logits `(batch_size, time, vocabulary_size)`: keras_hub's forward pass with every position
    real (no padding). `call_with_cache(token_ids, cache, index)` is
    `GPT2CausalLM.call_with_cache`, whose cache is `(batch_size, num_layers, 2, max_length,
    num_heads, head_dim)` as tlm's Transformer's. `causal_lm` is the keras_hub task itself (for
    its own `generate`, `enable_lora`, `save_to_preset`).

    Build one from a keras_hub preset with `tlm.pretrained.load_pretrained`, or untrained with
    `build_model("gpt2", vocabulary_size, "gpt2-tiny")`. The arguments are
    `keras_hub.models.GPT2Backbone`'s (`sequence_length` is its `max_sequence_length`).

    Args:
        vocabulary_size: number of token ids (50,257 for OpenAI's GPT-2).
        sequence_length: the number of learned positions, the longest input.
        num_layers: Transformer decoder blocks.
        num_heads: attention heads per block.
        hidden_dim: width of the residual stream.
        intermediate_dim: width of each feed-forward network.
        dropout: dropout rate (GPT-2 was trained with 0.1).
        causal_lm: an existing `keras_hub.models.GPT2CausalLM` with these sizes to wrap (its
            weights are used); not part of the config, the saved weights restore it.
        **kwargs: `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = GPT2LanguageModel(vocabulary_size=50, sequence_length=16, num_layers=1,
    ...                           num_heads=2, hidden_dim=8, intermediate_dim=16, dropout=0.0)
    >>> token_ids = np.array([[5, 12, 7]])
    >>> logits = model(token_ids)
    >>> cache = model.init_cache(batch_size=1, max_length=16)
    >>> step_logits, cache = model.call_with_cache(token_ids, cache, 0)
    >>> tuple(logits.shape), bool(np.allclose(step_logits, logits, atol=1e-5))
    ((1, 3, 50), True)
    """

    kind = "gpt2"
    label = "GPT-2"
    presets = GPT2_PRESETS
    context_argument = "sequence_length"
    trains_faster_with_xla = True  # a Transformer: XLA fuses its many small ops

    def __init__(  # noqa: PLR0913
        self,
        vocabulary_size,
        sequence_length,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        causal_lm=None,
        **kwargs,
    ):
        import keras_hub

        for name, value in [
            ("vocabulary_size", vocabulary_size),
            ("sequence_length", sequence_length),
            ("num_layers", num_layers),
            ("intermediate_dim", intermediate_dim),
        ]:
            check_positive_int(name, value)
        head_dim_for(hidden_dim, num_heads)  # both positive, and the heads divide the width
        check_rate("dropout", dropout)
        super().__init__(**kwargs)
        if causal_lm is None:
            backbone = keras_hub.models.GPT2Backbone(
                vocabulary_size=vocabulary_size,
                num_layers=num_layers,
                num_heads=num_heads,
                hidden_dim=hidden_dim,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                max_sequence_length=sequence_length,
                dtype=self.dtype_policy,
                name="backbone",
            )
            causal_lm = keras_hub.models.GPT2CausalLM(backbone, preprocessor=None, name="causal_lm")
        self.causal_lm = causal_lm
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.built = True  # keras_hub's functional backbone is built when constructed

    @classmethod
    def from_causal_lm(cls, causal_lm, **kwargs):
        """Wrap a `keras_hub.models.GPT2CausalLM` (or its `GPT2Backbone`), weights and all."""
        import keras_hub

        if isinstance(causal_lm, keras_hub.models.GPT2Backbone):
            causal_lm = keras_hub.models.GPT2CausalLM(causal_lm, preprocessor=None)
        if not isinstance(causal_lm, keras_hub.models.GPT2CausalLM):
            raise ValueError(
                "`causal_lm` must be a keras_hub GPT2CausalLM or GPT2Backbone. "
                f"Received: causal_lm of type {type(causal_lm).__name__}"
            )
        backbone = causal_lm.backbone
        # The wrapper computes in the backbone's dtype (its cache is made in `compute_dtype`).
        kwargs.setdefault("dtype", backbone.dtype_policy)
        return cls(
            vocabulary_size=backbone.vocabulary_size,
            sequence_length=backbone.max_sequence_length,
            num_layers=backbone.num_layers,
            num_heads=backbone.num_heads,
            hidden_dim=backbone.hidden_dim,
            intermediate_dim=backbone.intermediate_dim,
            dropout=backbone.dropout,
            causal_lm=causal_lm,
            **kwargs,
        )

    @property
    def backbone(self):
        """The `keras_hub.models.GPT2Backbone`."""
        return self.causal_lm.backbone

    @property
    def context_length(self):
        """The most positions GPT-2 attends over: its learned positions (1,024 for OpenAI's)."""
        return self.sequence_length

    def build(self, input_shape=None):
        pass  # built in `__init__`: keras_hub's functional backbone is built when constructed

    # keras_hub's GPT-2 is a pre-norm Transformer with learned positions: the length rule and
    # the cache layout `(batch_size, num_layers, 2, max_length, num_heads, head_dim)` (that of
    # keras_hub's `GPT2CausalLM._build_cache`, here without its forward pass) are tlm's
    # Transformer's.
    _check_length = TransformerLanguageModel._check_length  # noqa: SLF001 - the same rule
    init_cache = TransformerLanguageModel.init_cache

    def call(self, token_ids, training=None):
        self._check_length(token_ids)
        token_ids = ops.cast(token_ids, "int32")
        inputs = {"token_ids": token_ids, "padding_mask": ops.ones_like(token_ids)}
        return ops.cast(self.causal_lm(inputs, training=training), "float32")

    def call_with_cache(self, token_ids, cache, index):
        """keras_hub's `GPT2CausalLM.call_with_cache`: float32 logits `(batch_size, n,
        vocabulary_size)` for `token_ids` `(batch_size, n)` at positions `index..index+n-1`, and
        the updated cache."""
        self._check_length(token_ids, index)
        logits, _, cache = self.causal_lm.call_with_cache(token_ids, cache, index)
        return ops.cast(logits, "float32"), cache

    def enable_lora(self, rank):
        """Freeze every weight and train rank-`rank` LoRA factors of the attention's query and
        value projections (keras_hub's `Backbone.enable_lora`)."""
        check_positive_int("rank", rank)
        self.backbone.enable_lora(rank)

    def flops_per_token(self, training=True):
        """As tlm's Transformer: `2 * N + 4 * num_layers * sequence_length * hidden_dim` forward
        (N without the position table, a lookup), 3x for training."""
        matmul_parameters = count_parameters(self) - self.sequence_length * self.hidden_dim
        attention = 4 * self.num_layers * self.sequence_length * self.hidden_dim
        forward = 2 * matmul_parameters + attention
        return 3 * forward if training else forward

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size,
            sequence_length=self.sequence_length,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            hidden_dim=self.hidden_dim,
            intermediate_dim=self.intermediate_dim,
            dropout=self.dropout,
        )
        return config
