"""Where a training step of the `nanogpt-cpu` Transformer goes, in tlm and in PyTorch nanoGPT.

Each part of one step of nanoGPT's CPU recipe (batch 12, context 64) is timed on its own, as
the median of several repeats after a warm-up:

- forward: the model and the loss;
- forward + backward: the same and the gradients;
- optimizer: AdamW's update with global-norm clipping, on gradients already computed;
- whole step: what training runs (tlm: Keras' XLA-compiled train step, 10 steps per call).

tlm's parts are compiled with XLA, as `tlm.training.train` compiles the Transformer; nanoGPT's
run eagerly, as its CPU recipe does. The PyTorch side runs in a child process (TensorFlow and
PyTorch in one process can crash). Needs PyTorch for that side (`pip install -e ".[bench]"`).

    python benchmarks/step_breakdown.py
    python benchmarks/step_breakdown.py --json benchmarks/results/step_breakdown.json
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")
BATCH, CONTEXT, VOCABULARY = 12, 64, 65
PARTS = ("forward", "forward + backward", "optimizer", "whole step")


def median_ms(function, repeats=30, warmup=5):
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def tlm_parts():
    import keras
    import numpy as np
    import tensorflow as tf

    from tlm.models import build_model
    from tlm.training import TrainConfig, compile_for_training

    keras.utils.set_random_seed(0)
    model = build_model("transformer", VOCABULARY, "nanogpt-cpu", sequence_length=CONTEXT)
    config = TrainConfig(steps_per_epoch=2000, global_clipnorm=1.0, beta_2=0.99)
    compile_for_training(model, config)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.integers(0, VOCABULARY, (BATCH, CONTEXT)), tf.int32)
    y = tf.constant(rng.integers(0, VOCABULARY, (BATCH, CONTEXT)), tf.int32)
    loss_function = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(jit_compile=True)
    def forward():
        return loss_function(y, model(x, training=True))

    @tf.function(jit_compile=True)
    def forward_backward():
        with tf.GradientTape() as tape:
            loss = loss_function(y, model(x, training=True))
        return tape.gradient(loss, model.trainable_variables)

    gradients = forward_backward()
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=True)
    def update():
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))

    parts = {
        "forward": median_ms(lambda: forward().numpy()),
        "forward + backward": median_ms(lambda: [g.numpy() for g in forward_backward()][:1]),
        "optimizer": median_ms(lambda: update()),
    }
    dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.compile(
        optimizer=model.optimizer, loss=loss_function, jit_compile=True, steps_per_execution=10
    )
    model.fit(dataset, steps_per_epoch=20, verbose=0)
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=200, verbose=0)
    parts["whole step"] = 1000 * (time.perf_counter() - start) / 200
    return parts


def torch_parts(nanogpt_folder):
    import numpy as np
    import torch
    from vs_nanogpt import NanoGPT, load_nanogpt

    torch.set_num_threads(os.cpu_count())
    # nanoGPT's model and optimizer exactly as vs_nanogpt.py builds them (same recipe).
    peer = NanoGPT(load_nanogpt(nanogpt_folder), VOCABULARY, np.zeros(CONTEXT + 1), 2000, 0)
    model, optimizer = peer.model, peer.optimizer
    x = torch.randint(VOCABULARY, (BATCH, CONTEXT))
    y = torch.randint(VOCABULARY, (BATCH, CONTEXT))

    def forward():
        with torch.no_grad():
            model(x, y)

    def forward_backward():
        _, loss = model(x, y)
        loss.backward()
        model.zero_grad(set_to_none=True)

    _, loss = model(x, y)
    loss.backward()
    saved = [p.grad.clone() for p in model.parameters()]

    def update():
        for parameter, gradient in zip(model.parameters(), saved, strict=True):
            parameter.grad = gradient
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    def step():
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return {
        "forward": median_ms(forward),
        "forward + backward": median_ms(forward_backward),
        "optimizer": median_ms(update),
        "whole step": median_ms(step, repeats=100),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--nanogpt",
        default=os.path.join(SHARED, "reference", "nanogpt"),
        help="folder holding nanoGPT's model.py (default: the reference copy)",
    )
    parser.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.torch_child:
        print(json.dumps(torch_parts(args.nanogpt)))
        return
    command = [sys.executable, __file__, "--torch-child", "--nanogpt", args.nanogpt]
    child = subprocess.run(command, capture_output=True, text=True, check=False)
    if child.returncode:
        raise SystemExit(f"The PyTorch side failed:\n{child.stderr}")
    nanogpt = json.loads(child.stdout.strip().splitlines()[-1])
    tlm = tlm_parts()
    print(f"{'part of a step':<20} {'tlm (ms)':>9} {'nanoGPT (ms)':>13}")
    rows = []
    for part in PARTS:
        print(f"{part:<20} {tlm[part]:>9.1f} {nanogpt[part]:>13.1f}")
        rows.append([part, tlm[part], nanogpt[part]])
    if args.json:
        sys.path.insert(0, os.path.join(HERE, ".."))
        from tlm.provenance import describe_machine, write_figures

        table = {
            "title": "One step of nanoGPT's CPU recipe, part by part (median ms)",
            "columns": ["Part", "tlm (ms)", "PyTorch nanoGPT (ms)"],
            "decimals": [None, 1, 1],
            "rows": rows,
        }
        notes = [
            "tlm's parts are XLA-compiled functions (the whole step: Keras' train step, 10 "
            "per call); nanoGPT's run eagerly in fp32, as its CPU recipe does. The optimizer "
            "part is AdamW with global-norm clipping at 1.0 on gradients already computed. "
            f"One run on {describe_machine()['cpu']}, both sides on every core, one at a time.",
        ]
        write_figures(args.json, "step_breakdown", [table], notes)


if __name__ == "__main__":
    main()
