"""Tests for tlm.data.cleaning.TextCleaner."""

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.data.cleaning import TextCleaner

CHINESE = "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少？！\n“好诗！”他说：「真好。」"


def test_default_normalizes_full_width_letters_and_keeps_newlines():
    cleaner = TextCleaner()
    # Full-width letters become ASCII; full-width punctuation stays (keep_cjk).
    assert cleaner("Ｈｅｌｌｏ，\u3000ｗｏｒｌｄ！\nBye") == "Hello， world！\nBye"
    plain_nfkc = TextCleaner(keep_cjk=False)
    assert plain_nfkc("Ｈｅｌｌｏ，\u3000ｗｏｒｌｄ！\nBye") == "Hello, world!\nBye"


def test_chinese_paragraph_punctuation_stripped_by_unicode_category():
    cleaner = TextCleaner(strip_punctuation=True)
    assert cleaner(CHINESE) == "春眠不觉晓处处闻啼鸟\n夜来风雨声花落知多少\n好诗他说真好"


def test_chinese_paragraph_default_keeps_characters_punctuation_and_lines():
    assert TextCleaner()(CHINESE) == CHINESE
    # Plain NFKC turns full-width ，？！：into ASCII; 。“”「」 have no compatibility mapping.
    cleaned = TextCleaner(keep_cjk=False)(CHINESE)
    assert cleaned == "春眠不觉晓,处处闻啼鸟。\n夜来风雨声,花落知多少?!\n“好诗!”他说:「真好。」"
    assert cleaned.count("\n") == 2


def test_keep_cjk_leaves_compatibility_ideographs_and_radicals_as_written():
    # NFC and NFKC rewrite U+F900 (a compatibility ideograph) and NFKC U+2F00 (a Kangxi radical).
    text = "\uf900\u2f00 ﬁ ＡＢ１ ︰﹐"
    assert TextCleaner()(text) == "\uf900\u2f00 fi AB1 ︰﹐"
    assert TextCleaner(keep_cjk=False)(text) == "\u8c48\u4e00 fi AB1 ..,"


def test_a_cleaner_saved_before_keep_cjk_keeps_normalizing_everything():
    config = TextCleaner().get_config()
    assert config["keep_cjk"] is True
    del config["keep_cjk"]
    assert TextCleaner.from_config(config)("你好，世界") == "你好,世界"


# Text mixing CJK ideographs and punctuation with what NFKC does change (full-width letters,
# ligatures, compatibility characters, combining marks).
CJK_MIX = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x3000, max_codepoint=0x303F),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0xF900, max_codepoint=0xFAFF),
        st.characters(min_codepoint=0xFE10, max_codepoint=0xFE6F),
        st.characters(min_codepoint=0xFF01, max_codepoint=0xFF65),
        st.sampled_from("ﬁ²½é\u0301a \n"),
    ),
    max_size=40,
)


# One cleaner for every example: its compiled CJK path is traced once.
DEFAULT_CLEANER = TextCleaner()


@settings(max_examples=60, deadline=None)
@given(text=CJK_MIX)
def test_cleaning_never_changes_a_cjk_ideograph_or_punctuation_mark_property(text):
    import re

    kept = re.compile(
        "[\u3001-\u303f\u4e00-\u9fff\uf900-\ufaff\ufe10-\ufe1f\ufe30-\ufe4f"
        "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
    )
    cleaned = DEFAULT_CLEANER(text)
    # Every ideograph and CJK punctuation mark of the text is in the cleaned text, in order.
    assert kept.findall(cleaned) == kept.findall(text)
    assert DEFAULT_CLEANER(cleaned) == cleaned  # idempotent


def test_lowercase_is_unicode_aware_not_case_folding():
    cleaner = TextCleaner(lowercase=True)
    assert cleaner("ÀÉÎ ΣΟΦΟΣ Straße") == "àéî σοφος straße"


