"""nanoGPT's CPU recipe on Tiny Shakespeare, trained with tlm; then an LSTM of the same size.

The recipe (nanoGPT README, "I only have a macbook"): the `nanogpt-cpu` Transformer (4 layers,
4 heads, 128 wide, context 64, no dropout), batch 12, 2,000 steps of AdamW (lr 1e-3, beta2 0.99,
weight decay 0.1), 100 warm-up steps then cosine decay to 1e-4, gradient norm clipped at 1.0,
windows drawn at every offset of the training text. tlm's target is nanoGPT's validation loss
or lower in less wall time, both measured on the same machine; this script runs tlm only, so it
prints no nanoGPT figure. The LSTM preset of about the same parameter count then gets the same
steps, batch and schedule.

Validation loss here is exact over the whole validation split (every character scored once),
not nanoGPT's estimate from 200 random batches. Wall time is the whole `train` call: graph
tracing and compilation (XLA for the Transformer), training, and the final validation pass.

Usage (TLM_DATA_DIR must hold tinyshakespeare.txt; ../shared/data is used when it exists):

    python benchmarks/shakespeare_char.py                 # the full benchmark, 2,000 steps each
    python benchmarks/shakespeare_char.py --steps 50      # a smoke run
    python benchmarks/shakespeare_char.py --json benchmarks/results/shakespeare_char.json
"""

import argparse
import math
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_DATA = os.path.join(HERE, "..", "..", "shared", "data")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps (2000)")
    parser.add_argument("--batch-size", type=int, default=12, help="sequences per step (12)")
    parser.add_argument("--sequence-length", type=int, default=64, help="context (64)")
    parser.add_argument(
        "--models",
        nargs="+",
        default=["transformer", "lstm"],
        help="model kinds to run, in order (transformer lstm)",
    )
    parser.add_argument(
        "--steps-per-execution", type=int, default=10, help="optimizer steps per compiled call (10)"
    )
    parser.add_argument("--out", default=None, help="folder for the run directories (none)")
    parser.add_argument("--seed", type=int, default=1337, help="seed (nanoGPT's 1337)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    return parser.parse_args()


def main():
    args = parse_arguments()
    if "TLM_DATA_DIR" not in os.environ and os.path.isdir(SHARED_DATA):
        os.environ["TLM_DATA_DIR"] = os.path.abspath(SHARED_DATA)
    import keras

    from tlm.data.pipeline import prepare
    from tlm.models import build_model, count_parameters, label_of
    from tlm.training import train

    data = prepare(
        "tiny_shakespeare",
        "char",
        sequence_length=args.sequence_length,
        batch_size=args.batch_size,
        # nanoGPT models the file as it is: keep every space, so the character stream (and the
        # 1,003,854 / 111,540 split) is exactly nanoGPT's.
        collapse_whitespace=False,
    )
    print(
        f"tiny_shakespeare: {len(data.train_ids):,} train / {len(data.validation_ids):,} "
        f"validation characters, vocabulary {data.tokenizer.vocabulary_size}"
    )
    results = []
    for kind in args.models:
        keras.utils.set_random_seed(args.seed)
        model = build_model(
            kind,
            data.tokenizer.vocabulary_size,
            "nanogpt-cpu",
            sequence_length=args.sequence_length,  # sets the Transformer's context; LSTM: none
        )
        started = time.monotonic()
        result = train(
            model,
            data,
            epochs=1,
            steps_per_epoch=args.steps,
            optimizer="adamw",
            learning_rate=1e-3,
            min_learning_rate=1e-4,
            warmup_steps=100,
            weight_decay=0.1,
            beta_2=0.99,
            global_clipnorm=1.0,
            stride=1,
            seed=args.seed,
            steps_per_execution=args.steps_per_execution,
            out=os.path.join(args.out, kind) if args.out else None,
            verbose=2,
        )
        wall = time.monotonic() - started
        history = result.history
        row = {
            "model": kind,
            "parameters": count_parameters(result.model),
            "steps": result.steps,
            "val_loss": history["val_loss"][-1],
            "val_perplexity": history["val_perplexity"][-1],
            "train_loss": history["loss"][-1],
            "wall": wall,
            "tokens_per_second": result.tokens_per_second,
        }
        results.append(row)
        print(
            f"{kind}: {row['parameters']:,} parameters, {row['steps']} steps, "
            f"validation loss {row['val_loss']:.4f} nats/char (perplexity "
            f"{row['val_perplexity']:.3f}), wall time {wall:.1f} s, "
            f"{row['tokens_per_second']:,.0f} tokens/s",
            flush=True,
        )
    print("\nmodel        parameters  steps  val loss  val ppl  wall (s)  tokens/s")
    for row in results:
        print(
            f"{row['model']:<12} {row['parameters']:>10,} {row['steps']:>6} "
            f"{row['val_loss']:>9.4f} {row['val_perplexity']:>8.3f} {row['wall']:>9.1f} "
            f"{row['tokens_per_second']:>9,.0f}"
        )
    if args.json:
        from tlm.provenance import write_figures

        corpus = {
            "title": "Tiny Shakespeare, characters as nanoGPT reads them",
            "columns": ["Train characters", "Validation characters", "Vocabulary size"],
            "rows": [
                [len(data.train_ids), len(data.validation_ids), data.tokenizer.vocabulary_size]
            ],
        }
        training = {
            "title": "nanoGPT's CPU recipe, trained with tlm",
            "columns": [
                "Model",
                "Parameters",
                "Steps",
                "Validation loss (nats / char)",
                "Validation perplexity",
                "Wall time (s)",
                "Training tokens / s",
            ],
            "decimals": [None, None, None, 4, 3, 1, 0],
            "rows": [
                [
                    label_of(row["model"]),
                    row["parameters"],
                    row["steps"],
                    row["val_loss"],
                    row["val_perplexity"],
                    row["wall"],
                    # NaN when every step ran in the first (compiling, untimed) call
                    None if math.isnan(row["tokens_per_second"]) else row["tokens_per_second"],
                ]
                for row in results
            ],
        }
        notes = [
            f"Batch {args.batch_size}, context {args.sequence_length}, AdamW (lr 1e-3, beta2 "
            "0.99, weight decay 0.1), 100 warm-up steps then cosine decay to 1e-4, gradient norm "
            f"clipped at 1.0, seed {args.seed}, {args.steps_per_execution} steps per compiled "
            "call. Validation loss is exact over the whole validation split.",
            "Wall time is the whole `train` call (tracing and compiling, training and the "
            "final validation pass); training tokens / s leave out the first, compiling call and "
            "validation. nanoGPT itself is not run here.",
        ]
        write_figures(args.json, "shakespeare_char", [corpus, training], notes)


if __name__ == "__main__":
    main()
