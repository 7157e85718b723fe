"""`WordTokenizer`, and the parts the word-level kinds share: splitting, spacing, lookup.

`VocabularyTokenizer` (a tokenizer whose state is a vocabulary list) and `WordJoiner` (the
spacing rules of `decode`) serve `WordPieceTokenizer` too. Taught in
notebooks/01_text_preprocessing.ipynb.
"""

import collections
import json
import os

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from tlm.checks import check_choice
from tlm.data.tokenizers.base import (
    NEWLINE_TOKEN,
    RESERVED_TOKENS,
    UNK_TOKEN,
    VOCABULARY_FILE,
    Tokenizer,
    check_vocabulary,
)

# RE2 patterns shared by training, `encode` and `tf_encode`. A word is a run of letters, marks,
# digits, "_" and apostrophes ("don't", "o'er" stay whole); each punctuation or symbol character
# is a token; each Han / kana character is a token (Chinese and Japanese have no spaces, as in
# BERT's basic tokenizer); "\n" is a token (line layout matters to a language model); other
# whitespace only separates tokens. A literal "[UNK]" (what `decode` writes) stays one token.
_WORD_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
_WORD_KEEP = r"\[UNK\]|\n|" + _WORD_CJK + r"|[^\pL\pM\pN_'’\s\p{Z}]"
_WORD_SPLIT = _WORD_KEEP + r"|[\s\p{Z}]"
_WORD_CHARACTERS = r"[\pL\pM\pN_'’]+"
# The "whitespace" split, for text already tokenized: a token is a run of non-whitespace
# characters, "\n" is a token (the end of a sentence). The class is the whitespace of Python's
# `str.split()`, so a text's tokens are its `split()` plus one per "\n".
_WHITESPACE = r"[\s\p{Z}\x0b\x1c-\x1f\x85]"
_WHITESPACE_KEEP = r"\n"
_WHITESPACE_SPLIT = _WHITESPACE_KEEP + "|" + _WHITESPACE
# (split pattern, keep pattern) of each `split` setting of `WordTokenizer`.
_SPLIT_PATTERNS = {
    "words": (_WORD_SPLIT, _WORD_KEEP),
    "whitespace": (_WHITESPACE_SPLIT, _WHITESPACE_KEEP),
}
WORD_SPLITS = tuple(_SPLIT_PATTERNS)
# Spacing rules used by `decode` (word and wordpiece): no space before closing punctuation or
# after opening punctuation, none around "-", "/", "\n" and CJK characters; one space otherwise.
_NO_SPACE_BEFORE = set(".,;:!?)]}%…»”’-/")
_NO_SPACE_AFTER = set("([{¿¡«“‘-/")


def _tf_is_in(strings, members):
    """Whether each string of the 1-D tensor `strings` is one of `members` (a set of str)."""
    members = tf.constant(sorted(members))
    return tf.reduce_any(tf.equal(strings[:, tf.newaxis], members[tf.newaxis, :]), axis=-1)


def _tf_previous(values, first):
    """`values` shifted by one place (each element's predecessor); `first` fills position 0."""
    return tf.concat([tf.reshape(first, [1]), values[:-1]], axis=0)


def _tf_join_rows(words, no_space):
    """Join ragged `[batch, None]` strings row by row: a space before each word that is not
    the first of its row and whose flat `no_space` entry is False."""
    starts = tf.ragged.range(words.row_lengths()).flat_values == 0
    separators = tf.where(starts | no_space, "", " ")
    return tf.strings.reduce_join(
        words.with_flat_values(tf.strings.join([separators, words.flat_values])), axis=-1
    )


def _split_words(strings, split_pattern, keep_pattern):
    """regex_split of a string tensor of any rank; a scalar gives a 1-D tensor of tokens."""
    if strings.shape.rank == 0:
        return tf_text.regex_split(strings[tf.newaxis], split_pattern, keep_pattern)[0]
    return tf_text.regex_split(strings, split_pattern, keep_pattern)


