"""`build_tokenizer` and `load_tokenizer`: make a tokenizer of any kind by name, or from files.

Taught in notebooks/01_text_preprocessing.ipynb.
"""

import json
import numbers
import os

from tlm.checks import check_choice
from tlm.data.cleaning import TextCleaner
from tlm.data.tokenizers.base import CONFIG_FILE, CONFIG_FORMAT
from tlm.data.tokenizers.char import CharTokenizer
from tlm.data.tokenizers.pretrained import KerasHubTokenizer
from tlm.data.tokenizers.sentencepiece import BPETokenizer, SentencePieceTokenizer
from tlm.data.tokenizers.word import WordTokenizer
from tlm.data.tokenizers.wordpiece import WordPieceTokenizer

TOKENIZER_KINDS = ("char", "word", "wordpiece", "sentencepiece", "bpe")
# Default `vocabulary_size` per kind. None keeps every character seen (a few dozen for English,
# a few thousand for Chinese). Word: the 10,000 most frequent words cover ~97% of Shakespeare.
# Subwords: 4,096 pieces, small enough for a tiny model's embedding and softmax.
DEFAULT_VOCABULARY_SIZES = {
    "char": None,
    "word": 10_000,
    "wordpiece": 4096,
    "sentencepiece": 4096,
    "bpe": 4096,
}

_CLASSES = {
    "char": CharTokenizer,
    "word": WordTokenizer,
    "wordpiece": WordPieceTokenizer,
    "sentencepiece": SentencePieceTokenizer,
    "bpe": BPETokenizer,
}
# What `load_tokenizer` reads: the kinds tlm trains, and a pretrained model's own tokenizer.
_LOADABLE = {**_CLASSES, "keras_hub": KerasHubTokenizer}


def build_tokenizer(
    kind, texts, vocabulary_size=None, *, split=None, unknown_token=None, **cleaning
):
    """Train a tokenizer of `kind` on `texts` and return it.

    Args:
        kind: one of `TOKENIZER_KINDS`: "char", "word", "wordpiece", "sentencepiece", "bpe".
        texts: the training text, a str or an iterable of str (e.g. a corpus's train split).
        vocabulary_size: the largest vocabulary, reserved tokens included; default
            `DEFAULT_VOCABULARY_SIZES[kind]`, except that a word tokenizer with
            `split="whitespace"` keeps every token seen (the corpus fixed its vocabulary). Char
            and word keep the most frequent tokens; the subword kinds learn at most this many
            pieces (fewer on a small text).
        split: word kind only: "words" (default) or "whitespace" for text already tokenized
            (see `WordTokenizer`).
        unknown_token: word kind only: the text's own mark of an unknown word, e.g. "<unk>";
            it encodes to `unk_id` and is not learned as a word.
        **cleaning: `TextCleaner` arguments, e.g. `lowercase=True`.

    Example:

    >>> tokenizer = build_tokenizer("char", ["To be, or not to be"], lowercase=True)
    >>> tokenizer.decode(tokenizer.encode("TO BE"))
    'to be'
    """
    check_choice("kind", kind, TOKENIZER_KINDS)
    word_options = {
        name: value
        for name, value in (("split", split), ("unknown_token", unknown_token))
        if value is not None
    }
    for name, value in word_options.items():
        if kind != "word":
            raise ValueError(
                f"`{name}` applies only to kind='word'. Received: kind={kind!r}, {name}={value!r}"
            )
    # Not `tlm.checks.check_optional_positive_int`: the least size depends on the kind, and the
    # error states that least size whatever the wrong value (0, 2.5 or 2 for a char tokenizer).
    minimum = _CLASSES[kind].minimum_vocabulary_size
    if vocabulary_size is not None and (
        isinstance(vocabulary_size, bool)
        or not isinstance(vocabulary_size, numbers.Integral)
        or vocabulary_size < minimum
    ):
        raise ValueError(
            f"`vocabulary_size` must be an integer of at least {minimum} for kind={kind!r} "
            "(its reserved tokens plus at least one learned token). "
            f"Received: vocabulary_size={vocabulary_size!r}"
        )
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not all(isinstance(text, str) for text in texts):
        raise TypeError("`texts` must be a str or an iterable of str.")
    if not any(texts):
        raise ValueError("`texts` must contain some text to train on. Received: empty texts")
    cleaner = TextCleaner(**cleaning)
    if vocabulary_size is None and split != "whitespace":
        vocabulary_size = DEFAULT_VOCABULARY_SIZES[kind]
    return _CLASSES[kind].train(
        texts, vocabulary_size=vocabulary_size, cleaner=cleaner, **word_options
    )


def load_tokenizer(directory):
    """Load a tokenizer written by `Tokenizer.save(directory)`."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"`directory` must be a folder written by `Tokenizer.save`. "
            f"Received: directory={directory!r} (no such folder)"
        )
    path = os.path.join(directory, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as file:
            config = json.load(file)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(
            f"`directory` is not a saved tokenizer: it has no readable {CONFIG_FILE}. "
            f"Received: directory={directory!r}"
        ) from error
    if not isinstance(config, dict) or config.get("format") != CONFIG_FORMAT:
        raise ValueError(
            f"`directory` is not a saved tokenizer: {CONFIG_FILE} is not a tlm tokenizer "
            f"config. Received: directory={directory!r}"
        )
    kind = config.get("kind")
    if kind not in _LOADABLE:
        raise ValueError(
            f"`kind` in {CONFIG_FILE} must be one of {tuple(_LOADABLE)}. Received: kind={kind!r}"
        )
    try:
        cleaner = TextCleaner.from_config(config["cleaner"])
        return _LOADABLE[kind].from_files(directory, config, cleaner)
    except (OSError, ValueError, KeyError, TypeError) as error:
        # A missing, unreadable or damaged file: say which folder and what is wrong.
        reason = f"{error.strerror}: {error.filename}" if isinstance(error, OSError) else error
        raise ValueError(
            f"`directory` holds a {kind!r} tokenizer that cannot be loaded ({reason}). "
            f"Received: directory={directory!r}"
        ) from error
