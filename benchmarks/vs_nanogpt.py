"""tlm against PyTorch nanoGPT, side by side on one machine in one run: speed and validation loss.

The recipe is nanoGPT's CPU one ("I only have a macbook" in its README): 4 layers, 4 heads,
128 wide, context 64, no dropout, batch 12, AdamW (lr 1e-3, betas 0.9/0.99, weight decay 0.1),
100 warm-up steps then cosine decay to 1e-4 at step 2,000, gradient norm clipped at 1.0, windows
drawn at random offsets of Tiny Shakespeare's first 90 %. nanoGPT is its own `model.py` (from
`--nanogpt`, a nanoGPT checkout; the reference copy beside this project by default) driven by
`train.py`'s loop, written out below; tlm is `tlm.training.train` with the same recipe (XLA for
the Transformer, `--steps-per-execution` optimizer steps per compiled call).

1. Speed: `--rounds` alternating rounds of `--round-steps` steps of each, on models that keep
   training across rounds. tlm runs twice: as `train` compiles it, and as a user compiles it
   (`model.compile(AdamW(...), SparseCategoricalCrossentropy(from_logits=True))`, one step per
   call: tlm's `compile` turns XLA on for the Transformer). The first round of each (tracing,
   compiling, warming up) is left out, and the median of the others is reported, so load from
   other processes hits all alike.
   The share of the matmul peak divides model FLOP/s (6N + 12·L·T·d per token, the count both
   projects use) by this machine's fp32 `tf.matmul` rate, measured in the same run.
2. Quality: the full `--steps` run of each from a fresh model, with its wall time, and both
   models scored the same exact way: every validation character once, in non-overlapping
   windows of the context length (nanoGPT's own estimate averages 20-200 random batches).
3. The LSTM: tlm's `nanogpt-cpu` LSTM preset against a PyTorch `nn.Embedding` -> `nn.LSTM` ->
   `nn.Linear` language model of the same shape, both trained with AdamW on the same batches,
   alternating rounds as above.

Usage (PyTorch is an optional extra: `pip install -e ".[bench]"`):

    python benchmarks/vs_nanogpt.py                          # everything (about 15 minutes)
    python benchmarks/vs_nanogpt.py --steps 60 --rounds 2 --round-steps 20   # a smoke run
    python benchmarks/vs_nanogpt.py --json benchmarks/results/vs_nanogpt.json
"""