def test_lowercase_survives_nul_when_control_characters_are_kept():
    cleaner = TextCleaner(lowercase=True, remove_control=False)
    assert cleaner("AB\x00CD") == "ab\x00cd"


def test_control_characters_removed_and_line_endings_unified():
    cleaner = TextCleaner()
    assert cleaner("\ufeffa\x00b\x07c\r\nd\re\tf") == "abc\nd\ne f"
    assert TextCleaner(remove_control=False)("a\x00b") == "a\x00b"


def test_whitespace_collapsed_but_newlines_and_edges_kept():
    cleaner = TextCleaner()
    text = "ROMEO:  \n\tBut,\u00a0soft!  what light\n\n\nJULIET: "
    assert cleaner(text) == "ROMEO:\n But, soft! what light\n\n\nJULIET: "
    assert TextCleaner(collapse_blank_lines=True)(text) == (
        "ROMEO:\n But, soft! what light\n\nJULIET: "
    )
    assert TextCleaner(collapse_whitespace=False)("a  \tb") == "a  \tb"


def test_no_normalization():
    assert TextCleaner(normalization=None)("ｆｕｌｌ") == "ｆｕｌｌ"
    assert TextCleaner(normalization="NFD")("é") == "e\u0301"


def test_tensor_input_of_any_shape_matches_eager_strings():
    cleaner = TextCleaner(lowercase=True, strip_punctuation=True)
    texts = ["Hello,  World!", CHINESE, "ＡＢＣ\r\n"]
    cleaned = cleaner(tf.constant(texts))
    assert cleaned.shape == (3,)
    assert [t.decode() for t in cleaned.numpy()] == [cleaner(t) for t in texts]
    assert cleaner(texts) == [cleaner(t) for t in texts]


def test_runs_inside_tf_data_and_tf_function():
    cleaner = TextCleaner(lowercase=True)
    texts = ["Ｈｅｌｌｏ  World", CHINESE]
    dataset = tf.data.Dataset.from_tensor_slices(texts).map(cleaner)
    assert [t.decode() for t in dataset.as_numpy_iterator()] == [cleaner(t) for t in texts]
    traced = tf.function(cleaner.clean_tensor)
    assert traced(tf.constant(texts[0])).numpy().decode() == cleaner(texts[0])


def test_config_round_trip():
    cleaner = TextCleaner(normalization="NFC", lowercase=True, collapse_blank_lines=True)
    config = cleaner.get_config()
    assert TextCleaner.from_config(config) == cleaner
    assert config["normalization"] == "NFC"


def test_bad_arguments():
    with pytest.raises(ValueError, match="`normalization` must be one of .* Received: "):
        TextCleaner(normalization="NFX")
    with pytest.raises(TypeError, match="`text` must be a str"):
        TextCleaner()(42)


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(max_size=40),
    lowercase=st.booleans(),
    strip_punctuation=st.booleans(),
    collapse_blank_lines=st.booleans(),
)
def test_cleaning_is_idempotent(text, lowercase, strip_punctuation, collapse_blank_lines):
    cleaner = TextCleaner(
        lowercase=lowercase,
        strip_punctuation=strip_punctuation,
        collapse_blank_lines=collapse_blank_lines,
    )
    once = cleaner(text)
    assert cleaner(once) == once


def test_text_without_cjk_takes_the_plain_path(monkeypatch):
    # Text below U+2E80 has nothing to keep: it skips the CJK runs, tens of ops run one by one
    # for every prompt in generation.
    cleaner = TextCleaner()
    calls = []
    monkeypatch.setattr(TextCleaner, "_normalize_runs", lambda self, text: calls.append(1) or text)
    assert cleaner("ROMEO:\tHi\u00a0\x00!") == "ROMEO: Hi !"
    assert cleaner(["cafe\u0301 x²", "a\n"]) == ["café x2", "a\n"]
    assert calls == []
    cleaner("春眠，")
    assert calls == [1]
