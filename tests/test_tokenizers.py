"""Tests for tlm.data.tokenizers: every kind, save/load, the TF path and bad input."""

import functools
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.data.cleaning import TextCleaner
from tlm.data.tokenizers import (
    TOKENIZER_KINDS,
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
)

ENGLISH = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n"
)
CHINESE = "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少？\n"
TEXT = (ENGLISH + CHINESE) * 3


@pytest.fixture(scope="module")
def char_tokenizer():
    return build_tokenizer("char", TEXT)


def test_kinds():
    assert TOKENIZER_KINDS == ("char", "word", "wordpiece", "sentencepiece", "bpe")


def test_char_vocabulary_is_reserved_then_sorted_code_points(char_tokenizer):
    vocabulary = char_tokenizer.vocabulary
    assert vocabulary[:2] == ["[PAD]", "[UNK]"]
    assert vocabulary[2:] == sorted(set(TextCleaner()(TEXT)))
    assert char_tokenizer.vocabulary_size == len(vocabulary)
    assert (char_tokenizer.pad_id, char_tokenizer.unk_id) == (0, 1)
    assert char_tokenizer.kind == "char"
    assert isinstance(char_tokenizer, Tokenizer)


def test_char_is_code_points_not_bytes(char_tokenizer):
    ids = char_tokenizer.encode("春眠")
    assert ids.dtype == np.int32 and ids.shape == (2,)
    assert [char_tokenizer.id_to_token(i) for i in ids] == ["春", "眠"]
    assert char_tokenizer.token_to_id("春") == ids[0]


def test_char_round_trip_and_unknown_characters(char_tokenizer):
    text = "Before we proceed,\n花落知多少"
    assert char_tokenizer.decode(char_tokenizer.encode(text)) == text
    ids = char_tokenizer.encode("Zebra 🦓")
    assert ids[0] == char_tokenizer.unk_id and ids[-1] == char_tokenizer.unk_id
    assert char_tokenizer.decode(ids).endswith(" [UNK]")


def test_char_encode_cleans_first():
    tokenizer = build_tokenizer("char", "abc", lowercase=True)
    assert tokenizer.encode("ＡＢＣ").tolist() == tokenizer.encode("abc").tolist()
    assert tokenizer.cleaner.lowercase


def test_char_vocabulary_size_keeps_most_frequent():
    tokenizer = build_tokenizer("char", "aaaa bbb cc d", vocabulary_size=5)
    assert tokenizer.vocabulary == ["[PAD]", "[UNK]", " ", "a", "b"]
    assert tokenizer.decode(tokenizer.encode("cab")) == "[UNK]ab"


def test_decode_skips_padding_and_accepts_tensors(char_tokenizer):
    ids = char_tokenizer.encode("hear me")
    padded = np.concatenate([ids, [0, 0, 0]])
    assert char_tokenizer.decode(padded) == "hear me"
    assert char_tokenizer.decode(tf.constant(padded)) == "hear me"
    assert char_tokenizer.decode([]) == ""


def test_build_from_iterable_of_texts():
    tokenizer = build_tokenizer("char", (text for text in ["ab", "", "cd"]))
    assert tokenizer.vocabulary[2:] == ["a", "b", "c", "d"]


@settings(max_examples=30, deadline=None)
@given(text=st.text(min_size=1, max_size=60))
def test_char_round_trip_property(text):
    cleaned = TextCleaner()(text)
    if not cleaned:
        return
    tokenizer = build_tokenizer("char", text)
    assert tokenizer.decode(tokenizer.encode(text)) == cleaned
    assert len(tokenizer.encode(text)) == len(cleaned)


def test_char_tf_encode_matches_encode_in_tf_data(char_tokenizer):
    texts = ["Speak, speak.", "夜来风雨声", "", "unknown: Ω"]
    ragged = char_tokenizer.tf_encode(tf.constant(texts))
    assert isinstance(ragged, tf.RaggedTensor)
    for row, text in zip(ragged.to_list(), texts, strict=True):
        assert row == char_tokenizer.encode(text).tolist()
    dataset = tf.data.Dataset.from_tensor_slices(texts).map(char_tokenizer.tf_encode)
    for ids, text in zip(dataset.as_numpy_iterator(), texts, strict=True):
        assert ids.dtype == np.int32
        assert ids.tolist() == char_tokenizer.encode(text).tolist()