import argparse
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")
CONTEXT, BATCH, LAYERS, HEADS, WIDTH = 64, 12, 4, 4, 128
PLAIN = "tlm, plain compile + fit"  # the speed rounds' name for a user's own compile
LEARNING_RATE, MIN_LEARNING_RATE, WARMUP, WEIGHT_DECAY, BETAS = 1e-3, 1e-4, 100, 0.1, (0.9, 0.99)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--nanogpt",
        default=os.path.join(SHARED, "reference", "nanogpt"),
        help="folder holding nanoGPT's model.py (default: the reference copy)",
    )
    parser.add_argument("--steps", type=int, default=2000, help="steps of the full runs (2000)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating timed rounds (4)")
    parser.add_argument("--round-steps", type=int, default=100, help="steps per round (100)")
    parser.add_argument("--lstm-rounds", type=int, default=4, help="LSTM timed rounds (4)")
    parser.add_argument("--lstm-round-steps", type=int, default=50, help="LSTM steps per round")
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=10,
        help="tlm optimizer steps per compiled call (10)",
    )
    parser.add_argument("--seed", type=int, default=1337, help="seed (nanoGPT's 1337)")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["rounds", "full", "lstm"],
        help="parts to leave out",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def load_nanogpt(folder):
    """nanoGPT's `model` module (GPT, GPTConfig) from `folder`, with a clear error if absent."""
    path = os.path.join(folder, "model.py")
    if not os.path.isfile(path):
        raise SystemExit(
            f"`--nanogpt` must be a folder holding nanoGPT's model.py. Received: {folder!r}"
        )
    import importlib.util

    spec = importlib.util.spec_from_file_location("nanogpt_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nanogpt_learning_rate(step, total_steps):
    """train.py's `get_lr`: linear warm-up, then cosine decay to the minimum."""
    if step < WARMUP:
        return LEARNING_RATE * (step + 1) / (WARMUP + 1)
    if step > total_steps:
        return MIN_LEARNING_RATE
    ratio = (step - WARMUP) / (total_steps - WARMUP)
    coefficient = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return MIN_LEARNING_RATE + coefficient * (LEARNING_RATE - MIN_LEARNING_RATE)


class NanoGPT:
    """nanoGPT's model and optimizer, trained by train.py's loop (CPU, fp32, no compile)."""

    def __init__(self, module, vocabulary_size, train_ids, total_steps, seed):
        import torch

        torch.manual_seed(seed)
        config = module.GPTConfig(
            block_size=CONTEXT,
            vocab_size=vocabulary_size,
            n_layer=LAYERS,
            n_head=HEADS,
            n_embd=WIDTH,
            dropout=0.0,
            bias=False,
        )
        self.torch = torch
        self.model = module.GPT(config)
        self.optimizer = self.model.configure_optimizers(WEIGHT_DECAY, LEARNING_RATE, BETAS, "cpu")
        self.train_ids = torch.from_numpy(train_ids.astype("int64"))
        self.total_steps, self.step = total_steps, 0

    def batch(self):
        torch = self.torch
        starts = torch.randint(len(self.train_ids) - CONTEXT, (BATCH,))
        x = torch.stack([self.train_ids[i : i + CONTEXT] for i in starts])
        y = torch.stack([self.train_ids[i + 1 : i + 1 + CONTEXT] for i in starts])
        return x, y

    def train(self, steps):
        self.model.train()
        for _ in range(steps):
            for group in self.optimizer.param_groups:
                group["lr"] = nanogpt_learning_rate(self.step, self.total_steps)
            x, y = self.batch()
            _, loss = self.model(x, y)
            loss.backward()
            self.torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1

    def exact_loss(self, ids):
        """Mean nats per character over non-overlapping windows covering `ids` once."""
        torch = self.torch
        self.model.eval()
        starts = range(0, len(ids) - CONTEXT, CONTEXT)
        ids = torch.from_numpy(ids.astype("int64"))
        total, count = 0.0, 0
        with torch.no_grad():
            for first in range(0, len(starts), 256):
                chunk = starts[first : first + 256]
                x = torch.stack([ids[i : i + CONTEXT] for i in chunk])
                y = torch.stack([ids[i + 1 : i + 1 + CONTEXT] for i in chunk])
                _, loss = self.model(x, y)
                total += float(loss) * y.numel()
                count += y.numel()
        self.model.train()
        return total / count


class TorchLSTM:
    """A PyTorch LSTM language model of the shape of tlm's LSTM preset, trained with AdamW."""

    def __init__(self, vocabulary_size, embedding_dim, hidden_dim, num_layers, seed):
        import torch

        torch.manual_seed(seed)
        self.torch = torch
        self.model = torch.nn.ModuleDict(
            {
                "embedding": torch.nn.Embedding(vocabulary_size, embedding_dim),
                "lstm": torch.nn.LSTM(embedding_dim, hidden_dim, num_layers, batch_first=True),
                "head": torch.nn.Linear(hidden_dim, vocabulary_size),
            }
        )
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=LEARNING_RATE, betas=BETAS, weight_decay=WEIGHT_DECAY
        )

    def parameters(self):
        return sum(p.numel() for p in self.model.parameters())

    def train(self, batches):
        torch = self.torch
        for x, y in batches:
            x, y = torch.from_numpy(x.astype("int64")), torch.from_numpy(y.astype("int64"))
            hidden, _ = self.model["lstm"](self.model["embedding"](x))
            logits = self.model["head"](hidden)
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)


