"""Solutions to the exercises of lesson 08, a Chinese language model.

The lesson is 08_chinese_language_model.ipynb.

The exercises are asked in Chinese in the lesson; they are restated in English here. Each
`exercise_N()` computes its answer on a slice of the Tang poems (`load_corpus("tang_poems")`)
and asserts what the exercise asks for. Run them all:

    python notebooks/solutions/08_chinese_language_model.py
"""

import collections
import os
import re

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np

from tlm.data import build_tokenizer, load_corpus

PAUSES = "，。！？；"
VERSE = re.compile(f"[^{PAUSES}\\n]+(?=[{PAUSES}])")  # a verse: characters up to a pause mark
POEMS = 300  # test poems the metre is counted on
SUBWORD_TEXT = 60_000  # training characters the subword tokenizer learns from


def verse_lengths(text):
    """Characters per verse, as the lesson counts them.

    A last verse that no pause mark ends is not counted."""
    return [len(verse) for verse in VERSE.findall(text)]


def characters_to_keep(text, coverage=0.9995):
    """How many of the most frequent characters make up `coverage` of `text` (newlines apart):
    what SentencePiece keeps with `character_coverage=coverage`."""
    counts = collections.Counter(text.replace("\n", ""))
    total, covered = sum(counts.values()), 0
    for kept, (_, count) in enumerate(counts.most_common(), start=1):
        covered += count
        # Compared in single precision, as SentencePiece compares them.
        if np.float32(covered / total) >= np.float32(coverage):
            return kept
    return len(counts)


def exercise_1():
    """The metre of real poems.

    Count, by hand, the characters of each verse of "春眠不覺曉，處處聞啼鳥。" (without the
    regular expression): check the lesson's `verse_lengths` gives the same. Then take the first
    300 test poems, keep their verse lines (not the title and author), and compute the share of
    verses of 5 or of 7 characters. Check that 5 and 7 are the two most common lengths and that
    together they make up most verses: the yardstick the lesson holds generated poems against.
    """
    line = "春眠不覺曉，處處聞啼鳥。"
    by_hand, current = [], 0
    for character in line:
        if character in PAUSES:
            by_hand.append(current)
            current = 0
        else:
            current += 1
    assert by_hand == verse_lengths(line) == [5, 5]
    assert verse_lengths("床前明月光，疑是地上") == [5]  # the unfinished verse is not counted

    poems = load_corpus("tang_poems").test.strip().split("\n\n")[:POEMS]
    verses = ["\n".join(poem.split("\n")[2:]) for poem in poems]  # no title, no author
    lengths = collections.Counter(n for text in verses for n in verse_lengths(text))
    total = sum(lengths.values())
    share = (lengths[5] + lengths[7]) / total
    assert {n for n, _ in lengths.most_common(2)} == {5, 7}, lengths.most_common(3)
    assert share > 0.5, share
    print(
        f"{total:,} verses in {len(poems)} poems: 5 characters {lengths[5] / total:.0%}, "
        f"7 characters {lengths[7] / total:.0%}, 5 or 7 {share:.0%}"
    )


def exercise_2():
    """Characters per token on Chinese.

    Learn a BPE (`build_tokenizer("bpe", ...)`) on the first 60,000 characters of the training
    poems. Work out the least vocabulary SentencePiece accepts: the characters that cover
    99.95 % of the text, plus 259 fixed pieces ([PAD], [UNK], the newline, 256 bytes); check
    that one piece less is refused, then train with 1,000 pieces more. On the first 10,000
    characters of the validation poems, compute the characters per token of the character
    tokenizer and of the BPE: the first is exactly 1, the second above 1 but well below 2
    (Tang verse is nearly one word per character), and the BPE gives the text back exactly.
    """
    corpus = load_corpus("tang_poems")
    text, validation = corpus.train[:SUBWORD_TEXT], corpus.validation[:10_000]

    kept = characters_to_keep(text)
    least = kept + 2 + 1 + 256  # [PAD], [UNK], the newline and the 256 byte pieces
    try:
        build_tokenizer("bpe", [text], vocabulary_size=least - 1)
    except ValueError as error:
        assert str(least) in str(error), (least, str(error))
    else:
        raise AssertionError(f"a vocabulary of {least - 1} was accepted")
    bpe = build_tokenizer("bpe", [text], vocabulary_size=least + 1000)

    char = build_tokenizer("char", [text])  # unseen characters are one [UNK] token each
    per_token = {}
    for name, tokenizer in (("char", char), ("bpe", bpe)):
        cleaned = tokenizer.cleaner(validation)
        ids = tokenizer.encode_clean(cleaned)
        per_token[name] = len(cleaned) / len(ids)
    assert per_token["char"] == 1.0
    assert 1.0 < per_token["bpe"] < 1.5, per_token
    assert bpe.decode(bpe.encode(validation)) == bpe.cleaner(validation)
    print(
        f"least vocabulary {least:,} ({kept:,} characters + 259); characters per token: "
        f"char {per_token['char']:.3f}, bpe {per_token['bpe']:.3f}"
    )


if __name__ == "__main__":
    for exercise in (exercise_1, exercise_2):
        exercise()
