"""Pretrained GPT-2 from a keras_hub preset, as a run every tlm tool accepts.

`load_pretrained(preset)` reads a keras_hub causal-LM preset of the GPT-2 family (a name such
as `"gpt2_base_en"`, a handle `"kaggle://keras/gpt2/keras/gpt2_base_en"` or `"hf://..."`, or a
local preset folder) and returns a `tlm.training.Run`: a `tlm.models.GPT2LanguageModel` and its
byte-level BPE tokenizer as a `tlm.data.tokenizers.KerasHubTokenizer`. From there
`tlm.generation.generate`, `tlm.evaluation.evaluate`, `tlm.training.train` (fine-tuning, LoRA
optional) and the `TextGenerationCallback` work on GPT-2 as on tlm's own models;
`load_run_or_preset`, and so the `tlm generate` and `tlm evaluate` commands, take a preset
wherever they take a run directory, and `tlm train --pretrained PRESET` fine-tunes one.

Names and handles download once, into keras_hub's cache (Kaggle needs an account's token for
some models); on a machine without network, copy a preset folder there and pass its path.
`save_tiny_gpt2_preset` writes a small local preset with random weights and a byte-level BPE
learned from a text: what the tests and the lesson's quick mode use, offline.

Taught in notebooks/07_pretrained_gpt2.ipynb.
"""

import collections
import os
import re
import shutil
import tempfile

from tlm.data.tokenizers.pretrained import KerasHubTokenizer

__all__ = [
    "EVALUATION_BATCH_SIZE",
    "FINE_TUNE_SEQUENCE_LENGTH",
    "bytes_to_unicode",
    "is_preset",
    "learn_byte_level_bpe",
    "load_pretrained",
    "load_run_or_preset",
    "save_tiny_gpt2_preset",
]

# keras_hub's preset folder files (`keras_hub.src.utils.preset_utils`).
PRESET_CONFIG_FILE = "config.json"
PRESET_METADATA_FILE = "metadata.json"
# The handle schemes keras_hub resolves.
PRESET_SCHEMES = ("kaggle://", "hf://", "modelscope://", "file://", "gs://")
# The sequence length `tlm train --pretrained` fine-tunes on when none is given: a CPU-sized
# window (GPT-2's own context, 1,024 tokens, is for a GPU).
FINE_TUNE_SEQUENCE_LENGTH = 128
# Sequences per batch when a preset is scored: GPT-2's logits for 4 windows of 1,024 tokens
# already take 0.8 GB in float32.
EVALUATION_BATCH_SIZE = 4


def is_preset(source):
    """Whether `source` names a keras_hub preset rather than a tlm run directory.

    A preset is a folder with keras_hub's `metadata.json` and a `config.json` that is not a tlm
    run's, a handle (`kaggle://`, `hf://`, ...) or a built-in preset name of keras_hub's GPT-2.

    >>> is_preset("hf://openai-community/gpt2"), is_preset("gpt2_base_en"), is_preset("runs/x")
    (True, True, False)
    """
    if not isinstance(source, (str, os.PathLike)):
        return False
    source = os.fspath(source)
    if os.path.isdir(source):
        from tlm.training.runs import read_config

        has_metadata = os.path.isfile(os.path.join(source, PRESET_METADATA_FILE))
        return has_metadata and read_config(source) is None
    if source.startswith(PRESET_SCHEMES):
        return True
    import keras_hub

    return source in keras_hub.models.GPT2CausalLM.presets


def load_run_or_preset(source):
    """`load_pretrained(source)` for a keras_hub preset (see `is_preset`), else
    `tlm.training.load_run(source)`: what `tlm generate` and `tlm evaluate` load."""
    from tlm.training.runs import load_run

    return load_pretrained(source) if is_preset(source) else load_run(source)


