"""Cached greedy decoding of a keras_hub GPT-2: tlm's loop against `GPT2CausalLM.generate`.

One GPT-2 (`tlm.models.GPT2LanguageModel`, which wraps a `keras_hub.models.GPT2CausalLM`), the
same prompt token ids (a batch of `--batch-size` random prompts of `--prompt-length` tokens) and
the same number of new tokens (`--new-tokens`), greedy, decoded two ways:

- tlm: `tlm.generation.decoder.get_decoder(model, "greedy")` driven as `tlm.generation.generate`
  drives it (one compiled `tf.while_loop` with XLA, the key/value cache of keras_hub's own
  `GPT2CausalLM.call_with_cache`);
- keras_hub: `model.causal_lm.generate({"token_ids", "padding_mask"}, stop_token_ids=None)`
  after `compile(sampler="greedy", jit_compile=True)`. Keras's default, `jit_compile="auto"`,
  turns XLA off on a machine without a GPU; here both decoders use XLA on every machine.

Both start from token ids (no tokenizer is timed), generate exactly `--new-tokens` tokens per
prompt (no stop ids) and take the argmax of the same logits, so their tokens must be the same:
the script checks that. The first call of each (tracing, XLA compilation and one decode) is
timed on its own; then `--rounds` alternating rounds, tlm then keras_hub, and the medians.
Tokens/s count every prompt of the batch; the ratio is the median over the rounds of tlm's
speed over keras_hub's in the same round, so load from other processes hits both alike.

    python benchmarks/pretrained_generation.py                       # gpt2_base_en's shape
    python benchmarks/pretrained_generation.py --preset gpt2-tiny --new-tokens 16 --rounds 2
    python benchmarks/pretrained_generation.py --preset-dir PRESET_FOLDER   # real weights
    python benchmarks/pretrained_generation.py --json benchmarks/results/pretrained_generation.json

The default model has gpt2_base_en's shape (124M parameters, vocabulary 50,257) with random
weights, so nothing is downloaded; `--preset-dir` loads a keras_hub preset folder instead
(`tlm.pretrained.load_pretrained`).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tlm.generation.decoder import get_decoder, shape_class  # noqa: E402
from tlm.models import build_model, count_parameters  # noqa: E402
from tlm.models.gpt2 import GPT2_PRESETS  # noqa: E402
from tlm.pretrained import load_pretrained  # noqa: E402
from tlm.provenance import describe_machine, machine_name, write_figures  # noqa: E402

# OpenAI's GPT-2 vocabulary (gpt2_base_en's), for the models built with random weights.
GPT2_VOCABULARY_SIZE = 50257
DECODERS = ("tlm", "keras_hub")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--preset",
        choices=sorted(GPT2_PRESETS),
        default="gpt2-base",
        help="GPT-2 shape with random weights (default gpt2-base: gpt2_base_en's, 124M)",
    )
    parser.add_argument(
        "--preset-dir", metavar="DIR", help="load this keras_hub preset folder instead"
    )
    parser.add_argument("--batch-size", type=int, default=1, help="prompts per call (1)")
    parser.add_argument("--prompt-length", type=int, default=32, help="tokens per prompt (32)")
    parser.add_argument("--new-tokens", type=int, default=128, help="new tokens per prompt (128)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timed rounds (5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and prompts")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    for name in ("batch_size", "prompt_length", "new_tokens", "rounds"):
        if getattr(args, name) < 1:
            parser.error(
                f"--{name.replace('_', '-')} must be at least 1. Received: {getattr(args, name)}"
            )
    return parser, args


def tlm_greedy(decoder, prompts, new_tokens):
    """tlm's loop as `generate` drives it (no stop or banned ids): `(batch_size, new_tokens)`."""
    # One compiled chunk, as `generate` runs without streaming or stop strings.
    *_, new_ids = decoder.decode(list(prompts), new_tokens, seed=0)
    return np.stack(new_ids)


def keras_hub_greedy(causal_lm, inputs, prompt_length, new_tokens):
    """keras_hub's `generate` on token ids: `(batch_size, new_tokens)`, prompt cut off."""
    # Without a preprocessor, `max_length` is ignored: the width of `token_ids` (prompt + new
    # tokens, the rest marked padding) is where generation ends; no stop ids, so it gets there.
    outputs = causal_lm.generate(inputs, max_length=prompt_length + new_tokens, stop_token_ids=None)
    return np.asarray(outputs["token_ids"])[:, prompt_length:]


