"""`tlm export`: write a trained run as a string-in, string-out TensorFlow SavedModel.

The work is `tlm.export.export`; this module parses the options and says what was written.
"""

import argparse
import os
import sys

# The same names as `tlm.export.FORMATS` (tested), spelled out so `--help` stays instant.
FORMATS = ("saved_model", "litert")

DESCRIPTION = """\
Export a run directory written by `tlm train` (or a keras_hub GPT-2 preset) as a TensorFlow
SavedModel that takes text and returns text: tokenization, the cached decoding loop, sampling
and detokenization all run inside the graph, so the model loads with TensorFlow and
tensorflow-text alone (no tlm, no keras_hub): TF Serving, saved_model_cli, another program.

Signatures:
  generate(prompt, max_new_tokens, temperature, top_k, top_p, seed) -> text
      top_k=1 is greedy (the text of `tlm generate --strategy greedy`), top_k=0 no cut
  score(text) -> perplexity, bits_per_character
  next_token_logits(token_ids) -> logits

The SavedModel is written to a temporary folder and moved into place when complete.

Examples:
  tlm export runs/shakespeare-char exported/shakespeare-char
  saved_model_cli show --dir exported/shakespeare-char --all

saved_model_cli run needs the tokenizer ops registered first (import tensorflow_text):
python -c 'import tensorflow_text;from tensorflow.python.tools.saved_model_cli import main;main()'\\
    run --dir exported/shakespeare-char --tag_set serve --signature_def generate \\
    --input_exprs 'prompt=["ROMEO:"];max_new_tokens=100;temperature=1.0;top_k=1;top_p=1.0;seed=0'
"""

HELP = "Export a trained run as a text-in, text-out TensorFlow SavedModel."


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "run",
        metavar="RUN_DIR_OR_PRESET",
        help="a run directory, a .keras file inside one, or a keras_hub GPT-2 preset",
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", help="the SavedModel folder to write")
    parser.add_argument(
        "--format",
        default="saved_model",
        choices=FORMATS,
        help="saved_model; litert also writes next_token_logits.tflite (default: saved_model)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace OUT_DIR if it already holds files"
    )
    parser.set_defaults(func=run)
    return parser


def run(args):
    from tlm.export import LITERT_FILE, check_export_arguments, export
    from tlm.pretrained import load_run_or_preset

    # Bad options fail at once, before the model loads.
    check_export_arguments(args.out_dir, args.format, args.overwrite)
    loaded = load_run_or_preset(args.run)
    out_dir = export(loaded, args.out_dir, format=args.format, overwrite=args.overwrite)
    print(f"Wrote the SavedModel {out_dir}")
    if args.format == "litert":
        print(f"Wrote the LiteRT model {os.path.join(out_dir, LITERT_FILE)}")
    print(f"Show its signatures: saved_model_cli show --dir {out_dir} --all", file=sys.stdout)
    return 0