def _serve(connection, nanogpt_folder):
    """The PyTorch side, in its own process: TensorFlow and PyTorch in one process can crash.

    Answers `(command, arguments)` messages until "stop"; training is timed here, so the pipe
    costs nothing that is measured.
    """
    import torch

    torch.set_num_threads(os.cpu_count())
    models = {}
    while True:
        command, arguments = connection.recv()
        try:
            if command == "stop":
                return
            if command == "versions":
                answer = (torch.__version__, torch.get_num_threads())
            elif command == "nanogpt":
                models["nanogpt"] = NanoGPT(load_nanogpt(nanogpt_folder), *arguments)
                answer = models["nanogpt"].model.get_num_params()
            elif command == "lstm":
                models["lstm"] = TorchLSTM(*arguments)
                answer = models["lstm"].parameters()
            elif command == "train":
                name, work = arguments
                answer = timed(models[name].train, work)
            elif command == "exact_loss":
                answer = models["nanogpt"].exact_loss(*arguments)
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception as error:  # sent back and raised in the main process
            answer = error
        connection.send(answer)


class TorchProcess:
    """Calls into `_serve` in a spawned process: `call("train", "nanogpt", 100)` -> seconds."""

    def __init__(self, nanogpt_folder):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, nanogpt_folder), daemon=True)
        self.process.start()

    def call(self, command, *arguments):
        self.connection.send((command, arguments))
        answer = self.connection.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self):
        self.connection.send(("stop", ()))
        self.process.join()


def timed(function, *args, **kwargs):
    """Seconds that `function(*args, **kwargs)` took."""
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def fit_seconds(model, batches, steps):
    """(seconds, steps) of a `fit` call after its first compiled call: the iterator's start-up
    (filling a shuffle buffer of a million windows) and the first execution are left out."""
    import keras

    ends = []
    timer = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: ends.append((batch, time.perf_counter()))
    )
    model.fit(batches, steps_per_epoch=steps, verbose=0, callbacks=[timer])
    (first_batch, start), (last_batch, end) = ends[0], ends[-1]
    return (end - start) / (last_batch - first_batch)


def alternate(rounds, runners):
    """Run each `(name, callable returning seconds per step)` once per round, in turn.

    Returns the seconds per step of each round per name, the first (warm-up) round left out.
    """
    seconds = {name: [] for name, _ in runners}
    for number in range(rounds):
        for name, run in runners:
            took = run()
            seconds[name].append(took)
            print(f"  round {number + 1} {name}: {1000 * took:.1f} ms/step", flush=True)
    return {name: values[1:] or values for name, values in seconds.items()}


