"""Solutions to the exercises of lesson 06, LSTM vs Transformer (06_lstm_vs_transformer.ipynb).

Each `exercise_N()` computes its answer at a small size (the `tiny` presets, untrained, and a
slice of Shakespeare) and asserts what the exercise asks for. Run them all:

    python notebooks/solutions/06_lstm_vs_transformer.py
"""

import dataclasses
import math
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras

from tlm.compare import Budget
from tlm.data import load_corpus, prepare
from tlm.evaluation import evaluate
from tlm.models import build_model, count_parameters, flops_per_token

VOCABULARY_SIZE = 65  # the characters of Shakespeare, as the presets were matched
SEQUENCE_LENGTH = 64
BATCH_SIZE = 32


def exercise_1():
    """A FLOPs budget by hand.

    Count the parameters of the `tiny` LSTM at a vocabulary of 65 characters by hand
    (embedding, two LSTM layers of four gates each, the output layer) and check
    `count_parameters`. From them, compute its training FLOPs per token (6 per parameter in a
    matrix product; the embedding is a lookup) and check `flops_per_token`. Then give both
    `tiny` models a budget of 10^12 training FLOPs at batches of 32 windows of 64 characters:
    how many steps does each get (check `Budget.steps_for`), and which one gets more?
    """
    lstm = build_model("lstm", VOCABULARY_SIZE, preset="tiny")
    transformer = build_model(
        "transformer", VOCABULARY_SIZE, preset="tiny", sequence_length=SEQUENCE_LENGTH
    )
    embedding_dim, hidden_dim = lstm.embedding_dim, lstm.hidden_dim  # 64 and 80
    embedding = VOCABULARY_SIZE * embedding_dim
    # Each LSTM layer: 4 gates, each with input weights, recurrent weights and a bias.
    first_layer = 4 * (embedding_dim * hidden_dim + hidden_dim * hidden_dim + hidden_dim)
    second_layer = 4 * (hidden_dim * hidden_dim + hidden_dim * hidden_dim + hidden_dim)
    head = hidden_dim * VOCABULARY_SIZE + VOCABULARY_SIZE
    by_hand = embedding + first_layer + second_layer + head
    assert by_hand == count_parameters(lstm), (by_hand, count_parameters(lstm))
    lstm_flops = 6 * (by_hand - embedding)
    assert lstm_flops == flops_per_token(lstm)

    budget = Budget("flops", 1e12)
    tokens_per_step = BATCH_SIZE * SEQUENCE_LENGTH
    steps = {}
    for name, model, per_token in [
        ("lstm", lstm, lstm_flops),
        ("transformer", transformer, flops_per_token(transformer)),
    ]:
        steps[name] = budget.steps_for(flops_per_token(model), tokens_per_step)
        assert steps[name] == math.floor(1e12 / (per_token * tokens_per_step))
    # Same parameter count, but the Transformer also pays for attention over its context.
    assert flops_per_token(transformer) > lstm_flops
    assert steps["lstm"] > steps["transformer"]
    print(
        f"LSTM: {by_hand:,} parameters, {lstm_flops:,} training FLOPs per token, "
        f"{steps['lstm']:,} steps; Transformer: {count_parameters(transformer):,} parameters, "
        f"{flops_per_token(transformer):,} FLOPs per token, {steps['transformer']:,} steps"
    )


def exercise_2():
    """Bits per character from a perplexity.

    Score an untrained `tiny` LSTM on a slice of the validation plays cut into **word** tokens
    (several characters per token). Check that the bits per character `evaluate` reports are
    log2(perplexity) divided by the characters per token, and that an untrained model's
    perplexity is of the order of its vocabulary size (lesson 04's sanity check).
    """
    corpus = load_corpus("shakespeare")
    corpus = dataclasses.replace(
        corpus,
        train=corpus.train[:30_000],
        validation=corpus.validation[:4_000],
        test=corpus.test[:4_000],
    )
    # Short windows: the LSTM is unrolled over each window, and a short one traces fast.
    data = prepare(corpus, "word", sequence_length=8, batch_size=8, vocabulary_size=500)
    characters_per_token = data.characters_per_token["validation"]
    keras.utils.set_random_seed(0)
    model = build_model("lstm", data.tokenizer.vocabulary_size, preset="tiny")
    scores = evaluate(
        model, data.validation, characters_per_token, mask_token_id=data.tokenizer.pad_id
    )
    by_hand = math.log2(scores["perplexity"]) / characters_per_token
    assert characters_per_token > 1.5, characters_per_token
    assert math.isclose(scores["bits_per_character"], by_hand, rel_tol=1e-9)
    vocabulary_size = data.tokenizer.vocabulary_size
    assert vocabulary_size / 2 < scores["perplexity"] < 2 * vocabulary_size
    print(
        f"{characters_per_token:.2f} characters per word token, perplexity "
        f"{scores['perplexity']:.1f} (vocabulary {vocabulary_size}), "
        f"{scores['bits_per_character']:.3f} bits per character"
    )


if __name__ == "__main__":
    for exercise in (exercise_1, exercise_2):
        exercise()
