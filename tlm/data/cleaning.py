"""Text cleaning as TensorFlow string ops: one `TextCleaner`, eager or inside `tf.data`.

Cleaning is the first step of the preprocessing lesson (notebooks/01_text_preprocessing.ipynb).
Every step is a `tf.strings` / `tensorflow_text` op, so the same object cleans a Python `str`
eagerly and a string tensor inside `tf.data.Dataset.map` or a `tf.function`, with the same
result: the Python path simply runs the same ops on `tf.constant(text)`.
"""

import tensorflow as tf
import tensorflow_text as tf_text

NORMALIZATIONS = ("NFC", "NFKC", "NFD", "NFKD")

# C0 and C1 control characters (Unicode category Cc) except "\t" and "\n", plus the byte-order
# mark U+FEFF that editors leave at the start of files. RE2 has no class subtraction, so the
# ranges are spelled out.
_CONTROL = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\x{feff}]"
# Horizontal whitespace: tabs and every Unicode space separator (U+00A0, U+3000, ...).
_HORIZONTAL_SPACE = r"[\t\p{Zs}]+"
# What `keep_cjk` leaves as written: Han characters (ideographs, including the compatibility
# ideographs and Kangxi radicals that NFC and NFKC would rewrite), CJK symbols and punctuation
# (U+3000-U+303F: 。、「」〈〉…), the punctuation of the Halfwidth and Fullwidth Forms block
# (，！？：；（）… but not full-width letters and digits, which NFKC still makes ASCII), and
# the vertical, compatibility and small forms (U+FE10-U+FE1F, U+FE30-U+FE6F).
CJK_KEPT = (
    r"[\p{Han}\x{3000}-\x{303f}\x{ff01}-\x{ff0f}\x{ff1a}-\x{ff20}\x{ff3b}-\x{ff40}"
    r"\x{ff5b}-\x{ff65}\x{fe10}-\x{fe1f}\x{fe30}-\x{fe6f}]+"
)


