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
# What `keep_cjk` leaves as written, as inclusive code point ranges: Han characters (the
# unified ideographs, with the compatibility ideographs and Kangxi radicals that NFC and NFKC
# would rewrite), CJK symbols and punctuation (。、「」〈〉…), the punctuation of the Halfwidth
# and Fullwidth Forms block (，！？：；（）… but not full-width letters and digits, which NFKC
# still makes ASCII) and the vertical, compatibility and small forms. Every one is at or above
# U+2E80, so text below it has nothing to keep.
CJK_KEPT = (
    (0x2E80, 0x2FDF),  # CJK radicals supplement, Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE10, 0xFE1F),  # vertical forms
    (0xFE30, 0xFE6F),  # CJK compatibility forms, small form variants
    (0xFF01, 0xFF0F),  # full-width punctuation: ！＂＃＄％＆＇（）＊＋，－．／
    (0xFF1A, 0xFF20),  # ：；＜＝＞？＠
    (0xFF3B, 0xFF40),  # ［＼］＾＿｀
    (0xFF5B, 0xFF65),  # ｛｜｝～ and the half-width CJK punctuation
    (0x20000, 0x323AF),  # CJK unified ideographs extensions B to H, compatibility supplement
)
_FIRST_KEPT = chr(CJK_KEPT[0][0])


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
            return self._clean_texts([text])[0]
        if isinstance(text, (list, tuple)):
            return self._clean_texts(list(text))
        if isinstance(text, (tf.Tensor, tf.RaggedTensor)):
            return self.clean_tensor(text)
        raise TypeError(
            "`text` must be a str, a list of str or a tf string tensor. "
            f"Received: text of type {type(text).__name__}"
        )

    def _clean_texts(self, texts):
        # Text below U+2E80 has nothing `keep_cjk` keeps: the plain, shorter path cleans it the
        # same.
        strings = tf.constant(texts, dtype=tf.string)
        keep_cjk = self.keep_cjk and any(text and max(text) >= _FIRST_KEPT for text in texts)
        cleaned = self._clean(strings, keep_cjk)
        return [item.decode("utf-8") for item in cleaned.numpy()]

    def clean_tensor(self, strings):
        """Clean a tf string tensor (any shape, eager or traced); returns the same shape."""
        return self._clean(strings, self.keep_cjk)

    def _clean(self, strings, keep_cjk):
        x = strings
        if self.remove_control:
            x = tf.strings.regex_replace(x, r"\r\n?", "\n")
            x = tf.strings.regex_replace(x, _CONTROL, "")
        x = self._normalize(x, keep_cjk)
        if self.lowercase:
            x = self._lower(x)
        if self.strip_punctuation:
            x = tf.strings.regex_replace(x, r"\p{P}", "")
        if self.lowercase or self.strip_punctuation:
            x = self._normalize(x, keep_cjk)
        if self.collapse_whitespace:
            x = tf.strings.regex_replace(x, _HORIZONTAL_SPACE, " ")
            x = tf.strings.regex_replace(x, r" \n", "\n")
        if self.collapse_blank_lines:
            x = tf.strings.regex_replace(x, r"\n[\t\p{Zs}]*(?:\n[\t\p{Zs}]*)+\n", "\n\n")
        return x

    def _normalize(self, x, keep_cjk):
        if self.normalization is None:
            return x
        if not keep_cjk:
            return tf_text.normalize_utf8(x, self.normalization)
        # Cut the text into runs of kept characters and runs of the rest; normalise the rest.
        return _between_nuls(self._normalize_runs, x)

    def _normalize_runs(self, text):
        """1-D strings without NUL: normalise all but the runs of `CJK_KEPT` characters."""
        codes = tf.strings.unicode_decode(text, "UTF-8", errors="replace")  # (texts, None)
        code = codes.flat_values
        # Kept when the code point falls inside a range: after an odd number of boundaries.
        boundaries = tf.constant([edge for low, high in CJK_KEPT for edge in (low, high + 1)])
        kept = tf.searchsorted(boundaries, code, side="right") % 2 == 1
        text_of_code = codes.value_rowids()
        # A run starts at a text's first character and wherever `kept` changes.
        starts = tf.not_equal(text_of_code, tf.concat([[-1], text_of_code[:-1]], axis=0))
        starts |= tf.not_equal(kept, tf.concat([[False], kept[:-1]], axis=0))
        run_of_code = tf.cumsum(tf.cast(starts, tf.int64)) - 1
        runs = tf.RaggedTensor.from_value_rowids(code, run_of_code, validate=False)
        run = tf.strings.unicode_encode(runs, "UTF-8")  # (runs,)
        first = tf.where(starts)[:, 0]
        run = tf.where(tf.gather(kept, first), run, tf_text.normalize_utf8(run, self.normalization))
        runs_by_text = tf.RaggedTensor.from_value_rowids(
            run, tf.gather(text_of_code, first), codes.nrows(), validate=False
        )
        return tf.strings.reduce_join(runs_by_text, axis=-1)

    def _lower(self, x):
        if self.remove_control:
            return tf.strings.lower(x, encoding="utf-8")
        # The ICU lowercasing op stops at the first NUL: lowercase the pieces between NULs.
        return _between_nuls(lambda text: tf.strings.lower(text, encoding="utf-8"), x)

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


def _between_nuls(function, x):
    """`function` (1-D strings -> 1-D strings) applied to the pieces of `x` between its NULs,
    which are put back: for ops that stop at the first NUL. `x` may have any shape."""
    parts = tf.strings.split(tf.reshape(x, [-1]), sep="\x00")
    part = function(parts.flat_values)
    # A NUL after every part but the last of its text (a join separator cannot be a NUL: it
    # ends the op's C string).
    lengths = parts.row_lengths()
    last = tf.ragged.range(lengths).flat_values == tf.gather(lengths - 1, parts.value_rowids())
    part = tf.strings.join([part, tf.where(last, "", "\x00")])
    joined = tf.strings.reduce_join(parts.with_flat_values(part), axis=-1)
    return tf.reshape(joined, tf.shape(x))