def test_as_layer(char_tokenizer):
    layer = char_tokenizer.as_layer()
    ids = layer(tf.constant(["Speak", "声"]))
    assert ids.to_list() == [
        char_tokenizer.encode("Speak").tolist(),
        [char_tokenizer.token_to_id("声")],
    ]


def test_char_save_and_load(tmp_path, char_tokenizer):
    char_tokenizer.save(tmp_path / "tok")
    files = sorted(p.name for p in (tmp_path / "tok").iterdir())
    assert files == ["tokenizer.json", "vocabulary.json"]
    config = json.loads((tmp_path / "tok" / "tokenizer.json").read_text())
    assert config["kind"] == "char"
    loaded = load_tokenizer(tmp_path / "tok")
    assert isinstance(loaded, CharTokenizer)
    assert loaded.vocabulary == char_tokenizer.vocabulary
    assert loaded.cleaner == char_tokenizer.cleaner
    assert loaded.encode(TEXT).tolist() == char_tokenizer.encode(TEXT).tolist()


# -- bad input -------------------------------------------------------------------------------
def test_unknown_kind_lists_valid_ones():
    with pytest.raises(ValueError, match=r"`kind` must be one of 'char', 'word', .*kind='bytes'$"):
        build_tokenizer("bytes", "abc")


@pytest.mark.parametrize("size", [0, 1, 2, -5, 2.5])
def test_vocabulary_size_too_small_for_reserved_tokens(size):
    with pytest.raises(ValueError, match=r"`vocabulary_size` must be an integer of at least 3"):
        build_tokenizer("char", "abc", vocabulary_size=size)


@pytest.mark.parametrize("texts", ["", [], ["", ""]])
def test_empty_texts(texts):
    with pytest.raises(ValueError, match="`texts` must contain some text"):
        build_tokenizer("char", texts)


def test_bad_cleaning_argument():
    with pytest.raises(TypeError, match="lowercas"):
        build_tokenizer("char", "abc", lowercas=True)


def test_load_from_folder_that_is_not_a_tokenizer(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_tokenizer(tmp_path / "missing")
    with pytest.raises(ValueError, match="`directory` is not a saved tokenizer"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"something": "else"}')
    with pytest.raises(ValueError, match="`directory` is not a saved tokenizer"):
        load_tokenizer(tmp_path)


def test_decode_rejects_ids_out_of_range(char_tokenizer):
    with pytest.raises(ValueError, match=r"`ids` must be in \[0, \d+\)"):
        char_tokenizer.decode([2, 10_000])
    with pytest.raises(ValueError, match="`token` is not in the vocabulary"):
        char_tokenizer.token_to_id("not a token")


@pytest.mark.parametrize(
    ("kind", "options"),
    [("char", {"split": "whitespace"}), ("bpe", {"unknown_token": "<unk>"})],
)
def test_word_options_are_refused_for_other_kinds(kind, options):
    ((name, value),) = options.items()
    message = f"`{name}` applies only to kind='word'. Received: kind={kind!r}, {name}={value!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build_tokenizer(kind, "abc", **options)


def test_bad_word_split_and_unknown_token():
    with pytest.raises(ValueError, match=r"^`split` must be one of 'words', 'whitespace'\. "):
        build_tokenizer("word", "abc", split="spaces")
    for split, token in [("whitespace", "<u nk>"), ("whitespace", "\n"), ("words", "<unk>")]:
        message = (
            "`unknown_token` must be None or a string without whitespace that "
            f"split={split!r} reads as one token. Received: unknown_token={token!r}"
        )
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            build_tokenizer("word", "abc", split=split, unknown_token=token)
    with pytest.raises(ValueError, match=r"must not be a token of the vocabulary: .*'<unk>'$"):
        WordTokenizer(["[PAD]", "[UNK]", "<unk>"], split="whitespace", unknown_token="<unk>")


def test_load_refuses_a_bad_split(tmp_path, tokenizers):
    tokenizers["word"].save(tmp_path)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "split": "spaces"}))
    with pytest.raises(ValueError, match=r"holds a 'word' tokenizer that cannot be loaded .*split"):
        load_tokenizer(tmp_path)


