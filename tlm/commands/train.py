"""`tlm train`: train a Transformer or LSTM language model and write a run directory.

The work is `tlm.training.train`; this module parses the options, prepares the data and the
model, and prints a summary. TensorFlow is imported inside `run`, so `tlm --help` stays instant.
"""

import argparse

DESCRIPTION = """\
Train a language model with Keras `model.fit` and write a run directory: the best model by
validation perplexity (model.keras), the tokenizer, config.json, history.json, TensorBoard logs,
training_curves.png, and backup/ while the run is unfinished. Running the same command again
with the same --out resumes an interrupted run from its last backup (same model settings
required); the batches after the resume are the ones the uninterrupted run would have seen.

The learning rate warms up linearly for --warmup-steps, then follows a cosine down to
--min-learning-rate at the last step. Validation perplexity and bits per character are
computed exactly over the whole validation split after every epoch."""

EPILOG = """\
examples:
  tlm train --model transformer --preset tiny --epochs 3 --out runs/tiny-transformer
  tlm train --model lstm --corpus tiny_shakespeare --epochs 1 --steps-per-epoch 500
  tlm train --preset nanogpt-cpu --corpus tiny_shakespeare --batch-size 12 --stride 1 \\
      --steps-per-epoch 2000 --learning-rate 1e-3 --min-learning-rate 1e-4 \\
      --warmup-steps 100 --clip 1.0 --out runs/nanogpt-cpu"""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="Train a Transformer or LSTM language model; write a run directory.",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        default="transformer",
        choices=("transformer", "lstm"),
        help="model kind (default: transformer)",
    )
    model.add_argument(
        "--preset",
        default="tiny",
        help="size preset: tiny, nanogpt-cpu or nanogpt-gpu (default: tiny)",
    )
    model.add_argument(
        "--dropout", type=float, default=None, help="dropout rate, overriding the preset's"
    )

    data = parser.add_argument_group("data")
    data.add_argument(
        "--corpus",
        default="shakespeare",
        help="corpus name (shakespeare, tiny_shakespeare) or path to a .txt file "
        "or folder of .txt files (default: shakespeare)",
    )
    data.add_argument(
        "--tokenizer",
        default="char",
        help="tokenizer kind: char, word, wordpiece, sentencepiece or bpe (default: char)",
    )
    data.add_argument(
        "--vocabulary-size",
        type=int,
        default=None,
        help="vocabulary size for word and subword tokenizers (default: the kind's)",
    )
    data.add_argument(
        "--sequence-length",
        type=int,
        default=None,
        help="context length in tokens (default: the preset's, 64 for tiny)",
    )
    data.add_argument(
        "--batch-size", type=int, default=32, help="sequences per training step (default: 32)"
    )
    data.add_argument(
        "--stride",
        type=int,
        default=None,
        help="tokens between training windows; 1 uses every offset as nanoGPT "
        "does (default: the sequence length, no overlap)",
    )
    data.add_argument(
        "--cache-dir",
        default=None,
        help="folder to cache tokenized ids and tokenizers in (default: none)",
    )

    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=int, default=1, help="epochs, >= 1 (default: 1)")
    training.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        help="optimizer steps per epoch (default: one pass over the windows)",
    )
    training.add_argument(
        "--optimizer", default="adamw", help="adamw, adam or sgd (default: adamw)"
    )
    training.add_argument(
        "--learning-rate", type=float, default=1e-3, help="peak learning rate, > 0 (default: 1e-3)"
    )
    training.add_argument(
        "--min-learning-rate",
        type=float,
        default=None,
        help="floor of the cosine decay (default: learning rate / 10)",
    )
    training.add_argument(
        "--warmup-steps", type=int, default=0, help="linear warm-up steps (default: 0)"
    )
    training.add_argument(
        "--weight-decay",
        type=float,
        default=0.1,
        help="AdamW weight decay on weight matrices (default: 0.1)",
    )
    training.add_argument(
        "--beta-2", type=float, default=0.99, help="Adam/AdamW second-moment decay (default: 0.99)"
    )
    training.add_argument(
        "--clip",
        type=float,
        default=None,
        help="clip the global gradient norm to this value (default: no clipping)",
    )
    training.add_argument(
        "--seed", type=int, default=0, help="seed for weights, dropout and batch order (default: 0)"
    )
    training.add_argument(
        "--deterministic",
        action="store_true",
        help="enable TensorFlow op determinism (bit-exact reruns, slower)",
    )
    training.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="stop cleanly after this many seconds of training",
    )
    training.add_argument(
        "--mixed-precision",
        default=None,
        choices=("mixed_bfloat16", "mixed_float16"),
        help="mixed-precision policy (default: float32)",
    )
    training.add_argument(
        "--strategy",
        default="default",
        choices=("default", "mirrored"),
        help="tf.distribute strategy: mirrored uses every local GPU (default: one device)",
    )
    training.add_argument(
        "--backup-every",
        type=int,
        default=None,
        help="back up the training state every N steps as well as at each "
        "epoch end (default: epoch ends only)",
    )
    training.add_argument(
        "--steps-per-execution",
        type=int,
        default=1,
        help="optimizer steps per compiled call (default: 1)",
    )
    training.add_argument(
        "--sample-prompt",
        action="append",
        default=None,
        help="print greedy and top-k continuations of this prompt after each epoch (repeatable)",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--out", default=None, help="run directory (default: runs/MODEL-PRESET-CORPUS-TOKENIZER)"
    )
    output.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help="0 silent, 1 progress bar, 2 one line per epoch (default: 1)",
    )
    parser.set_defaults(func=run)
    return parser


