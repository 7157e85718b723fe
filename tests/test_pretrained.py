"""Pretrained GPT-2 through keras_hub: load a preset, decode, score, fine-tune, save, reload.

Everything runs offline on a tiny local preset (`save_tiny_gpt2_preset`: random weights, a
byte-level BPE learned from the toy corpus), written with keras_hub's own `save_to_preset`, so
it is read exactly as a downloaded GPT-2 folder would be.
"""

import json
import os
import shutil

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf
from toy_corpus import TOY_TEXT

from tlm.cli import main
from tlm.data import prepare
from tlm.data.tokenizers import KerasHubTokenizer, load_tokenizer
from tlm.evaluation import evaluate
from tlm.export import export
from tlm.generation import generate
from tlm.models import GPT2LanguageModel, build_model, kind_of
from tlm.pretrained import (
    is_preset,
    learn_byte_level_bpe,
    load_pretrained,
    save_tiny_gpt2_preset,
)
from tlm.training import TextGenerationCallback, TrainConfig, load_run, train

TEXTS = [
    "To be, or not to be, that is the question:\n\nWhether 'tis nobler",
    "床前明月光，疑是地上霜。",
    "tabs\tand  double  spaces, emoji 🦉, a NUL \x00 and \u00e9 vs e\u0301",
    "",
]


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("presets") / "tiny_gpt2"
    return str(save_tiny_gpt2_preset(folder, TOY_TEXT, vocabulary_size=300))


@pytest.fixture(scope="module")
def pretrained(preset):
    return load_pretrained(preset)


@pytest.fixture(scope="module")
def toy_corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "toy.txt"
    path.write_text(TOY_TEXT, encoding="utf-8")
    return str(path)


def test_the_preset_is_a_keras_hub_preset(preset):
    assert is_preset(preset)
    causal_lm = keras_hub.models.CausalLM.from_preset(preset)
    assert isinstance(causal_lm, keras_hub.models.GPT2CausalLM)


def test_load_gives_tlm_model_and_tokenizer(pretrained, preset):
    model, tokenizer = pretrained.model, pretrained.tokenizer
    assert isinstance(model, GPT2LanguageModel) and kind_of(model) == "gpt2"
    assert isinstance(tokenizer, KerasHubTokenizer)
    assert model.vocabulary_size == tokenizer.vocabulary_size <= 300  # fewer on a small text
    assert tokenizer.id_to_token(tokenizer.pad_id) == "<|endoftext|>"
    assert pretrained.config["pretrained"]["preset"] == preset
    assert pretrained.config["data"]["sequence_length"] == model.context_length == 128


@pytest.mark.parametrize("text", TEXTS)
def test_byte_level_bpe_round_trips_any_text(pretrained, text):
    tokenizer = pretrained.tokenizer
    ids = tokenizer.encode(text)
    assert ids.dtype == np.int32
    assert tokenizer.decode(ids) == text
    # The TF path (tf.data) gives the same ids, one string or a batch.
    np.testing.assert_array_equal(tokenizer.tf_encode(text).numpy(), ids)
    batch = tokenizer.tf_encode([text, "abc"])
    np.testing.assert_array_equal(batch[0].numpy(), ids)


def test_chinese_costs_more_tokens_per_character_than_english(pretrained):
    tokenizer = pretrained.tokenizer
    english, chinese = TEXTS[0], TEXTS[1]
    # A CJK character is three UTF-8 bytes, and this BPE (learned on English) merges none.
    assert len(tokenizer.encode(chinese)) == len(chinese.encode("utf-8")) == 3 * len(chinese)
    assert len(tokenizer.encode(english)) < len(english)


def test_tokenizer_saves_and_loads(pretrained, tmp_path):
    pretrained.tokenizer.save(tmp_path / "tokenizer")
    loaded = load_tokenizer(tmp_path / "tokenizer")
    assert isinstance(loaded, KerasHubTokenizer)
    assert loaded.vocabulary == pretrained.tokenizer.vocabulary
    for text in TEXTS:
        np.testing.assert_array_equal(loaded.encode(text), pretrained.tokenizer.encode(text))


