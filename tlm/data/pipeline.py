"""Batches for language modelling: one long id stream -> tf.data of (x, y) windows.

A language model learns P(token_t | token_1..token_{t-1}). `make_lm_dataset` cuts windows of
`sequence_length + 1` ids from the stream; `x` is a window without its last id and `y` the same
window without its first, so `y[:, t]` is the token that follows `x[:, :t + 1]`. `prepare` does
the whole trip: corpus -> tokenizer (trained on the train split only) -> ids -> datasets.

Taught in notebooks/01_text_preprocessing.ipynb (and used by 03 and 04 to train).
"""

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from tlm.checks import check_fits_one_batch, check_optional_positive_int, check_positive_int
from tlm.data import tokenizers
from tlm.data.corpora import SPLITS, Corpus, load_corpus

# Bump when the cache layout or the meaning of cached ids changes.
_CACHE_VERSION = 1
# The text of a tokenized corpus is read as it is: every `TextCleaner` step off but the removal of
# control characters, which only unifies line ends (Penn Treebank has no others) and keeps a NUL
# byte from cutting a text short (tensorflow_text's regex_split stops at one).
_NO_CLEANING = {
    "normalization": None,
    "lowercase": False,
    "strip_punctuation": False,
    "remove_control": True,
    "collapse_whitespace": False,
    "collapse_blank_lines": False,
}


