"""Model kinds: the interface a language model implements, and the registry that makes it usable.

A model kind is a `keras.Model` subclass that every part of tlm (`build_model`,
`tlm.training.train`, `tlm.evaluation.evaluate`, `tlm.generation.generate`, run directories,
`tlm.compare.compare_baselines` and `tlm compare --models`) uses through this interface alone:

Class attributes:

- `kind`: the name (`"transformer"`), used by `build_model`, config.json and the CLI.
- `label`: the display name in tables and plots (`"Transformer"`).
- `presets`: `{preset name: config}`; each config is a dataclass (or dict) of constructor
  arguments. Presets of the same name are meant to be matched across kinds (about the same
  parameter count), which is what `tlm compare --preset` relies on.
- `context_argument`: the constructor argument that fixes the longest input
  (`"sequence_length"` for the Transformer's learned positions), or `None` when the model takes
  any length (the LSTM). Training and comparisons set it to the data's sequence length.
- `trains_faster_with_xla`: whether `train` should compile the train step with XLA by default
  (`jit_compile="auto"`). XLA fuses a Transformer's many small ops; an LSTM's recurrence it
  cannot fuse and runs slower.

Methods:

- `call(token_ids)`: int ids `(batch_size, time)` -> float32 logits
  `(batch_size, time, vocabulary_size)`, causal: position t sees tokens 0..t only.
- `context_length` (property): the most positions the model can condition on, or `None`.
- `init_cache(batch_size, max_length=None)`: the decoding state for `batch_size` sequences.
- `call_with_cache(token_ids, cache, index)`: logits for `token_ids` `(batch_size, n)` at
  positions `index..index+n-1` from `cache`, and the updated cache; equal to the full pass.
- `flops_per_token(training=True)`: training (forward and backward) or forward FLOPs per token.
- `get_config()`: the constructor arguments, with `vocabulary_size` (also an attribute, which
  generation checks the tokenizer against); the class must be registered with
  `keras.saving.register_keras_serializable` so run directories reload it.

tests/test_model_kinds.py defines a GRU language model in about 60 lines this way and runs it
through `train`, `load_run`, `evaluate`, `generate`, `compare_baselines` and `tlm compare`.

Register a kind once, with `register_model_kind(ModelClass)` (or as a class decorator):

    @keras.saving.register_keras_serializable(package="my_models")
    @tlm.models.register_model_kind
    class GRULanguageModel(keras.Model):
        kind, label = "gru", "GRU"
        presets = {"tiny": {"embedding_dim": 64, "hidden_dim": 96}}
        context_argument = None
        trains_faster_with_xla = False
        ...

    tlm.compare.compare_baselines(models=("transformer", "gru"), quick=True)

`tlm compare --models transformer gru` sees the kinds registered in its process: from the shell,
register the kind in a small script that calls `tlm.cli.main([...])`.
"""

import dataclasses
import inspect
import types

import keras

from tlm.checks import check_choice, check_known_names

# The data's context length when neither the caller nor the model's preset fixes one.
DEFAULT_SEQUENCE_LENGTH = 64
# Keras arguments every model accepts on top of its own (present in `get_config()`).
KERAS_ARGUMENTS = ("name", "trainable", "dtype")
# What `register_model_kind` checks a class for.
REQUIRED_ATTRIBUTES = ("kind", "label", "presets", "context_argument", "trains_faster_with_xla")
# (`vocabulary_size` is an instance attribute, set in `__init__`: it cannot be checked here.)
REQUIRED_METHODS = ("call", "init_cache", "call_with_cache", "flops_per_token", "get_config")

_KINDS = {}
# The registered kinds, `{kind: model class}` in registration order (read-only).
MODEL_KINDS = types.MappingProxyType(_KINDS)


def register_model_kind(model_class, *, replace=False):
    """Make `model_class` a model kind that every tlm tool accepts; returns the class.

    Checks the interface described in this module's docstring and raises a `ValueError`
    naming what is missing. Registering another class under a name already taken is an
    error unless `replace=True`.

    Example:

    >>> register_model_kind(int)
    Traceback (most recent call last):
    ...
    ValueError: `model_class` must be a keras.Model subclass. Received: model_class=<class 'int'>
    """
    if not (inspect.isclass(model_class) and issubclass(model_class, keras.Model)):
        raise ValueError(
            f"`model_class` must be a keras.Model subclass. Received: model_class={model_class!r}"
        )
    missing = [name for name in REQUIRED_ATTRIBUTES if not hasattr(model_class, name)]
    missing += [name for name in REQUIRED_METHODS if not callable(getattr(model_class, name, None))]
    if not isinstance(getattr(model_class, "context_length", None), property):
        missing.append("context_length (a property)")
    if missing:
        raise ValueError(
            f"A model kind must define {', '.join(missing)} (see tlm.models.registry). "
            f"Received: model_class={model_class.__name__}"
        )
    kind = model_class.kind
    if not isinstance(kind, str) or not kind:
        raise ValueError(
            f"`kind` must be a non-empty string. Received: kind={kind!r} on {model_class.__name__}"
        )
    if not model_class.presets:
        raise ValueError(
            f"`presets` must name at least one preset. Received: presets={model_class.presets!r}"
            f" on {model_class.__name__}"
        )
    if _KINDS.get(kind, model_class) is not model_class and not replace:
        raise ValueError(
            f"The model kind {kind!r} is already registered to {_KINDS[kind].__name__}; pass "
            f"replace=True to replace it. Received: model_class={model_class.__name__}"
        )
    _KINDS[kind] = model_class
    return model_class


def unregister_model_kind(kind):
    """Forget the model kind `kind` (for tests and notebooks that register a kind for a while)."""
    check_choice("kind", kind, tuple(_KINDS))
    del _KINDS[kind]


