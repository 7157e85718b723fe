"""How fast a model generates: the first (compiling) call and the steady speed, measured apart.

The first call of `generate` for a new shape class (batch rows, buffer length; see
`tlm.generation.decoder.shape_class`) traces and compiles the decoding loop, which takes far
longer than decoding itself; later calls of the same shape class reuse it. So a speed figure
that includes the first call measures the compiler. `measure_generation_speed` times the first
call on its own and then the same call again, until enough time has passed for a stable figure.
"""

import dataclasses
import time

from tlm.checks import check_positive_int, check_positive_number
from tlm.generation.decoder import shape_class
from tlm.generation.generate import generate

# A fast model decodes 200 tokens in a few milliseconds: the cap stops the loop, not the clock.
_MAX_CALLS = 1000


@dataclasses.dataclass(frozen=True)
class GenerationSpeed:
    """What `measure_generation_speed` measured.

    Attributes:
        first_call_seconds: the first call: tracing, XLA compilation and one decode.
        tokens_per_second: new tokens per second over the timed calls (every prompt's tokens).
        seconds: the time of the timed calls together.
        new_tokens: the new tokens they generated together.
        calls: how many calls were timed.
        shape_class: `(batch rows, buffer length)` of the compiled loop that was timed.
    """

    first_call_seconds: float
    tokens_per_second: float
    seconds: float
    new_tokens: int
    calls: int
    shape_class: tuple


def measure_generation_speed(
    model,
    tokenizer,
    prompt,
    max_new_tokens=200,
    min_seconds=1.0,
    min_calls=3,
    **settings,
):
    """Time the first call of `generate`, then the same call repeated: compile time and speed.

    Every call generates exactly `max_new_tokens` per prompt (no stop strings), with the same
    prompts and settings, so every timed call runs the loop the first call compiled. The timed
    calls go on until `min_seconds` have passed and at least `min_calls` were made.

    Args:
        model: a tlm language model.
        tokenizer: its tokenizer.
        prompt: a string or a list of strings, as for `generate`.
        max_new_tokens: new tokens per prompt and call, > 0.
        min_seconds: least time spent in the timed calls, > 0.
        min_calls: least number of timed calls, > 0.
        **settings: other `generate` keywords (`strategy`, `top_k`, `seed`, ...), not `stop`
            or `stream`.

    Returns:
        A `GenerationSpeed`.

    Example:

    >>> from tlm.models import LSTMLanguageModel
    >>> tokenizer = build_tokenizer("char", ["abc "])
    >>> model = LSTMLanguageModel(vocabulary_size=tokenizer.vocabulary_size, embedding_dim=8,
    ...                           hidden_dim=8, num_layers=1)
    >>> speed = measure_generation_speed(model, tokenizer, "ab", max_new_tokens=8,
    ...                                  min_seconds=0.01)
    >>> speed.calls >= 3, speed.new_tokens == 8 * speed.calls, speed.shape_class
    (True, True, (1, 64))
    """
    check_positive_int("max_new_tokens", max_new_tokens)
    check_positive_number("min_seconds", min_seconds)
    check_positive_int("min_calls", min_calls)
    for name in ("stop", "stream"):
        if settings.get(name):
            raise ValueError(
                f"`{name}` cannot be timed: every timed call must generate `max_new_tokens`. "
                f"Received: {name}={settings[name]!r}"
            )
    settings = dict(settings, max_new_tokens=max_new_tokens)
    settings.setdefault("seed", 0)
    num_prompts = 1 if isinstance(prompt, str) else len(prompt)

    begin = time.perf_counter()
    generate(model, tokenizer, prompt, **settings)
    first_call = time.perf_counter() - begin

    calls, seconds = 0, 0.0
    while (seconds < min_seconds or calls < min_calls) and calls < _MAX_CALLS:
        begin = time.perf_counter()
        generate(model, tokenizer, prompt, **settings)
        seconds += time.perf_counter() - begin
        calls += 1
    new_tokens = calls * num_prompts * max_new_tokens
    prompt_length = max(
        len(tokenizer.encode(text)) for text in ([prompt] if isinstance(prompt, str) else prompt)
    )
    context = getattr(model, "context_length", None)
    if context:
        prompt_length = min(prompt_length, context)
    return GenerationSpeed(
        first_call_seconds=first_call,
        tokens_per_second=new_tokens / seconds if seconds > 0 else float("nan"),
        seconds=seconds,
        new_tokens=new_tokens,
        calls=calls,
        shape_class=shape_class(num_prompts, prompt_length + max_new_tokens),
    )
