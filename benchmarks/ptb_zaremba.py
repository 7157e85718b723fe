"""Zaremba et al. (2014) on word-level Penn Treebank, with tlm's stateful LSTM and `train`.

The recipe is `tlm.training.TRAINING_PRESETS["zaremba-<config>"]`: the paper's sizes, uniform
initialisation, dropout on the non-recurrent connections, SGD at learning rate 1 (20 or 35 on
Keras's mean loss, see `tlm.training.presets`) decayed by epoch, gradient-norm clipping, 20 or
35 unrolled steps and batch 20, on contiguous rows whose state is carried from batch to batch
(truncated backpropagation through time). The data is `prepare("ptb", "word")`: the three files
as they are, PTB's 10,000 words plus an unused padding id.

It prints each epoch's training and validation perplexity, its words per second and learning
rate, then the test perplexity beside the paper's figures. Validation and test are read in
contiguous rows of the batch size with the state carried through the whole split (each row's
first word is context only, and the tail that does not fill a row is left out; the number of
scored words is printed). With `--no-state` the same recipe runs without the carried state:
shuffled windows, each from a zero state, in training and in evaluation.

It also times one training step of the whole model against one of its softmax layer alone (the
head's matrix product and the cross-entropy over the vocabulary, forward and backward, and the
SGD update of the head) on the same batch shape, to report the softmax's share of a step.

The small model fits a 2-core CPU: its first epoch prints an estimate of the whole run, and the
JSON records the wall time. Medium and large need a GPU.

    python benchmarks/ptb_zaremba.py --config small             # the paper's 13 epochs
    python benchmarks/ptb_zaremba.py --epochs 1 --steps-per-epoch 100   # a quick check
    python benchmarks/ptb_zaremba.py --no-state                 # without the carried state
    python benchmarks/ptb_zaremba.py --json benchmarks/results/ptb_zaremba.json
"""

import argparse
import dataclasses
import os
import time

import keras

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_DATA = os.path.join(HERE, "..", "..", "shared", "data")
CONFIGS = ("small", "medium", "large")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=CONFIGS, default="small", help="the paper's model")
    parser.add_argument(
        "--epochs", type=int, default=None, help="cut the run to this many epochs (the paper's)"
    )
    parser.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        help="optimizer steps per epoch, for a quick check (one pass over the rows)",
    )
    parser.add_argument(
        "--no-state", action="store_true", help="each window from a zero state (no carried state)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (0)")
    parser.add_argument(
        "--timing-steps", type=int, default=50, help="steps timed for the softmax share (50)"
    )
    parser.add_argument("--out", default=None, help="run directory to write (none)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    for name in ("epochs", "steps_per_epoch", "timing_steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, received {value}")
    return args


class EpochClock(keras.callbacks.Callback):
    """Seconds from each epoch's start to its last training batch, and its learning rate."""

    def __init__(self):
        super().__init__()
        self.seconds, self.rates = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate))
        self._start = self._last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(self._last - self._start)  # validation (after it) left out


def softmax_share(model, batch, config, steps):
    """Seconds per training step of `model`, of its head alone, and their ratio, on `batch`."""
    import numpy as np

    from tlm.training import compile_for_training

    x, y = batch
    hidden = np.random.default_rng(0).normal(size=(*x.shape, model.hidden_dim)).astype("float32")
    head = keras.Sequential(
        [keras.Input((x.shape[1], model.hidden_dim)), keras.layers.Dense(model.vocabulary_size)]
    )
    timing = dataclasses.replace(config, epochs=1, steps_per_epoch=steps, verbose=0)

    def seconds_per_step(network, inputs):
        compile_for_training(network, timing, total_steps=steps)
        network.train_on_batch(inputs, y)  # tracing, untimed
        start = time.perf_counter()
        for _ in range(steps):
            network.train_on_batch(inputs, y)
        return (time.perf_counter() - start) / steps

    whole = seconds_per_step(model, x)
    alone = seconds_per_step(head, hidden)
    return whole, alone, alone / whole


