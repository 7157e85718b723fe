"""`tlm compare`: train an LSTM and a Transformer on the same data under one budget, and report.

The work is `tlm.compare.compare_baselines`; this module only parses the options and prints.
TensorFlow is imported inside `run`, so `tlm --help` stays instant.
"""

import argparse
import os

DESCRIPTION = """\
Train an LSTM and a decoder-only Transformer of about the same size on the same corpus, with
the same tokenizer, context length, batch size, seeds and training budget; then evaluate both
(validation and test perplexity, bits per character), time training and generation, sample from
both with the same prompts (greedy and top-k), and write a run directory with a table, plots,
samples, report.md and results.json. Each model's sub-directory is a normal tlm run:
`tlm generate` and `tlm evaluate` work on it.

With no options: the bundled `shakespeare` corpus at character level, the `tiny` presets, and an
equal wall-clock budget per model; about 10 minutes on a 2-core CPU. `--quick` takes under
2 minutes and only shows that everything works (the numbers mean little)."""

EPILOG = """\
examples:
  tlm compare                                   # the default comparison (~10 min on 2 CPU cores)
  tlm compare --quick                           # a smoke test (< 2 min)
  tlm compare --budget steps --budget-value 2000 --seeds 3
  tlm compare --corpus my_texts/ --tokenizer bpe --vocabulary-size 2000 --preset nanogpt-cpu
  tlm compare --budget flops --budget-value 2e13 --out runs/flops"""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "compare",
        help="LSTM vs Transformer on the same data under one budget, with a report.",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data (shared by both models)")
    data.add_argument(
        "--corpus",
        default="shakespeare",
        help="a corpus name (shakespeare, tiny_shakespeare) or a path to a .txt file or a folder "
        "of .txt files (default: shakespeare, bundled, offline)",
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
        help="vocabulary size for the trained tokenizers (word and subword kinds)",
    )
    data.add_argument(
        "--sequence-length",
        type=int,
        default=None,
        help="context length in tokens, the same for both models (default: 64; --quick: 32)",
    )
    data.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="sequences per training step, the same for both models (default: 32; --quick: 16)",
    )

    models = parser.add_argument_group("models")
    models.add_argument(
        "--models",
        nargs="+",
        default=None,
        metavar="KIND",
        help="model kinds to compare (default: transformer lstm)",
    )
    models.add_argument(
        "--preset",
        default=None,
        help="preset for both models: tiny, nanogpt-cpu or nanogpt-gpu; the LSTM presets are "
        "sized to about the parameter count of the Transformer of the same name (default: tiny)",
    )
    models.add_argument("--transformer-preset", default=None, help="preset for the Transformer")
    models.add_argument("--lstm-preset", default=None, help="preset for the LSTM")

    budget = parser.add_argument_group("training budget (the same for both models)")
    budget.add_argument(
        "--budget",
        default=None,
        choices=("steps", "time", "flops"),
        help="steps: equal optimizer steps; time: equal seconds of training; flops: equal "
        "training FLOPs, turned into steps per model from its FLOPs per token (default: time)",
    )
    budget.add_argument(
        "--budget-value",
        type=float,
        default=None,
        help="the amount per model: steps, seconds or FLOPs (default: 210 s for time, 1000 "
        "steps, 2e12 FLOPs; --quick: 40 steps)",
    )
    budget.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="number of seeds (weights and data order); with 2 or more each figure gets a mean "
        "and spread (default: 1)",
    )
    budget.add_argument(
        "--seed", type=int, default=0, help="first seed; the seeds are SEED..SEED+SEEDS-1"
    )
    budget.add_argument(
        "--learning-rate", type=float, default=None, help="peak learning rate (default: 3e-3)"
    )

    output = parser.add_argument_group("evaluation and output")
    output.add_argument(
        "--max-eval-batches",
        type=int,
        default=None,
        help="evaluate on at most this many batches of each split, during and after training "
        "(default: 50; --quick: 5)",
    )
    output.add_argument(
        "--prompt",
        action="append",
        default=None,
        dest="prompts",
        help="a prompt to sample both models with (repeat for more; default: two Shakespeare "
        "openings)",
    )
    output.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="tokens to generate per sample (default: 200; --quick: 40)",
    )
    output.add_argument("--top-k", type=int, default=10, help="k for top-k sampling (default: 10)")
    output.add_argument(
        "--out",
        default=None,
        help="output directory; must not exist or be empty (default: runs/compare-TIMESTAMP)",
    )
    output.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test in under 2 minutes: few steps, short samples, small evaluation",
    )
    output.add_argument(
        "--quiet", action="store_true", help="no Keras progress bars, only the summary"
    )
    parser.set_defaults(func=run)
    return parser


def run(args):
    # TensorFlow's C++ info lines would bury the progress bars; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tlm.compare import compare_baselines
    from tlm.compare.report import format_samples, reading

    if args.seeds < 1:
        raise ValueError(f"`--seeds` must be at least 1. Received: --seeds={args.seeds}")
    preset = args.preset
    presets = {}
    if args.transformer_preset:
        presets["transformer"] = args.transformer_preset
    if args.lstm_preset:
        presets["lstm"] = args.lstm_preset
    result = compare_baselines(
        corpus=args.corpus,
        tokenizer=args.tokenizer,
        models=args.models,
        preset=preset,
        presets=presets or None,
        budget=args.budget,
        budget_value=args.budget_value,
        sequence_length=args.sequence_length,
        batch_size=args.batch_size,
        seeds=list(range(args.seed, args.seed + args.seeds)),
        learning_rate=args.learning_rate,
        vocabulary_size=args.vocabulary_size,
        max_eval_batches=args.max_eval_batches,
        prompts=args.prompts,
        max_new_tokens=args.max_new_tokens,
        top_k=args.top_k,
        out=args.out,
        quick=args.quick,
        verbose=0 if args.quiet else 1,
    )
    print()
    print(result.table())
    print()
    print("\n\n".join(reading(result)))
    if result.samples:
        print()
        print(format_samples(result.samples, result.kinds))
    print()
    print(f"Report: {result.out / 'report.md'}")
    print(f"Figures: {result.out / 'results.json'}")
    for run_ in result.runs:
        print(f"Run ({run_.kind}, seed {run_.seed}): {run_.run_dir}")
    print(f"Done in {result.wall_time:.0f} s.")
    return 0
