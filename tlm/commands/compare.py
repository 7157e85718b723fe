"""`tlm compare`: train an LSTM and a Transformer on the same data under one budget, and report.

The work is `tlm.compare.compare_baselines`; this module only parses the options and prints.
The options, their help and the defaults `--help` states are generated from `CompareConfig`.
"""

import argparse

from tlm.commands.options import add_options, given

DESCRIPTION = """\
Train several model kinds of about the same size (by default a decoder-only Transformer and an
LSTM; --models takes any registered kind) on the same corpus, with the same tokenizer, context
length, batch size, seeds and training budget; then evaluate each (validation and test
perplexity, bits per character), time training and generation, sample from each with the same
prompts (greedy and top-k), and write a run directory with a table, plots,
samples, report.md and results.json. Each model's sub-directory is a normal tlm run:
`tlm generate` and `tlm evaluate` work on it.

With no options: the bundled `shakespeare` corpus at character level, the `tiny` presets, and an
equal wall-clock budget per model; about 10 minutes on a 2-core CPU. `--quick` takes under
2 minutes and only shows that everything works (the numbers mean little)."""

EPILOG = """\
examples:
  tlm compare                                   # the default comparison (~10 min on 2 CPU cores)
  tlm compare --quick                           # a smoke test (< 2 min)
  tlm compare --budget steps --budget-value 2000 --seeds 0 1 2
  tlm compare --corpus my_texts/ --tokenizer bpe --vocabulary-size 2000 --preset nanogpt-cpu
  tlm compare --presets lstm=nanogpt-cpu --models transformer lstm
  tlm compare --budget flops --budget-value 2e13 --out runs/flops"""


HELP = "LSTM vs Transformer on the same data under one budget, with a report."

# The options of each help group, in order: every field of CompareConfig.
GROUPS = {
    "data (shared by every model)": (
        "corpus",
        "tokenizer",
        "vocabulary_size",
        "sequence_length",
        "batch_size",
    ),
    "models": ("models", "preset", "presets"),
    "training budget (the same for every model)": (
        "budget",
        "budget_value",
        "seeds",
        "learning_rate",
    ),
    "evaluation and output": (
        "max_eval_batches",
        "curve_batches",
        "prompts",
        "max_new_tokens",
        "top_k",
        "out",
        "quick",
        "verbose",
    ),
}


def add_parser(subparsers):
    from tlm.commands.options import format_default
    from tlm.compare.settings import QUICK, CompareConfig

    parser = subparsers.add_parser(
        "compare",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = CompareConfig()
    quick_texts = {
        name: f"{format_default(getattr(defaults, name))}; --quick: {format_default(value)}"
        for name, value in QUICK.items()
    }
    for title, names in GROUPS.items():
        add_options(parser.add_argument_group(title), CompareConfig, names, quick_texts)
    parser.set_defaults(func=run)
    return parser


def run(args):
    from tlm.compare import CompareConfig, compare_baselines
    from tlm.compare.report import format_samples, reading

    settings = given(args, CompareConfig)
    result = compare_baselines(CompareConfig.create(**settings))
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
