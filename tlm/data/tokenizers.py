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

import collections
import io
import json
import os

import keras
import numpy as np
import sentencepiece
import tensorflow as tf
import tensorflow_text as tf_text

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


# -- word level ------------------------------------------------------------------------------
# RE2 patterns shared by training, `encode` and `tf_encode`. A word is a run of letters, marks,
# digits, "_" and apostrophes ("don't", "o'er" stay whole); each punctuation or symbol character
# is a token; each Han / kana character is a token (Chinese and Japanese have no spaces, as in
# BERT's basic tokenizer); "\n" is a token (line layout matters to a language model); other
# whitespace only separates tokens. A literal "[UNK]" (what `decode` writes) stays one token.
_WORD_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
_WORD_KEEP = r"\[UNK\]|\n|" + _WORD_CJK + r"|[^\pL\pM\pN_'’\s\p{Z}]"
_WORD_SPLIT = _WORD_KEEP + r"|[\s\p{Z}]"
_WORD_CHARACTERS = r"[\pL\pM\pN_'’]+"
# Spacing rules used by `decode` (word and wordpiece): no space before closing punctuation or
# after opening punctuation, none around "-", "/", "\n" and CJK characters; one space otherwise.
_NO_SPACE_BEFORE = set(".,;:!?)]}%…»”’-/")
_NO_SPACE_AFTER = set("([{¿¡«“‘-/")


def _split_words(strings, split_pattern, keep_pattern):
    """regex_split of a string tensor of any rank; a scalar gives a 1-D tensor of tokens."""
    if strings.shape.rank == 0:
        return tf_text.regex_split(strings[tf.newaxis], split_pattern, keep_pattern)[0]
    return tf_text.regex_split(strings, split_pattern, keep_pattern)


class _WordJoiner:
    r"""Joins word-level tokens back into text with the documented spacing rules.

    Spaces are left out only next to tokens the splitter always separates ("\n", CJK
    characters, punctuation), so `encode(decode(encode(s))) == encode(s)` holds.
    """

    def __init__(self, vocabulary, cjk_pattern):
        tokens = tf.constant(vocabulary)
        self._is_cjk = tf.strings.regex_full_match(tokens, cjk_pattern).numpy()
        self._is_word = tf.strings.regex_full_match(tokens, _WORD_CHARACTERS).numpy()

    def no_space_between(self, previous, token, previous_id, token_id):
        if previous == "\n" or token == "\n":
            return True
        if self._is_cjk[previous_id] or self._is_cjk[token_id]:
            return True
        if token in _NO_SPACE_BEFORE or previous in _NO_SPACE_AFTER:
            return not (self._is_word[previous_id] and self._is_word[token_id])
        return False

    def join(self, tokens, ids):
        pieces = []
        for i, (token, id) in enumerate(zip(tokens, ids, strict=True)):
            if i and not self.no_space_between(tokens[i - 1], token, ids[i - 1], id):
                pieces.append(" ")
            pieces.append(token)
        return "".join(pieces)


class _VocabularyTokenizer(Tokenizer):
    """Shared parts of the kinds whose state is a vocabulary list (word, wordpiece)."""

    def __init__(self, vocabulary, cleaner=None):
        super().__init__(cleaner)
        vocabulary = list(vocabulary)
        _check_vocabulary(vocabulary)
        self._vocabulary = vocabulary
        self._lookup = None

    def _table(self):
        # Created once, eagerly, even when first called while tracing a tf.data function.
        if self._lookup is None:
            with tf.init_scope():
                self._lookup = tf.lookup.StaticHashTable(
                    tf.lookup.KeyValueTensorInitializer(
                        tf.constant(self._vocabulary),
                        tf.range(len(self._vocabulary), dtype=tf.int32),
                    ),
                    default_value=self.unk_id,
                )
        return self._lookup

    @classmethod
    def _from_files(cls, directory, config, cleaner):
        return cls(_read_vocabulary(directory), cleaner=cleaner)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}


