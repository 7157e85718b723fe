"""Training throughput under plain `compile` + `fit`: tlm's Transformer against a keras_hub stack.

Both models have the `nanogpt-cpu` sizes (4 layers, 4 heads, 128 wide, feed-forward 512,
context 64, no dropout), vocabulary 65, batch 12, and train with `model.fit` on random tokens
(speed does not depend on the data). The keras_hub stack is
`keras_hub.layers.TokenAndPositionEmbedding` -> 4 x `keras_hub.layers.TransformerDecoder`
(pre-norm, GELU) -> LayerNormalization -> the token embedding reversed (the output projection
tied to the embedding, as in tlm's model).

Each is compiled the way a user writes it, `model.compile(AdamW, SparseCategoricalCrossentropy)`
with one step per call, in four configurations measured in one run: each model with its own
default (tlm's Transformer turns XLA on; Keras' "auto" leaves it off on a CPU), tlm with
`jit_compile=False`, keras_hub with `jit_compile=True`. Three ratios come out: as compiled by
default, both with XLA, both without. The four alternate for several rounds so that load from
other processes on a shared machine hits all alike; the first steps of every round are excluded,
and the median round is reported. Besides tokens per wall-clock second it reports tokens per
CPU-second of this process, which moves less when other processes compete for the cores.

It also prints model FLOP/s (`tlm.models.flops_per_token`, the 6N + 12·L·T·d training estimate)
as a share of this machine's fp32 matmul rate, measured here with a `tf.matmul` loop.
`benchmarks/vs_nanogpt.py` measures `tlm.training.train`'s own path against PyTorch nanoGPT.

    python benchmarks/train_throughput.py
    python benchmarks/train_throughput.py --tlm-options '{"use_formula": true}'
    python benchmarks/train_throughput.py --json benchmarks/results/train_throughput.json
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tlm.models import (  # noqa: E402
    TransformerLanguageModel,
    build_model,
    count_parameters,
    flops_per_token,
)

VOCABULARY, BATCH_SIZE = 65, 12


def keras_hub_stack(preset_model):
    """The same sizes as `preset_model`, from keras_hub's layers."""
    token_ids = keras.Input(shape=(None,), dtype="int32")
    embedding = keras_hub.layers.TokenAndPositionEmbedding(
        VOCABULARY, preset_model.sequence_length, preset_model.hidden_dim, tie_weights=True
    )
    x = embedding(token_ids)
    for _ in range(preset_model.num_layers):
        x = keras_hub.layers.TransformerDecoder(
            intermediate_dim=preset_model.intermediate_dim,
            num_heads=preset_model.num_heads,
            activation="gelu",
            normalize_first=True,
        )(x)
    x = keras.layers.LayerNormalization(epsilon=1e-5)(x)
    # The head is the token embedding reversed, tied as in tlm (and keras_hub's GPT2CausalLM).
    logits = embedding.token_embedding(x, reverse=True)
    return keras.Model(token_ids, logits, name="keras_hub_stack")


class StepTimer(keras.callbacks.Callback):
    """Wall and process CPU time of the batches after the first `skip` of a `fit` call."""

    def __init__(self, skip):
        super().__init__()
        self.skip = skip

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.skip:
            self.start = (time.perf_counter(), time.process_time())
        self.end = (time.perf_counter(), time.process_time())
        self.measured = batch + 1 - self.skip


def tokens_per_second(model, dataset, steps, skip):
    """(tokens per wall second, tokens per CPU second of this process) over `steps` fit steps."""
    timer = StepTimer(skip)
    model.fit(
        dataset,
        steps_per_epoch=steps + skip,
        epochs=1,
        verbose=0,
        shuffle=False,
        callbacks=[timer],
    )
    tokens = timer.measured * BATCH_SIZE * dataset.element_spec[0].shape[1]
    return tuple(tokens / (end - start) for start, end in zip(timer.start, timer.end, strict=True))


