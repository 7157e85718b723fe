"""Tokenizers: text -> int32 ids -> text, eagerly (numpy) and inside `tf.data` (TF ops).

Taught in notebooks/01_text_preprocessing.ipynb. Every kind shares one interface and two
reserved ids: `pad_id = 0` ("[PAD]", skipped by `decode`) and `unk_id = 1` ("[UNK]").
`encode` cleans the text with the tokenizer's `TextCleaner` first, so training and encoding
always see the same characters.

What each kind promises about `decode(encode(s))`:

- "char": Unicode code points. Equals `cleaner(s)` whenever every character of `cleaner(s)`
  was seen in training; an unseen character becomes `unk_id` and decodes as "[UNK]".
- "word", "wordpiece": whitespace is not kept exactly (see their docstrings); unseen words
  become "[UNK]". What is promised is that ids are stable: `encode(decode(encode(s))) ==
  encode(s)`.
- "sentencepiece" (unigram) and "bpe": trained with byte fallback and without whitespace
  normalisation, so `decode(encode(s)) == cleaner(s)` for any text, spaces and newlines
  included, with one documented exception: U+2581 "▁", SentencePiece's own space marker,
  decodes as a space.

Saved tokenizers are plain files: `tokenizer.json` (kind, cleaning and settings), plus
`vocabulary.json` (a JSON list of tokens) or `sentencepiece.model` (the SentencePiece proto).
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from tlm.data.cleaning import TextCleaner

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
RESERVED_TOKENS = (PAD_TOKEN, UNK_TOKEN)
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
CONFIG_FILE = "tokenizer.json"
VOCABULARY_FILE = "vocabulary.json"
_FORMAT = "tlm.tokenizer"


class Tokenizer:
    """Base class: one interface for every kind of tokenizer.

    Subclasses set `kind`, provide `vocabulary`, and implement `_encode_clean` (a cleaned
    Python str -> int32 array), `_tf_encode_clean` (a cleaned tf string tensor -> ids) and
    `_decode_ids`. Construct tokenizers with `build_tokenizer` or `load_tokenizer`.

    Args:
        cleaner: the `TextCleaner` applied by `encode` and `tf_encode`; default
            `TextCleaner()`.
    """

    kind = None
    pad_id = 0
    unk_id = 1

    def __init__(self, cleaner=None):
        self.cleaner = cleaner if cleaner is not None else TextCleaner()

    # -- vocabulary --------------------------------------------------------------------------
    @property
    def vocabulary(self):
        """All tokens, `vocabulary[i]` being the token of id `i`."""
        return list(self._vocabulary)

    @property
    def vocabulary_size(self):
        return len(self._vocabulary)

    def id_to_token(self, id):
        id = int(id)
        if not 0 <= id < self.vocabulary_size:
            raise ValueError(f"`id` must be in [0, {self.vocabulary_size}). Received: id={id}")
        return self._vocabulary[id]

    def token_to_id(self, token):
        index = self._token_index()
        if token not in index:
            raise ValueError(f"`token` is not in the vocabulary. Received: token={token!r}")
        return index[token]

    def _token_index(self):
        if getattr(self, "_index", None) is None:
            self._index = {token: i for i, token in enumerate(self._vocabulary)}
        return self._index

    # -- encoding ----------------------------------------------------------------------------
    def encode(self, text):
        """Clean `text` (a str) and return its token ids, a 1-D int32 numpy array."""
        if not isinstance(text, str):
            raise TypeError(f"`text` must be a str. Received: text of type {type(text).__name__}")
        return np.asarray(self._encode_clean(self.cleaner(text)), dtype=np.int32)

    def decode(self, ids):
        """Return the text of `ids` (any 1-D integer sequence, array or tensor); skips pad."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocabulary_size):
            bad = ids[(ids < 0) | (ids >= self.vocabulary_size)][0]
            raise ValueError(
                f"`ids` must be in [0, {self.vocabulary_size}). Received: an id of {bad}"
            )
        return self._decode_ids(ids[ids != self.pad_id])

    def tf_encode(self, strings):
        """Clean and tokenize a tf string tensor with TF ops only (works in `tf.data` and
        `tf.function`). A scalar gives a 1-D int32 tensor; a `[batch]` tensor gives an int32
        `tf.RaggedTensor` of shape `[batch, None]`. Ids equal `encode`'s."""
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        return self._tf_encode_clean(self.cleaner.clean_tensor(strings))

    def __call__(self, text):
        return self.encode(text)

    def as_layer(self, **kwargs):
        """A Keras layer that maps strings to ids with `tf_encode` (for `tf.data` or a model
        fed strings). The layer is not saved with a model: save the tokenizer beside it."""
        return TokenizerLayer(self, **kwargs)

    # -- saving ------------------------------------------------------------------------------
    def get_config(self):
        return {"kind": self.kind, "cleaner": self.cleaner.get_config()}

    def save(self, directory):
        """Write the tokenizer as plain files into `directory` (created if missing)."""
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        self._save_assets(directory)
        config = {"format": _FORMAT, "version": 1, **self.get_config()}
        _write_text(os.path.join(directory, CONFIG_FILE), json.dumps(config, indent=2))

    def _save_assets(self, directory):
        _write_text(
            os.path.join(directory, VOCABULARY_FILE),
            json.dumps(self._vocabulary, ensure_ascii=False, indent=0),
        )

    def __repr__(self):
        return f"{type(self).__name__}(vocabulary_size={self.vocabulary_size})"