class WordTokenizer(_VocabularyTokenizer):
    r"""One token per word, punctuation character, CJK character or newline.

    Splitting (RE2 via `tensorflow_text.regex_split`, the same op in `encode` and `tf_encode`):
    words are runs of letters, marks, digits, "_" and apostrophes; every other non-space
    character is its own token; each Han / kana character is a token; "\n" is a token; spaces
    and tabs only separate. The vocabulary keeps the `vocabulary_size - 2` most frequent tokens
    (ties alphabetical); every other token is `unk_id`, decoded as "[UNK]": that is the
    word-level loss.

    `decode` joins tokens with one space, except: none before `.,;:!?)]}%…»”’`, none after
    `([{¿¡«“‘`, none around "-", "/", "\n" or CJK characters. So `decode` does not restore the
    original spacing ("a , b" -> "a, b"), but ids are stable: `encode(decode(encode(s))) ==
    encode(s)`.

    Args:
        vocabulary: list of tokens starting with "[PAD]", "[UNK]".
        cleaner: the `TextCleaner` used by `encode`.

    Example:

    >>> tokenizer = build_tokenizer("word", "To be, or not to be:\nthat is the question.")
    >>> tokenizer.decode(tokenizer.encode("To be, or not to sleep."))
    'To be, or not to [UNK].'
    """

    kind = "word"

    def __init__(self, vocabulary, cleaner=None):
        super().__init__(vocabulary, cleaner)
        self._joiner = _WordJoiner(self._vocabulary, _WORD_CJK)

    @staticmethod
    def _split(strings):
        return _split_words(strings, _WORD_SPLIT, _WORD_KEEP)

    @classmethod
    def train(cls, texts, vocabulary_size, cleaner):
        counts = collections.Counter()
        for text in texts:
            counts.update(cls._split(cleaner.clean_tensor(tf.constant(text))).numpy().tolist())
        counts.pop(UNK_TOKEN.encode(), None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        words = [word.decode("utf-8") for word, _ in ranked]
        return cls([*RESERVED_TOKENS, *words[: vocabulary_size - len(RESERVED_TOKENS)]], cleaner)

    def _encode_clean(self, text):
        index = self._token_index()
        words = self._split(tf.constant(text)).numpy().tolist()
        return [index.get(word.decode("utf-8"), self.unk_id) for word in words]

    def _tf_encode_clean(self, strings):
        return self._table().lookup(self._split(strings))

    def _decode_ids(self, ids):
        return self._joiner.join([self._vocabulary[i] for i in ids], ids)


# -- subword: WordPiece ----------------------------------------------------------------------
_NEWLINE = "\n"
_WORDPIECE_RESERVED = (*RESERVED_TOKENS, _NEWLINE)


class WordPieceTokenizer(_VocabularyTokenizer):
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
            special_tokens=[_NEWLINE, UNK_TOKEN],
            special_tokens_in_strings=True,
            dtype="int32",
        )
        self._joiner = _WordJoiner(self._vocabulary, CJK_REGEX)

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

    def _encode_clean(self, text):
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


# -- subword: SentencePiece (unigram) and BPE ------------------------------------------------
SENTENCEPIECE_FILE = "sentencepiece.model"
# [PAD], [UNK], "\n" and the 256 byte pieces, plus at least one learned piece.
_SENTENCEPIECE_MINIMUM = len(RESERVED_TOKENS) + 1 + 256 + 1


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
        self.newline_id = self._processor.piece_to_id(_NEWLINE)
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
                user_defined_symbols=[_NEWLINE],
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
    def _encode_clean(self, text):
        newline = np.array([self.newline_id], dtype=np.int32)
        lines = self._processor.encode(text.split(_NEWLINE), num_threads=os.cpu_count() or 1)
        pieces = [newline] * (2 * len(lines) - 1)
        pieces[::2] = [np.asarray(line, dtype=np.int32) for line in lines]
        return np.concatenate(pieces)

    def _tf_encode_clean(self, strings):
        if self._tf_tokenizer is None:
            with tf.init_scope():
                self._tf_tokenizer = tf_text.SentencepieceTokenizer(
                    model=self._proto, out_type=tf.int32
                )
        lines = tf.strings.split(strings, sep=_NEWLINE)
        flat_lines = lines.flat_values if isinstance(lines, tf.RaggedTensor) else lines
        ids = self._tf_tokenizer.tokenize(flat_lines)  # (lines, None)
        newlines = tf.fill([tf.shape(flat_lines)[0], 1], tf.constant(self.newline_id, tf.int32))
        ids = tf.concat([ids, newlines], axis=1)  # every line followed by "\n"
        if isinstance(lines, tf.RaggedTensor):
            ids = lines.with_flat_values(ids).merge_dims(-2, -1)  # (batch, None)
            return ids[:, :-1]  # no "\n" after the last line
        return ids.flat_values[:-1]

    def _decode_ids(self, ids):
        return self._processor.decode(ids.tolist())

    def get_config(self):
        return {
            **super().get_config(),
            "model_type": self.model_type,
            "vocabulary_size": self.vocabulary_size,
        }

    def _save_assets(self, directory):
        temporary = os.path.join(directory, SENTENCEPIECE_FILE + ".tmp")
        with open(temporary, "wb") as file:
            file.write(self._proto)
        os.replace(temporary, os.path.join(directory, SENTENCEPIECE_FILE))

    @classmethod
    def _from_files(cls, directory, config, cleaner):
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


_CLASSES = {
    "char": CharTokenizer,
    "word": WordTokenizer,
    "wordpiece": WordPieceTokenizer,
    "sentencepiece": SentencePieceTokenizer,
    "bpe": BPETokenizer,
}


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
            "(its reserved tokens plus at least one learned token). "
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
    if kind in ("sentencepiece", "bpe"):
        return _SENTENCEPIECE_MINIMUM
    if kind == "wordpiece":
        return len(_WORDPIECE_RESERVED) + 1
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