def test_tf_decode_equals_decode_on_any_ids(pretrained):
    # Random ids cut characters in the middle of their bytes: both write U+FFFD for those.
    tokenizer = pretrained.tokenizer
    rows = np.random.default_rng(0).integers(0, tokenizer.vocabulary_size, (6, 40)).tolist()
    texts = tokenizer.tf_decode(tf.ragged.constant(rows, dtype=tf.int32))
    assert [text.decode("utf-8") for text in texts.numpy()] == [tokenizer.decode(r) for r in rows]


def test_cached_call_equals_the_full_forward_pass(pretrained):
    model = pretrained.model
    ids = pretrained.tokenizer.encode(TEXTS[0])[None, :20]
    full = np.asarray(model(ids))
    cache = model.init_cache(1, 32)
    first, cache = model.call_with_cache(ids[:, :13], cache, 0)
    rest, cache = model.call_with_cache(ids[:, 13:], cache, 13)
    np.testing.assert_allclose(np.concatenate([first, rest], axis=1), full, atol=1e-5)
    # The logits are keras_hub's own: the task's forward pass on the same ids.
    keras_hub_logits = model.causal_lm({"token_ids": ids, "padding_mask": np.ones_like(ids)})
    np.testing.assert_allclose(keras_hub_logits, full, atol=1e-6)


def test_greedy_decoding_with_the_cache_equals_full_recomputation(pretrained):
    model, tokenizer = pretrained.model, pretrained.tokenizer
    prompts = ["ab 3, said", "ca", "床前"]
    cached = generate(model, tokenizer, prompts, max_new_tokens=24)
    full = generate(model, tokenizer, prompts, max_new_tokens=24, use_cache=False)
    assert cached == full
    # Past the context (128 positions) the window slides, with and without the cache alike.
    long_cached = generate(model, tokenizer, "ab", max_new_tokens=150)
    assert long_cached == generate(model, tokenizer, "ab", max_new_tokens=150, use_cache=False)


def test_greedy_decoding_equals_keras_hubs_generate(pretrained):
    model, tokenizer = pretrained.model, pretrained.tokenizer
    prompt = "ca 5, said the"
    ids = tokenizer.encode(prompt)
    new_tokens = 16
    text = generate(model, tokenizer, prompt, max_new_tokens=new_tokens)
    causal_lm = model.causal_lm
    causal_lm.compile(sampler="greedy")
    length = len(ids) + new_tokens
    padded = np.zeros((1, length), "int32")
    padded[0, : len(ids)] = ids
    mask = np.zeros((1, length), bool)
    mask[0, : len(ids)] = True
    output = causal_lm.generate(
        {"token_ids": padded, "padding_mask": mask}, max_length=length, stop_token_ids=None
    )
    expected = np.asarray(output["token_ids"])[0, len(ids) :]
    assert text == tokenizer.decode(expected)


def test_sampling_streaming_and_stop_strings(pretrained):
    model, tokenizer = pretrained.model, pretrained.tokenizer
    prompt = "The future of large language models is"
    settings = dict(max_new_tokens=20, strategy="top_p", top_p=0.9, seed=3, temperature=0.8)
    text = generate(model, tokenizer, prompt, **settings)
    assert text == generate(model, tokenizer, prompt, **settings)
    assert "".join(generate(model, tokenizer, prompt, stream=True, **settings)) == text
    assert text != generate(model, tokenizer, prompt, **{**settings, "seed": 4})
    stopped = generate(model, tokenizer, prompt, max_new_tokens=40, stop="a")
    assert "a" not in stopped
    penalized = generate(model, tokenizer, prompt, 20, strategy="top_k", repetition_penalty=1.5)
    assert isinstance(penalized, str)