def _write_text(path, text):
    # Write then rename, so a failure never leaves a half-written file behind.
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def _check_vocabulary(vocabulary):
    if list(vocabulary[: len(RESERVED_TOKENS)]) != list(RESERVED_TOKENS):
        raise ValueError(
            f"`vocabulary` must start with the reserved tokens {list(RESERVED_TOKENS)}. "
            f"Received: vocabulary[:2]={list(vocabulary[:2])}"
        )
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError("`vocabulary` must not contain duplicate tokens.")


class CharTokenizer(Tokenizer):
    """One token per Unicode code point (not per UTF-8 byte), so "你好" is two tokens.

    The vocabulary is the reserved tokens followed by the characters seen in training, sorted
    by code point (with `vocabulary_size`, only the most frequent characters are kept).
    `decode(encode(s)) == cleaner(s)` whenever every character was seen in training; other
    characters become `unk_id` and decode as "[UNK]". Encoding is a numpy table lookup over the
    text's UTF-32 code points: a few milliseconds per megabyte.

    Args:
        vocabulary: list of tokens: "[PAD]", "[UNK]", then single characters.
        cleaner: the `TextCleaner` used by `encode`.

    Example:

    >>> tokenizer = build_tokenizer("char", "hello world")
    >>> tokenizer.vocabulary
    ['[PAD]', '[UNK]', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
    >>> tokenizer.encode("hello!").tolist()
    [5, 4, 6, 6, 7, 1]
    >>> tokenizer.decode([5, 4, 6, 6, 7, 1])
    'hello[UNK]'
    """

    kind = "char"

    def __init__(self, vocabulary, cleaner=None):
        super().__init__(cleaner)
        vocabulary = list(vocabulary)
        _check_vocabulary(vocabulary)
        characters = vocabulary[len(RESERVED_TOKENS) :]
        if any(len(character) != 1 for character in characters):
            raise ValueError("`vocabulary` of a char tokenizer must hold single characters.")
        self._vocabulary = vocabulary
        code_points = np.array([ord(c) for c in characters], dtype=np.int64)
        # Dense lookup table: code point -> id; its last entry catches every larger code point.
        size = int(code_points.max()) + 2 if code_points.size else 1
        self._table = np.full(size, self.unk_id, dtype=np.int32)
        self._table[code_points] = np.arange(len(RESERVED_TOKENS), len(vocabulary))

    @classmethod
    def train(cls, texts, vocabulary_size=None, cleaner=None):
        cleaner = cleaner if cleaner is not None else TextCleaner()
        counts = np.zeros(0, dtype=np.int64)
        for text in texts:
            code_points = _code_points(cleaner(text))
            new = np.bincount(code_points)
            if new.size > counts.size:
                new[: counts.size] += counts
                counts = new
            else:
                counts[: new.size] += new
        seen = np.flatnonzero(counts)
        if vocabulary_size is not None and seen.size > vocabulary_size - len(RESERVED_TOKENS):
            # Most frequent first (ties: lower code point), then back to code point order.
            order = np.lexsort((seen, -counts[seen]))
            seen = np.sort(seen[order[: vocabulary_size - len(RESERVED_TOKENS)]])
        return cls([*RESERVED_TOKENS, *map(chr, seen.tolist())], cleaner=cleaner)

    def _encode_clean(self, text):
        code_points = _code_points(text)
        last = self._table.size - 1
        return self._table[np.minimum(code_points, last)]

    def _tf_encode_clean(self, strings):
        table = tf.constant(self._table)
        last = self._table.size - 1
        code_points = tf.strings.unicode_decode(strings, "UTF-8")
        if isinstance(code_points, tf.RaggedTensor):
            return tf.ragged.map_flat_values(
                lambda values: tf.gather(table, tf.minimum(values, last)), code_points
            )
        return tf.gather(table, tf.minimum(code_points, last))

    def _decode_ids(self, ids):
        tokens = np.asarray(self._vocabulary, dtype=object)[ids]
        return "".join(tokens.tolist())

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}

    @classmethod
    def _from_files(cls, directory, config, cleaner):
        return cls(_read_vocabulary(directory), cleaner=cleaner)