def matmul_flops_per_second(size=1024, repeats=20, timings=5):
    """Measured fp32 matmul rate of this machine (FLOP/s), the best of several timings."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))

    @tf.function
    def chain():
        c = a
        for _ in range(repeats):
            c = tf.matmul(c, b) * 1e-3  # rescaled so the values stay finite
        return c

    chain().numpy()
    best = float("inf")
    for _ in range(timings):
        start = time.perf_counter()
        chain().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 * repeats / best


# (name, builder, jit_compile passed to compile: None leaves the model's own default)
CONFIGURATIONS = (
    ("tlm", "tlm", None),
    ("keras_hub", "keras_hub", None),
    ("tlm, XLA off", "tlm", False),
    ("keras_hub, XLA on", "keras_hub", True),
)
# The pairs whose ratio is reported: (title, tlm's configuration, keras_hub's).
PAIRS = (
    ("as compiled by default", "tlm", "keras_hub"),
    ("both with XLA", "tlm", "keras_hub, XLA on"),
    ("both without XLA", "tlm, XLA off", "keras_hub"),
)


def parameters(model):
    return (
        count_parameters(model)
        if isinstance(model, TransformerLanguageModel)
        else (model.count_params())
    )


def plain_compile(model, jit_compile):
    """`model.compile(optimizer, loss)` as a user writes it; `jit_compile` only when given."""
    options = {} if jit_compile is None else {"jit_compile": jit_compile}
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        **options,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--skip", type=int, default=2, help="untimed steps at each round start")
    parser.add_argument("--rounds", type=int, default=8, help="alternating rounds")
    parser.add_argument(
        "--tlm-options", type=json.loads, default={}, help="JSON of model overrides"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    models = {}
    for name, kind, jit_compile in CONFIGURATIONS:
        keras.utils.set_random_seed(0)
        tlm_model = build_model("transformer", VOCABULARY, preset="nanogpt-cpu", **args.tlm_options)
        model = tlm_model if kind == "tlm" else keras_hub_stack(tlm_model)
        plain_compile(model, jit_compile)
        models[name] = model
    sequence_length = tlm_model.sequence_length

    tokens = np.random.default_rng(0).integers(
        0, VOCABULARY, (64 * BATCH_SIZE, sequence_length + 1)
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((tokens[:, :-1], tokens[:, 1:]))
        .batch(BATCH_SIZE, drop_remainder=True)
        .cache()
        .repeat()
        .prefetch(tf.data.AUTOTUNE)
    )

    for model in models.values():  # tracing and compilation happen here, untimed
        tokens_per_second(model, dataset, steps=2, skip=3)
    runs = {name: [] for name in models}  # (wall, cpu) tokens/s per round
    for _ in range(args.rounds):
        for name, model in models.items():
            runs[name].append(tokens_per_second(model, dataset, args.steps, args.skip))
    matmul_rate = matmul_flops_per_second()

    def median(name, which):
        return statistics.median(run[which] for run in runs[name])

    def ratio(first, second, which):
        # The runs of one round are close in time, so their ratio sees about the same load.
        pairs = zip(runs[first], runs[second], strict=True)
        return statistics.median(a[which] / b[which] for a, b in pairs)

    def jit_used(name):
        return models[name].jit_compile

    print(f"tlm options: {args.tlm_options or 'defaults'}")
    print(
        f"plain model.compile(AdamW, SparseCategoricalCrossentropy) + fit, batch {BATCH_SIZE}, "
        f"{args.rounds} alternating rounds of {args.steps} steps, medians:"
    )
    for name in runs:
        walls = ", ".join(f"{wall:,.0f}" for wall, _ in runs[name])
        print(
            f"{name:>18} (jit_compile={jit_used(name)}): {median(name, 0):8,.0f} tokens/s wall "
            f"({walls}); {median(name, 1):8,.0f} tokens per CPU-second"
        )
    for title, first, second in PAIRS:
        print(
            f"tlm / keras_hub, {title}: {ratio(first, second, 0):.2f}x wall, "
            f"{ratio(first, second, 1):.2f}x per CPU-second"
        )
    model_flops = median("tlm", 0) * flops_per_token(tlm_model)
    print(f"    matmul: {matmul_rate / 1e9:.1f} GFLOP/s measured (fp32, 1024 x 1024 tf.matmul)")
    print(
        f"       MFU: {model_flops / 1e9:.1f} GFLOP/s of model FLOPs "
        f"({flops_per_token(tlm_model):,} per token) = "
        f"{100 * model_flops / matmul_rate:.0f}% of the measured matmul rate"
    )
    if args.json:
        from tlm.provenance import write_figures

        speeds = {
            "title": "Training throughput under plain compile + fit (medians over the rounds)",
            "columns": [
                "Model",
                "Parameters",
                "jit_compile used",
                "Tokens / s (wall clock)",
                "Tokens / CPU-second",
            ],
            "decimals": [None, None, None, 0, 0],
            "rows": [
                [
                    name,
                    parameters(models[name]),
                    str(jit_used(name)),
                    *(median(name, which) for which in (0, 1)),
                ]
                for name in runs
            ],
        }
        rounds = {
            "title": "Tokens / s (wall clock) of each round",
            "columns": ["Round", *(f"{name} (tokens / s)" for name in runs)],
            "decimals": [None, *(0 for _ in runs)],
            "rows": [
                [number, *(runs[name][number - 1][0] for name in runs)]
                for number in range(1, args.rounds + 1)
            ],
        }
        ratios = {
            "title": "tlm / keras_hub",
            "columns": ["Compiled", "Wall clock", "Per CPU-second"],
            "decimals": [None, 2, 2],
            "rows": [
                [title, ratio(first, second, 0), ratio(first, second, 1)]
                for title, first, second in PAIRS
            ],
        }
        utilisation = {
            "title": "Model FLOPs against the measured matmul rate",
            "columns": [
                "fp32 matmul, 1024 x 1024 (GFLOP/s)",
                "tlm model FLOPs per token",
                "tlm model FLOP/s at its median tokens / s (GFLOP/s)",
                "Share of the matmul rate (%)",
            ],
            "decimals": [1, None, 1, 0],
            "rows": [
                [
                    matmul_rate / 1e9,
                    flops_per_token(tlm_model),
                    model_flops / 1e9,
                    100 * model_flops / matmul_rate,
                ]
            ],
        }
        options = f", tlm options {json.dumps(args.tlm_options)}" if args.tlm_options else ""
        notes = [
            f"The nanogpt-cpu sizes, vocabulary {VOCABULARY}, batch {BATCH_SIZE}, AdamW on random "
            f"tokens{options}; {args.rounds} alternating rounds of "
            f"{args.steps} timed steps, each after {args.skip} untimed ones.",
            "Each model is compiled as a user writes it, `model.compile(AdamW, "
            "SparseCategoricalCrossentropy)`, one step per call; 'XLA off' and 'XLA on' add "
            "`jit_compile=False` / `True`. A ratio is the median over the rounds of the ratio of "
            "the two runs of a round. The share of the matmul rate divides tlm's model FLOP/s "
            "(6N + 12·L·T·d per token) by the tf.matmul rate measured in this run.",
        ]
        write_figures(args.json, "train_throughput", [speeds, rounds, ratios, utilisation], notes)


if __name__ == "__main__":
    main()
