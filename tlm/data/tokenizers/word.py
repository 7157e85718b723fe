"""`WordTokenizer`, and the parts the word-level kinds share: splitting, spacing, lookup.

`VocabularyTokenizer` (a tokenizer whose state is a vocabulary list) and `WordJoiner` (the
spacing rules of `decode`) serve `WordPieceTokenizer` too. Taught in
notebooks/01_text_preprocessing.ipynb.
"""

import collections

import tensorflow as tf
import tensorflow_text as tf_text

from tlm.data.tokenizers.base import RESERVED_TOKENS, UNK_TOKEN, Tokenizer, check_vocabulary

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

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}


class WordTokenizer(VocabularyTokenizer):
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
        self._joiner = WordJoiner(self._vocabulary, _WORD_CJK)

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

    def encode_clean(self, text):
        index = self._token_index()
        words = self._split(tf.constant(text)).numpy().tolist()
        return [index.get(word.decode("utf-8"), self.unk_id) for word in words]

    def _tf_encode_clean(self, strings):
        return self._table().lookup(self._split(strings))

    def _decode_ids(self, ids):
        return self._joiner.join([self._vocabulary[i] for i in ids], ids)