def main(argv=None):  # noqa: PLR0915
    args = parse_arguments(argv)
    if "TLM_DATA_DIR" not in os.environ and os.path.isdir(os.path.join(SHARED, "data")):
        os.environ["TLM_DATA_DIR"] = os.path.abspath(os.path.join(SHARED, "data"))
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise SystemExit('PyTorch is needed: pip install -e ".[bench]"')
    load_nanogpt(args.nanogpt)  # a clear error now rather than in the other process
    torch = TorchProcess(args.nanogpt)
    torch_version, torch_threads = torch.call("versions")
    import keras
    import numpy as np

    sys.path.insert(0, HERE)
    from train_throughput import matmul_flops_per_second

    from tlm.data.pipeline import prepare
    from tlm.models import build_model, count_parameters, flops_per_token
    from tlm.provenance import describe_machine
    from tlm.training import TrainConfig, compile_for_training, train

    data = prepare(
        "tiny_shakespeare",
        "char",
        sequence_length=CONTEXT,
        batch_size=BATCH,
        collapse_whitespace=False,
        stride=1,
        seed=args.seed,
    )
    # nanoGPT's vocabulary: the sorted characters of the text, no padding or unknown token.
    text_ids = {"train": data.train_ids, "validation": data.validation_ids}
    used = np.unique(np.concatenate(list(text_ids.values())))
    to_nanogpt = np.full(data.tokenizer.vocabulary_size, -1, "int64")
    to_nanogpt[used] = np.arange(len(used))
    nano_ids = {split: to_nanogpt[ids] for split, ids in text_ids.items()}
    print(
        f"{describe_machine()}; PyTorch {torch_version} with {torch_threads} "
        f"threads, TensorFlow via Keras {keras.__version__}"
    )
    print(
        f"Tiny Shakespeare: {len(data.train_ids):,} train / {len(data.validation_ids):,} "
        f"validation characters; vocabulary: tlm {data.tokenizer.vocabulary_size} "
        f"(with [PAD] and [UNK]), nanoGPT {len(used)}"
    )
    config = TrainConfig(
        epochs=1,
        steps_per_epoch=args.steps,
        optimizer="adamw",
        learning_rate=LEARNING_RATE,
        min_learning_rate=MIN_LEARNING_RATE,
        warmup_steps=WARMUP,
        weight_decay=WEIGHT_DECAY,
        beta_2=BETAS[1],
        global_clipnorm=1.0,
        stride=1,
        seed=args.seed,
        steps_per_execution=args.steps_per_execution,
        verbose=0,
    )

    def tlm_transformer():
        keras.utils.set_random_seed(args.seed)
        return build_model(
            "transformer", data.tokenizer.vocabulary_size, "nanogpt-cpu", sequence_length=CONTEXT
        )

    matmul_rate = matmul_flops_per_second()
    probe = tlm_transformer()
    model_flops = flops_per_token(probe)
    tokens_per_step = BATCH * CONTEXT
    print(
        f"matmul: {matmul_rate / 1e9:.1f} GFLOP/s (fp32 tf.matmul, 1024 x 1024); model: "
        f"{count_parameters(probe):,} parameters, {model_flops / 1e6:.2f} MFLOP per training "
        "token"
    )
    tables, notes = [], []

    if "rounds" not in args.skip:
        print(f"\n1. Speed: {args.rounds} alternating rounds of {args.round_steps} steps")
        model = tlm_transformer()
        compile_for_training(model, config, args.steps, data.tokenizer.pad_id)
        # The same model as a user compiles it: the recipe's optimizer, the plain loss, Keras'
        # one step per call; tlm's `compile` turns XLA on for the Transformer.
        plain = tlm_transformer()
        plain.compile(
            optimizer=keras.optimizers.AdamW(
                LEARNING_RATE,
                weight_decay=WEIGHT_DECAY,
                beta_1=BETAS[0],
                beta_2=BETAS[1],
                global_clipnorm=1.0,
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        batches = data.train.repeat()
        steps = args.round_steps - args.round_steps % args.steps_per_execution
        torch.call("nanogpt", len(used), nano_ids["train"], args.steps, args.seed)
        seconds = alternate(
            args.rounds,
            [
                ("tlm", lambda: fit_seconds(model, batches, steps)),
                (PLAIN, lambda: fit_seconds(plain, batches, args.round_steps)),
                (
                    "nanoGPT",
                    lambda: torch.call("train", "nanogpt", args.round_steps) / args.round_steps,
                ),
            ],
        )
        per_step = {name: statistics.median(values) for name, values in seconds.items()}
        rows = []
        for name in ("tlm", PLAIN, "nanoGPT"):
            rate = tokens_per_step / per_step[name]
            share = 100 * rate * model_flops / matmul_rate
            rows.append([name, 1000 * per_step[name], rate, share])
            print(
                f"  {name}: {1000 * per_step[name]:.1f} ms/step, {rate:,.0f} tokens/s, "
                f"{share:.0f}% of the matmul peak"
            )
        for name, title in (("tlm", "tlm / nanoGPT"), (PLAIN, "plain fit / nanoGPT")):
            ratio = per_step["nanoGPT"] / per_step[name]
            print(f"  {title} speed: {ratio:.2f}x")
            rows.append([title, None, ratio, None])
        tables.append(
            {
                "title": f"Training speed, nanoGPT's CPU recipe (median of {args.rounds - 1} "
                f"rounds of {args.round_steps} steps, alternating)",
                "columns": [
                    "Run",
                    "ms / step",
                    "Tokens / s (ratio in the last row)",
                    "Share of the matmul peak (%)",
                ],
                "decimals": [None, 1, 2, 0],
                "rows": rows,
            }
        )

    if "full" not in args.skip:
        print(f"\n2. Quality: the full {args.steps}-step run of each, fresh models")
        torch.call("nanogpt", len(used), nano_ids["train"], args.steps, args.seed)
        nano_wall = torch.call("train", "nanogpt", args.steps)
        nano_loss = torch.call("exact_loss", nano_ids["validation"])
        print(f"  nanoGPT: {nano_wall:.1f} s, exact validation loss {nano_loss:.4f}", flush=True)
        started = time.perf_counter()
        result = train(tlm_transformer(), data, config)
        tlm_wall = time.perf_counter() - started
        tlm_loss = result.history["val_loss"][-1]
        print(
            f"  tlm: {tlm_wall:.1f} s (training {result.tokens_per_second:,.0f} tokens/s), "
            f"exact validation loss {tlm_loss:.4f}"
        )
        tables.append(
            {
                "title": f"The full {args.steps}-step run, validation scored exactly",
                "columns": ["Run", "Wall time (s)", "Validation loss (nats / char)"],
                "decimals": [None, 1, 4],
                "rows": [["tlm", tlm_wall, tlm_loss], ["nanoGPT", nano_wall, nano_loss]],
            }
        )
        notes.append(
            "Wall time of the full runs: tlm's is the whole `train` call (tracing and XLA "
            "compiling, training, the final validation pass); nanoGPT's is its training loop. "
            "Both validation losses score every validation character once, in non-overlapping "
            f"{CONTEXT}-character windows."
        )

    if "lstm" not in args.skip:
        print(f"\n3. LSTM: {args.lstm_rounds} alternating rounds of {args.lstm_round_steps} steps")
        keras.utils.set_random_seed(args.seed)
        lstm = build_model("lstm", data.tokenizer.vocabulary_size, "nanogpt-cpu")
        compile_for_training(lstm, config, args.steps, data.tokenizer.pad_id)
        torch_parameters = torch.call(
            "lstm",
            data.tokenizer.vocabulary_size,
            lstm.embedding_dim,
            lstm.hidden_dim,
            lstm.num_layers,
            args.seed,
        )
        steps = args.lstm_round_steps - args.lstm_round_steps % args.steps_per_execution
        numpy_batches = [tuple(np.asarray(t) for t in b) for b in data.train.take(steps)]
        lstm_batches = data.train.repeat()
        seconds = alternate(
            args.lstm_rounds,
            [
                ("tlm LSTM", lambda: fit_seconds(lstm, lstm_batches, steps)),
                (
                    "PyTorch nn.LSTM",
                    lambda: torch.call("train", "lstm", numpy_batches) / len(numpy_batches),
                ),
            ],
        )
        rates = {name: tokens_per_step / statistics.median(v) for name, v in seconds.items()}
        ratio = rates["tlm LSTM"] / rates["PyTorch nn.LSTM"]
        for name, rate in rates.items():
            print(f"  {name}: {rate:,.0f} tokens/s")
        print(f"  tlm / PyTorch LSTM speed: {ratio:.2f}x")
        tables.append(
            {
                "title": "LSTM training speed, same shape and batches",
                "columns": ["Run", "Parameters", "Tokens / s (ratio in the last row)"],
                "decimals": [None, None, 2],
                "rows": [
                    ["tlm LSTM", count_parameters(lstm), rates["tlm LSTM"]],
                    ["PyTorch nn.LSTM", torch_parameters, rates["PyTorch nn.LSTM"]],
                    ["tlm / PyTorch", None, ratio],
                ],
            }
        )

    notes.append(
        f"One process, {describe_machine()}. Batch {BATCH}, context {CONTEXT}; tlm compiles "
        f"{args.steps_per_execution} steps per call (XLA for the Transformer, Keras' choice for "
        "the LSTM); nanoGPT runs eagerly in fp32 as its CPU recipe does (`--compile=False`)."
    )
    torch.close()
    if args.json:
        from tlm.provenance import write_figures

        write_figures(args.json, "vs_nanogpt", tables, notes)


if __name__ == "__main__":
    main()