def load_pretrained(preset, *, dtype=None):
    """Load a keras_hub GPT-2 causal-LM preset as a tlm run (model and tokenizer).

    Args:
        preset: a preset name (`"gpt2_base_en"`), a handle (`"kaggle://..."`, `"hf://..."`) or
            a local preset folder (from `save_to_preset`, or a downloaded preset copied over).
        dtype: the model's dtype policy (e.g. `"bfloat16"` on a GPU); default keras's.

    Returns:
        `tlm.training.Run(model, tokenizer, config, path)`; `config["pretrained"]` records the
        preset; `config["data"]` gives the model's context as the `sequence_length` and
        `EVALUATION_BATCH_SIZE` as the `batch_size` that `tlm evaluate` scores with.

    Raises:
        ValueError: naming the preset, when it cannot be found or read, or holds a model other
            than a GPT-2 causal language model.

    Example:

    >>> import tempfile
    >>> folder = save_tiny_gpt2_preset(tempfile.mkdtemp() + "/tiny", "to be or not to be")
    >>> run = load_pretrained(folder)
    >>> type(run.model).__name__, run.tokenizer.decode(run.tokenizer.encode("to be"))
    ('GPT2LanguageModel', 'to be')
    """
    import keras_hub

    from tlm.models.gpt2 import GPT2LanguageModel
    from tlm.training.runs import Run

    if not isinstance(preset, (str, os.PathLike)) or not os.fspath(preset):
        raise ValueError(
            "`preset` must be a keras_hub preset name, handle or folder. "
            f"Received: preset={preset!r}"
        )
    preset = os.fspath(preset)
    if not os.path.exists(preset) and not is_preset(preset) and _looks_like_a_path(preset):
        raise ValueError(
            "`preset` must be a keras_hub preset folder, a preset name or a handle: there is no "
            f"such folder. Received: preset={preset!r}"
        )
    if os.path.exists(preset) and not is_preset(preset):
        raise ValueError(
            f"`preset` is not a keras_hub preset folder (it has no {PRESET_METADATA_FILE}, or "
            f"it is a tlm run directory). Received: preset={preset!r}"
        )
    try:
        backbone = keras_hub.models.GPT2Backbone.from_preset(preset, dtype=dtype)
    except ValueError as error:
        if "not a subclass of calling class" in str(error):
            raise ValueError(
                "`preset` must be a GPT-2 causal language model preset: tlm decodes keras_hub's "
                f"GPT-2 family. This preset holds another model ({error}). "
                f"Received: preset={preset!r}"
            ) from error
        raise _unreadable(preset, error) from error
    except Exception as error:  # noqa: BLE001 - keras_hub raises many kinds; all mean unreadable
        raise _unreadable(preset, error) from error
    try:
        tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(preset)
    except Exception as error:  # noqa: BLE001
        raise ValueError(
            f"`preset` has no readable tokenizer ({type(error).__name__}: {error}). "
            f"Received: preset={preset!r}"
        ) from error
    model = GPT2LanguageModel.from_causal_lm(backbone)
    wrapped = KerasHubTokenizer(tokenizer)
    if wrapped.vocabulary_size > model.vocabulary_size:
        raise ValueError(
            f"`preset`'s tokenizer has {wrapped.vocabulary_size} tokens but its model only "
            f"{model.vocabulary_size} outputs. Received: preset={preset!r}"
        )
    config = {
        "pretrained": {"preset": preset, "class": type(backbone).__name__},
        "model": {"kind": model.kind, **_sizes(model)},
        "data": {"sequence_length": model.context_length, "batch_size": EVALUATION_BATCH_SIZE},
    }
    return Run(model, wrapped, config, preset)


def _looks_like_a_path(preset):
    return preset.startswith(".") or any(sep in preset for sep in (os.sep, os.altsep) if sep)


def _sizes(model):
    config = model.get_config()
    return {name: config[name] for name in ("vocabulary_size", "sequence_length", "num_layers")}


def _unreadable(preset, error):
    hint = ""
    if not os.path.exists(preset) and not _looks_like_a_path(preset):
        hint = (
            " A name or handle downloads once, which needs network access; offline, copy the "
            "preset folder to this machine and pass its path."
        )
    return ValueError(
        f"`preset` could not be loaded as a keras_hub preset ({type(error).__name__}: "
        f"{error}).{hint} Received: preset={preset!r}"
    )


# -- a tiny local preset, for tests and the lesson's quick mode --------------------------------


