"""A model kind defined here, in the test file alone, works with every tlm tool once registered.

`GRULanguageModel` implements the model-kind interface of `tlm.models.registry`; one call to
`register_model_kind` then makes it usable by `build_model`, `train`, run directories
(`load_run`, resume), `evaluate`, `generate`, `compare_baselines` and `tlm compare --models`.
"""

import json
import os

import keras
import numpy as np
import pytest
from keras import ops

from tlm.cli import main
from tlm.compare import compare_baselines
from tlm.data.corpora import Corpus
from tlm.data.pipeline import prepare
from tlm.evaluation import evaluate
from tlm.generation import generate
from tlm.models import (
    MODEL_KINDS,
    build_model,
    count_parameters,
    flops_per_token,
    kind_of,
    label_of,
    model_class,
    register_model_kind,
    unregister_model_kind,
)
from tlm.training import load_run, train


@keras.saving.register_keras_serializable(package="tlm_tests")
class GRULanguageModel(keras.Model):
    """Embedding -> one `keras.layers.GRU` -> Dense: next-token logits at every position."""

    kind = "gru"
    label = "GRU"
    presets = {"tiny": {"embedding_dim": 16, "hidden_dim": 24}}
    context_argument = None  # the state carries the whole past
    trains_faster_with_xla = False

    def __init__(self, vocabulary_size, embedding_dim, hidden_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim)
        self.gru = keras.layers.GRU(hidden_dim, return_sequences=True, return_state=True)
        self.head = keras.layers.Dense(vocabulary_size, dtype="float32")

    @property
    def context_length(self):
        return None

    def build(self, input_shape=None):
        self.embedding.build()
        self.gru.build((None, None, self.embedding_dim))
        self.head.build((None, None, self.hidden_dim))

    def call_with_cache(self, token_ids, cache, index=None):
        x, state = self.gru(self.embedding(token_ids), initial_state=cache)
        return self.head(x), state  # (batch_size, n, vocabulary_size), (batch_size, hidden_dim)

    def call(self, token_ids, training=None):
        batch_size = ops.shape(token_ids)[0]
        return self.call_with_cache(token_ids, self.init_cache(batch_size))[0]

    def init_cache(self, batch_size, max_length=None):
        return ops.zeros((batch_size, self.hidden_dim), dtype=self.compute_dtype)

    def flops_per_token(self, training=True):
        forward = 2 * (count_parameters(self) - self.vocabulary_size * self.embedding_dim)
        return 3 * forward if training else forward

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size,
            embedding_dim=self.embedding_dim,
            hidden_dim=self.hidden_dim,
        )
        return config


@pytest.fixture
def gru_kind():
    register_model_kind(GRULanguageModel)
    yield "gru"
    unregister_model_kind("gru")


TEXT = "".join(f"{word} {i % 7}, said the {word}\n" for i, word in enumerate(["ab", "ca"] * 150))


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "toy.txt"
    path.write_text(TEXT, encoding="utf-8")
    return str(path)


def _data():
    corpus = Corpus("toy", TEXT, TEXT[:300], TEXT[300:600], "a toy corpus")
    return prepare(corpus, "char", sequence_length=8, batch_size=4)


def test_registration_makes_a_kind_known_and_unregistration_forgets_it(gru_kind):
    assert list(MODEL_KINDS) == ["transformer", "lstm", "gpt2", "gru"]
    assert model_class("gru") is GRULanguageModel and label_of("gru") == "GRU"
    model = build_model("gru", 11, "tiny", sequence_length=8)  # no context: ignored
    assert kind_of(model) == "gru" and model.hidden_dim == 24
    assert flops_per_token(model) == 3 * flops_per_token(model, training=False) > 0
    unregister_model_kind("gru")
    with pytest.raises(ValueError, match="`kind` must be one of 'transformer', 'lstm'"):
        build_model("gru", 11)
    register_model_kind(GRULanguageModel)  # for the fixture's clean-up


