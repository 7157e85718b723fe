"""generate() and the compiled decoding loop, on tiny random Transformer and LSTM models."""

import logging

import keras
import numpy as np
import pytest

from tlm.data.tokenizers import build_tokenizer
from tlm.generation import generate, get_decoder, measure_generation_speed, shape_class
from tlm.models import LSTMLanguageModel, TransformerLanguageModel

TEXT = "to be, or not to be, that is the question: whether 'tis nobler in the mind"
CONTEXT = 16
# Prompts of different lengths, batched together; the longest is near the context length.
PROMPTS = ["to be", "that is the ques", "o"]


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer("char", TEXT)


@pytest.fixture(scope="module")
def models(tokenizer):
    keras.utils.set_random_seed(0)
    size = tokenizer.vocabulary_size
    return {
        "transformer": TransformerLanguageModel(
            size,
            sequence_length=CONTEXT,
            num_layers=2,
            num_heads=2,
            hidden_dim=16,
            intermediate_dim=32,
        ),
        "lstm": LSTMLanguageModel(size, embedding_dim=8, hidden_dim=16, num_layers=2),
    }


def reference_greedy(model, ids, max_new_tokens):
    """Greedy decoding by full re-computation, eagerly, one prompt at a time.

    The window rule is the documented one: prompts keep their last `context_length` tokens, and
    when a step would need more than `context_length` positions, the newest half is kept.
    """
    context = model.context_length
    tokens = list(ids[-context:] if context else ids)
    start, offset = len(tokens), 0
    for _ in range(max_new_tokens):
        index = len(tokens)  # the position being chosen
        if context is not None and index - 1 - offset >= context:
            offset = index - 1 - context // 2
        logits = model(np.array([tokens[offset:index]], dtype="int32"))
        tokens.append(int(np.argmax(logits[0, -1])))
    return tokens[start:]


def _final(chunks):
    *_, last = chunks  # the new ids after the last chunk
    return [ids.tolist() for ids in last]


# The LSTM's full re-computation re-reads the whole text at every token: slow to compile.
@pytest.mark.parametrize("kind", ["transformer", pytest.param("lstm", marks=pytest.mark.slow)])
def test_cached_greedy_matches_full_recomputation_for_batched_prompts(kind, models, tokenizer):
    # Up to 16 + 24 positions: the Transformer's window slides three times along the way.
    model, max_new_tokens = models[kind], 24
    ids = [tokenizer.encode(prompt) for prompt in PROMPTS]
    expected = [reference_greedy(model, row, max_new_tokens) for row in ids]
    cached = _final(get_decoder(model).decode(ids, max_new_tokens))
    # (Without XLA: the loop is the same, and the test spends less time compiling.)
    full = _final(
        get_decoder(model, use_cache=False, jit_compile=False).decode(ids, max_new_tokens)
    )
    assert cached == expected
    assert full == expected


def test_prompt_longer_than_the_context_keeps_its_last_tokens(models, tokenizer):
    model = models["transformer"]
    long_prompt = TEXT[:40]
    assert len(tokenizer.encode(long_prompt)) > CONTEXT
    text = generate(model, tokenizer, long_prompt, max_new_tokens=10)
    assert text == generate(model, tokenizer, long_prompt[-CONTEXT:], max_new_tokens=10)
    # The LSTM has no context limit: it reads the whole prompt.
    assert len(generate(models["lstm"], tokenizer, long_prompt, max_new_tokens=10)) == 10


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_same_seed_same_text_and_different_seeds_different_text(kind, models, tokenizer):
    model = models[kind]
    first = generate(model, tokenizer, PROMPTS, 20, strategy="top_k", top_k=8, seed=1)
    again = generate(model, tokenizer, PROMPTS, 20, strategy="top_k", top_k=8, seed=1)
    other = generate(model, tokenizer, PROMPTS, 20, strategy="top_k", top_k=8, seed=2)
    assert first == again
    assert first != other
    # 20 tokens each; a random model may emit [UNK], which decodes to five characters.
    assert all(len(text) >= 20 for text in first)


@pytest.mark.parametrize(
    "kind, sampling",
    [("transformer", {"strategy": "top_k", "top_k": 8}), ("lstm", {"strategy": "top_p"})],
)
def test_streamed_pieces_join_to_the_returned_text(kind, sampling, models, tokenizer):
    model = models[kind]
    settings = dict(max_new_tokens=40, seed=3, **sampling)
    pieces = list(generate(model, tokenizer, "to be", stream=True, **settings))
    assert len(pieces) > 1 and all(isinstance(piece, str) for piece in pieces)
    assert "".join(pieces) == generate(model, tokenizer, "to be", **settings)
    batched = list(generate(model, tokenizer, PROMPTS, stream=True, **settings))
    joined = ["".join(row) for row in zip(*batched, strict=True)]
    assert joined == generate(model, tokenizer, PROMPTS, **settings)