def test_evaluate_scores_exactly_what_keras_hub_predicts(pretrained, toy_corpus):
    model, tokenizer = pretrained.model, pretrained.tokenizer
    data = prepare(toy_corpus, tokenizer, sequence_length=32, batch_size=4, shuffle=False)
    result = evaluate(
        model, data.test, data.characters_per_token["test"], mask_token_id=tokenizer.pad_id
    )
    nats, count = 0.0, 0
    for x, y in data.test:
        logits = model.causal_lm({"token_ids": x, "padding_mask": tf.ones_like(x)})
        losses = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        nats += float(tf.reduce_sum(tf.cast(losses, "float64")))
        count += int(tf.size(y))
    assert result["tokens"] == count
    np.testing.assert_allclose(result["loss"], nats / count, rtol=1e-5)
    # Bits per character are counted on the raw text GPT-2 reads (no cleaning).
    text = open(toy_corpus, encoding="utf-8").read()
    assert data.characters_per_token["train"] == pytest.approx(
        len(data.corpus.train) / len(tokenizer.encode(data.corpus.train))
    )
    assert data.corpus.train in text


def test_fine_tuning_with_lora_saves_and_reloads(preset, toy_corpus, tmp_path):
    run = load_pretrained(preset)
    model, tokenizer = run.model, run.tokenizer
    before = [keras.ops.convert_to_numpy(w) for w in model.causal_lm.backbone.weights]
    model.enable_lora(2)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert 0 < trainable < model.count_params() / 10
    data = prepare(toy_corpus, tokenizer, sequence_length=32, batch_size=4)
    samples = TextGenerationCallback(tokenizer, ["ab"], strategies=("greedy",), max_new_tokens=4)
    config = TrainConfig(epochs=1, steps_per_epoch=4, learning_rate=1e-2, verbose=0)
    out = tmp_path / "run"
    train(model, data, config, str(out), callbacks=[samples])
    assert samples.samples and samples.samples[0]["prompt"] == "ab"
    # Only the LoRA factors trained: the frozen kernels are unchanged.
    frozen = model.causal_lm.backbone.token_embedding.embeddings
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(frozen), before[0])
    reloaded = load_run(str(out))
    assert isinstance(reloaded.model, GPT2LanguageModel)
    assert isinstance(reloaded.tokenizer, KerasHubTokenizer)
    ids = tokenizer.encode("ab 3, said the")[None]
    np.testing.assert_allclose(reloaded.model(ids), model(ids), atol=1e-5)
    # ... and the LoRA factors did train: the model is no longer the pretrained one.
    original = load_pretrained(preset).model(ids)
    assert np.abs(np.asarray(model(ids)) - np.asarray(original)).max() > 1e-3
    assert generate(reloaded.model, reloaded.tokenizer, "ab", 8) == generate(
        model, tokenizer, "ab", 8
    )


def test_gpt2_kind_builds_untrained_from_its_presets():
    model = build_model("gpt2", vocabulary_size=100, preset="gpt2-tiny", sequence_length=64)
    assert (model.num_layers, model.hidden_dim, model.context_length) == (2, 32, 64)
    assert model(np.zeros((2, 64), "int32")).shape == (2, 64, 100)
    with pytest.raises(ValueError, match="longer than `sequence_length`"):
        model(np.zeros((1, 65), "int32"))
    assert model.flops_per_token(training=True) == 3 * model.flops_per_token(training=False)


def test_cli_generates_evaluates_and_fine_tunes_a_preset(preset, toy_corpus, tmp_path, capsys):
    prompt = "The future of large language models is"
    argv = ["generate", preset, "--prompt", prompt, "--strategy", "top_k", "--seed", "1"]
    assert main([*argv, "--max-new-tokens", "12"]) == 0
    streamed = capsys.readouterr().out
    assert streamed.startswith(prompt)
    run = load_pretrained(preset)
    expected = generate(run.model, run.tokenizer, prompt, 12, strategy="top_k", seed=1)
    assert streamed == prompt + expected + "\n"

    argv = ["evaluate", preset, "--corpus", toy_corpus, "--sequence-length", "32", "--json"]
    assert main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["perplexity"] > 1 and figures["bits_per_character"] > 0

    out = tmp_path / "fine-tuned"
    argv = ["train", "--pretrained", preset, "--lora-rank", "2", "--corpus", toy_corpus]
    argv += ["--sequence-length", "32", "--batch-size", "4", "--steps-per-epoch", "2"]
    assert main([*argv, "--out", str(out), "--verbose", "0"]) == 0
    capsys.readouterr()
    assert main(["generate", str(out), "--prompt", "ab", "--max-new-tokens", "6"]) == 0
    assert capsys.readouterr().out.startswith("ab")