def _code_points(text):
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def _read_vocabulary(directory):
    with open(os.path.join(directory, VOCABULARY_FILE), encoding="utf-8") as file:
        return json.load(file)


_CLASSES = {"char": CharTokenizer}


def build_tokenizer(kind, texts, vocabulary_size=None, **cleaning):
    """Train a tokenizer of `kind` on `texts` and return it.

    Args:
        kind: one of `TOKENIZER_KINDS`: "char", "word", "wordpiece", "sentencepiece", "bpe".
        texts: the training text, a str or an iterable of str (e.g. a corpus's train split).
        vocabulary_size: the largest vocabulary, reserved tokens included; default
            `DEFAULT_VOCABULARY_SIZES[kind]`. Char and word keep the most frequent tokens; the
            subword kinds learn at most this many pieces (fewer on a small text).
        **cleaning: `TextCleaner` arguments, e.g. `lowercase=True`.

    Example:

    >>> tokenizer = build_tokenizer("char", ["To be, or not to be"], lowercase=True)
    >>> tokenizer.decode(tokenizer.encode("TO BE"))
    'to be'
    """
    if kind not in TOKENIZER_KINDS:
        raise ValueError(f"`kind` must be one of {TOKENIZER_KINDS}. Received: kind={kind!r}")
    minimum = _minimum_vocabulary_size(kind)
    if vocabulary_size is not None and (
        isinstance(vocabulary_size, bool)
        or not isinstance(vocabulary_size, (int, np.integer))
        or vocabulary_size < minimum
    ):
        raise ValueError(
            f"`vocabulary_size` must be an integer of at least {minimum} for kind={kind!r} "
            f"(the reserved tokens {list(RESERVED_TOKENS)} plus at least one learned token). "
            f"Received: vocabulary_size={vocabulary_size!r}"
        )
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not all(isinstance(text, str) for text in texts):
        raise TypeError("`texts` must be a str or an iterable of str.")
    if not any(texts):
        raise ValueError("`texts` must contain some text to train on. Received: empty texts")
    cleaner = TextCleaner(**cleaning)
    if vocabulary_size is None:
        vocabulary_size = DEFAULT_VOCABULARY_SIZES[kind]
    return _CLASSES[kind].train(texts, vocabulary_size=vocabulary_size, cleaner=cleaner)


def _minimum_vocabulary_size(kind):
    return len(RESERVED_TOKENS) + 1


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
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise ValueError(
            f"`directory` is not a saved tokenizer: {CONFIG_FILE} is not a tlm tokenizer "
            f"config. Received: directory={directory!r}"
        )
    kind = config.get("kind")
    if kind not in _CLASSES:
        raise ValueError(
            f"`kind` in {CONFIG_FILE} must be one of {TOKENIZER_KINDS}. Received: kind={kind!r}"
        )
    cleaner = TextCleaner.from_config(config["cleaner"])
    return _CLASSES[kind]._from_files(directory, config, cleaner)


class TokenizerLayer(keras.layers.Layer):
    """A Keras layer that tokenizes strings with `tokenizer.tf_encode`.

    Takes a string tensor (scalar or `[batch]`) and returns int32 ids (1-D, or a
    `tf.RaggedTensor` `[batch, None]`). It holds no weights and is meant for `tf.data` input
    pipelines; it is not written into a model's `.keras` file (save the tokenizer beside it).

    Args:
        tokenizer: a `Tokenizer`.
    """

    def __init__(self, tokenizer, **kwargs):
        kwargs.setdefault("trainable", False)
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        self.tokenizer = tokenizer

    def call(self, inputs):
        return self.tokenizer.tf_encode(inputs)
