"""Tests for tlm.data.pipeline: next-token windows, batching, prepare and its cache."""

import dataclasses
import os
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tlm.data import pipeline
from tlm.data.cleaning import TextCleaner
from tlm.data.corpora import PTB_FILES, Corpus
from tlm.data.pipeline import LMData, make_lm_dataset, prepare

# Reference corpora: $TLM_DATA_DIR, else the `shared/data` folder beside the repository.
SHARED_DATA = Path(
    os.environ.get("TLM_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)


def _collect(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def _toy_corpus(lines=400):
    text = "".join(f"SPEAKER {i % 7}:\nTo be, or not to be, line {i}.\n\n" for i in range(lines))
    cut_1, cut_2 = int(len(text) * 0.8), int(len(text) * 0.9)
    return Corpus("toy", text[:cut_1], text[cut_1:cut_2], text[cut_2:], "80/10/10 by characters")


# --- make_lm_dataset -----------------------------------------------------------------------------


def test_targets_are_inputs_shifted_by_one():
    dataset = make_lm_dataset(np.arange(10), sequence_length=4, batch_size=2)
    (x, y), *rest = list(dataset)
    assert not rest
    np.testing.assert_array_equal(x, [[0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(y, [[1, 2, 3, 4], [5, 6, 7, 8]])
    assert x.dtype == tf.int32 and y.dtype == tf.int32


def test_default_stride_makes_every_token_a_target_once():
    ids = np.arange(1, 1001, dtype=np.int64)
    x, y = _collect(make_lm_dataset(ids, sequence_length=8, batch_size=5))
    num_windows = (1000 - 9) // 8 + 1
    assert x.shape == y.shape == (num_windows, 8)
    np.testing.assert_array_equal(y.ravel(), ids[1 : 1 + num_windows * 8])


def test_last_partial_batch_is_kept_by_default_and_dropped_on_request():
    ids = np.arange(10 * 4 + 1)  # exactly 10 windows of 4
    kept = [x.shape[0] for x, _ in make_lm_dataset(ids, 4, batch_size=3)]
    assert kept == [3, 3, 3, 1]
    dropped = make_lm_dataset(ids, 4, batch_size=3, drop_remainder=True)
    assert [x.shape[0] for x, _ in dropped] == [3, 3, 3]
    assert dropped.element_spec[0].shape.as_list() == [3, 4]  # static, for XLA and TPUs
    assert make_lm_dataset(ids, 4, 3).element_spec[0].shape.as_list() == [None, 4]


def test_stride_gives_overlapping_windows():
    x, y = _collect(make_lm_dataset(np.arange(12), sequence_length=4, batch_size=100, stride=2))
    np.testing.assert_array_equal(x[:, 0], [0, 2, 4, 6])
    np.testing.assert_array_equal(y[-1], [7, 8, 9, 10])


def test_shuffle_is_reproducible_per_seed_and_changes_each_epoch():
    ids = np.arange(64 * 8 + 1)
    first = make_lm_dataset(ids, 8, 4, shuffle=True, seed=3)
    epoch_1, _ = _collect(first)
    epoch_2, _ = _collect(first)
    again, _ = _collect(make_lm_dataset(ids, 8, 4, shuffle=True, seed=3))
    ordered, _ = _collect(make_lm_dataset(ids, 8, 4))
    np.testing.assert_array_equal(epoch_1, again)
    assert not np.array_equal(epoch_1, epoch_2)
    assert not np.array_equal(epoch_1, ordered)
    # Whole windows are shuffled: the same windows, in another order.
    np.testing.assert_array_equal(np.sort(epoch_1[:, 0]), ordered[:, 0])
    np.testing.assert_array_equal(epoch_1[:, 1:] - epoch_1[:, :1], ordered[:, 1:] - ordered[:, :1])


def test_unshuffled_dataset_keeps_order_on_every_pass():
    dataset = make_lm_dataset(np.arange(200), 4, 3)
    first, _ = _collect(dataset)
    second, _ = _collect(dataset)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first[:, 0], np.arange(0, 196, 4))


@pytest.mark.parametrize("name", ["sequence_length", "batch_size", "stride"])
@pytest.mark.parametrize("value", [0, -1, 2.5, True])
def test_sizes_below_one_or_not_integers_are_rejected(name, value):
    arguments = {"sequence_length": 4, "batch_size": 2, "stride": None, name: value}
    rule = "None or an integer" if name == "stride" else "an integer"
    message = f"`{name}` must be {rule} of at least 1. Received: {name}={value!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_lm_dataset(np.arange(100), **arguments)


def test_ids_shorter_than_one_window_are_rejected():
    with pytest.raises(ValueError, match=r"at least sequence_length \+ 1 .* Received: 8 ids"):
        make_lm_dataset(np.arange(8), sequence_length=8, batch_size=1)


def test_ids_must_be_one_dimensional_integers():
    with pytest.raises(ValueError, match=r"`ids` must be a 1-D array .* shape \(2, 50\)"):
        make_lm_dataset(np.zeros((2, 50), dtype=np.int32), 4, 2)
    with pytest.raises(ValueError, match=r"`ids` must be a 1-D array .* dtype float"):
        make_lm_dataset(np.zeros(50), 4, 2)


# --- prepare ---------------------------------------------------------------------------------


def test_prepare_batches_every_split_and_trains_the_tokenizer_on_train_only():
    corpus = _toy_corpus()
    data = prepare(corpus, "char", sequence_length=16, batch_size=8, seed=1)
    assert isinstance(data, LMData)
    assert data.corpus is corpus and data.sequence_length == 16 and data.batch_size == 8
    assert data.tokenizer.kind == "char"
    assert set(data.tokenizer.vocabulary) - {"[PAD]", "[UNK]"} == set(corpus.train)
    for split in ("train", "validation", "test"):
        ids = getattr(data, f"{split}_ids")
        assert ids.dtype == np.int32
        assert data.tokenizer.decode(ids) == getattr(corpus, split)
        assert data.characters_per_token[split] == pytest.approx(1.0)
    assert data.train.element_spec[0].shape.as_list() == [8, 16]
    x, y = next(iter(data.train))
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])


def test_prepare_never_shuffles_validation_or_test():
    data = prepare(_toy_corpus(), "char", sequence_length=16, batch_size=8, seed=1)
    for split in ("validation", "test"):
        x, y = _collect(getattr(data, split))
        ids = getattr(data, f"{split}_ids")
        count = (len(ids) - 1) // 16
        np.testing.assert_array_equal(x.ravel(), ids[: count * 16])
        np.testing.assert_array_equal(y.ravel(), ids[1 : count * 16 + 1])
    x_1, _ = _collect(data.train)
    x_2, _ = _collect(data.train)
    assert not np.array_equal(x_1, x_2)  # train is reshuffled every epoch


def test_prepare_accepts_a_trained_tokenizer_and_cleaning_arguments():
    from tlm.data.tokenizers import build_tokenizer

    corpus = _toy_corpus()
    lower = prepare(corpus, "char", 16, 8, lowercase=True)
    assert "S" not in lower.tokenizer.vocabulary and "s" in lower.tokenizer.vocabulary
    tokenizer = build_tokenizer("char", [corpus.train])
    data = prepare(corpus, tokenizer, 16, 8)
    assert data.tokenizer is tokenizer
    with pytest.raises(ValueError, match="apply only when `tokenizer` is a kind"):
        prepare(corpus, tokenizer, 16, 8, lowercase=True)


def test_prepare_rejects_bad_input_before_any_work(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the corpus must not be loaded")

    monkeypatch.setattr(pipeline, "load_corpus", fail)
    with pytest.raises(ValueError, match=r"`sequence_length` must be an integer of at least 1"):
        prepare("shakespeare", "char", sequence_length=0)
    with pytest.raises(ValueError, match=r"`batch_size` must be an integer of at least 1"):
        prepare("shakespeare", "char", batch_size=0)
    with pytest.raises(ValueError, match=r"`stride` must be None or an integer of at least 1"):
        prepare("shakespeare", "char", stride=0)
    with pytest.raises(ValueError, match=r"`tokenizer` must be one of .*'char'.* Received"):
        prepare("shakespeare", "morse")


def test_prepare_names_a_split_too_short_for_one_window():
    corpus = Corpus("short", "a long enough training text " * 20, "too short", "also short", "")
    with pytest.raises(ValueError, match=r"Split `validation` of corpus 'short' has 9 tokens"):
        prepare(corpus, "char", sequence_length=16, batch_size=2)


def test_prepare_needs_one_full_training_batch():
    corpus = Corpus("small", "x" * 200, "y" * 50, "z" * 50, "")
    with pytest.raises(
        ValueError,
        match=r"The train split is too small for one batch: it holds 12 windows .* "
        r"Received: 200 tokens, sequence_length=16, batch_size=32, stride=16$",
    ):
        prepare(corpus, "char", sequence_length=16, batch_size=32)


def test_prepare_caches_ids_and_tokenizer(tmp_path, monkeypatch):
    from tlm.data import tokenizers

    corpus = _toy_corpus()
    first = prepare(corpus, "char", 16, 8, cache_dir=tmp_path)
    entries = list(tmp_path.iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("lm-")
    assert {path.name for path in entries[0].iterdir()} == {
        "train.npy",
        "validation.npy",
        "test.npy",
        "tokenizer",
        "meta.json",
    }

    def fail(*args, **kwargs):
        raise AssertionError("a cached tokenizer must not be trained again")

    monkeypatch.setattr(tokenizers, "build_tokenizer", fail)
    second = prepare(corpus, "char", 16, 8, cache_dir=tmp_path)
    np.testing.assert_array_equal(second.train_ids, first.train_ids)
    np.testing.assert_array_equal(second.test_ids, first.test_ids)
    assert second.tokenizer.vocabulary == first.tokenizer.vocabulary
    assert second.characters_per_token == first.characters_per_token
    monkeypatch.undo()
    prepare(corpus, "char", 16, 8, cache_dir=tmp_path, lowercase=True)  # other settings
    assert len(list(tmp_path.iterdir())) == 2


def test_a_failed_cache_write_leaves_nothing_behind(tmp_path, monkeypatch):
    calls = []
    real_save = np.save

    def save_then_fail(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        prepare(_toy_corpus(), "char", 16, 8, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    data = prepare(_toy_corpus(), "char", 16, 8, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 1 and len(data.train_ids) > 0


def test_prepare_default_shakespeare_char():
    data = prepare(sequence_length=64, batch_size=32)
    assert data.corpus.name == "shakespeare"
    assert 60 < data.tokenizer.vocabulary_size < 100
    assert len(data.train_ids) > 4_000_000
    x, y = next(iter(data.validation))
    assert x.shape == (32, 64)
    assert data.tokenizer.decode(data.test_ids[:12]) == "First Witch:"


@pytest.mark.skipif(
    not (SHARED_DATA / "tinyshakespeare.txt").is_file(),
    reason=f"Tiny Shakespeare not found in {SHARED_DATA} (set TLM_DATA_DIR)",
)
def test_prepare_tiny_shakespeare_char_has_65_characters(monkeypatch):
    monkeypatch.setenv("TLM_DATA_DIR", str(SHARED_DATA))
    # Without collapsing runs of spaces the ids are exactly nanoGPT's characters.
    data = prepare("tiny_shakespeare", "char", 64, 32, collapse_whitespace=False)
    assert data.tokenizer.vocabulary_size == 65 + 2  # nanoGPT's 65, plus [PAD] and [UNK]
    assert len(data.train_ids) == 1_003_854
    assert data.tokenizer.decode(data.train_ids) == data.corpus.train
    np.testing.assert_array_equal(data.test_ids, data.validation_ids)


# --- tokenized corpora (Penn Treebank) ---------------------------------------------------------


def _tokenized_corpus():
    text = " the cat sat <unk> \n the dog ran \n" * 40
    return Corpus("toy", text, text, text, "", tokenized=True, unknown_token="<unk>")


def test_prepare_reads_a_tokenized_corpus_as_it_is():
    corpus = _tokenized_corpus()
    data = prepare(corpus, "word", 8, 4)
    tokenizer = data.tokenizer
    assert tokenizer.vocabulary == ["[PAD]", "[UNK]", "\n", "the", "cat", "dog", "ran", "sat"]
    assert (tokenizer.split, tokenizer.unknown_token) == ("whitespace", "<unk>")
    assert tokenizer.cleaner == TextCleaner(normalization=None, collapse_whitespace=False)
    assert data.train_ids[:9].tolist() == [3, 4, 7, 1, 2, 3, 5, 6, 2]
    assert data.words_per_token == {"train": 1.0, "validation": 1.0, "test": 1.0}
    # Cleaning arguments still apply; other kinds clean and split as usual.
    assert prepare(corpus, "word", 8, 4, lowercase=True).tokenizer.cleaner.lowercase
    char = prepare(corpus, "char", 8, 4)
    assert char.words_per_token["test"] == pytest.approx(
        (len(corpus.test.split()) + 80) / len(char.test_ids)
    )
    assert prepare(_toy_corpus(), "word", 8, 4).words_per_token == {}


def test_prepare_cache_key_holds_the_tokenized_settings(tmp_path):
    tokenized = _tokenized_corpus()
    plain = dataclasses.replace(tokenized, tokenized=False, unknown_token=None)
    prepare(tokenized, "word", 8, 4, cache_dir=tmp_path)
    words = prepare(plain, "word", 8, 4, cache_dir=tmp_path)
    assert "<" in words.tokenizer.vocabulary  # the "words" split cuts "<unk>" into three
    assert len(list(tmp_path.iterdir())) == 2
    cached = prepare(tokenized, "word", 8, 4, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    assert (cached.tokenizer.split, cached.tokenizer.unknown_token) == ("whitespace", "<unk>")
    assert cached.words_per_token["validation"] == 1.0


@pytest.mark.skipif(
    not all((SHARED_DATA / "ptb" / name).is_file() for name in PTB_FILES.values()),
    reason=f"Penn Treebank not found in {SHARED_DATA / 'ptb'} (set TLM_DATA_DIR)",
)
def test_prepare_ptb_word_has_zaremba_token_counts_and_vocabulary(monkeypatch):
    monkeypatch.setenv("TLM_DATA_DIR", str(SHARED_DATA))
    data = prepare("ptb", "word", sequence_length=20, batch_size=20)
    # Every line's "\n" is the end-of-sentence token: words + lines of each file.
    sizes = [len(data.train_ids), len(data.validation_ids), len(data.test_ids)]
    assert sizes == [929_589, 73_760, 82_430]
    tokenizer = data.tokenizer
    # PTB's 10,000 words (9,998 + "<unk>" + the end of sentence) and the unused "[PAD]".
    assert tokenizer.vocabulary_size == 10_001
    assert tokenizer.vocabulary[:2] == ["[PAD]", "[UNK]"] and "\n" in tokenizer.vocabulary
    assert "<unk>" not in tokenizer.vocabulary
    unknown = np.count_nonzero(data.train_ids == tokenizer.unk_id)
    assert unknown == data.corpus.train.split().count("<unk>") == 45_020
    assert tokenizer.pad_id not in data.train_ids
    lines = data.corpus.test.split("\n")[:-1]
    written = "".join(" ".join(line.split()) + "\n" for line in lines)
    assert tokenizer.decode(data.test_ids) == written
    assert data.words_per_token == {"train": 1.0, "validation": 1.0, "test": 1.0}