def test_missing_broken_and_foreign_presets_are_named(preset, trained_run, tmp_path):
    missing = str(tmp_path / "no_such_preset")
    with pytest.raises(ValueError, match="there is no such folder.*no_such_preset"):
        load_pretrained(missing)
    with pytest.raises(ValueError, match="(?s)could not be loaded.*network.*no_such_name"):
        load_pretrained("no_such_name")
    broken = tmp_path / "broken"
    shutil.copytree(preset, broken)
    (broken / "model.weights.h5").write_bytes(b"not an h5 file")
    with pytest.raises(ValueError, match="(?s)could not be loaded.*broken"):
        load_pretrained(str(broken))
    untokenized = tmp_path / "untokenized"
    shutil.copytree(preset, untokenized)
    os.remove(untokenized / "tokenizer.json")
    with pytest.raises(ValueError, match="(?s)no readable tokenizer.*untokenized"):
        load_pretrained(str(untokenized))
    # A keras_hub preset of another model (a BERT encoder) is refused, naming the preset.
    bert = keras_hub.models.BertBackbone(
        vocabulary_size=10, num_layers=1, num_heads=1, hidden_dim=4, intermediate_dim=8
    )
    bert.save_to_preset(str(tmp_path / "bert"))
    with pytest.raises(ValueError, match="(?s)GPT-2 causal language model.*bert"):
        load_pretrained(str(tmp_path / "bert"))
    with pytest.raises(ValueError, match="not a keras_hub preset folder"):
        load_pretrained(str(trained_run))
    with pytest.raises(ValueError, match="`preset` must be"):
        load_pretrained("")


def test_cli_refuses_lora_or_dropout_without_a_matching_model(preset, capsys):
    assert main(["train", "--lora-rank", "2"]) != 0
    assert "lora_rank" in capsys.readouterr().err
    assert main(["train", "--pretrained", preset, "--dropout", "0.1"]) != 0
    assert "`dropout`" in capsys.readouterr().err


def test_learned_bpe_merges_are_applied_by_keras_hub():
    vocabulary, merges = learn_byte_level_bpe(["low lower lowest " * 5], 262)
    assert len(vocabulary) == 262 and len(merges) == 262 - 257
    assert vocabulary["<|endoftext|>"] == 261
    tokenizer = KerasHubTokenizer(keras_hub.models.GPT2Tokenizer(vocabulary, merges))
    # "low" became one token ("Ġlow" for the words after a space), from the learned merges.
    assert len(tokenizer.encode("low")) == 1
    assert tokenizer.decode(tokenizer.encode("lowest slow")) == "lowest slow"
    with pytest.raises(ValueError, match="`vocabulary_size` must be at least 257"):
        learn_byte_level_bpe("abc", 100)


def test_cli_states_the_library_fine_tuning_window():
    from tlm.commands import train as train_command
    from tlm.pretrained import FINE_TUNE_SEQUENCE_LENGTH

    assert train_command.FINE_TUNE_SEQUENCE_LENGTH == FINE_TUNE_SEQUENCE_LENGTH


def test_exported_preset_generates_tlm_text_past_its_context(preset, tmp_path):
    # A model of its own: its greedy loop's compiles are not counted with the shared model's.
    pretrained = load_pretrained(preset)
    export(pretrained, tmp_path / "exported")
    exported = tf.saved_model.load(str(tmp_path / "exported"))
    prompts = ["ab 1, said", "ca 2, said the ca"]
    texts = exported.signatures["generate"](
        prompt=tf.constant(prompts),
        max_new_tokens=tf.constant(150),  # the tiny preset's context is 128
        temperature=tf.constant(1.0),
        top_k=tf.constant(1),
        top_p=tf.constant(1.0),
        seed=tf.constant(0),
    )["text"]
    want = generate(pretrained.model, pretrained.tokenizer, prompts, 150)
    assert [text.decode("utf-8") for text in texts.numpy()] == want