def default_out(args):
    """runs/MODEL-PRESET-CORPUS-TOKENIZER, with a path corpus reduced to its base name."""
    import os

    corpus = os.path.splitext(os.path.basename(os.path.normpath(args.corpus)))[0]
    return os.path.join("runs", f"{args.model}-{args.preset}-{corpus}-{args.tokenizer}")


def run(args):
    import keras

    from tlm.data.pipeline import prepare
    from tlm.models import PRESETS, build_model
    from tlm.training import recipe, runs

    recipe.check_arguments(
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        time_budget=args.time_budget,
    )
    if args.preset not in PRESETS:
        raise ValueError(
            f"`--preset` must be one of {tuple(PRESETS)}. Received: preset={args.preset!r}"
        )
    out = args.out or default_out(args)
    if runs.check_run_directory(out, None) and runs.is_finished(out):
        raise ValueError(
            "`--out` holds a finished run (it has a model and no backup to resume from). Choose "
            f"a new folder. Received: out={out!r}"
        )
    sequence_length = args.sequence_length or PRESETS[args.preset]["transformer"].sequence_length

    keras.utils.set_random_seed(args.seed)
    data = prepare(
        args.corpus,
        args.tokenizer,
        sequence_length=sequence_length,
        batch_size=args.batch_size,
        vocabulary_size=args.vocabulary_size,
        stride=args.stride,
        seed=args.seed,
        cache_dir=args.cache_dir,
    )
    overrides = {} if args.dropout is None else {"dropout": args.dropout}
    if args.model == "transformer":
        overrides["sequence_length"] = sequence_length
    model = build_model(args.model, data.tokenizer.vocabulary_size, args.preset, **overrides)
    result = recipe.train(
        model,
        data,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        min_learning_rate=args.min_learning_rate,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        beta_2=args.beta_2,
        global_clipnorm=args.clip,
        stride=args.stride,
        seed=args.seed,
        deterministic=args.deterministic,
        mixed_precision=args.mixed_precision,
        strategy=None if args.strategy == "default" else args.strategy,
        time_budget=args.time_budget,
        out=out,
        backup_every_steps=args.backup_every,
        steps_per_execution=args.steps_per_execution,
        sample_prompts=args.sample_prompt,
        data_config={"corpus": args.corpus, "preset": args.preset, "stride": args.stride},
        verbose=args.verbose,
    )
    history = result.history
    print(f"run directory: {out}")
    print(
        f"steps: {result.steps}  wall time: {result.wall_time:.1f} s  "
        f"tokens/s: {result.tokens_per_second:,.0f}"
    )
    if history.get("val_perplexity"):
        best = min(
            range(len(history["val_perplexity"])),
            key=lambda i: history["val_perplexity"][i] or float("inf"),
        )
        line = (
            f"best validation: epoch {history['epoch'][best]}, "
            f"loss {history['val_loss'][best]:.4f} nats/token, "
            f"perplexity {history['val_perplexity'][best]:.3f}"
        )
        if history.get("val_bits_per_character"):
            line += f", {history['val_bits_per_character'][best]:.4f} bits/char"
        print(line)
    if result.stopped:
        print(f"stopped early: {result.stopped.replace('_', ' ')}")
    return 0