def timed(decode):
    begin = time.perf_counter()
    tokens = decode()
    return time.perf_counter() - begin, tokens


def first_difference(first, second):
    """`(row, new-token index)` of the first token where two same-shape outputs differ, or None."""
    rows, positions = np.nonzero(first != second)
    return (int(rows[0]), int(positions[0])) if len(rows) else None


def main(argv=None):
    parser, args = parse_arguments(argv)
    if args.preset_dir:
        model = load_pretrained(args.preset_dir).model
        model_name = f"preset folder {os.path.basename(os.path.normpath(args.preset_dir))}"
    else:
        keras.utils.set_random_seed(args.seed)
        model = build_model("gpt2", GPT2_VOCABULARY_SIZE, preset=args.preset)
        model_name = f"{args.preset} (random weights)"
    end = args.prompt_length + args.new_tokens
    if end > model.context_length:
        parser.error(
            "--prompt-length + --new-tokens must be at most the model's context "
            f"({model.context_length}). Received: {args.prompt_length} + {args.new_tokens}"
        )
    rng = np.random.default_rng(args.seed)
    prompts = rng.integers(
        0, model.vocabulary_size, (args.batch_size, args.prompt_length), dtype="int32"
    )

    decoder = get_decoder(model, "greedy")  # XLA, tlm's default
    causal_lm = model.causal_lm
    causal_lm.compile(sampler="greedy", jit_compile=True)
    token_ids = np.zeros((args.batch_size, end), "int32")
    token_ids[:, : args.prompt_length] = prompts
    padding_mask = np.zeros((args.batch_size, end), bool)
    padding_mask[:, : args.prompt_length] = True
    inputs = {"token_ids": tf.constant(token_ids), "padding_mask": tf.constant(padding_mask)}
    decode = {
        "tlm": lambda: tlm_greedy(decoder, prompts, args.new_tokens),
        "keras_hub": lambda: keras_hub_greedy(
            causal_lm, inputs, args.prompt_length, args.new_tokens
        ),
    }

    machine = describe_machine()
    software = ", ".join(f"{name} {version}" for name, version in machine["software"].items())
    print(f"machine: {machine_name(machine)}; {software}")
    print(
        f"model: GPT-2 {model_name}, {count_parameters(model):,} parameters, vocabulary "
        f"{model.vocabulary_size:,}; greedy, {args.batch_size} x {args.prompt_length} prompt "
        f"tokens + {args.new_tokens} new tokens; XLA: tlm {decoder.jit_compile}, keras_hub "
        f"{causal_lm.jit_compile}"
    )
    first_call, outputs = {}, {}
    for name in DECODERS:
        first_call[name], outputs[name] = timed(decode[name])
        print(f"  first call (trace + compile + one decode) {name}: {first_call[name]:.2f} s")
    for name in DECODERS:
        if outputs[name].shape != (args.batch_size, args.new_tokens):
            raise RuntimeError(
                f"{name} generated {outputs[name].shape[1]} new tokens per prompt, not "
                f"--new-tokens={args.new_tokens}"
            )
    difference = first_difference(outputs["tlm"], outputs["keras_hub"])
    seconds = {name: [] for name in DECODERS}
    repeatable = True
    for number in range(1, args.rounds + 1):
        for name in DECODERS:
            took, tokens = timed(decode[name])
            seconds[name].append(took)
            repeatable = repeatable and np.array_equal(tokens, outputs[name])
        print(
            f"  round {number}: "
            + ", ".join(f"{name} {seconds[name][-1]:.3f} s" for name in DECODERS),
            flush=True,
        )

    new_tokens = args.batch_size * args.new_tokens
    median = {name: statistics.median(seconds[name]) for name in DECODERS}
    ratio = statistics.median(
        keras_hub / tlm for tlm, keras_hub in zip(seconds["tlm"], seconds["keras_hub"], strict=True)
    )
    print(f"medians of {args.rounds} alternating rounds:")
    for name in DECODERS:
        print(f"  {name:>9}: {median[name]:.3f} s, {new_tokens / median[name]:,.1f} new tokens/s")
    print(f"  tlm / keras_hub speed: {ratio:.2f}x (median of the rounds' ratios)")
    match = "yes" if difference is None else "no"
    print(
        f"greedy tokens match: {match}"
        + (
            f" (first difference: prompt {difference[0]}, new token {difference[1]})"
            if difference
            else ""
        )
        + ("" if repeatable else "; a decoder gave different tokens in a later call")
    )

    if args.json:
        write_figures(
            args.json,
            "pretrained_generation",
            figures_tables(args, model, model_name, decoder, first_call, seconds, ratio, match),
            notes(args, repeatable, model),
        )
    return {
        "first_call_seconds": first_call,
        "median_seconds": median,
        "tokens_per_second": {name: new_tokens / median[name] for name in DECODERS},
        "ratio": ratio,
        "tokens_match": difference is None,
        "repeatable": repeatable,
    }