# -- every kind ------------------------------------------------------------------------------
SMALL_SIZES = {"char": None, "word": 60, "wordpiece": 80, "sentencepiece": 400, "bpe": 400}


@pytest.fixture(scope="module")
def tokenizers():
    return {kind: build_tokenizer(kind, TEXT, SMALL_SIZES[kind]) for kind in TOKENIZER_KINDS}


@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
def test_every_kind_shares_the_interface(tokenizers, kind):
    tokenizer = tokenizers[kind]
    assert tokenizer.kind == kind
    assert tokenizer.vocabulary[:2] == ["[PAD]", "[UNK]"]
    assert tokenizer.token_to_id("[UNK]") == tokenizer.unk_id == 1
    assert tokenizer.id_to_token(0) == "[PAD]"
    if SMALL_SIZES[kind]:
        assert tokenizer.vocabulary_size <= SMALL_SIZES[kind]
    ids = tokenizer.encode(ENGLISH)
    assert ids.dtype == np.int32 and ids.ndim == 1 and len(ids) > 0
    assert ids.min() >= 0 and ids.max() < tokenizer.vocabulary_size


@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
def test_every_kind_tf_encode_equals_encode(tokenizers, kind):
    tokenizer = tokenizers[kind]
    texts = [ENGLISH, CHINESE, "", "Zebra  🦓 unseen\twords!\n"]
    ragged = tokenizer.tf_encode(tf.constant(texts))
    for row, text in zip(ragged.to_list(), texts, strict=True):
        assert row == tokenizer.encode(text).tolist()
    scalar = tokenizer.tf_encode(tf.constant(texts[0]))
    assert scalar.numpy().tolist() == tokenizer.encode(texts[0]).tolist()
    dataset = tf.data.Dataset.from_tensor_slices(texts).map(tokenizer.tf_encode)
    for ids, text in zip(dataset.as_numpy_iterator(), texts, strict=True):
        assert ids.tolist() == tokenizer.encode(text).tolist()


