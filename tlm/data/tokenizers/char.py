"""`CharTokenizer`: one token per Unicode code point.

Taught in notebooks/01_text_preprocessing.ipynb.
"""

import numpy as np
import tensorflow as tf

from tlm.data.cleaning import TextCleaner
from tlm.data.tokenizers.base import RESERVED_TOKENS, Tokenizer, check_vocabulary


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
        check_vocabulary(vocabulary)
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

    def encode_clean(self, text):
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


def _code_points(text):
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
