"""Training throughput: tlm's Transformer against an equivalent keras_hub stack, in one process.

Both models have the `nanogpt-cpu` sizes (4 layers, 4 heads, 128 wide, feed-forward 512,
context 64, no dropout), vocabulary 65, batch 12, AdamW, and train with `model.fit` on random
tokens (speed does not depend on the data). The keras_hub stack is
`keras_hub.layers.TokenAndPositionEmbedding` -> 4 x `keras_hub.layers.TransformerDecoder`
(pre-norm, GELU) -> LayerNormalization -> Dense. The two alternate for several rounds so that
load from other processes on a shared machine hits both alike; the first steps of every round
(tracing, XLA compilation, warm-up) are excluded, and the median round is reported. Besides
tokens per wall-clock second it reports tokens per CPU-second of this process, which moves less
when other processes compete for the cores.

It prints tokens/s for both, their ratio, and model FLOP/s (`tlm.models.flops_per_token`, the
6N + 12·L·T·d training estimate) as a share of this machine's fp32 matmul rate, measured here with
a `tf.matmul` loop.

tlm is compiled as `tlm.training.train` compiles it by default (the `jit_compile` and
`steps_per_execution` defaults of `tlm.training.TrainConfig`, resolved by
`tlm.training.placement.resolve_jit_compile`: XLA for the Transformer), so the figure is what
`tlm train` gets. The keras_hub stack is compiled the Keras default way, which resolves
`jit_compile="auto"` to no XLA on a CPU-only machine. The line "jit_compile" shows what each
model was really compiled with.

    python benchmarks/train_throughput.py                  # both as they come (train's defaults)
    python benchmarks/train_throughput.py --tlm-jit false  # tlm without XLA
    python benchmarks/train_throughput.py --hub-jit true   # keras_hub with XLA too
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

from tlm.models import build_model, count_parameters, flops_per_token  # noqa: E402
from tlm.training import TrainConfig  # noqa: E402
from tlm.training.placement import resolve_jit_compile  # noqa: E402

# What `tlm.training.train` compiles with unless told otherwise.
TRAIN_DEFAULTS = TrainConfig()

VOCABULARY, BATCH_SIZE = 65, 12


def keras_hub_stack(preset_model):
    """The same sizes as `preset_model`, from keras_hub's layers."""
    token_ids = keras.Input(shape=(None,), dtype="int32")
    x = keras_hub.layers.TokenAndPositionEmbedding(
        VOCABULARY, preset_model.sequence_length, preset_model.hidden_dim
    )(token_ids)
    for _ in range(preset_model.num_layers):
        x = keras_hub.layers.TransformerDecoder(
            intermediate_dim=preset_model.intermediate_dim,
            num_heads=preset_model.num_heads,
            activation="gelu",
            normalize_first=True,
        )(x)
    x = keras.layers.LayerNormalization(epsilon=1e-5)(x)
    return keras.Model(token_ids, keras.layers.Dense(VOCABULARY)(x), name="keras_hub_stack")


def compile_for_training(model, jit_compile, steps_per_execution=1):
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )


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