class WordJoiner:
    r"""Joins word-level tokens back into text with the documented spacing rules.

    Spaces are left out only next to tokens the splitter always separates ("\n", CJK
    characters, punctuation), so `encode(decode(encode(s))) == encode(s)` holds. Used by the
    `decode` of `WordTokenizer` and `WordPieceTokenizer`.

    Args:
        vocabulary: the tokenizer's vocabulary list (ids index it).
        cjk_pattern: an RE2 pattern matching the tokens that are one CJK character each.
    """

    def __init__(self, vocabulary, cjk_pattern):
        tokens = tf.constant(vocabulary)
        self._is_cjk = tf.strings.regex_full_match(tokens, cjk_pattern).numpy()
        self._is_word = tf.strings.regex_full_match(tokens, _WORD_CHARACTERS).numpy()

    def no_space_between(self, previous, token, previous_id, token_id):
        """Whether `token` (id `token_id`) follows `previous` (id `previous_id`) with no space."""
        if previous == "\n" or token == "\n":
            return True
        if self._is_cjk[previous_id] or self._is_cjk[token_id]:
            return True
        if token in _NO_SPACE_BEFORE or previous in _NO_SPACE_AFTER:
            return not (self._is_word[previous_id] and self._is_word[token_id])
        return False

    def join(self, tokens, ids):
        """The text of `tokens` (strings) whose ids are `ids`, spaced by `no_space_between`."""
        pieces = []
        for i, (token, id) in enumerate(zip(tokens, ids, strict=True)):
            if i and not self.no_space_between(tokens[i - 1], token, ids[i - 1], id):
                pieces.append(" ")
            pieces.append(token)
        return "".join(pieces)

    def tf_join(self, tokens, ids):
        """`join` with TF ops: ragged `[batch, None]` tokens and ids -> `[batch]` texts."""
        token, id = tokens.flat_values, ids.flat_values
        previous, previous_id = _tf_previous(token, ""), _tf_previous(id, 0)
        is_cjk, is_word = tf.constant(self._is_cjk), tf.constant(self._is_word)
        newline = tf.equal(previous, NEWLINE_TOKEN) | tf.equal(token, NEWLINE_TOKEN)
        cjk = tf.gather(is_cjk, previous_id) | tf.gather(is_cjk, id)
        punctuation = _tf_is_in(token, _NO_SPACE_BEFORE) | _tf_is_in(previous, _NO_SPACE_AFTER)
        words = tf.gather(is_word, previous_id) & tf.gather(is_word, id)
        return _tf_join_rows(tokens, newline | cjk | (punctuation & ~words))


class VocabularyTokenizer(Tokenizer):
    """Base of the kinds whose state is a vocabulary list (word, wordpiece).

    It checks the vocabulary (reserved tokens first, no duplicates), builds the TF lookup table
    of `tf_encode` once, on first use, and puts `vocabulary_size` in the config; saving and
    loading are `Tokenizer`'s (`vocabulary.json`).

    Args:
        vocabulary: list of tokens starting with "[PAD]", "[UNK]".
        cleaner: the `TextCleaner` used by `encode`.
    """

    def __init__(self, vocabulary, cleaner=None):
        super().__init__(cleaner)
        vocabulary = list(vocabulary)
        check_vocabulary(vocabulary)
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

    def tf_resources(self):
        return [self._table()]

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}