def test_word_tokens_are_spaced_after_the_prompt_and_stream_the_same():
    tokenizer = build_tokenizer("word", TEXT)
    keras.utils.set_random_seed(0)
    model = LSTMLanguageModel(
        tokenizer.vocabulary_size, embedding_dim=8, hidden_dim=8, num_layers=1
    )
    settings = dict(max_new_tokens=6, strategy="top_k", top_k=5, seed=0)
    text = generate(model, tokenizer, "to be", **settings)
    # Decoded with the prompt as context, then cut: the new words start with their space.
    assert text.startswith(" ") and len(text.split()) == 6
    assert "".join(generate(model, tokenizer, "to be", stream=True, **settings)) == text


def test_stop_string_spanning_several_tokens(models, tokenizer):
    model = models["transformer"]
    settings = dict(max_new_tokens=40, strategy="top_k", top_k=8, seed=4)
    text = generate(model, tokenizer, PROMPTS, **settings)[1]
    # A three-character stop string that first occurs after the start of the text.
    stop = next(text[i : i + 3] for i in range(1, 30) if text.find(text[i : i + 3]) == i)
    expected = text[: text.find(stop)]
    assert generate(model, tokenizer, PROMPTS, stop=stop, **settings)[1] == expected
    streamed = generate(model, tokenizer, PROMPTS, stop=[stop, "#never#"], stream=True, **settings)
    assert "".join(pieces[1] for pieces in streamed) == expected


def test_single_token_stop_string_ends_generation(models, tokenizer):
    model = models["transformer"]
    settings = dict(max_new_tokens=40, strategy="top_k", top_k=8, seed=4)
    text = generate(model, tokenizer, PROMPTS, **settings)[0]
    stop = text[3]
    assert generate(model, tokenizer, PROMPTS, stop=stop, **settings)[0] == text[: text.find(stop)]


def test_unknown_characters_become_the_unk_token(models, tokenizer):
    assert tokenizer.encode("€").tolist() == [tokenizer.unk_id]
    model = models["transformer"]
    # Two different unknown characters are the same token: the same continuation.
    assert generate(model, tokenizer, "to €", 10) == generate(model, tokenizer, "to ¥", 10)


def test_repeated_calls_with_the_same_shapes_do_not_retrace(models, tokenizer):
    model = models["lstm"]
    decoder = get_decoder(model, "top_k", 8, None)
    generate(model, tokenizer, PROMPTS, 20, strategy="top_k", top_k=8, seed=1)
    counts = dict(decoder.tracing_counts)
    # Other prompts, seeds, temperature and penalty, with the same batch and length bucket.
    generate(model, tokenizer, ["not", TEXT[-16:], "b"], 18, strategy="top_k", top_k=8, seed=5)
    generate(
        model,
        tokenizer,
        PROMPTS,
        20,
        strategy="top_k",
        top_k=8,
        temperature=0.5,
        repetition_penalty=1.3,
    )
    assert dict(decoder.tracing_counts) == counts


def test_batch_sizes_in_one_bucket_share_one_compiled_loop(models, tokenizer):
    model = models["transformer"]
    decoder = get_decoder(model, "top_k", 5, None)
    generate(model, tokenizer, PROMPTS, 20, strategy="top_k", top_k=5, seed=1)  # 3 rows -> 4
    counts = dict(decoder.tracing_counts)
    generate(model, tokenizer, PROMPTS + ["be"], 20, strategy="top_k", top_k=5, seed=1)
    assert dict(decoder.tracing_counts) == counts
    longest = max(len(prompt) for prompt in PROMPTS)  # characters are tokens here
    assert decoder.shape_classes == {shape_class(4, longest + 20)} == {(4, 64)}
    assert shape_class(3, 33) == shape_class(4, 64) == (4, 64)


def test_padding_rows_do_not_change_greedy_text(models, tokenizer):
    for model in models.values():
        batch = generate(model, tokenizer, PROMPTS, 12)  # padded to 4 rows
        alone = [generate(model, tokenizer, prompt, 12) for prompt in PROMPTS]
        assert batch == alone


class _TensorFlowWarnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_sampling_many_models_does_not_warn_of_retracing(tokenizer):
    # As `tlm compare` does: several models, two strategies each, a batch of prompts and then
    # one prompt. Every decoder compiles its own loop once per shape class, which TensorFlow
    # must not take for one function re-tracing again and again.
    handler = _TensorFlowWarnings()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        for seed in range(2):
            keras.utils.set_random_seed(seed)
            size = tokenizer.vocabulary_size
            for model in (
                TransformerLanguageModel(
                    size,
                    sequence_length=CONTEXT,
                    num_layers=1,
                    num_heads=2,
                    hidden_dim=8,
                    intermediate_dim=16,
                ),
                LSTMLanguageModel(size, embedding_dim=8, hidden_dim=8, num_layers=1),
            ):
                for strategy in ("greedy", "top_k"):
                    generate(model, tokenizer, PROMPTS[:2], 12, strategy=strategy, seed=seed)
                generate(model, tokenizer, PROMPTS[0], 12)
    finally:
        logger.removeHandler(handler)
    assert not [m for m in handler.messages if "retracing" in m], handler.messages


