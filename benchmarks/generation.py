"""Generation speed: KV cache vs full re-computation vs keras_hub's GPT-2, and how flat it stays.

For each preset shape (random weights, vocabulary 65 as for Shakespeare characters) and batch
size, generating `--new-tokens` tokens (top-k sampling, k=10) after an 8-token prompt:

- tokens/s of `tlm.generation` with the key/value cache (Transformer) / carried state (LSTM);
- tokens/s with full re-computation of the context window at every token (Transformer);
- tokens/s of `keras_hub.models.GPT2CausalLM.generate` on a `GPT2Backbone` of the same sizes
  (random init, token ids in, no download; its position table must cover prompt + new tokens),
  compiled with XLA as tlm's loop is (`compile(jit_compile=True)`: Keras's default, "auto",
  turns XLA off on a CPU);
- tokens/s of the model exported by `tlm.export` (a SavedModel, loaded back with
  `tf.saved_model.load`): text in, text out, its `generate` signature with the same top-k,
  prompts of 8 characters of a 65-character vocabulary;
- the time per token over the first and the last 64 new tokens (cached);
- the first-call time (tracing + XLA compilation + one run).

Tokens/s count every row of the batch. Targets: cached >= 5x full re-computation, >= keras_hub
GPT-2, per-token time flat within 25 %, the exported model within 1.5x of the cached decoding.

    python benchmarks/generation.py                       # both presets, batch 1 and 8
    python benchmarks/generation.py --presets nanogpt-cpu --batch-sizes 1
    python benchmarks/generation.py --json benchmarks/results/generation.json

The nanogpt-gpu shape is meant for a GPU; on a CPU its full re-computation is timed over the
first `--full-tokens` new tokens only (the window, hence the cost per token, is the same for every
token), so the whole run stays within minutes. Figures are noisy on a shared machine.
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tlm.generation import get_decoder  # noqa: E402
from tlm.models import TRANSFORMER_PRESETS, build_model, label_of  # noqa: E402

VOCABULARY_SIZE = 65
PROMPT_LENGTH = 8
TOP_K = 10


def timed_decode(decoder, prompts, new_tokens, chunk_size=None, max_tokens=None):
    """Run one decode; return (seconds, new tokens per row, per-token times of row 0)."""
    start = last = time.perf_counter()
    per_token, produced = [], 0
    for new_ids in decoder.decode(prompts, new_tokens, seed=0, chunk_size=chunk_size):
        now = time.perf_counter()
        count = len(new_ids[0]) - produced
        per_token += [(now - last) / max(count, 1)] * count
        produced, last = len(new_ids[0]), now
        if max_tokens and produced >= max_tokens:
            break
    return time.perf_counter() - start, produced, per_token


def measure(decoder, prompts, new_tokens, repeats, chunk_size=None, max_tokens=None):
    """First-call seconds, best tokens/s over `repeats`, and the per-token times of the best."""
    first, _, _ = timed_decode(decoder, prompts, new_tokens, chunk_size, max_tokens)
    best = None
    for _ in range(repeats):
        seconds, produced, per_token = timed_decode(
            decoder, prompts, new_tokens, chunk_size, max_tokens
        )
        if best is None or seconds < best[0]:
            best = (seconds, produced, per_token)
    seconds, produced, per_token = best
    return first, len(prompts) * produced / seconds, per_token


def gpt2_tokens_per_second(config, prompts, new_tokens, repeats):
    """keras_hub GPT-2 of the same sizes, random weights, generating from token ids."""
    batch_size = len(prompts)
    total = PROMPT_LENGTH + new_tokens
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=VOCABULARY_SIZE,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        dropout=0.0,
        max_sequence_length=total,
    )
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    causal_lm.compile(sampler=keras_hub.samplers.TopKSampler(k=TOP_K, seed=0), jit_compile=True)
    token_ids = np.zeros((batch_size, total), "int32")
    token_ids[:, :PROMPT_LENGTH] = prompts
    padding_mask = np.zeros((batch_size, total), bool)
    padding_mask[:, :PROMPT_LENGTH] = True
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
    start = time.perf_counter()
    causal_lm.generate(inputs, stop_token_ids=None)
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        causal_lm.generate(inputs, stop_token_ids=None)
        best = min(best, time.perf_counter() - start)
    return first, batch_size * new_tokens / best


# 63 characters + "[PAD]" and "[UNK]": the 65 ids of the benchmark's vocabulary.
CHARACTERS = "".join(chr(code) for code in range(ord("!"), ord("!") + 63))  # "!" to "_"


def exported_tokens_per_second(model, prompts, new_tokens, repeats):
    """The model and a 65-character tokenizer exported by `tlm.export`, loaded back, timed on
    its `generate` signature (text in, text out): `(first call s, tokens/s)`."""
    from tlm.data import build_tokenizer
    from tlm.export import export
    from tlm.training import Run

    tokenizer = build_tokenizer("char", CHARACTERS)
    assert tokenizer.vocabulary_size == VOCABULARY_SIZE
    texts = [tokenizer.decode(row) for row in prompts]
    with tempfile.TemporaryDirectory() as folder:
        export(Run(model, tokenizer, {}, ""), os.path.join(folder, "exported"))
        generate = tf.saved_model.load(os.path.join(folder, "exported")).signatures["generate"]
    settings = dict(
        prompt=tf.constant(texts),
        max_new_tokens=tf.constant(new_tokens),
        temperature=tf.constant(1.0),
        top_k=tf.constant(TOP_K),
        top_p=tf.constant(1.0),
        seed=tf.constant(0),
    )
    start = time.perf_counter()
    generate(**settings)["text"].numpy()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        generate(**settings)["text"].numpy()
        best = min(best, time.perf_counter() - start)
    return first, len(prompts) * new_tokens / best


def flatness(per_token):
    first, last = np.mean(per_token[:64]) * 1e3, np.mean(per_token[-64:]) * 1e3
    return first, last, abs(last - first) / first


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["nanogpt-cpu", "nanogpt-gpu"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs after the first")
    parser.add_argument(
        "--full-tokens",
        type=int,
        default=32,
        help="nanogpt-gpu on CPU: time full re-computation over this many new tokens",
    )
    parser.add_argument("--skip-gpt2", action="store_true")
    parser.add_argument("--skip-lstm", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    print(f"device: {'GPU' if on_gpu else 'CPU'}, {args.new_tokens} new tokens, top-k {TOP_K}")
    rows = []
    rng = np.random.default_rng(0)
    for preset in args.presets:
        for kind in ("transformer", "lstm"):
            if kind == "lstm" and args.skip_lstm:
                continue
            keras.utils.set_random_seed(0)
            model = build_model(kind, VOCABULARY_SIZE, preset=preset, dropout=0.0)
            for batch_size in args.batch_sizes:
                prompts = rng.integers(2, VOCABULARY_SIZE, (batch_size, PROMPT_LENGTH)).tolist()
                # The cached run yields every 64 tokens (or at each window slide) for timing.
                cached = get_decoder(model, "top_k", TOP_K)
                first, speed, per_token = measure(
                    cached, prompts, args.new_tokens, args.repeats, chunk_size=64
                )
                row = {"preset": preset, "model": kind, "batch": batch_size}
                row.update(cached_tps=speed, compile_s=first)
                row.update(
                    zip(("first64_ms", "last64_ms", "drift"), flatness(per_token), strict=True)
                )
                if not args.skip_export:
                    row["export_compile_s"], row["export_tps"] = exported_tokens_per_second(
                        model, prompts, args.new_tokens, args.repeats
                    )
                if kind == "transformer":
                    full = get_decoder(model, "top_k", TOP_K, use_cache=False)
                    short = preset == "nanogpt-gpu" and not on_gpu
                    _, row["full_tps"], _ = measure(
                        full,
                        prompts,
                        args.new_tokens,
                        1 if short else args.repeats,
                        chunk_size=args.full_tokens if short else None,
                        max_tokens=args.full_tokens if short else None,
                    )
                    if not args.skip_gpt2:
                        config = TRANSFORMER_PRESETS[preset]
                        row["gpt2_compile_s"], row["gpt2_tps"] = gpt2_tokens_per_second(
                            config, prompts, args.new_tokens, args.repeats
                        )
                rows.append(row)
                print(format_row(row), flush=True)
    print()
    print(HEADER)
    for row in rows:
        print(format_row(row))
    if args.json:
        from tlm.provenance import write_figures

        write_figures(args.json, "generation", [figures_table(rows)], notes(args, on_gpu))
    return rows


HEADER = (
    "preset       model        batch  cached tok/s  full tok/s  speedup  gpt2 tok/s  vs gpt2  "
    "first64 ms/tok  last64 ms/tok  drift  compile s  gpt2 compile s  export tok/s  "
    "cached/export"
)


def format_row(row):
    def number(key, spec):
        return format(row[key], spec) if key in row else "-"

    speedup = f"{row['cached_tps'] / row['full_tps']:.1f}x" if "full_tps" in row else "-"
    versus = f"{row['cached_tps'] / row['gpt2_tps']:.2f}x" if "gpt2_tps" in row else "-"
    exported = f"{row['cached_tps'] / row['export_tps']:.2f}x" if "export_tps" in row else "-"
    return (
        f"{row['preset']:<12} {row['model']:<12} {row['batch']:>5}  {number('cached_tps', '12.0f')}"
        f"  {number('full_tps', '10.0f')}  {speedup:>7}  {number('gpt2_tps', '10.0f')}  "
        f"{versus:>7}  {number('first64_ms', '14.3f')}  {number('last64_ms', '13.3f')}  "
        f"{row['drift']:>5.0%}  {number('compile_s', '9.1f')}  {number('gpt2_compile_s', '14.1f')}"
        f"  {number('export_tps', '12.0f')}  {exported:>13}"
    )


def figures_table(rows):
    """The printed table as a `tlm.provenance.write_figures` table: raw figures, None for "-"."""

    def value(row, key):
        return float(row[key]) if key in row else None

    def ratio(row, key):
        return float(row["cached_tps"] / row[key]) if key in row else None

    return {
        "title": "Generation speed",
        "columns": [
            "Preset",
            "Model",
            "Batch",
            "Cached (tokens / s)",
            "Full re-computation (tokens / s)",
            "Cached / full",
            "keras_hub GPT-2 (tokens / s)",
            "Cached / GPT-2",
            "First 64 tokens (ms / token)",
            "Last 64 tokens (ms / token)",
            "Drift (%)",
            "First call (s)",
            "GPT-2 first call (s)",
            "Exported SavedModel (tokens / s)",
            "Cached / exported",
            "Exported first call (s)",
        ],
        "decimals": [None, None, None, 0, 0, 1, 0, 2, 3, 3, 0, 1, 1, 0, 2, 1],
        "rows": [
            [
                row["preset"],
                label_of(row["model"]),
                row["batch"],
                value(row, "cached_tps"),
                value(row, "full_tps"),
                ratio(row, "full_tps"),
                value(row, "gpt2_tps"),
                ratio(row, "gpt2_tps"),
                value(row, "first64_ms"),
                value(row, "last64_ms"),
                100 * float(row["drift"]),
                value(row, "compile_s"),
                value(row, "gpt2_compile_s"),
                value(row, "export_tps"),
                ratio(row, "export_tps"),
                value(row, "export_compile_s"),
            ]
            for row in rows
        ],
    }


def notes(args, on_gpu):
    """How to read `figures_table`, with the settings of this run."""
    lines = [
        f"On the {'GPU' if on_gpu else 'CPU'}: random weights, vocabulary {VOCABULARY_SIZE}, "
        f"{args.new_tokens} new tokens after a prompt of {PROMPT_LENGTH}, top-k {TOP_K}; "
        f"tokens / s count every row of the batch, best of {args.repeats} timed runs after a "
        "first call (tracing, compilation and one run) that is timed on its own.",
        "Cached / full and Cached / GPT-2 divide the cached tokens / s by the other two measured "
        "in this run; drift is how far the time per token over the last 64 new tokens is from "
        "that over the first 64 (targets: cached >= 5x full, >= GPT-2, drift within 25 %). "
        "keras_hub's GPT-2 is compiled with XLA, as tlm's loop is.",
        "Exported: the same model and a 65-character tokenizer written by `tlm.export` and "
        "loaded back with `tf.saved_model.load`, timed on its `generate` signature (strings in, "
        "strings out: tokenization and detokenization included; XLA compiles its loop at the "
        "first call); Cached / exported is the cached tokens / s over the exported model's "
        "(target: within 1.5x).",
    ]
    if "nanogpt-gpu" in args.presets and not on_gpu:
        lines.append(
            f"nanogpt-gpu on a CPU: full re-computation is timed once, over the first "
            f"{args.full_tokens} new tokens."
        )
    return lines


if __name__ == "__main__":
    main()