class WordTokenizer(VocabularyTokenizer):
    r"""One token per word, punctuation character, CJK character or newline.

    Splitting (RE2 via `tensorflow_text.regex_split`, the same op in `encode` and `tf_encode`)
    follows `split`:

    - "words" (default): words are runs of letters, marks, digits, "_" and apostrophes; every
      other non-space character is its own token; each Han / kana character is a token; "\n" is
      a token; spaces and tabs only separate.
    - "whitespace", for text that is already tokenized (Penn Treebank: tokens separated by
      spaces, one sentence per line): a token is a run of non-whitespace characters, kept as it
      is ("don't", "u.s.", "$"), and "\n" is a token, the end of a sentence; spaces and tabs
      only separate.

    The vocabulary keeps the `vocabulary_size - 2` most frequent tokens (ties alphabetical;
    every token when `vocabulary_size` is None); every other token is `unk_id`: that is the
    word-level loss. `unknown_token` is the text's own mark of a word outside its vocabulary
    ("<unk>" in Penn Treebank): it is not counted as a word in training, encodes to `unk_id`,
    and `decode` writes `unk_id` as it (as "[UNK]" when `unknown_token` is None).

    `decode` joins tokens with one space, none around "\n". With the "words" split it also
    leaves none before `.,;:!?)]}%…»”’`, none after `([{¿¡«“‘` and none around "-", "/" or CJK
    characters, so it does not restore the original spacing ("a , b" -> "a, b"). Either way ids
    are stable: `encode(decode(encode(s))) == encode(s)`.

    Args:
        vocabulary: list of tokens starting with "[PAD]", "[UNK]".
        cleaner: the `TextCleaner` used by `encode`.
        split: "words" or "whitespace" (see above).
        unknown_token: None, or the token of the (cleaned) text that stands for an unknown
            word: one token of `split`, not in `vocabulary` (other than as "[UNK]").

    Example:

    >>> tokenizer = build_tokenizer("word", "To be, or not to be:\nthat is the question.")
    >>> tokenizer.decode(tokenizer.encode("To be, or not to sleep."))
    'To be, or not to [UNK].'
    >>> ptb = build_tokenizer(
    ...     "word", " the <unk> fell \n", split="whitespace", unknown_token="<unk>"
    ... )
    >>> ptb.vocabulary
    ['[PAD]', '[UNK]', '\n', 'fell', 'the']
    >>> ptb.decode(ptb.encode(" the u.s. fell \n"))
    'the <unk> fell\n'
    """

    kind = "word"

    def __init__(self, vocabulary, cleaner=None, split="words", unknown_token=None):
        super().__init__(vocabulary, cleaner)
        check_choice("split", split, WORD_SPLITS)
        self.split = split
        self.unknown_token = unknown_token
        self._check_unknown_token()
        # What `decode` writes for each id: the vocabulary, with `unk_id` as `unknown_token`.
        self._written = list(self._vocabulary)
        self._written[self.unk_id] = unknown_token if unknown_token is not None else UNK_TOKEN
        self._joiner = WordJoiner(self._written, _WORD_CJK)

    def _check_unknown_token(self):
        token = self.unknown_token
        if token is None:
            return
        one_token = isinstance(token, str) and token.split() == [token]
        if one_token:
            one_token = self._split(tf.constant(token)).numpy().tolist() == [token.encode()]
        if not one_token:
            raise ValueError(
                "`unknown_token` must be None or a string without whitespace that "
                f"split={self.split!r} reads as one token. Received: unknown_token={token!r}"
            )
        if self._token_index().get(token, self.unk_id) != self.unk_id:
            raise ValueError(
                "`unknown_token` must not be a token of the vocabulary: it encodes to the id of "
                f"{UNK_TOKEN}. Received: unknown_token={token!r}"
            )

    def _split(self, strings):
        return _split_words(strings, *_SPLIT_PATTERNS[self.split])

    @classmethod
    def train(cls, texts, vocabulary_size, cleaner, split="words", unknown_token=None):
        # A tokenizer with no words checks `split` and `unknown_token` before the text is read.
        cls(RESERVED_TOKENS, cleaner, split=split, unknown_token=unknown_token)
        counts = collections.Counter()
        for text in texts:
            cleaned = cleaner.clean_tensor(tf.constant(text))
            counts.update(_split_words(cleaned, *_SPLIT_PATTERNS[split]).numpy().tolist())
        for token in (*RESERVED_TOKENS, unknown_token):
            if token is not None:
                counts.pop(token.encode("utf-8"), None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        words = [word.decode("utf-8") for word, _ in ranked]
        if vocabulary_size is not None:
            words = words[: vocabulary_size - len(RESERVED_TOKENS)]
        return cls([*RESERVED_TOKENS, *words], cleaner, split=split, unknown_token=unknown_token)

    def encode_clean(self, text):
        index = self._token_index()
        tokens = self._split(tf.constant(text)).numpy().tolist()
        ids = np.array(
            [index.get(token.decode("utf-8"), self.unk_id) for token in tokens], dtype=np.int32
        )
        # "[PAD]" written in the text (one token of the "whitespace" split) is not padding.
        ids[ids == self.pad_id] = self.unk_id
        return ids

    def _tf_encode_clean(self, strings):
        ids = self._table().lookup(self._split(strings))
        return tf.ragged.map_flat_values(
            lambda flat: tf.where(flat == self.pad_id, self.unk_id, flat), ids
        )

    def _decode_ids(self, ids):
        tokens = [self._written[i] for i in ids]
        if self.split == "whitespace":
            return _join_with_spaces(tokens)
        return self._joiner.join(tokens, ids)

    def _tf_decode_ids(self, ids):
        tokens = tf.gather(tf.constant(self._written), ids)
        if self.split == "whitespace":
            token = tokens.flat_values
            newline = tf.equal(token, NEWLINE_TOKEN)
            return _tf_join_rows(tokens, newline | _tf_previous(newline, False))
        return self._joiner.tf_join(tokens, ids)

    def get_config(self):
        return {**super().get_config(), "split": self.split, "unknown_token": self.unknown_token}

    @classmethod
    def from_files(cls, directory, config, cleaner):
        # Tokenizers saved before `split` and `unknown_token` existed split into words.
        with open(os.path.join(directory, VOCABULARY_FILE), encoding="utf-8") as file:
            vocabulary = json.load(file)
        return cls(
            vocabulary,
            cleaner,
            split=config.get("split", "words"),
            unknown_token=config.get("unknown_token"),
        )


def _join_with_spaces(tokens):
    """Tokens of the "whitespace" split, one space between them and none around "\\n"."""
    pieces = []
    for i, token in enumerate(tokens):
        if i and token != NEWLINE_TOKEN and tokens[i - 1] != NEWLINE_TOKEN:
            pieces.append(" ")
        pieces.append(token)
    return "".join(pieces)
