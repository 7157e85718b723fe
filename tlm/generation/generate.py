"""`generate`: prompt text in, new text out, for any tlm language model and tokenizer.

Taught in notebooks/05_text_generation.ipynb; the loop is `tlm.generation.decoder.Decoder`.
"""

import random

import numpy as np

from tlm.checks import check_non_negative_int, check_unicode_text
from tlm.generation.decoder import get_decoder
from tlm.generation.samplers import DEFAULT_TOP_K, check_sampling_arguments

# Steps per compiled call when text must be shown (streaming) or checked (stop strings) early.
STREAM_CHUNK_SIZE = 16
# Prompt tokens kept as context when decoding new tokens, so spacing between the prompt and the
# new text comes out right for word and subword tokenizers.
DECODE_CONTEXT = 32


# The decoding call the design names: each keyword is one decoding choice, as keras_hub's
# samplers take them.
def generate(  # noqa: PLR0913
    model,
    tokenizer,
    prompt,
    max_new_tokens=100,
    strategy="greedy",
    top_k=None,
    top_p=None,
    temperature=1.0,
    seed=None,
    stop=None,
    repetition_penalty=None,
    stream=False,
    use_cache=True,
    chunk_size=None,
    jit_compile=True,
):
    """Continue `prompt` with up to `max_new_tokens` new tokens; return only the new text.

    Behaviour:

    - Strategies: `"greedy"` takes the most likely token; `"top_k"` samples among the `top_k`
      most likely (default 10, or the vocabulary size if smaller); `"top_p"` samples from the
      smallest set of tokens whose probability reaches `top_p` (default 0.9; `top_k` may cut
      first). `temperature` divides the logits before sampling (below 1: safer, above 1: more
      varied; greedy ignores it).
      `repetition_penalty` > 1 lowers the logit of every token already in the prompt or the new
      text (positive logits divided by it, negative ones multiplied: the sign-aware rule).
    - The same `seed` with the same prompts gives the same text; `seed=None` draws one from
      Python's `random` (so `keras.utils.set_random_seed` makes it repeatable too).
    - `stop`: a string or a list of strings; generation of a prompt ends at the first one, which
      is not included in the text. A stop string may span several tokens. A stop string that is
      one token also ends the compiled loop early.
    - A list of prompts of different lengths is generated as one batch; each prompt sees only its
      own tokens at its own positions, so the result does not depend on the other prompts for
      greedy decoding (sampled tokens do depend on the batch: same seed and same batch, same
      text).
    - Characters the tokenizer does not know become its `[UNK]` token (`tokenizer.unk_id`), which
      the model conditions on like any other; they are not echoed back (only new text returns).
      A prompt that encodes to no tokens at all (e.g. empty) is an error. The padding token
      (`tokenizer.pad_id`) is never generated: it is not text.
    - Prompts longer than the Transformer's context keep their last `context_length` tokens, and
      text longer than the context is generated with a sliding window (see
      `tlm.generation.decoder`). The LSTM has no limit.
    - Decoding is compiled (`tf.function` with XLA) and reused: calls in the same shape class
      (prompt count and prompt + new tokens, each rounded up to a power of two; see
      `tlm.generation.decoder.shape_class`) do not retrace. The first call of a class compiles;
      `measure_generation_speed` times it apart from the steady speed.

    Args:
        model: a `TransformerLanguageModel` or `LSTMLanguageModel` (or any model with
            `context_length`, `init_cache` and `call_with_cache`).
        tokenizer: the `tlm.data.Tokenizer` the model was trained with.
        prompt: a string, or a non-empty list of strings.
        max_new_tokens: int >= 0, new tokens per prompt (0 returns empty text).
        strategy: one of `STRATEGIES`: `"greedy"`, `"top_k"`, `"top_p"`.
        top_k: int in `[1, vocabulary_size]`.
        top_p: float in `(0, 1]`.
        temperature: float > 0.
        seed: int >= 0 or `None` (a seed drawn from Python's `random`).
        stop: `None`, a string, or a list of strings.
        repetition_penalty: float > 0 or `None` (no penalty).
        stream: return an iterator of text pieces as they are produced (a string per piece for one
            prompt, a list of strings per piece for a list of prompts). Joined, the pieces are the
            text `stream=False` returns.
        use_cache: decode with the key/value cache or carried state (`True`), or re-compute the
            whole window at every token (`False`: the same tokens, much slower; for teaching).
        chunk_size: new tokens per compiled call; by default 16 when streaming or stopping on a
            multi-token string, else as few calls as possible.
        jit_compile: compile the loop with XLA: several times faster per token, but the first
            call for a new shape spends seconds compiling (see `benchmarks/generation.py`).

    Returns:
        The new text (a string, or a list for a list of prompts), or an iterator if `stream`.

    Example:

    >>> from tlm.data import build_tokenizer
    >>> from tlm.models import TransformerLanguageModel
    >>> tokenizer = build_tokenizer("char", "to be or not to be")
    >>> model = TransformerLanguageModel(tokenizer.vocabulary_size, sequence_length=32,
    ...     num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32)
    >>> text = generate(model, tokenizer, "to be", max_new_tokens=8, strategy="top_k", seed=1)
    >>> text == generate(model, tokenizer, "to be", max_new_tokens=8, strategy="top_k", seed=1)
    True
    >>> pieces = generate(model, tokenizer, "to be", 8, strategy="top_k", seed=1, stream=True)
    >>> "".join(pieces) == text
    True
    """
    vocabulary_size = getattr(model, "vocabulary_size", None) or tokenizer.vocabulary_size
    prompts, stops = check_generation_arguments(
        prompt,
        max_new_tokens,
        strategy=strategy,
        top_k=top_k,
        top_p=top_p,
        temperature=temperature,
        seed=seed,
        stop=stop,
        repetition_penalty=repetition_penalty,
        vocabulary_size=vocabulary_size,
    )
    if tokenizer.vocabulary_size > vocabulary_size:
        raise ValueError(
            "The tokenizer has more tokens than the model has outputs. Received: "
            f"tokenizer.vocabulary_size={tokenizer.vocabulary_size}, "
            f"model.vocabulary_size={vocabulary_size}"
        )
    token_ids = [np.asarray(tokenizer.encode(text), dtype="int32") for text in prompts]
    for text, ids in zip(prompts, token_ids, strict=True):
        if len(ids) == 0:
            raise ValueError(
                "`prompt` must encode to at least one token: the model needs something to "
                f"continue. Received: prompt={text!r}"
            )

    # Stop strings of one token also stop the compiled loop; longer ones are found in the text.
    stop_token_ids = []
    for text in stops:
        ids = tokenizer.encode(text)
        if len(ids) == 1 and int(ids[0]) != tokenizer.unk_id:
            stop_token_ids.append(int(ids[0]))
    if chunk_size is None and (stream or len(stop_token_ids) < len(stops)):
        chunk_size = STREAM_CHUNK_SIZE
    if strategy == "top_k" and top_k is None:
        top_k = min(DEFAULT_TOP_K, vocabulary_size)
    decoder = get_decoder(model, strategy, top_k, top_p, use_cache, jit_compile)
    settings = dict(
        max_new_tokens=max_new_tokens,
        seed=random.randrange(2**31 - 1) if seed is None else int(seed),
        temperature=float(temperature),
        repetition_penalty=repetition_penalty,
        stop_token_ids=stop_token_ids,
        banned_token_ids=[tokenizer.pad_id],
        chunk_size=chunk_size,
    )
    pieces = _text_pieces(decoder, tokenizer, token_ids, stops, settings)
    single = isinstance(prompt, str)
    if stream:
        return (piece[0] if single else piece for piece in pieces if any(piece))
    texts = ["".join(row) for row in zip(*pieces, strict=True)] or [""] * len(prompts)
    return texts[0] if single else texts