def test_measure_generation_speed_times_the_compiled_shape(models, tokenizer):
    model = models["lstm"]
    speed = measure_generation_speed(model, tokenizer, "to be", 10, min_seconds=0.05, seed=3)
    decoder = get_decoder(model)
    counts = dict(decoder.tracing_counts)
    assert speed.calls >= 3
    assert speed.new_tokens == 10 * speed.calls
    assert speed.tokens_per_second == pytest.approx(speed.new_tokens / speed.seconds)
    assert speed.shape_class == shape_class(1, len("to be") + 10)
    assert speed.shape_class in decoder.shape_classes
    # Timing again traces nothing: the timed calls ran the loop the first call compiled.
    measure_generation_speed(model, tokenizer, "to be", 10, min_seconds=0.01)
    assert dict(decoder.tracing_counts) == counts


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(max_new_tokens=0), "`max_new_tokens` must be"),
        (dict(min_seconds=0), "`min_seconds` must be"),
        (dict(min_calls=0), "`min_calls` must be"),
        (dict(stop="x"), "`stop` cannot be timed"),
        (dict(stream=True), "`stream` cannot be timed"),
    ],
)
def test_measure_generation_speed_rejects_bad_arguments(models, tokenizer, arguments, message):
    with pytest.raises(ValueError, match=message):
        measure_generation_speed(models["lstm"], tokenizer, "to", **arguments)


def test_low_temperature_sampling_approaches_greedy(models, tokenizer):
    model = models["transformer"]
    greedy = generate(model, tokenizer, PROMPTS, 20)
    cold = generate(model, tokenizer, PROMPTS, 20, strategy="top_k", top_k=8, temperature=1e-4)
    assert cold == greedy


def test_repetition_penalty_discourages_repeated_tokens(models, tokenizer):
    model = models["lstm"]
    plain = generate(model, tokenizer, PROMPTS, 20)
    penalized = generate(model, tokenizer, PROMPTS, 20, repetition_penalty=5.0)
    assert penalized != plain
    distinct = [len(set(text)) for text in plain]
    assert sum(len(set(text)) for text in penalized) > sum(distinct)


def test_zero_new_tokens_gives_empty_text(models, tokenizer):
    model = models["transformer"]
    assert generate(model, tokenizer, "to be", 0) == ""
    assert generate(model, tokenizer, PROMPTS, 0) == ["", "", ""]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"top_k": 0, "strategy": "top_k"},
            r"`top_k` must be None or an integer of at least 1. Received: top_k=0$",
        ),
        ({"top_k": 1000, "strategy": "top_k"}, r"`top_k` must not exceed the vocabulary size"),
        ({"top_p": 0, "strategy": "top_p"}, r"`top_p` must be in \(0, 1\]. Received: top_p=0"),
        ({"top_p": 1.01, "strategy": "top_p"}, r"`top_p` must be in \(0, 1\]"),
        (
            {"temperature": 0.0},
            r"`temperature` must be a finite number greater than 0. Received: temperature=0.0$",
        ),
        (
            {"max_new_tokens": -1},
            r"`max_new_tokens` must be an integer of at least 0. Received: max_new_tokens=-1$",
        ),
        (
            {"max_new_tokens": 2.0},
            r"`max_new_tokens` must be an integer of at least 0. Received: max_new_tokens=2.0$",
        ),
        ({"strategy": "beam"}, r"must be one of 'greedy', 'top_k', 'top_p'. Received: .*'beam'"),
        ({"prompt": []}, r"`prompt` must be a string or a non-empty list of strings"),
        ({"prompt": ""}, r"`prompt` must encode to at least one token"),
        ({"stop": ""}, r"`stop` must be a non-empty string or a list of them"),
        ({"seed": 1.5}, r"`seed` must be an integer of at least 0. Received: seed=1.5$"),
        ({"seed": -1}, r"`seed` must be an integer of at least 0. Received: seed=-1$"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_bad_arguments_raise_before_any_work(kwargs, message, stream, models, tokenizer):
    arguments = {"prompt": "to be", **kwargs}
    with pytest.raises(ValueError, match=message):
        generate(models["transformer"], tokenizer, stream=stream, **arguments)


def test_default_top_k_fits_a_small_vocabulary():
    tokenizer = build_tokenizer("char", "abc")
    keras.utils.set_random_seed(0)
    model = LSTMLanguageModel(
        tokenizer.vocabulary_size, embedding_dim=4, hidden_dim=4, num_layers=1
    )
    assert tokenizer.vocabulary_size < 10
    assert len(generate(model, tokenizer, "ab", 3, strategy="top_k", seed=0)) >= 3
