"""Where and in which precision a model trains: `tf.distribute` strategies, mixed precision.

A Keras model's variables belong to the strategy scope they were created in, and its layers
take their dtype policy when they are constructed. `place_model` therefore rebuilds the model
from its config inside `strategy.scope()` and under the requested policy, and copies the
weights over, so a model built anywhere can be trained anywhere.

- `tf.distribute.MirroredStrategy()`: every GPU (or listed CPU device) of one machine; each
  global batch is split across the replicas and the gradients are summed.
- `tf.distribute.MultiWorkerMirroredStrategy()`: the same over several machines, which find each
  other through the `TF_CONFIG` environment variable; every worker runs the same `train` call.
- `tf.distribute.TPUStrategy(resolver)`: after
  `tf.config.experimental_connect_to_cluster(resolver)` and
  `tf.tpu.experimental.initialize_tpu_system(resolver)`.

Mixed precision computes in bfloat16 or float16 and keeps float32 variables; with
`mixed_float16`, `Model.compile` wraps the optimizer in `keras.optimizers.LossScaleOptimizer`.
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf

MIXED_PRECISION_POLICIES = ("mixed_bfloat16", "mixed_float16")
# Strategies `make_strategy` builds by name (None is the default: one device).
STRATEGIES = ("mirrored",)


def make_strategy(strategy):
    """The `tf.distribute.Strategy` for `strategy`: None, "mirrored", or a strategy as it is.

    Example:

    >>> make_strategy(None) is None
    True
    """
    if strategy is None or isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise ValueError(
        "`strategy` must be None, 'mirrored' or a tf.distribute.Strategy. "
        f"Received: strategy={strategy!r}"
    )


def place_model(model, policy=None, strategy=None, sequence_length=8):
    """Build `model`; return it, or a copy under dtype `policy` inside `strategy.scope()`.

    The copy has the same config and weights. The global dtype policy is restored afterwards.

    Args:
        model: a Keras model taking int token ids `(batch, sequence_length)`.
        policy: None or one of `MIXED_PRECISION_POLICIES`.
        strategy: None or a `tf.distribute.Strategy`.
        sequence_length: length of the dummy batch that builds the model.

    Example:

    >>> model = keras.Sequential([keras.layers.Embedding(5, 4), keras.layers.Dense(5)])
    >>> place_model(model, "mixed_bfloat16").dtype_policy.name
    'mixed_bfloat16'
    """
    # A stateful model takes batches of exactly its batch size; its build call moves the state.
    stateful = bool(getattr(model, "stateful", False))
    dummy = np.ones((model.batch_size if stateful else 1, sequence_length), "int32")
    wrong_policy = policy and model.dtype_policy.name != policy
    wrong_scope = strategy and model.distribute_strategy is not strategy
    if not model.built:
        # Build here, so that a copy starts from the very weights this model would have had.
        model(dummy)
        if stateful:
            model.reset_states()
    if not (wrong_policy or wrong_scope):
        return model
    weights = model.get_weights()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy or previous)
    try:
        with strategy.scope() if strategy else contextlib.nullcontext():
            copy = type(model).from_config(_without_dtype_policies(model.get_config()))
            copy(dummy)
            copy.set_weights(weights)  # the carried state of a stateful model too
    finally:
        keras.config.set_dtype_policy(previous)
    return copy


def _without_dtype_policies(config):
    # Saved layer configs pin their float policy; drop it so the global policy applies.
    if isinstance(config, dict):
        return {
            key: _without_dtype_policies(value)
            for key, value in config.items()
            if not (key == "dtype" and (isinstance(value, dict) or value in ("float32", None)))
        }
    if isinstance(config, list):
        return [_without_dtype_policies(item) for item in config]
    return config


def resolve_jit_compile(model, jit_compile="auto", strategy=None):
    """XLA for the train step where it is faster: the `jit_compile` that `train` compiles with.

    Keras's own "auto" leaves XLA off on a CPU. Measured on a 2-core CPU
    (`benchmarks/train_throughput.py` and the `tlm compare` presets), XLA trains the
    `nanogpt-cpu` Transformer faster (it fuses the many small ops of a small model) and the
    `tiny` one as fast, but slows the LSTM, whose recurrence it cannot fuse.
    So "auto" asks the model: XLA where its class says `trains_faster_with_xla` (the
    Transformer), Keras's choice for anything else, and under a `tf.distribute` strategy.

    Args:
        model: the model about to be compiled.
        jit_compile: "auto", True or False; True and False are returned as they are.
        strategy: the `tf.distribute.Strategy` training runs under, or None.

    Example:

    >>> resolve_jit_compile(tlm.models.build_model("transformer", 65))
    True
    >>> resolve_jit_compile(tlm.models.build_model("lstm", 65))
    'auto'
    """
    if jit_compile != "auto" or strategy is not None:
        return jit_compile
    return True if getattr(model, "trains_faster_with_xla", False) else "auto"