def figures_tables(args, model, model_name, decoder, first_call, seconds, ratio, match):  # noqa: PLR0913
    """The settings, the speeds (medians) and each round, as `write_figures` tables."""
    new_tokens = args.batch_size * args.new_tokens
    median = {name: statistics.median(seconds[name]) for name in DECODERS}
    rows, length = shape_class(args.batch_size, args.prompt_length + args.new_tokens)
    settings = {
        "title": "Settings",
        "columns": ["Setting", "Value"],
        "rows": [
            ["Model", f"GPT-2 {model_name}"],
            ["Parameters", count_parameters(model)],
            ["Vocabulary", model.vocabulary_size],
            ["Prompts (batch size)", args.batch_size],
            ["Prompt tokens", args.prompt_length],
            ["New tokens per prompt", args.new_tokens],
            ["Sampling", "greedy"],
            ["tlm compiled loop (batch rows x buffer length)", f"{rows} x {length}"],
            ["XLA (tlm, keras_hub)", f"{decoder.jit_compile}, {model.causal_lm.jit_compile}"],
            ["Alternating timed rounds", args.rounds],
            ["Greedy tokens match", match],
        ],
    }
    speeds = {
        "title": f"Greedy decoding speed (medians of {args.rounds} alternating rounds; the "
        "ratio in the last row)",
        "columns": ["Decoder", "First call (s)", "Median call (s)", "New tokens / s"],
        "decimals": [None, 2, 3, 1],
        "rows": [
            ["tlm", first_call["tlm"], median["tlm"], new_tokens / median["tlm"]],
            [
                "keras_hub GPT2CausalLM.generate",
                first_call["keras_hub"],
                median["keras_hub"],
                new_tokens / median["keras_hub"],
            ],
            ["tlm / keras_hub", None, None, ratio],
        ],
    }
    rounds = {
        "title": "New tokens / s of each round",
        "columns": ["Round", "tlm", "keras_hub"],
        "decimals": [None, 1, 1],
        "rows": [
            [number, new_tokens / tlm, new_tokens / keras_hub]
            for number, (tlm, keras_hub) in enumerate(
                zip(seconds["tlm"], seconds["keras_hub"], strict=True), start=1
            )
        ],
    }
    return [settings, speeds, rounds]


def notes(args, repeatable, model):
    """How to read the tables, with the settings of this run."""
    end = args.prompt_length + args.new_tokens
    rows, buffer_length = shape_class(args.batch_size, end)
    capacity = min(buffer_length, model.context_length)
    lines = [
        "Both decoders start from the same token ids (no tokenizer is timed) and generate "
        f"exactly {args.new_tokens} new tokens per prompt, the argmax of the same logits, with "
        "XLA: tlm's loop as `generate` runs it, keras_hub's `GPT2CausalLM.generate` after "
        '`compile(sampler="greedy", jit_compile=True)` (Keras\'s default turns XLA off without '
        "a GPU). The first call (tracing, XLA compilation and one decode) is timed apart.",
        "New tokens / s count every prompt of the batch; the ratio is the median over the "
        "rounds of tlm's speed over keras_hub's in the same round.",
        f"tlm's key/value cache holds {capacity} positions for these {end} tokens: its loop "
        "is compiled per shape class (rows and positions rounded up to powers of two, "
        "`tlm.generation.decoder.shape_class`) so that calls of other lengths reuse it, while "
        f"keras_hub's cache holds exactly {end}. Each step reads and rewrites the whole cache, "
        "so a length that fills its class (e.g. 32 + 96 = 128) decodes a little faster.",
    ]
    if not repeatable:
        lines.append("A decoder gave different tokens in a later call than in its first.")
    return lines


if __name__ == "__main__":
    main()