def model_class(kind):
    """The model class registered as `kind`.

    Example:

    >>> model_class("lstm").__name__
    'LSTMLanguageModel'
    """
    check_choice("kind", kind, tuple(_KINDS))
    return _KINDS[kind]


def kind_of(model):
    """The registered kind name of `model` (an instance or a class), else its class name.

    Example:

    >>> kind_of(build_model("lstm", 65))
    'lstm'
    """
    cls = model if inspect.isclass(model) else type(model)
    kind = getattr(cls, "kind", None)
    return kind if _KINDS.get(kind) is cls else cls.__name__


def label_of(kind):
    """The display name of a model kind (`"LSTM"` for `"lstm"`); unknown kinds show as given."""
    return _KINDS[kind].label if kind in _KINDS else kind


def preset_names(kind=None):
    """The preset names of `kind`, or of every registered kind, in order.

    Example:

    >>> preset_names("transformer")
    ('tiny', 'nanogpt-cpu', 'nanogpt-gpu')
    """
    kinds = [model_class(kind)] if kind is not None else list(_KINDS.values())
    return tuple(dict.fromkeys(name for cls in kinds for name in cls.presets))


def preset_config(kind, preset):
    """The constructor arguments of `kind`'s preset `preset`, as a dict."""
    cls = model_class(kind)
    check_choice("preset", preset, tuple(cls.presets))
    config = cls.presets[preset]
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)


def matched_presets(preset):
    """`{kind: config}` of every registered kind that has a preset called `preset`.

    Example:

    >>> sorted(matched_presets("tiny"))
    ['lstm', 'transformer']
    """
    check_choice("preset", preset, preset_names())
    return {kind: cls.presets[preset] for kind, cls in _KINDS.items() if preset in cls.presets}


def default_sequence_length(kind, preset):
    """The data's context length for `kind`'s `preset`: the preset's own context, when the
    model has a fixed one (`context_argument`), else `DEFAULT_SEQUENCE_LENGTH`.

    Example:

    >>> default_sequence_length("transformer", "nanogpt-gpu")
    256
    >>> default_sequence_length("lstm", "nanogpt-gpu")
    64
    """
    argument = model_class(kind).context_argument
    config = preset_config(kind, preset)
    return int(config[argument]) if argument in config else DEFAULT_SEQUENCE_LENGTH


def build_model(kind, vocabulary_size, preset="tiny", *, sequence_length=None, **overrides):
    """Build a language model of `kind` from a preset, with any hyperparameter overridden.

    Args:
        kind: a registered kind, `"transformer"` or `"lstm"` built in (see `MODEL_KINDS`).
        vocabulary_size: the tokenizer's vocabulary size.
        preset: `"tiny"`, `"nanogpt-cpu"` or `"nanogpt-gpu"` for the built-in kinds (see
            `preset_names(kind)`).
        sequence_length: the data's context length, or None. It sets the model's
            `context_argument` (the Transformer's `sequence_length`) and is ignored by a model
            that takes any length (the LSTM), so one call builds either kind for the same data.
        **overrides: any constructor argument of the model (`num_layers=3`, `dropout=0.1`,
            `name=...`); `build_model(kind, **model.get_config())` rebuilds a model.

    Returns:
        An unbuilt model of the kind's class; it builds on first call.

    Example:

    >>> model = build_model("transformer", vocabulary_size=65, preset="nanogpt-cpu")
    >>> model.num_layers, model.hidden_dim, model.context_length
    (4, 128, 64)
    >>> count_parameters(model)
    809856
    >>> count_parameters(build_model("lstm", vocabulary_size=65, preset="nanogpt-cpu"))
    789993
    >>> build_model("lstm", 65, sequence_length=32).context_length is None
    True
    """
    cls = model_class(kind)
    arguments = preset_config(kind, preset)
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    allowed |= set(KERAS_ARGUMENTS)
    check_known_names(f"argument(s) for a {kind} model", overrides, allowed - {"vocabulary_size"})
    if sequence_length is not None and cls.context_argument:
        arguments[cls.context_argument] = sequence_length
    arguments.update(overrides)
    return cls(vocabulary_size=vocabulary_size, **arguments)


def count_parameters(model):
    """Number of weights in `model` (trainable or not; a tied matrix counts once). Builds it."""
    if not model.built:
        model.build((None, None))
    return int(model.count_params())


def flops_per_token(model, training=True):
    """Floating-point operations per token, the usual estimate (Kaplan et al. 2020; nanoGPT).

    A multiply-add is 2 FLOPs, so the forward pass costs `2 * N` per token, where `N` is the
    number of parameters in matrix products (embedding lookups cost nothing; a tied embedding
    counts once, as the output projection; biases and norms are included, they are tiny). The
    backward pass costs twice the forward, so training costs `6 * N`. A Transformer adds the
    attention products `QKᵀ` and `weights @ V`: `2 * 2 * sequence_length * hidden_dim` per layer
    forward, counted over the full context as nanoGPT and PaLM do (not halved for the causal
    mask). So:

    - Transformer, training: `6 * N + 12 * num_layers * sequence_length * hidden_dim`
    - Transformer, forward only: `2 * N + 4 * num_layers * sequence_length * hidden_dim`
    - LSTM: `6 * N` training and `2 * N` forward (the gates' elementwise work is ignored).

    Each kind counts its own (`model.flops_per_token`); this function asks the model.

    Args:
        model: a model of a registered kind.
        training: count forward and backward (`True`) or the forward pass only.

    Example:

    >>> model = build_model("transformer", vocabulary_size=65, preset="nanogpt-cpu")
    >>> flops_per_token(model), flops_per_token(model, training=False)
    (5203200, 1734400)
    """
    return int(model.flops_per_token(training=training))
