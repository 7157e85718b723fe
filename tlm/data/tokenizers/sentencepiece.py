"""`SentencePieceTokenizer` (unigram) and `BPETokenizer`: subwords that round-trip exactly.

Both are trained and run by SentencePiece (`BPETokenizer` is the same class in BPE mode).
Taught in notebooks/01_text_preprocessing.ipynb.
"""

import io
import os

import numpy as np
import sentencepiece
import tensorflow as tf
import tensorflow_text as tf_text

from tlm.data.tokenizers.base import (
    NEWLINE_TOKEN,
    PAD_TOKEN,
    RESERVED_TOKENS,
    UNK_TOKEN,
    Tokenizer,
)
from tlm.files import write_bytes_atomically

SENTENCEPIECE_FILE = "sentencepiece.model"


class SentencePieceTokenizer(Tokenizer):
    r"""SentencePiece unigram model, set up so that text round-trips exactly.

    Trained with the `sentencepiece` package: no normalisation of its own (the `TextCleaner`
    did that), whitespace kept as is (no collapsing, no dummy prefix), "\n" a piece of its own
    (id 2), and byte fallback, so a character never seen in training is spelled in UTF-8 byte
    pieces instead of becoming "[UNK]". Hence `decode(encode(s)) == cleaner(s)` for any `s`,
    except that U+2581 "▁" (SentencePiece's space marker) decodes as a space. The vocabulary
    holds 259 fixed entries ("[PAD]", "[UNK]", "\n", 256 bytes), so `vocabulary_size` is at
    least 260; on a small text the trainer may learn fewer pieces than asked.
    `tf_encode` runs the same model with `tensorflow_text.SentencepieceTokenizer`.

    Args:
        proto: the serialized SentencePiece model (bytes).
        cleaner: the `TextCleaner` used by `encode`.
    """

    kind = "sentencepiece"
    model_type = "unigram"
    # [PAD], [UNK], "\n" and the 256 byte pieces, plus at least one learned piece.
    minimum_vocabulary_size = len(RESERVED_TOKENS) + 1 + 256 + 1

    def __init__(self, proto, cleaner=None):
        super().__init__(cleaner)
        self._proto = bytes(proto)
        self._processor = sentencepiece.SentencePieceProcessor(model_proto=self._proto)
        self._vocabulary = [
            self._processor.id_to_piece(i) for i in range(self._processor.get_piece_size())
        ]
        if self._vocabulary[:2] != list(RESERVED_TOKENS):
            raise ValueError(
                f"`proto` must reserve ids 0 and 1 for {list(RESERVED_TOKENS)}. "
                f"Received: a model whose first pieces are {self._vocabulary[:2]}"
            )
        self.newline_id = self._processor.piece_to_id(NEWLINE_TOKEN)
        self._tf_tokenizer = None

    @classmethod
    def train(cls, texts, vocabulary_size, cleaner):
        # One training sentence per line: "\n" is a user-defined piece, never inside another.
        lines = [line for text in texts for line in cleaner(text).split("\n") if line]
        if not lines:
            lines = [" "]
        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(lines),
                model_writer=model,
                model_type=cls.model_type,
                vocab_size=vocabulary_size,
                hard_vocab_limit=False,
                pad_id=0,
                unk_id=1,
                bos_id=-1,
                eos_id=-1,
                pad_piece=PAD_TOKEN,
                unk_piece=UNK_TOKEN,
                user_defined_symbols=[NEWLINE_TOKEN],
                byte_fallback=True,
                normalization_rule_name="identity",
                remove_extra_whitespaces=False,
                add_dummy_prefix=False,
                allow_whitespace_only_pieces=True,
                character_coverage=0.9995,
                max_sentence_length=1 << 20,
                num_threads=os.cpu_count() or 1,
                minloglevel=2,
            )
        except RuntimeError as error:
            raise ValueError(
                f"SentencePiece could not train a vocabulary of this size: {error}. "
                f"Received: vocabulary_size={vocabulary_size}"
            ) from error
        return cls(model.getvalue(), cleaner)

    # Both paths encode line by line and put the "\n" piece between lines. "\n" is always a
    # piece of its own, so this is SentencePiece's segmentation; it is also much faster on a
    # corpus (BPE merging is slow on one very long input), and it keeps the Python and the
    # TensorFlow builds of SentencePiece in agreement (on a whole multi-megabyte string their
    # unigram searches resolve ties differently).
    def encode_clean(self, text):
        newline = np.array([self.newline_id], dtype=np.int32)
        lines = self._processor.encode(text.split(NEWLINE_TOKEN), num_threads=os.cpu_count() or 1)
        pieces = [newline] * (2 * len(lines) - 1)
        pieces[::2] = [np.asarray(line, dtype=np.int32) for line in lines]
        return np.concatenate(pieces)

    def _tf_sentencepiece(self):
        # Created once, eagerly, even when first called while tracing.
        if self._tf_tokenizer is None:
            with tf.init_scope():
                self._tf_tokenizer = tf_text.SentencepieceTokenizer(
                    model=self._proto, out_type=tf.int32
                )
        return self._tf_tokenizer

    def _tf_encode_clean(self, strings):
        lines = tf.strings.split(strings, sep=NEWLINE_TOKEN)
        flat_lines = lines.flat_values if isinstance(lines, tf.RaggedTensor) else lines
        ids = self._tf_sentencepiece().tokenize(flat_lines)  # (lines, None)
        newlines = tf.fill([tf.shape(flat_lines)[0], 1], tf.constant(self.newline_id, tf.int32))
        ids = tf.concat([ids, newlines], axis=1)  # every line followed by "\n"
        if isinstance(lines, tf.RaggedTensor):
            ids = lines.with_flat_values(ids).merge_dims(-2, -1)  # (batch, None)
            return ids[:, :-1]  # no "\n" after the last line
        return ids.flat_values[:-1]

    def _decode_ids(self, ids):
        return self._processor.decode(ids.tolist())

    def tf_resources(self):
        return [self._tf_sentencepiece()]

    def _tf_decode_ids(self, ids):
        return self._tf_sentencepiece().detokenize(ids)

    def get_config(self):
        return {
            **super().get_config(),
            "model_type": self.model_type,
            "vocabulary_size": self.vocabulary_size,
        }

    def _save_assets(self, directory):
        write_bytes_atomically(os.path.join(directory, SENTENCEPIECE_FILE), self._proto)

    @classmethod
    def from_files(cls, directory, config, cleaner):
        with open(os.path.join(directory, SENTENCEPIECE_FILE), "rb") as file:
            return cls(file.read(), cleaner=cleaner)


class BPETokenizer(SentencePieceTokenizer):
    r"""Byte-pair encoding, trained by SentencePiece in BPE mode (keras_hub has no BPE
    trainer). Same settings and promises as `SentencePieceTokenizer`: exact round trip with
    byte fallback, "\n" a piece, `vocabulary_size` at least 260.

    Example:

    >>> tokenizer = build_tokenizer("bpe", "low lower lowest\n" * 20, vocabulary_size=270)
    >>> tokenizer.decode(tokenizer.encode(" slow\n\nlow 🦉"))
    ' slow\n\nlow 🦉'
    """

    kind = "bpe"
    model_type = "bpe"