def test_an_incomplete_or_clashing_kind_is_refused(gru_kind):
    class NoCache(keras.Model):
        kind, label, presets = "nocache", "NoCache", {"tiny": {}}
        context_argument, trains_faster_with_xla = None, False

    with pytest.raises(ValueError, match="must define init_cache, call_with_cache, flops_per"):
        register_model_kind(NoCache)

    class OtherGRU(GRULanguageModel):
        pass

    with pytest.raises(ValueError, match="'gru' is already registered to GRULanguageModel"):
        register_model_kind(OtherGRU)
    assert "nocache" not in MODEL_KINDS and model_class("gru") is GRULanguageModel


def test_a_registered_kind_trains_saves_resumes_evaluates_and_generates(gru_kind, tmp_path):
    data = _data()
    keras.utils.set_random_seed(0)
    model = build_model("gru", data.tokenizer.vocabulary_size, "tiny")
    out = str(tmp_path / "run")
    result = train(model, data, out=out, epochs=2, steps_per_epoch=3, verbose=0)
    assert result.steps == 6 and np.isfinite(result.history["val_loss"]).all()
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["model"]["kind"] == "gru"
    assert config["plan"]["jit_compile"] == "auto"  # the class said XLA does not help it

    run = load_run(out)
    assert isinstance(run.model, GRULanguageModel)
    scores = evaluate(run.model, data.test, data.characters_per_token["test"])
    assert 1 < scores["perplexity"] < data.tokenizer.vocabulary_size * 2
    cached = generate(run.model, run.tokenizer, "ab", max_new_tokens=6, strategy="greedy")
    full = generate(
        run.model, run.tokenizer, "ab", max_new_tokens=6, strategy="greedy", use_cache=False
    )
    assert cached == full and len(cached) > 2

    # A finished run of this kind is recognised as one: training it again is refused.
    with pytest.raises(ValueError, match="`out` holds a finished run"):
        train(build_model("gru", data.tokenizer.vocabulary_size), data, out=out, verbose=0)


@pytest.mark.slow
def test_compare_baselines_compares_a_registered_kind(gru_kind, corpus_file, tmp_path):
    settings = dict(
        budget="steps",
        budget_value=2,
        sequence_length=8,
        batch_size=4,
        max_eval_batches=2,
        max_new_tokens=4,
        prompts=["ab"],
        verbose=0,
    )
    result = compare_baselines(
        corpus=corpus_file, models=("transformer", "gru"), out=tmp_path / "cmp", **settings
    )
    assert result.kinds == ["transformer", "gru"]
    assert "| GRU |" in result.table()
    assert all(run.figures["steps"] == 2 for run in result.runs)
    assert isinstance(load_run(result.runs[1].run_dir).model, GRULanguageModel)


@pytest.mark.slow
def test_tlm_compare_models_takes_a_kind_registered_in_the_process(
    gru_kind, corpus_file, tmp_path, capsys
):
    out = tmp_path / "cli"
    arguments = ["compare", "--corpus", corpus_file, "--models", "gru", "--out", str(out)]
    arguments += ["--budget", "steps", "--budget-value", "2", "--sequence-length", "8"]
    arguments += ["--batch-size", "4", "--max-eval-batches", "2", "--max-new-tokens", "4"]
    arguments += ["--prompts", "ab", "--verbose", "0"]
    assert main(arguments) == 0
    assert "| GRU |" in capsys.readouterr().out
    assert (out / "gru" / "model.keras").is_file()


def test_a_run_whose_model_class_is_not_registered_says_so(tmp_path):
    class UnlistedGRU(GRULanguageModel):  # neither a registered kind nor Keras-serialisable
        kind = "unlisted"

    data = _data()
    out = str(tmp_path / "run")
    train(UnlistedGRU(data.tokenizer.vocabulary_size, 8, 8), data, out=out, steps_per_epoch=2)
    assert json.load(open(os.path.join(out, "config.json")))["model"]["kind"] == "UnlistedGRU"
    with pytest.raises(ValueError, match=r"model class is not registered in this process"):
        load_run(out)
    assert main(["generate", out, "--prompt", "ab"]) == 2  # one line, no traceback