def bytes_to_unicode():
    """GPT-2's map from the 256 byte values to printable characters ("Ġ" is the space byte)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    characters = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            characters.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, characters), strict=True))


# GPT-2's pre-tokenization (contractions, letters, digits, other symbols, whitespace), with
# Python's `re` classes for `\p{L}` and `\p{N}`.
_WORDS = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+")


def learn_byte_level_bpe(texts, vocabulary_size):
    """Learn a GPT-2-style byte-level BPE from `texts`: `(vocabulary, merges)`.

    The vocabulary holds the 256 byte symbols, one token per learned merge (the most frequent
    adjacent pair inside a pre-tokenized word, merged one at a time, as Sennrich et al. 2016),
    and "<|endoftext|>" last, as GPT-2's; `merges` are "a b" lines in the order learned. Good
    enough for a test-sized model, not a replacement for a real tokenizer trainer.

    >>> vocabulary, merges = learn_byte_level_bpe("low lower lowest", 260)
    >>> len(vocabulary), merges[:2]
    (260, ['l o', 'lo w'])
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    symbols = bytes_to_unicode()
    if vocabulary_size < len(symbols) + 1:
        raise ValueError(
            f"`vocabulary_size` must be at least {len(symbols) + 1} (256 bytes and "
            f"<|endoftext|>). Received: vocabulary_size={vocabulary_size}"
        )
    words = collections.Counter(
        tuple(symbols[byte] for byte in word.encode("utf-8"))
        for text in texts
        for word in _WORDS.findall(text)
    )
    vocabulary = {symbols[byte]: index for index, byte in enumerate(sorted(symbols))}
    merges = []
    while len(vocabulary) < vocabulary_size - 1:
        pairs = collections.Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:], strict=False):
                pairs[pair] += count
        if not pairs:
            break
        # Most frequent first; ties by the pair itself, so the result does not depend on order.
        (first, second), _ = min(pairs.items(), key=lambda item: (-item[1], item[0]))
        merged = first + second
        merges.append(f"{first} {second}")
        vocabulary.setdefault(merged, len(vocabulary))
        words = collections.Counter(
            {_merge(word, first, second, merged): count for word, count in words.items()}
        )
    vocabulary["<|endoftext|>"] = len(vocabulary)
    return vocabulary, merges


def _merge(word, first, second, merged):
    out, index = [], 0
    while index < len(word):
        if index + 1 < len(word) and word[index] == first and word[index + 1] == second:
            out.append(merged)
            index += 2
        else:
            out.append(word[index])
            index += 1
    return tuple(out)


def save_tiny_gpt2_preset(directory, texts, *, vocabulary_size=512, preset="gpt2-tiny", seed=0):
    """Write a small GPT-2 keras_hub preset (random weights, BPE learned from `texts`).

    The folder is what `GPT2CausalLM.save_to_preset` writes, so `load_pretrained(directory)`,
    `keras_hub.models.GPT2CausalLM.from_preset(directory)` and `tlm generate directory` read it
    as they would a downloaded GPT-2. It is written in a temporary folder and renamed into
    place.

    Args:
        directory: the folder to create (must not exist).
        texts: a str or list of str to learn the byte-level BPE from.
        vocabulary_size: tokens of the BPE, at least 257.
        preset: the model size, a preset of `tlm.models.GPT2LanguageModel` (`"gpt2-tiny"`).
        seed: seed of the random weights.

    Returns:
        `directory`.
    """
    import keras
    import keras_hub

    from tlm.models.registry import preset_config

    directory = os.fspath(directory)
    if os.path.exists(directory):
        raise ValueError(f"`directory` must not exist yet. Received: directory={directory!r}")
    sizes = preset_config("gpt2", preset)
    vocabulary, merges = learn_byte_level_bpe(texts, vocabulary_size)
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)
    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=len(vocabulary),
        num_layers=sizes["num_layers"],
        num_heads=sizes["num_heads"],
        hidden_dim=sizes["hidden_dim"],
        intermediate_dim=sizes["intermediate_dim"],
        dropout=sizes["dropout"],
        max_sequence_length=sizes["sequence_length"],
    )
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(
        tokenizer, sequence_length=sizes["sequence_length"]
    )
    causal_lm = keras_hub.models.GPT2CausalLM(backbone, preprocessor)
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=".preset-", dir=parent)
    try:
        causal_lm.save_to_preset(temporary)
        os.replace(temporary, directory)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return directory