def make_lm_dataset(
    ids,
    sequence_length,
    batch_size,
    *,
    shuffle=False,
    seed=None,
    stride=None,
    drop_remainder=False,
):
    """Cuts one id stream into a tf.data.Dataset of next-token (x, y) batches.

    Window `i` is `ids[i * stride : i * stride + sequence_length + 1]`; `x` drops its last id and
    `y` its first, both int32 of shape `(batch_size, sequence_length)`. With the default stride
    (`sequence_length`) windows do not overlap and every id after the first is a target exactly
    once, except the tail of fewer than `stride` ids that cannot fill a window. A smaller stride
    gives overlapping windows (more, correlated training examples).

    Windows are never copied up front: the dataset holds the window starts, batches them, and
    gathers each batch from the id stream in one vectorised op, so memory stays at one copy of
    `ids` whatever the stride, and batches arrive at millions of tokens per second.

    The last batch may be smaller than `batch_size` (kept by default, so evaluation sees every
    window); `drop_remainder=True` drops it, for training with static shapes. `shuffle=True`
    shuffles whole windows, differently each epoch, reproducibly for a given `seed`; leave it
    False for validation and test. Batches are prefetched (`tf.data.AUTOTUNE`).

    Args:
        ids: a 1-D array of integer token ids (the tokenized corpus split).
        sequence_length: tokens per example (the model's context), >= 1.
        batch_size: examples per batch, >= 1.
        shuffle: shuffle the windows each epoch.
        seed: seed for the shuffle (None: a different order every run).
        stride: ids between the starts of consecutive windows, >= 1; default `sequence_length`.
        drop_remainder: drop a last batch smaller than `batch_size`.

    Returns:
        A `tf.data.Dataset` of `(x, y)`, int32, each `(batch_size, sequence_length)`.

    Example:

    >>> dataset = make_lm_dataset(np.arange(10), sequence_length=4, batch_size=2)
    >>> for x, y in dataset:
    ...     print(x.numpy().tolist(), y.numpy().tolist())
    [[0, 1, 2, 3], [4, 5, 6, 7]] [[1, 2, 3, 4], [5, 6, 7, 8]]
    """
    check_positive_int("sequence_length", sequence_length)
    check_positive_int("batch_size", batch_size)
    check_optional_positive_int("stride", stride)
    ids = np.asarray(ids)
    if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
        raise ValueError(
            "`ids` must be a 1-D array of integer token ids. "
            f"Received: ids with shape {ids.shape} and dtype {ids.dtype}"
        )
    if len(ids) < sequence_length + 1:
        raise ValueError(
            "`ids` must hold at least sequence_length + 1 tokens to make one (x, y) window. "
            f"Received: {len(ids)} ids, sequence_length={sequence_length}"
        )
    stride = sequence_length if stride is None else int(stride)
    num_windows = (len(ids) - sequence_length - 1) // stride + 1
    starts = np.arange(num_windows, dtype=np.int32) * stride  # ids are < 2**31 long
    token_ids = tf.constant(ids.astype(np.int32, copy=False))
    offsets = tf.range(sequence_length + 1, dtype=tf.int32)

    def to_inputs_and_targets(batch_starts):
        # (batch_size, sequence_length + 1)
        windows = tf.gather(token_ids, batch_starts[:, tf.newaxis] + offsets)
        return windows[:, :-1], windows[:, 1:]

    dataset = tf.data.Dataset.from_tensor_slices(starts)
    if shuffle:
        dataset = dataset.shuffle(num_windows, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(to_inputs_and_targets, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass
class LMData:
    """Everything a language-model run needs from the data side (what `prepare` returns).

    Args:
        train: shuffled batches, last partial batch dropped (static shapes).
        validation: batches in order, non-overlapping windows, partial last batch kept.
        test: like validation.
        tokenizer: the `Tokenizer`, trained on the train split only.
        corpus: the `Corpus` the ids come from.
        sequence_length: tokens per example.
        batch_size: examples per batch.
        train_ids: the tokenized train split, int32.
        validation_ids: the tokenized validation split, int32.
        test_ids: the tokenized test split, int32.
        characters_per_token: per split, characters of cleaned text per token, to turn a
            loss per token into bits per character.
        words_per_token: per split of a tokenized corpus (`Corpus.tokenized`), its words per
            token, to turn a loss per token into bits per word; empty for other corpora. The
            words are the corpus's own tokens, the end of each sentence included, as Penn
            Treebank perplexities count them (so 1.0 for its word tokenizer).
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    tokenizer: object
    corpus: Corpus
    sequence_length: int
    batch_size: int
    train_ids: np.ndarray
    validation_ids: np.ndarray
    test_ids: np.ndarray
    characters_per_token: dict = dataclasses.field(default_factory=dict)
    words_per_token: dict = dataclasses.field(default_factory=dict)


def prepare(
    corpus="shakespeare",
    tokenizer="char",
    sequence_length=64,
    batch_size=32,
    *,
    vocabulary_size=None,
    stride=None,
    shuffle=True,
    seed=0,
    cache_dir=None,
    **cleaning,
):
    """Loads a corpus, trains a tokenizer on its train split, and batches every split.

    `train` is shuffled (with `seed`), cut at `stride`, and drops its last partial batch so
    every step has the same static shape. `validation` and `test` are never shuffled, always
    cut into non-overlapping windows (each token a target once) and keep their last partial
    batch, so an evaluation counts every token.

    A corpus that is already tokenized (`Corpus.tokenized`, e.g. "ptb") is read as it is by
    the "word" kind: its tokens are split on whitespace only, each "\\n" is a token (the end of
    a sentence), the corpus's `unknown_token` encodes to "[UNK]", no cleaning step runs but the
    removal of control characters, and every token of the train split is kept unless
    `vocabulary_size` says otherwise; arguments given here still override these settings.

    With `cache_dir`, the tokenized ids (`.npy`, int32) and the trained tokenizer are stored in
    `cache_dir/lm-<key>/`, keyed by a hash of the corpus text and the tokenizer settings, and
    reused by later calls with the same key. The entry is written in a temporary folder and
    renamed into place, so a failure never leaves a half-written entry.

    Args:
        corpus: a `Corpus`, a corpus name or a path (see `load_corpus`).
        tokenizer: a tokenizer kind (see `tlm.data.tokenizers.TOKENIZER_KINDS`) or a trained
            `Tokenizer`, used as it is.
        sequence_length: tokens per example, >= 1.
        batch_size: examples per batch, >= 1.
        vocabulary_size: largest vocabulary when `tokenizer` is a kind (default: the kind's).
        stride: ids between training windows (default `sequence_length`: no overlap).
        shuffle: shuffle the training windows each epoch.
        seed: seed of the training shuffle.
        cache_dir: folder for cached ids and tokenizers; None caches nothing.
        **cleaning: `TextCleaner` arguments (e.g. `lowercase=True`) when `tokenizer` is a kind,
            and for the word kind its `split` and `unknown_token` (see `build_tokenizer`).

    Returns:
        An `LMData`.

    Example:

    >>> data = prepare("shakespeare", "char", sequence_length=64, batch_size=32)
    >>> x, y = next(iter(data.train))
    >>> x.shape, y.dtype.name
    (TensorShape([32, 64]), 'int32')
    """
    _check_prepare_arguments(
        tokenizer, sequence_length, batch_size, vocabulary_size, stride, cache_dir, cleaning
    )
    build = isinstance(tokenizer, str)
    if not isinstance(corpus, Corpus):
        corpus = load_corpus(corpus)

    if build:
        # A tokenized corpus is read as it is; the settings join the cache key with `cleaning`.
        if corpus.tokenized and tokenizer == "word":
            word_options = {"split": "whitespace", "unknown_token": corpus.unknown_token}
            cleaning = {**_NO_CLEANING, **word_options, **cleaning}
        settings = {"kind": tokenizer, "vocabulary_size": vocabulary_size, "cleaning": cleaning}
    else:
        settings = {"config": tokenizer.get_config(), "vocabulary": list(tokenizer.vocabulary)}
    entry = _cache_entry(cache_dir, corpus, settings) if cache_dir is not None else None
    if entry is not None and (entry / "meta.json").is_file():
        ids, characters_per_token = _read_entry(entry)
        if build:
            tokenizer = tokenizers.load_tokenizer(entry / "tokenizer")
    else:
        if build:
            tokenizer = tokenizers.build_tokenizer(
                tokenizer, [corpus.train], vocabulary_size=vocabulary_size, **cleaning
            )
        ids, characters_per_token = _tokenize(tokenizer, corpus)
        if entry is not None:
            _write_entry(entry, ids, characters_per_token, tokenizer if build else None)

    for split in SPLITS:
        if len(ids[split]) < sequence_length + 1:
            raise ValueError(
                f"Split `{split}` of corpus {corpus.name!r} has {len(ids[split])} tokens, fewer "
                f"than sequence_length + 1 = {sequence_length + 1}. Use a shorter "
                f"sequence_length or a longer corpus. Received: sequence_length={sequence_length}"
            )
    train_stride = sequence_length if stride is None else stride
    num_windows = (len(ids["train"]) - sequence_length - 1) // train_stride + 1
    check_fits_one_batch(
        "train", len(ids["train"]), num_windows, sequence_length, batch_size, stride=stride
    )

    def batches(split, **options):
        return make_lm_dataset(ids[split], sequence_length, batch_size, **options)

    return LMData(
        train=batches("train", shuffle=shuffle, seed=seed, stride=stride, drop_remainder=True),
        validation=batches("validation"),
        test=batches("test"),
        tokenizer=tokenizer,
        corpus=corpus,
        sequence_length=sequence_length,
        batch_size=batch_size,
        train_ids=ids["train"],
        validation_ids=ids["validation"],
        test_ids=ids["test"],
        characters_per_token=characters_per_token,
        words_per_token=_words_per_token(corpus, ids),
    )


def _tokenize(tokenizer, corpus):
    ids, characters_per_token, done = {}, {}, {}
    for split in SPLITS:
        text = getattr(corpus, split)
        if text in done:  # tiny_shakespeare: test is validation
            same = done[text]
            ids[split], characters_per_token[split] = ids[same], characters_per_token[same]
            continue
        # What `tokenizer.encode` does, cleaning once for both the ids and the character count.
        cleaned = tokenizer.cleaner(text)
        ids[split] = np.asarray(tokenizer.encode_clean(cleaned), dtype=np.int32)
        characters_per_token[split] = len(cleaned) / max(len(ids[split]), 1)
        done[text] = split
    return ids, characters_per_token


def _words_per_token(corpus, ids):
    if not corpus.tokenized:
        return {}
    words = {}
    for split in SPLITS:
        text = getattr(corpus, split)
        # The tokens of the "whitespace" split: runs of non-space characters, and each "\n".
        words[split] = (len(text.split()) + text.count("\n")) / max(len(ids[split]), 1)
    return words


def _check_prepare_arguments(  # noqa: PLR0913
    tokenizer, sequence_length, batch_size, vocabulary_size, stride, cache_dir, cleaning
):
    check_positive_int("sequence_length", sequence_length)
    check_positive_int("batch_size", batch_size)
    check_optional_positive_int("stride", stride)
    build = isinstance(tokenizer, str)
    if build and tokenizer not in tokenizers.TOKENIZER_KINDS:
        raise ValueError(
            f"`tokenizer` must be one of {tokenizers.TOKENIZER_KINDS} or a Tokenizer. "
            f"Received: tokenizer={tokenizer!r}"
        )
    if not build and (cleaning or vocabulary_size is not None):
        raise ValueError(
            "`vocabulary_size` and cleaning arguments apply only when `tokenizer` is a kind; a "
            f"trained Tokenizer brings its own. Received: vocabulary_size={vocabulary_size!r}, "
            f"cleaning={cleaning!r}"
        )
    if cache_dir is not None and os.path.exists(cache_dir) and not os.path.isdir(cache_dir):
        raise ValueError(
            "`cache_dir` must be a folder (new or existing), but a file of that name exists. "
            f"Received: cache_dir={os.fspath(cache_dir)!r}"
        )


def _cache_entry(cache_dir, corpus, settings):
    digest = hashlib.sha256()
    digest.update(json.dumps([_CACHE_VERSION, settings], sort_keys=True, default=str).encode())
    for split in SPLITS:
        text = getattr(corpus, split).encode("utf-8")
        digest.update(len(text).to_bytes(8, "little"))
        digest.update(text)
    return Path(cache_dir) / f"lm-{digest.hexdigest()[:20]}"


def _read_entry(entry):
    meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
    ids = {split: np.load(entry / f"{split}.npy", allow_pickle=False) for split in SPLITS}
    return ids, meta["characters_per_token"]


def _write_entry(entry, ids, characters_per_token, tokenizer):
    """Writes a cache entry in a temporary folder, then renames it into place in one step."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
    try:
        for split in SPLITS:
            np.save(temporary / f"{split}.npy", ids[split].astype(np.int32), allow_pickle=False)
        if tokenizer is not None:
            tokenizer.save(temporary / "tokenizer")
        meta = {"version": _CACHE_VERSION, "characters_per_token": characters_per_token}
        # meta.json last: an entry that has it is complete.
        (temporary / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        try:
            os.replace(temporary, entry)
        except OSError:
            if not (entry / "meta.json").is_file():  # not another writer's complete entry
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