@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
def test_every_kind_save_and_load(tmp_path, tokenizers, kind):
    tokenizer = tokenizers[kind]
    tokenizer.save(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert type(loaded) is type(tokenizer)
    assert loaded.vocabulary == tokenizer.vocabulary
    assert loaded.cleaner == tokenizer.cleaner
    assert loaded.encode(TEXT).tolist() == tokenizer.encode(TEXT).tolist()
    assert not list(tmp_path.glob("*.tmp"))


def test_word_splits_punctuation_cjk_and_newlines(tokenizers):
    tokenizer = tokenizers["word"]
    tokens = [tokenizer.id_to_token(i) for i in tokenizer.encode("Speak, speak.\n花落")]
    assert tokens == ["Speak", ",", "speak", ".", "\n", "花", "落"]


def test_word_unknown_words_are_lost_to_unk(tokenizers):
    tokenizer = tokenizers["word"]
    ids = tokenizer.encode("Speak, zebra.\nAll:")
    assert ids.tolist().count(tokenizer.unk_id) == 1
    assert tokenizer.decode(ids) == "Speak, [UNK].\nAll:"
    assert tokenizer.encode(tokenizer.decode(ids)).tolist() == ids.tolist()


def test_word_keeps_apostrophes_and_joins_with_documented_spacing():
    tokenizer = build_tokenizer("word", "'Tis ( well-beloved ) , don't you know ?")
    ids = tokenizer.encode("'Tis ( well-beloved ) , don't you know ?")
    assert tokenizer.id_to_token(ids[0]) == "'Tis"
    assert tokenizer.decode(ids) == "'Tis (well-beloved), don't you know?"


def test_word_vocabulary_keeps_most_frequent():
    tokenizer = build_tokenizer("word", "a a a b b c", vocabulary_size=4)
    assert tokenizer.vocabulary == ["[PAD]", "[UNK]", "a", "b"]


# -- word: text already tokenized (the "whitespace" split) ---------------------------------
PTB_LIKE = " the u.s. <unk> fell N % \n\t it 's $ N <unk> \n [PAD] [UNK] \n"
# As `prepare` reads a tokenized corpus: control characters removed (a NUL would cut the text
# short in tensorflow_text's regex_split), nothing else changed.
NO_CLEANING = dict(
    normalization=None,
    lowercase=False,
    strip_punctuation=False,
    remove_control=True,
    collapse_whitespace=False,
    collapse_blank_lines=False,
)


@pytest.fixture(scope="module")
def ptb_like():
    return build_tokenizer(
        "word", PTB_LIKE, split="whitespace", unknown_token="<unk>", **NO_CLEANING
    )


def test_word_whitespace_split_keeps_tokens_as_written(ptb_like):
    ids = ptb_like.encode(" the u.s. fell <unk> 's \n\n it don't\r\n")
    tokens = [ptb_like.id_to_token(i) for i in ids]
    assert tokens == ["the", "u.s.", "fell", "[UNK]", "'s", "\n", "\n", "it", "[UNK]", "\n"]
    # "<unk>" and the reserved tokens are not learned as words; "\n" is.
    assert "<unk>" not in ptb_like.vocabulary and "\n" in ptb_like.vocabulary
    assert ptb_like.vocabulary.count("[PAD]") == ptb_like.vocabulary.count("[UNK]") == 1
    # "[PAD]" written in the text is an unknown word, never padding.
    assert ptb_like.encode("[PAD] [UNK] <unk>").tolist() == [ptb_like.unk_id] * 3


def test_word_whitespace_decode_writes_the_unknown_token_and_one_space(ptb_like):
    ids = ptb_like.encode(" the u.s. <unk> zebra \n it 's \n")
    assert ptb_like.decode(ids) == "the u.s. <unk> <unk>\nit 's\n"
    assert ptb_like.encode(ptb_like.decode(ids)).tolist() == ids.tolist()


def test_word_whitespace_tf_encode_equals_encode(ptb_like):
    texts = [PTB_LIKE, "", " \n\n ", "the\x0bu.s.\u3000fell\x85N\r\n[PAD]", "unseen 🦓 the"]
    ragged = ptb_like.tf_encode(tf.constant(texts))
    assert ragged.to_list() == [ptb_like.encode(text).tolist() for text in texts]
    scalar = ptb_like.tf_encode(tf.constant(texts[0]))
    assert scalar.numpy().tolist() == ptb_like.encode(texts[0]).tolist()
    dataset = tf.data.Dataset.from_tensor_slices(texts).map(ptb_like.tf_encode)
    for ids, text in zip(dataset.as_numpy_iterator(), texts, strict=True):
        assert ids.tolist() == ptb_like.encode(text).tolist()


@settings(max_examples=25, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_word_whitespace_tokens_are_str_split_plus_newlines_property(ptb_like, text):
    # What `prepare` counts as the words of a tokenized corpus (its text has no control
    # characters but "\n"; the cleaner removes any others).
    cleaned = ptb_like.cleaner(text)
    assert len(ptb_like.encode(text)) == len(cleaned.split()) + cleaned.count("\n")


def test_word_whitespace_keeps_every_token_by_default():
    text = " ".join(f"w{i}" for i in range(10_500))
    assert build_tokenizer("word", text, split="whitespace").vocabulary_size == 10_502
    assert build_tokenizer("word", text, 100, split="whitespace").vocabulary_size == 100
    assert build_tokenizer("word", text).vocabulary_size == 10_000  # the "words" default


def test_word_unknown_token_with_the_words_split():
    tokenizer = build_tokenizer("word", "a UNK b, a UNK.", unknown_token="UNK")
    assert tokenizer.vocabulary == ["[PAD]", "[UNK]", "a", ",", ".", "b"]
    ids = tokenizer.encode("a UNK, zebra.")
    assert ids.tolist() == [2, 1, 3, 1, 4]
    assert tokenizer.decode(ids) == "a UNK, UNK."
    assert tokenizer.encode(tokenizer.decode(ids)).tolist() == ids.tolist()


def test_word_split_and_unknown_token_are_saved_and_loaded(tmp_path, ptb_like):
    ptb_like.save(tmp_path)
    config = json.loads((tmp_path / "tokenizer.json").read_text())
    assert (config["split"], config["unknown_token"]) == ("whitespace", "<unk>")
    loaded = load_tokenizer(tmp_path)
    assert (loaded.split, loaded.unknown_token) == ("whitespace", "<unk>")
    assert loaded.cleaner == TextCleaner(**NO_CLEANING)
    assert loaded.encode(PTB_LIKE).tolist() == ptb_like.encode(PTB_LIKE).tolist()
    assert loaded.decode(loaded.encode(PTB_LIKE)) == ptb_like.decode(ptb_like.encode(PTB_LIKE))


def test_word_tokenizer_saved_without_split_loads_as_words(tmp_path, tokenizers):
    tokenizers["word"].save(tmp_path)
    path = tmp_path / "tokenizer.json"
    config = json.loads(path.read_text())
    del config["split"], config["unknown_token"]
    path.write_text(json.dumps(config))
    loaded = load_tokenizer(tmp_path)
    assert (loaded.split, loaded.unknown_token) == ("words", None)
    assert loaded.encode(TEXT).tolist() == tokenizers["word"].encode(TEXT).tolist()


def test_wordpiece_keeps_newlines_and_merges_pieces(tokenizers):
    tokenizer = tokenizers["wordpiece"]
    assert tokenizer.token_to_id("\n") == 2
    ids = tokenizer.encode("Speak, speak.\n\nAll:")
    assert tokenizer.decode(ids) == "Speak, speak.\n\nAll:"
    assert any(tokenizer.id_to_token(i).startswith("##") for i in tokenizer.encode(ENGLISH))


@pytest.mark.parametrize("kind", ["sentencepiece", "bpe"])
def test_sentencepiece_round_trips_whitespace_newlines_and_unseen_characters(tokenizers, kind):
    tokenizer = tokenizers[kind]
    text = " Speak,\n\n  speak 🦓 Ω\t\n夜来"
    assert tokenizer.decode(tokenizer.encode(text)) == TextCleaner()(text)
    assert tokenizer.unk_id not in tokenizer.encode(text).tolist()
    assert tokenizer.token_to_id("\n") == 2


@pytest.mark.parametrize("kind", ["sentencepiece", "bpe"])
def test_sentencepiece_vocabulary_size_minimum(kind):
    with pytest.raises(ValueError, match="`vocabulary_size` must be an integer of at least 260"):
        build_tokenizer(kind, "abc", vocabulary_size=259)


# -- properties on arbitrary Unicode ---------------------------------------------------------
unicode_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="▁"),
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize("kind", ["sentencepiece", "bpe"])
@settings(max_examples=15, deadline=None)
@given(text=unicode_text)
def test_subword_round_trip_property(tokenizers, kind, text):
    tokenizer = tokenizers[kind]
    assert tokenizer.decode(tokenizer.encode(text)) == TextCleaner()(text)


@pytest.mark.parametrize("kind", ["word", "wordpiece"])
@settings(max_examples=20, deadline=None)
@given(text=unicode_text)
def test_word_level_ids_are_stable_property(tokenizers, kind, text):
    tokenizer = tokenizers[kind]
    ids = tokenizer.encode(text)
    assert tokenizer.encode(tokenizer.decode(ids)).tolist() == ids.tolist()


@settings(max_examples=15, deadline=None)
@given(text=unicode_text)
def test_word_trained_on_text_has_no_unknowns_property(text):
    if not TextCleaner()(text).strip():
        return
    tokenizer = build_tokenizer("word", text)
    ids = tokenizer.encode(text)
    assert tokenizer.unk_id not in ids.tolist()
    assert tokenizer.encode(tokenizer.decode(ids)).tolist() == ids.tolist()


@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
@settings(max_examples=8, deadline=None)
@given(texts=st.lists(unicode_text, min_size=1, max_size=3))
def test_tf_encode_equals_encode_property(tokenizers, kind, texts):
    tokenizer = tokenizers[kind]
    ragged = tokenizer.tf_encode(tf.constant(texts))
    assert ragged.to_list() == [tokenizer.encode(text).tolist() for text in texts]


# -- tf_decode: decode with TF ops, for graphs and exported models ---------------------------
@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_tf_decode_equals_decode_property(tokenizers, kind, data):
    # Any ids, not only what encode writes: a model may generate any sequence (a "##" piece
    # first, punctuation after punctuation, padding in the middle).
    tokenizer = tokenizers[kind]
    ids = st.integers(0, tokenizer.vocabulary_size - 1)
    rows = data.draw(st.lists(st.lists(ids, max_size=30), min_size=1, max_size=4))
    texts = tokenizer.tf_decode(tf.ragged.constant(rows, dtype=tf.int32, ragged_rank=1))
    assert [text.decode("utf-8") for text in texts.numpy()] == [
        tokenizer.decode(row) for row in rows
    ]


@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
def test_tf_decode_of_encoded_text_in_a_graph(tokenizers, kind):
    tokenizer = tokenizers[kind]
    texts = [ENGLISH, CHINESE, "Zebra  🦓 unseen\twords!\n"]
    # A partial is its own function to TF: tracing one per kind is not re-tracing.
    decode = tf.function(
        functools.partial(tokenizer.tf_decode),
        input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)],
    )
    decoded = decode(tokenizer.tf_encode(tf.constant(texts)))
    want = [tokenizer.decode(tokenizer.encode(text)) for text in texts]
    assert [text.decode("utf-8") for text in decoded.numpy()] == want
    # A 1-D tensor gives one string, and padding is skipped.
    ids = np.concatenate([[tokenizer.pad_id], tokenizer.encode(texts[0]), [tokenizer.pad_id]])
    assert tokenizer.tf_decode(tf.constant(ids)).numpy().decode("utf-8") == want[0]


