"""`WordPieceTokenizer`: BERT's subwords, trained and run by keras_hub.

Taught in notebooks/01_text_preprocessing.ipynb.
"""

import numpy as np
import tensorflow as tf

from tlm.data.tokenizers.base import NEWLINE_TOKEN, RESERVED_TOKENS, UNK_TOKEN
from tlm.data.tokenizers.word import VocabularyTokenizer, WordJoiner

_WORDPIECE_RESERVED = (*RESERVED_TOKENS, NEWLINE_TOKEN)


class WordPieceTokenizer(VocabularyTokenizer):
    r"""BERT's WordPiece: words split into the longest known pieces ("##" marks a continuation).

    Trained with `keras_hub.tokenizers.compute_word_piece_vocabulary` and run with
    `keras_hub.tokenizers.WordPieceTokenizer` (a Keras layer of TF ops, so `encode` and
    `tf_encode` are the same op). Pre-tokenization is keras_hub's: split on whitespace and
    punctuation, each CJK character its own word; "\n" is kept as a reserved token (id 2) so
    line layout survives. A word with no spelling in pieces becomes "[UNK]". `decode` merges
    "##" pieces and joins words with the word kind's spacing rules, so as with words the exact
    spacing is not restored but `encode(decode(encode(s))) == encode(s)`.

    Args:
        vocabulary: list of tokens: "[PAD]", "[UNK]", "\n", then pieces.
        cleaner: the `TextCleaner` used by `encode`.
    """

    kind = "wordpiece"
    minimum_vocabulary_size = len(_WORDPIECE_RESERVED) + 1  # "[PAD]", "[UNK]", "\n", one piece

    def __init__(self, vocabulary, cleaner=None):
        super().__init__(vocabulary, cleaner)
        # keras_hub is imported here, not at the top: importing it loads every model it ships.
        import keras_hub
        from keras_hub.src.tokenizers.word_piece_tokenizer import CJK_REGEX

        self._layer = keras_hub.tokenizers.WordPieceTokenizer(
            vocabulary=self._vocabulary,
            lowercase=False,
            strip_accents=False,
            split=True,
            split_on_cjk=True,
            oov_token=UNK_TOKEN,
            special_tokens=[NEWLINE_TOKEN, UNK_TOKEN],
            special_tokens_in_strings=True,
            dtype="int32",
        )
        self._joiner = WordJoiner(self._vocabulary, CJK_REGEX)

    @classmethod
    def train(cls, texts, vocabulary_size, cleaner):
        import keras_hub

        cleaned = tf.data.Dataset.from_tensor_slices([cleaner(text) for text in texts])
        vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
            cleaned,
            vocabulary_size,
            lowercase=False,
            strip_accents=False,
            split=True,
            split_on_cjk=True,
            reserved_tokens=list(_WORDPIECE_RESERVED),
        )
        return cls(vocabulary, cleaner)

    def encode_clean(self, text):
        return np.asarray(self._layer(tf.constant(text)))

    def _tf_encode_clean(self, strings):
        ids = self._layer(strings)
        if isinstance(ids, (tf.Tensor, tf.RaggedTensor)):
            return ids
        # Called eagerly, keras_hub layers hand back numpy arrays and lists: make them tensors.
        if strings.shape.rank == 0:
            return tf.constant(ids, dtype=tf.int32, shape=[len(ids)])
        return tf.ragged.constant(ids, dtype=tf.int32, ragged_rank=1)

    def _decode_ids(self, ids):
        words, word_ids = [], []
        for id in ids.tolist():
            token = self._vocabulary[id]
            if token.startswith("##") and words:
                words[-1] += token[2:]
            else:
                words.append(token)
                word_ids.append(id)
        return self._joiner.join(words, word_ids)

    def tf_resources(self):
        return [self._layer]  # keras_hub's layer holds its own tables

    def _tf_decode_ids(self, ids):
        pieces = tf.gather(tf.constant(self._vocabulary), ids)  # (batch, None)
        piece = pieces.flat_values
        # A "##" piece continues the word before it, unless it starts its row (as in decode).
        first_in_row = tf.ragged.range(ids.row_lengths()).flat_values == 0
        continues = tf.strings.regex_full_match(piece, "##.*") & ~first_in_row
        piece = tf.where(continues, tf.strings.regex_replace(piece, "^##", ""), piece)
        starts = ~continues
        word_index = tf.cumsum(tf.cast(starts, tf.int32)) - 1  # (pieces,)
        num_words = tf.reduce_sum(tf.cast(starts, tf.int32))
        words = tf.strings.unsorted_segment_join(piece, word_index, num_words)
        first_ids = tf.boolean_mask(ids.flat_values, starts)
        words_per_row = tf.reduce_sum(tf.cast(ids.with_flat_values(starts), tf.int32), axis=-1)
        return self._joiner.tf_join(
            tf.RaggedTensor.from_row_lengths(words, words_per_row),
            tf.RaggedTensor.from_row_lengths(first_ids, words_per_row),
        )