def main(argv=None):  # noqa: PLR0915
    args = parse_arguments(argv)
    if "TLM_DATA_DIR" not in os.environ and os.path.isdir(SHARED_DATA):
        os.environ["TLM_DATA_DIR"] = os.path.abspath(SHARED_DATA)
    from tlm.data.pipeline import prepare
    from tlm.evaluation import evaluate
    from tlm.models import count_parameters
    from tlm.provenance import describe_machine
    from tlm.training import TRAINING_PRESETS, contiguous_batches, train

    preset = TRAINING_PRESETS[f"zaremba-{args.config}"]
    stateful = preset.stateful and not args.no_state
    corpus, tokenizer = preset.corpus
    data = prepare(
        corpus,
        tokenizer,
        sequence_length=preset.sequence_length,
        batch_size=preset.batch_size,
        seed=args.seed,
    )
    keras.utils.set_random_seed(args.seed)
    model = preset.build_model(data.tokenizer.vocabulary_size, stateful=stateful)
    clock = EpochClock()
    config = dataclasses.replace(
        preset.config,
        epochs=args.epochs or preset.config.epochs,
        steps_per_epoch=args.steps_per_epoch,
        seed=args.seed,
        callbacks=(clock,),
        verbose=2,
    )
    layout = "contiguous rows, state carried" if stateful else "shuffled windows, zero state"
    print(describe_machine())
    print(
        f"{preset.reference}: {count_parameters(model):,} parameters, "
        f"{len(data.train_ids):,} / {len(data.validation_ids):,} / {len(data.test_ids):,} "
        f"train / validation / test words, vocabulary {data.tokenizer.vocabulary_size:,}; "
        f"{layout}; {config.epochs} epochs"
    )

    started = time.perf_counter()
    result = train(model, data, config, out=args.out)
    wall = time.perf_counter() - started
    model = result.model

    def scored(ids, split_dataset):
        if stateful:
            rows = contiguous_batches(ids, preset.sequence_length, preset.batch_size, repeat=False)
            return evaluate(model, rows, mask_token_id=data.tokenizer.pad_id)
        return evaluate(model, split_dataset, mask_token_id=data.tokenizer.pad_id)

    validation = scored(data.validation_ids, data.validation)
    test = scored(data.test_ids, data.test)
    history = result.history
    words_per_step = preset.batch_size * preset.sequence_length
    steps_per_epoch = result.steps // max(len(history["loss"]), 1)
    rows = []
    print("\nepoch  lr        train ppl  valid ppl  words/s")
    for epoch, train_loss in enumerate(history["loss"]):
        seconds = clock.seconds[epoch]
        rate = steps_per_epoch * words_per_step / seconds
        train_perplexity = history["perplexity"][epoch]
        valid_perplexity = history["val_perplexity"][epoch]
        rows.append(
            [epoch + 1, clock.rates[epoch], train_perplexity, valid_perplexity, rate, train_loss]
        )
        print(
            f"{epoch + 1:5d}  {clock.rates[epoch]:<8.4g}  {train_perplexity:9.2f}  "
            f"{valid_perplexity:9.2f}  {rate:7,.0f}"
        )
        if epoch == 0 and config.epochs > 1:
            print(
                f"       (at this speed the {config.epochs} epochs take about "
                f"{config.epochs * seconds / 60:.0f} minutes)",
                flush=True,
            )
    print(
        f"\nvalidation perplexity {validation['perplexity']:.2f} ({validation['tokens']:,} "
        f"words scored), test perplexity {test['perplexity']:.2f} ({test['tokens']:,} words); "
        f"the paper: {preset.published['validation']} / {preset.published['test']}"
    )
    print(f"wall time {wall / 60:.1f} minutes (training and validation)")

    batch = next(iter(contiguous_batches(data.train_ids, preset.sequence_length, 20)))
    whole, alone, share = softmax_share(model, batch, config, args.timing_steps)
    print(
        f"one training step: {1000 * whole:.1f} ms; the softmax layer alone: "
        f"{1000 * alone:.1f} ms ({100 * share:.0f}% of the step)"
    )

    if args.json:
        from tlm.provenance import write_figures

        title = f"zaremba-{args.config}" + (" without carried state" if args.no_state else "")
        tables = [
            {
                "title": f"{title}: each epoch",
                "columns": [
                    "Epoch",
                    "Learning rate",
                    "Train perplexity",
                    "Validation perplexity",
                    "Words / s",
                    "Train loss",
                ],
                "decimals": [None, 4, 2, 2, 0, 4],
                "rows": rows,
            },
            {
                "title": f"{title}: perplexity against the paper",
                "columns": ["Split", "tlm", "Zaremba et al. (2014)", "Words scored"],
                "decimals": [None, 2, 1, None],
                "rows": [
                    [
                        "validation",
                        validation["perplexity"],
                        preset.published["validation"],
                        validation["tokens"],
                    ],
                    ["test", test["perplexity"], preset.published["test"], test["tokens"]],
                ],
            },
            {
                "title": f"{title}: time",
                "columns": ["Figure", "Value"],
                "decimals": [None, 1],
                "rows": [
                    ["Wall time of train (minutes)", wall / 60],
                    ["One training step (ms)", 1000 * whole],
                    ["The softmax layer alone (ms)", 1000 * alone],
                    ["Softmax share of a step (%)", 100 * share],
                ],
            },
        ]
        notes = [
            f"{preset.reference}; {layout}. Batch {preset.batch_size}, "
            f"{preset.sequence_length} unrolled steps, {config.epochs} epochs of "
            f"{steps_per_epoch:,} steps.",
            "Validation and test read each split in contiguous rows of the batch size with the "
            "state carried through (or, without state, in windows each from zeros); each row's "
            "first word is context only.",
            "Words / s: training words over the epoch's training time (its validation pass "
            "left out). The softmax share times a train step of the head's Dense layer "
            "alone (with the loss and SGD) against the whole model's, on the same batch shape.",
        ]
        write_figures(args.json, "ptb_zaremba", tables, notes)


if __name__ == "__main__":
    main()
