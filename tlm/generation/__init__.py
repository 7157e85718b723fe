"""Text generation: greedy, top-k and top-p sampling over one compiled, streaming decoding loop.

- `generate(model, tokenizer, prompt, ...)`: text in, new text out (or an iterator of pieces).
- `Decoder` / `get_decoder`: the compiled loop over token ids, shared by the Transformer (key/value
  cache) and the LSTM (carried state).
- `measure_generation_speed`: the first (compiling) call and the steady tokens/s, apart.
- `samplers`: the token choice (keras_hub samplers), temperature, repetition penalty, and short
  hand-written greedy and top-k for reading.

Taught in notebooks/05_text_generation.ipynb.
"""

from tlm.generation.decoder import Decoder, get_decoder, shape_class
from tlm.generation.generate import check_generation_arguments, generate
from tlm.generation.samplers import (
    STRATEGIES,
    apply_repetition_penalty,
    apply_temperature,
    check_sampling_arguments,
    greedy_next_token,
    make_sampler,
    top_k_next_token,
)
from tlm.generation.speed import GenerationSpeed, measure_generation_speed

__all__ = [
    "STRATEGIES",
    "Decoder",
    "GenerationSpeed",
    "apply_repetition_penalty",
    "apply_temperature",
    "check_generation_arguments",
    "check_sampling_arguments",
    "generate",
    "get_decoder",
    "greedy_next_token",
    "make_sampler",
    "measure_generation_speed",
    "shape_class",
    "top_k_next_token",
]