class TextCleaner:
    """Unicode-correct text cleaning that keeps the line layout a language model learns.

    The steps, in order (each can be switched off):

    1. `remove_control`: "\\r\\n" and lone "\\r" become "\\n"; other control characters
       (category Cc, except "\\t" and "\\n") and the byte-order mark U+FEFF are removed.
    2. `normalization`: Unicode normalisation, NFKC by default, so full-width "Ｈｅｌｌｏ" becomes
       "Hello", ligatures split and no-break spaces become spaces. With `keep_cjk` (default)
       Chinese and Japanese text keeps its own characters as written: Han characters, CJK
       punctuation and full-width punctuation ("，！？：；（）") are left out of the
       normalisation, so "你好，世界！" stays "你好，世界！" instead of NFKC's "你好,世界!", and a
       Chinese model learns (and writes) the punctuation of its text. The price: a full-width
       comma typed in English text stays full-width too.
    3. `lowercase`: full Unicode lowercasing (ICU, like `str.lower`: "ÀΣ" -> "àς", "ß" stays
       "ß"). This is lowercasing, not case folding (`tensorflow_text.case_fold_utf8` would
       also turn "ß" into "ss" and apply NFKC); lowercasing changes fewer characters.
    4. `strip_punctuation`: removes every character of Unicode category P (punctuation), so
       Chinese "，。！？「」" go as well as ASCII ".,!?". Symbols (category S: "$", "+", emoji)
       stay. Removed characters are not replaced by a space: "don't" becomes "dont".
    5. `collapse_whitespace`: runs of tabs and spaces (any Unicode space separator) become one
       " ", and spaces at the end of a line are dropped. Newlines are **kept**: a play's
       `SPEAKER:` lines and verse layout are what character models learn from. Spaces at the
       very start or end of the text are kept (a prompt "ROMEO: " keeps its trailing space).
    6. `collapse_blank_lines`: optionally, runs of blank lines become a single blank line.

    After steps 3 and 4 the text is normalised again, because removing or changing characters
    can leave a sequence that is no longer in normal form; cleaning is meant to be idempotent:
    `cleaner(cleaner(s)) == cleaner(s)`.

    Args:
        normalization: one of "NFC", "NFKC", "NFD", "NFKD", or None for no normalisation.
        lowercase: lowercase the text (Unicode-aware).
        strip_punctuation: remove Unicode punctuation (category P).
        remove_control: remove control characters and unify line endings to "\\n".
        collapse_whitespace: collapse runs of spaces and tabs to one space, keeping newlines.
        collapse_blank_lines: collapse runs of blank lines to one blank line.
        keep_cjk: leave Han characters and CJK and full-width punctuation (`CJK_KEPT`) out of
            the normalisation.

    Example:

    >>> cleaner = TextCleaner(lowercase=True, strip_punctuation=True)
    >>> cleaner("Ｈｅｌｌｏ,\\t  World!\\r\\n你好，世界！")
    'hello world\\n你好世界'
    >>> cleaner(tf.constant(["A  B.", "C\\tD"])).numpy().tolist()
    [b'a b', b'c d']
    """

    def __init__(
        self,
        normalization="NFKC",
        lowercase=False,
        strip_punctuation=False,
        remove_control=True,
        collapse_whitespace=True,
        collapse_blank_lines=False,
        keep_cjk=True,
    ):
        if normalization is not None and normalization not in NORMALIZATIONS:
            raise ValueError(
                f"`normalization` must be one of {NORMALIZATIONS} or None. "
                f"Received: normalization={normalization!r}"
            )
        self.normalization = normalization
        self.lowercase = bool(lowercase)
        self.strip_punctuation = bool(strip_punctuation)
        self.remove_control = bool(remove_control)
        self.collapse_whitespace = bool(collapse_whitespace)
        self.collapse_blank_lines = bool(collapse_blank_lines)
        self.keep_cjk = bool(keep_cjk)

    def __call__(self, text):
        """Clean `text`: a Python `str` (returns `str`), a list of `str` (returns a list), or
        a tf string tensor of any shape (returns a tensor of the same shape)."""
        if isinstance(text, str):
            return self.clean_tensor(tf.constant(text)).numpy().decode("utf-8")
        if isinstance(text, (list, tuple)):
            cleaned = self.clean_tensor(tf.constant(list(text), dtype=tf.string)).numpy()
            return [item.decode("utf-8") for item in cleaned]
        if isinstance(text, (tf.Tensor, tf.RaggedTensor)):
            return self.clean_tensor(text)
        raise TypeError(
            "`text` must be a str, a list of str or a tf string tensor. "
            f"Received: text of type {type(text).__name__}"
        )

    def clean_tensor(self, strings):
        """Clean a tf string tensor (any shape, eager or traced); returns the same shape."""
        x = strings
        if self.remove_control:
            x = tf.strings.regex_replace(x, r"\r\n?", "\n")
            x = tf.strings.regex_replace(x, _CONTROL, "")
        x = self._normalize(x)
        if self.lowercase:
            x = self._lower(x)
        if self.strip_punctuation:
            x = tf.strings.regex_replace(x, r"\p{P}", "")
        if self.lowercase or self.strip_punctuation:
            x = self._normalize(x)
        if self.collapse_whitespace:
            x = tf.strings.regex_replace(x, _HORIZONTAL_SPACE, " ")
            x = tf.strings.regex_replace(x, r" \n", "\n")
        if self.collapse_blank_lines:
            x = tf.strings.regex_replace(x, r"\n[\t\p{Zs}]*(?:\n[\t\p{Zs}]*)+\n", "\n\n")
        return x

    def _normalize(self, x):
        if self.normalization is None:
            return x
        if not self.keep_cjk:
            return tf_text.normalize_utf8(x, self.normalization)
        # Cut the text into runs of kept characters and runs of the rest; normalise the rest.
        # The regular-expression split stops at a NUL: split at NULs first, join them back.
        parts = tf.strings.split(tf.reshape(x, [-1]), sep="\x00")
        pieces = tf_text.regex_split(parts.flat_values, CJK_KEPT, CJK_KEPT)
        piece = pieces.flat_values
        kept = tf.strings.regex_full_match(piece, CJK_KEPT)
        piece = tf.where(kept, piece, tf_text.normalize_utf8(piece, self.normalization))
        part = tf.strings.reduce_join(pieces.with_flat_values(piece), axis=-1)
        # A NUL after every part but the last of its text (a join separator cannot be a NUL).
        lengths = parts.row_lengths()
        last = tf.ragged.range(lengths).flat_values == tf.gather(lengths - 1, parts.value_rowids())
        part = tf.strings.join([part, tf.where(last, "", "\x00")])
        joined = tf.strings.reduce_join(parts.with_flat_values(part), axis=-1)
        return tf.reshape(joined, tf.shape(x))

    def _lower(self, x):
        if self.remove_control:
            return tf.strings.lower(x, encoding="utf-8")
        # The ICU lowercasing op stops at the first NUL; lowercase the pieces between NULs.
        pieces = tf.strings.split(x, sep="\x00")
        pieces = tf.ragged.map_flat_values(tf.strings.lower, pieces, encoding="utf-8")
        return tf.strings.reduce_join(pieces, axis=-1, separator="\x00")

    def get_config(self):
        return {
            "normalization": self.normalization,
            "lowercase": self.lowercase,
            "strip_punctuation": self.strip_punctuation,
            "remove_control": self.remove_control,
            "collapse_whitespace": self.collapse_whitespace,
            "collapse_blank_lines": self.collapse_blank_lines,
            "keep_cjk": self.keep_cjk,
        }

    @classmethod
    def from_config(cls, config):
        # A cleaner saved before `keep_cjk` existed normalised every character: keep doing so.
        return cls(**{"keep_cjk": False, **config})

    def __eq__(self, other):
        return isinstance(other, TextCleaner) and self.get_config() == other.get_config()

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"TextCleaner({arguments})"