def parse_jit(value):
    return {"true": True, "false": False, "auto": "auto"}[value]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--skip", type=int, default=2, help="untimed steps at each round start")
    parser.add_argument("--rounds", type=int, default=8, help="alternating rounds")
    parser.add_argument(
        "--tlm-jit",
        type=parse_jit,
        default=TRAIN_DEFAULTS.jit_compile,
        help="true | false | auto (default: tlm.training.train's)",
    )
    parser.add_argument("--hub-jit", type=parse_jit, default="auto", help="true | false | auto")
    parser.add_argument(
        "--tlm-options", type=json.loads, default={}, help="JSON of model overrides"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    tlm_model = build_model("transformer", VOCABULARY, preset="nanogpt-cpu", **args.tlm_options)
    hub_model = keras_hub_stack(tlm_model)
    sequence_length = tlm_model.sequence_length
    tlm_jit = resolve_jit_compile(tlm_model, args.tlm_jit)
    compile_for_training(tlm_model, tlm_jit, TRAIN_DEFAULTS.steps_per_execution)
    compile_for_training(hub_model, args.hub_jit)

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

    models = {"tlm": tlm_model, "keras_hub": hub_model}
    for model in models.values():  # tracing and compilation happen here, untimed
        tokens_per_second(model, dataset, steps=2, skip=3)
    runs = {name: [] for name in models}  # (wall, cpu) tokens/s per round
    for _ in range(args.rounds):
        for name, model in models.items():
            runs[name].append(tokens_per_second(model, dataset, args.steps, args.skip))
    matmul_rate = matmul_flops_per_second()

    def median(name, which):
        return statistics.median(run[which] for run in runs[name])

    def ratio(which):
        # Each round's two runs are back to back, so their ratio sees about the same load.
        pairs = zip(runs["tlm"], runs["keras_hub"], strict=True)
        return statistics.median(t[which] / h[which] for t, h in pairs)

    print(f"tlm options: {args.tlm_options or 'defaults'}")
    print(
        f"jit_compile: tlm={args.tlm_jit} -> {tlm_jit} -> {tlm_model.jit_compile}, "
        f"keras_hub={args.hub_jit} -> {hub_model.jit_compile}; "
        f"steps_per_execution: tlm={TRAIN_DEFAULTS.steps_per_execution}, keras_hub=1"
    )
    print(
        f"parameters: tlm {count_parameters(tlm_model):,}, keras_hub {hub_model.count_params():,}"
    )
    print(f"{args.rounds} alternating rounds of {args.steps} steps, batch {BATCH_SIZE}, medians:")
    for name in runs:
        walls = ", ".join(f"{wall:,.0f}" for wall, _ in runs[name])
        print(
            f"{name:>10}: {median(name, 0):8,.0f} tokens/s wall ({walls}); "
            f"{median(name, 1):8,.0f} tokens per CPU-second"
        )
    print(f"     ratio: {ratio(0):.2f}x wall, {ratio(1):.2f}x per CPU-second (tlm / keras_hub)")
    model_flops = median("tlm", 0) * flops_per_token(tlm_model)
    print(f"    matmul: {matmul_rate / 1e9:.1f} GFLOP/s measured (fp32, 1024 x 1024 tf.matmul)")
    print(
        f"       MFU: {model_flops / 1e9:.1f} GFLOP/s of model FLOPs "
        f"({flops_per_token(tlm_model):,} per token) = "
        f"{100 * model_flops / matmul_rate:.0f}% of the measured matmul rate"
    )
    if args.json:
        from tlm.provenance import write_figures

        settings = {  # parameters, jit_compile asked and used, steps per execution
            "tlm": (
                count_parameters(tlm_model),
                str(args.tlm_jit),
                str(tlm_model.jit_compile),
                TRAIN_DEFAULTS.steps_per_execution,
            ),
            "keras_hub": (
                hub_model.count_params(),
                str(args.hub_jit),
                str(hub_model.jit_compile),
                1,
            ),
        }
        speeds = {
            "title": "Training throughput (medians over the rounds)",
            "columns": [
                "Model",
                "Parameters",
                "jit_compile asked",
                "jit_compile used",
                "Steps per execution",
                "Tokens / s (wall clock)",
                "Tokens / CPU-second",
            ],
            "decimals": [None, None, None, None, None, 0, 0],
            "rows": [[name, *settings[name], median(name, 0), median(name, 1)] for name in runs],
        }
        rounds = {
            "title": "Tokens / s (wall clock) of each round",
            "columns": ["Round", "tlm (tokens / s)", "keras_hub (tokens / s)"],
            "decimals": [None, 0, 0],
            "rows": [
                [number, tlm_run[0], hub_run[0]]
                for number, (tlm_run, hub_run) in enumerate(
                    zip(runs["tlm"], runs["keras_hub"], strict=True), start=1
                )
            ],
        }
        ratios = {
            "title": "tlm / keras_hub",
            "columns": ["Wall clock", "Per CPU-second"],
            "decimals": [2, 2],
            "rows": [[ratio(0), ratio(1)]],
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
            "tlm / keras_hub is the median over the rounds of the ratio of the two back-to-back "
            "runs of a round. The share of the matmul rate divides tlm's model FLOP/s (6N + "
            "12·L·T·d per token) by the tf.matmul rate measured in this run.",
        ]
        write_figures(args.json, "train_throughput", [speeds, rounds, ratios, utilisation], notes)


if __name__ == "__main__":
    main()
