"""`tlm generate`: continue a prompt with a trained model, streaming the text to the terminal.

The work is `tlm.generation.generate`; this module loads the run and prints.
"""

import argparse
import sys

# The same names as `tlm.generation.STRATEGIES` (tested), spelled out so `--help` stays instant.
STRATEGIES = ("greedy", "top_k", "top_p")

DESCRIPTION = """\
Load a run directory written by `tlm train` (or a model.keras file inside one), or a pretrained
keras_hub GPT-2 preset (a preset folder, a name such as gpt2_base_en or a kaggle:// or hf://
handle; names and handles download once), and continue the prompt. The prompt is printed, then
the new text as it is generated. With several --prompt options the prompts are generated
together as one batch and printed one after the other.

Examples:
  tlm generate runs/shakespeare-char --prompt "ROMEO:" --max-new-tokens 200
  tlm generate runs/shakespeare-char --prompt "ROMEO:" --strategy top_k --top-k 10 \\
      --temperature 0.8 --seed 1
  tlm generate runs/shakespeare-char --prompt "To be" --strategy top_p --top-p 0.9 --stop "\\n\\n"
  tlm generate presets/gpt2_base_en --prompt "The future of large language models is" \\
      --strategy top_k --max-new-tokens 40
"""


HELP = "Generate text from a trained run, streamed to the terminal."


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "generate",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "run",
        metavar="RUN_DIR_OR_PRESET",
        help="a run directory, a .keras file inside one, or a keras_hub GPT-2 preset",
    )
    parser.add_argument(
        "--prompt",
        action="append",
        default=None,
        help='text to continue (default: a newline); repeat for a batch; "\\n" is a newline',
    )
    parser.add_argument(
        "--strategy",
        default="greedy",
        choices=STRATEGIES,
        help="greedy: most likely token; top_k / top_p: sample (default: greedy)",
    )
    parser.add_argument(
        "--top-k", type=int, default=None, help="sample among the K most likely tokens (10)"
    )
    parser.add_argument(
        "--top-p",
        type=float,
        default=None,
        help="sample from the smallest set of tokens with probability >= P (0.9)",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="below 1: safer text, above 1: more varied (default: 1.0)",
    )
    parser.add_argument(
        "--max-new-tokens", type=int, default=200, help="new tokens per prompt (default: 200)"
    )
    parser.add_argument("--seed", type=int, default=None, help="same seed, same text")
    parser.add_argument(
        "--stop",
        action="append",
        default=None,
        help='stop before this string (repeatable; "\\n" is a newline)',
    )
    parser.add_argument(
        "--repetition-penalty",
        type=float,
        default=None,
        help="> 1 makes tokens already seen less likely (e.g. 1.2)",
    )
    parser.add_argument(
        "--no-stream", action="store_true", help="print the text once it is all generated"
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="re-compute the whole context at every token (same text, much slower; to compare)",
    )
    parser.set_defaults(func=run)
    return parser


def _unescape(text):
    # Shells make newlines awkward to type: accept "\n" and "\t" as in Python strings.
    return text.replace("\\n", "\n").replace("\\t", "\t")


def run(args):
    out = sys.stdout
    prompts = [_unescape(prompt) for prompt in (args.prompt or ["\n"])]
    stops = [_unescape(stop) for stop in args.stop] if args.stop else None
    settings = dict(
        max_new_tokens=args.max_new_tokens,
        strategy=args.strategy,
        top_k=args.top_k,
        top_p=args.top_p,
        temperature=args.temperature,
        seed=args.seed,
        stop=stops,
        repetition_penalty=args.repetition_penalty,
        use_cache=not args.no_cache,
    )
    from tlm.generation import check_generation_arguments, generate
    from tlm.pretrained import load_run_or_preset

    # Bad options fail at once, before the model loads and before anything is printed.
    settings_without_cache = {k: v for k, v in settings.items() if k != "use_cache"}
    check_generation_arguments(prompts, **settings_without_cache)

    loaded = load_run_or_preset(args.run)
    model, tokenizer = loaded.model, loaded.tokenizer
    if len(prompts) == 1 and not args.no_stream:
        out.write(prompts[0])
        out.flush()
        for piece in generate(model, tokenizer, prompts[0], stream=True, **settings):
            out.write(piece)
            out.flush()
        out.write("\n")
        return 0
    texts = generate(model, tokenizer, prompts, **settings)
    for i, (prompt, text) in enumerate(zip(prompts, texts, strict=True)):
        if i:
            out.write("\n" + "-" * 40 + "\n")
        out.write(prompt + text + "\n")
    out.flush()
    return 0