def check_generation_arguments(  # noqa: PLR0913
    prompt,
    max_new_tokens=200,
    *,
    strategy="greedy",
    top_k=None,
    top_p=None,
    temperature=1.0,
    seed=None,
    stop=None,
    repetition_penalty=None,
    vocabulary_size=None,
):
    """Check `generate`'s arguments without a model; return `(prompts, stop strings)` as lists.

    `generate` calls this first; `tlm generate` calls it before loading the run, so a bad
    option is refused before anything is loaded or printed. `vocabulary_size`, when known,
    bounds `top_k`.

    >>> check_generation_arguments(["ROMEO:", "JULIET:"], 20, stop=".")
    (['ROMEO:', 'JULIET:'], ['.'])
    >>> check_generation_arguments("ROMEO:", -1)
    Traceback (most recent call last):
    ...
    ValueError: `max_new_tokens` must be an integer of at least 0. Received: max_new_tokens=-1
    """
    prompts = _check_prompt(prompt)
    check_non_negative_int("max_new_tokens", max_new_tokens)
    check_sampling_arguments(
        strategy, top_k, top_p, temperature, repetition_penalty, vocabulary_size=vocabulary_size
    )
    if seed is not None:
        check_non_negative_int("seed", seed)
    return prompts, _check_stop(stop)


