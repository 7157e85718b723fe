"""The `Tokenizer` base class, the reserved tokens and the plain files a tokenizer is saved as.

Every kind (see `tlm.data.tokenizers`) subclasses `Tokenizer`; `build_tokenizer` and
`load_tokenizer` (in `registry.py`) construct them. Taught in notebooks/01_text_preprocessing.ipynb.
"""

import json
import os

import numpy as np
import tensorflow as tf

from tlm.data.cleaning import TextCleaner
from tlm.data.tokenizers.layer import TokenizerLayer
from tlm.files import write_text_atomically

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
RESERVED_TOKENS = (PAD_TOKEN, UNK_TOKEN)
# "\n": a reserved token of the wordpiece kind and a user-defined piece of the SentencePiece kinds.
NEWLINE_TOKEN = "\n"
CONFIG_FILE = "tokenizer.json"
VOCABULARY_FILE = "vocabulary.json"
# The "format" field of every `CONFIG_FILE`: `load_tokenizer` reads only files that carry it.
CONFIG_FORMAT = "tlm.tokenizer"


class Tokenizer:
    """Base class: one interface for every kind of tokenizer.

    Subclasses set `kind` (and `minimum_vocabulary_size` if they reserve more tokens), keep
    their tokens in `_vocabulary`, and implement `encode_clean` (a cleaned Python str -> ids),
    `_tf_encode_clean` (a cleaned tf string tensor -> ids), `_decode_ids` and, unless its text
    is its tokens concatenated, `_tf_decode_ids` (the same with TF ops); a kind not saved
    as a vocabulary list also overrides `_save_assets` and `from_files`. Construct tokenizers
    with `build_tokenizer` or `load_tokenizer`.

    Args:
        cleaner: the `TextCleaner` applied by `encode` and `tf_encode`; default
            `TextCleaner()`.
    """

    kind = None
    pad_id = 0
    unk_id = 1
    # The smallest `vocabulary_size` the kind can be trained with: its reserved tokens plus
    # one learned token. `build_tokenizer` checks it before training.
    minimum_vocabulary_size = len(RESERVED_TOKENS) + 1

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
        return np.asarray(self.encode_clean(self.cleaner(text)), dtype=np.int32)

    def encode_clean(self, text):
        """Return the token ids (a 1-D sequence of ints) of `text`, a str already cleaned.

        `encode(text)` is `encode_clean(self.cleaner(text))` as an int32 array; call this one
        when the cleaned text is needed anyway (to count its characters, say) so the text is
        cleaned once. Every kind implements it.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `encode_clean`.")

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

    def tf_decode(self, ids):
        """`decode` with TF ops only (works in `tf.function` and in a SavedModel).

        A 1-D int tensor gives a scalar string; a `[batch, None]` tensor or `tf.RaggedTensor`
        gives a `[batch]` string tensor, one text per row. Pad ids are skipped and the text
        equals `decode`'s, as UTF-8 bytes. Ids must be in `[0, vocabulary_size)` (not checked:
        inside a graph there is no one to tell).
        """
        ids = tf.convert_to_tensor(ids) if not isinstance(ids, tf.RaggedTensor) else ids
        scalar = not isinstance(ids, tf.RaggedTensor) and ids.shape.rank == 1
        if scalar:
            ids = ids[tf.newaxis]
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        ids = tf.cast(ids, tf.int32)
        ids = tf.ragged.boolean_mask(ids, tf.not_equal(ids, self.pad_id))
        text = self._tf_decode_ids(ids)
        return text[0] if scalar else text

    def _tf_decode_ids(self, ids):
        """`[batch, None]` ragged int32 ids without pad -> `[batch]` strings; by default each
        id's vocabulary entry, concatenated (what the char kind writes)."""
        tokens = tf.gather(tf.constant(self._vocabulary), ids)
        return tf.strings.reduce_join(tokens, axis=-1)

    def tf_resources(self):
        """The TF objects (lookup tables, a SentencePiece model, keras_hub layers) that
        `tf_encode` and `tf_decode` read, created now: a `tf.Module` that saves a graph using
        them must hold them (`tlm.export`)."""
        return []

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
        config = {"format": CONFIG_FORMAT, "version": 1, **self.get_config()}
        write_text_atomically(os.path.join(directory, CONFIG_FILE), json.dumps(config, indent=2))

    def _save_assets(self, directory):
        write_text_atomically(
            os.path.join(directory, VOCABULARY_FILE),
            json.dumps(self._vocabulary, ensure_ascii=False, indent=0),
        )

    @classmethod
    def from_files(cls, directory, config, cleaner):
        """Rebuild a tokenizer of this class from the files `save` wrote into `directory`.

        `load_tokenizer(directory)` reads `config` (the parsed `CONFIG_FILE`) and `cleaner`
        from there and calls this on the class of the saved kind; use that. By default the
        tokenizer is rebuilt from `VOCABULARY_FILE`, the file `save` writes by default.
        """
        with open(os.path.join(directory, VOCABULARY_FILE), encoding="utf-8") as file:
            return cls(json.load(file), cleaner=cleaner)

    def __repr__(self):
        return f"{type(self).__name__}(vocabulary_size={self.vocabulary_size})"


def check_vocabulary(vocabulary):
    """Raise a `ValueError` unless `vocabulary` starts with `RESERVED_TOKENS` and has no
    duplicate token (what every vocabulary-list kind requires of its constructor argument)."""
    if list(vocabulary[: len(RESERVED_TOKENS)]) != list(RESERVED_TOKENS):
        raise ValueError(
            f"`vocabulary` must start with the reserved tokens {list(RESERVED_TOKENS)}. "
            f"Received: vocabulary[:2]={list(vocabulary[:2])}"
        )
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError("`vocabulary` must not contain duplicate tokens.")
