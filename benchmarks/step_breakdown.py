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
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
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

    dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
    step_model = build_model("transformer", VOCABULARY, "nanogpt-cpu", sequence_length=CONTEXT)
    compile_for_training(step_model, dataclasses.replace(config, steps_per_execution=10))
    step_model.fit(dataset, steps_per_epoch=20, verbose=0)

    def whole_step(steps=200):
        start = time.perf_counter()
        step_model.fit(dataset, steps_per_epoch=steps, verbose=0)
        return 1000 * (time.perf_counter() - start) / steps

    def measure():
        return {
            "forward": median_ms(lambda: forward().numpy()),
            "forward + backward": median_ms(lambda: [g.numpy() for g in forward_backward()][:1]),
            "optimizer": median_ms(lambda: update()),
            "whole step": whole_step(),
        }

    return measure, step_model, dataset


def category(op_name):
    """The part of the model an XLA instruction comes from, read from its TensorFlow op name."""
    direction = "backward" if "gradient_tape" in op_name else "forward"
    name = op_name.lower()
    for key, label in (
        ("optimizer", "optimizer (AdamW, clipping)"),
        ("adamw", "optimizer (AdamW, clipping)"),
        ("_norm", "layer norms"),
        ("mlp_up", "MLP up + GELU"),
        ("mlp_down", "MLP down"),
        ("/query", "attention: q, k, v, output projections"),
        ("/key", "attention: q, k, v, output projections"),
        ("/value", "attention: q, k, v, output projections"),
        ("attention_output", "attention: q, k, v, output projections"),
        ("attention", "attention: scores, softmax, weighted sum"),
        ("embedding", "embedding + tied head"),
        ("loss", "loss"),
        ("cross", "loss"),
    ):
        if key in name:
            return label if label.startswith("optimizer") else f"{label} ({direction})"
    # Residual adds, the sums of gradients that reach a tensor by several paths (AddN), ...
    return "other (residual adds, gradient sums, ...)"


def profile_whole_step(step_model, dataset, dump_folder, steps=50):
    """Time every XLA instruction of tlm's train step with the TensorFlow profiler."""
    import collections
    import glob
    import re
    import tempfile

    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    # Which TensorFlow op each instruction of the compiled train step comes from.
    dumps = glob.glob(os.path.join(dump_folder, "*one_step_on_data*cpu_after_optimizations.txt"))
    if not dumps:
        raise SystemExit(f"No XLA dump of the train step in {dump_folder}")
    origin = {}
    pattern = re.compile(r"^\s*(?:ROOT )?%([\w.-]+) = .*op_name=\"([^\"]*)\"")
    for line in open(max(dumps, key=os.path.getsize), encoding="utf-8"):
        match = pattern.match(line)
        if match:
            origin[match.group(1)] = match.group(2)
    with tempfile.TemporaryDirectory() as log_folder:
        tf.profiler.experimental.start(log_folder)
        step_model.fit(dataset, steps_per_epoch=steps, verbose=0)
        tf.profiler.experimental.stop()
        (trace,) = glob.glob(os.path.join(log_folder, "**", "*.xplane.pb"), recursive=True)
        space = xplane_pb2.XSpace()
        with open(trace, "rb") as file:
            space.ParseFromString(file.read())
    totals = collections.Counter()
    for plane in space.planes:
        names = {key: value.name for key, value in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if name in origin:  # an XLA instruction of the train step, not a runtime event
                    totals[category(origin[name])] += event.duration_ps / 1e9 / steps
    return totals


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
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating rounds of nanoGPT then tlm; the median of each part is reported "
        "(default: 3)",
    )
    parser.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"argument --rounds: must be at least 1. Received: {args.rounds}")
    if args.torch_child:
        print(json.dumps(torch_parts(args.nanogpt)))
        return
    with tempfile.TemporaryDirectory() as dump_folder:
        # Keep the optimized HLO of every compiled function, to name what the profiler times.
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + f" --xla_dump_to={dump_folder} --xla_dump_hlo_as_text"
        )
        measure, step_model, dataset = tlm_parts()
        rounds = {"tlm": [], "nanoGPT": []}
        command = [sys.executable, __file__, "--torch-child", "--nanogpt", args.nanogpt]
        for _ in range(args.rounds):
            child = subprocess.run(command, capture_output=True, text=True, check=False)
            if child.returncode:
                raise SystemExit(f"The PyTorch side failed:\n{child.stderr}")
            rounds["nanoGPT"].append(json.loads(child.stdout.strip().splitlines()[-1]))
            rounds["tlm"].append(measure())
        profile = profile_whole_step(step_model, dataset, dump_folder)
    tlm, nanogpt = (
        {part: statistics.median(r[part] for r in rounds[side]) for part in PARTS}
        for side in ("tlm", "nanoGPT")
    )
    print(f"{'part of a step':<20} {'tlm (ms)':>9} {'nanoGPT (ms)':>13}")
    rows = []
    for part in PARTS:
        print(f"{part:<20} {tlm[part]:>9.1f} {nanogpt[part]:>13.1f}")
        rows.append([part, tlm[part], nanogpt[part]])
    total = sum(profile.values())
    print("\ntlm's whole step by the part of the model each XLA instruction comes from:")
    profile_rows = []
    for name, milliseconds in sorted(profile.items(), key=lambda item: -item[1]):
        print(f"{name:<58} {milliseconds:>6.1f} ms {100 * milliseconds / total:>5.1f} %")
        profile_rows.append([name, milliseconds, 100 * milliseconds / total])
    print(f"{'all instructions':<58} {total:>6.1f} ms")
    if args.json:
        sys.path.insert(0, os.path.join(HERE, ".."))
        from tlm.provenance import describe_machine, write_figures

        table = {
            "title": f"One step of nanoGPT's CPU recipe, part by part (median ms of {args.rounds} "
            "alternating rounds)",
            "columns": ["Part", "tlm (ms)", "PyTorch nanoGPT (ms)"],
            "decimals": [None, 1, 1],
            "rows": rows,
        }
        profile_table = {
            "title": "tlm's whole step: XLA instruction time by the part of the model",
            "columns": ["Part of the model", "ms / step", "Share (%)"],
            "decimals": [None, 1, 0],
            "rows": profile_rows,
        }
        notes = [
            "tlm's parts are XLA-compiled functions (the whole step: Keras' train step, 10 "
            "per call); nanoGPT's run eagerly in fp32, as its CPU recipe does. The optimizer "
            "part is AdamW with global-norm clipping at 1.0 on gradients already computed. "
            f"One run on {describe_machine()['cpu']}, both sides on every core, one at a time, "
            "in alternating rounds.",
            "The second table comes from the TensorFlow profiler's trace of 50 train steps: the "
            "time of each XLA instruction, attributed through the optimized HLO's op names to "
            "the layer it comes from (the gradient's instructions are the backward pass). "
            "Matrix products of the projections and the MLP are inside their layer's rows.",
        ]
        write_figures(args.json, "step_breakdown", [table, profile_table], notes)


if __name__ == "__main__":
    main()