def test_tf_decode_of_the_whitespace_split(ptb_like):
    rows = [[2, 3, 2, 2], [4, 1, 3, 2, 4], []]
    texts = ptb_like.tf_decode(tf.ragged.constant(rows, dtype=tf.int32))
    assert [text.decode() for text in texts.numpy()] == [ptb_like.decode(r) for r in rows]


# -- Chinese: the Tang poems ------------------------------------------------------------------
_TANG = Path(os.environ.get("TLM_DATA_DIR", "../shared/data"), "tang_poems")


@pytest.fixture(scope="module")
def tang_poems():
    from tlm.data.corpora import TANG_POEMS_FILES, load_corpus

    if not all((_TANG / name).is_file() for name in TANG_POEMS_FILES):
        pytest.skip(f"the Complete Tang Poems not found in {_TANG} (set TLM_DATA_DIR)")
    return load_corpus("tang_poems")


# Subwords of Chinese need a vocabulary larger than the distinct characters SentencePiece keeps
# (99.95 % of the text: about 4,800 here).
@pytest.mark.parametrize(("kind", "size"), [("char", None), ("sentencepiece", 6000), ("bpe", 6000)])
def test_tokenizers_train_on_tang_poems_and_round_trip_them(tang_poems, kind, size):
    train = tang_poems.train[:200_000]
    tokenizer = build_tokenizer(kind, train, size)
    # Cleaning keeps the poems as written (full-width punctuation, traditional characters).
    assert tokenizer.cleaner(train) == train
    ids = tokenizer.encode(train)
    assert tokenizer.decode(ids) == train
    validation = tang_poems.validation[:20_000]
    if kind != "char":  # byte fallback: any text, characters never seen included
        assert tokenizer.decode(tokenizer.encode(validation)) == validation
    else:  # a character never seen is [UNK], all the others come back
        decoded = tokenizer.decode(tokenizer.encode(validation))
        assert decoded.count("[UNK]") < 0.01 * len(validation)
    # Characters per token: 1 for characters; subwords join frequent pairs of characters.
    characters_per_token = len(train) / len(ids)
    assert characters_per_token == 1.0 if kind == "char" else characters_per_token > 1.1