def _check_prompt(prompt):
    if isinstance(prompt, str):
        prompts = [prompt]
    elif isinstance(prompt, (list, tuple)) and prompt and all(isinstance(p, str) for p in prompt):
        prompts = list(prompt)
    else:
        raise ValueError(
            f"`prompt` must be a string or a non-empty list of strings. Received: prompt={prompt!r}"
        )
    for text in prompts:
        check_unicode_text("prompt", text)
    return prompts


def _check_stop(stop):
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if not all(isinstance(s, str) and s for s in stops):
        raise ValueError(
            f"`stop` must be a non-empty string or a list of them. Received: stop={stop!r}"
        )
    for text in stops:
        check_unicode_text("stop", text)
    return stops


def _text_pieces(decoder, tokenizer, token_ids, stops, settings):
    """Yield, after each compiled chunk, one new piece of text per prompt ("" if none yet)."""
    contexts = [ids[-DECODE_CONTEXT:] for ids in token_ids]
    context_texts = [tokenizer.decode(ids) for ids in contexts]
    emitted = [""] * len(token_ids)
    finished = [False] * len(token_ids)

    def new_text(row, ids):
        # Decode with some prompt context, then drop the context's own text.
        text = tokenizer.decode(np.concatenate([contexts[row], ids]))
        if text.startswith(context_texts[row]):
            return text[len(context_texts[row]) :]
        return tokenizer.decode(ids)

    if settings["max_new_tokens"] == 0:
        return
    chunks = decoder.decode(token_ids, **settings)
    last = None
    for new_ids in chunks:
        last = new_ids
        pieces = []
        for row, ids in enumerate(new_ids):
            if finished[row]:
                pieces.append("")
                continue
            text = new_text(row, ids)
            cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
            if cut >= 0:
                text, finished[row] = text[:cut], True
            else:
                text = _safe_prefix(text, stops)
            piece = text[len(emitted[row]) :] if text.startswith(emitted[row]) else ""
            emitted[row] += piece
            pieces.append(piece)
        yield pieces
        if all(finished):
            chunks.close()
            return
    # The end: release what was held back (a partial stop string, an incomplete character).
    if last is not None:
        pieces = []
        for row, ids in enumerate(last):
            text = "" if finished[row] else new_text(row, ids)
            pieces.append(text[len(emitted[row]) :] if not finished[row] else "")
        yield pieces


def _safe_prefix(text, stops):
    """`text` without a tail that may still grow into a stop string or a whole character."""
    held = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), held, -1):
            if text.endswith(stop[:size]):
                held = size
                break
    text = text[: len(text) - held]
    # A byte-level tokenizer decodes an incomplete UTF-8 sequence as U+FFFD until it is whole.
    return text.rstrip("\ufffd")
