"""`tlm evaluate`: test perplexity and bits per character of a trained run.

The work is `tlm.evaluation.evaluate`; this module loads the run, rebuilds its data split with
the run's own tokenizer and settings, and prints the figures.
"""

import argparse

from tlm.checks import check_optional_positive_int

DESCRIPTION = """\
Evaluate a run directory written by `tlm train`, or a pretrained keras_hub GPT-2 preset (a
preset folder, name or handle, with --corpus): load the model and its tokenizer, rebuild the
chosen split of the corpus with that tokenizer and the run's sequence length (a preset's: its
context), and print the exact
cross-entropy (nats per token), perplexity, bits per token and bits per character (total
nats / (ln 2 x characters), so models with different tokenizers compare)."""


HELP = "Test perplexity and bits per character of a trained run."


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "run_dir",
        metavar="RUN_DIR_OR_PRESET",
        help="a run directory from `tlm train`, or a keras_hub GPT-2 preset",
    )
    parser.add_argument(
        "--split",
        default="test",
        choices=("test", "validation", "train"),
        help="which split to score (default: test)",
    )
    parser.add_argument(
        "--corpus", default=None, help="score this corpus instead of the run's own (name or path)"
    )
    parser.add_argument(
        "--sequence-length",
        type=int,
        default=None,
        help="tokens per scored window (default: None: the run's; a preset's context)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="sequences per evaluation batch (default: None: the run's; 4 for a preset)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=run)
    return parser


def run(args):
    import json

    from tlm.data.pipeline import prepare
    from tlm.evaluation import evaluate
    from tlm.pretrained import load_run_or_preset

    check_optional_positive_int("batch_size", args.batch_size)
    check_optional_positive_int("sequence_length", args.sequence_length)
    loaded = load_run_or_preset(args.run_dir)
    settings = loaded.config.get("data", {})
    corpus = args.corpus or settings.get("corpus")
    if not corpus:
        raise ValueError(
            f"The run does not record its corpus; pass --corpus. Received: run_dir={args.run_dir!r}"
        )
    data = prepare(
        corpus,
        loaded.tokenizer,
        sequence_length=args.sequence_length or settings.get("sequence_length", 64),
        batch_size=args.batch_size or settings.get("batch_size", 32),
        shuffle=False,
    )
    dataset = {"test": data.test, "validation": data.validation, "train": data.train}[args.split]
    result = evaluate(
        loaded.model,
        dataset,
        data.characters_per_token.get(args.split),
        mask_token_id=loaded.tokenizer.pad_id,
    )
    if args.json:
        print(json.dumps({"split": args.split, **result}))
        return 0
    print(f"run: {args.run_dir}  split: {args.split}  tokens: {result['tokens']:,}")
    print(f"loss: {result['loss']:.4f} nats/token")
    print(f"perplexity: {result['perplexity']:.3f}")
    print(f"bits per token: {result['bits_per_token']:.4f}")
    if "bits_per_character" in result:
        print(f"bits per character: {result['bits_per_character']:.4f}")
    return 0
