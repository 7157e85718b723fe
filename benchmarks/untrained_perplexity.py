"""The sanity check: an untrained model's perplexity is about the vocabulary size.

    python benchmarks/untrained_perplexity.py                 # shakespeare, char, tiny presets
    python benchmarks/untrained_perplexity.py --preset nanogpt-cpu --tokenizer bpe
    python benchmarks/untrained_perplexity.py --json benchmarks/results/untrained_perplexity.json

A freshly initialised model spreads its probability almost evenly over the vocabulary, so its
cross-entropy is about log(vocabulary_size) and its perplexity about vocabulary_size. Prints the
figures for both model kinds on the validation split; asserts nothing.
"""

import argparse
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="shakespeare", help="corpus name or path")
    parser.add_argument("--tokenizer", default="char", help="tokenizer kind")
    parser.add_argument("--preset", default="tiny", help="model preset, for every kind that has it")
    parser.add_argument("--max-batches", type=int, default=50, help="validation batches scored")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    import keras

    import tlm

    data = tlm.data.prepare(args.corpus, tokenizer=args.tokenizer, sequence_length=64)
    vocabulary_size = data.tokenizer.vocabulary_size
    print(f"corpus {args.corpus}, tokenizer {args.tokenizer}, vocabulary size {vocabulary_size}")
    print(f"log(vocabulary_size) = {math.log(vocabulary_size):.4f} nats")
    rows = []
    for kind in tlm.models.matched_presets(args.preset):  # every kind with this preset
        keras.utils.set_random_seed(args.seed)
        model = tlm.models.build_model(kind, vocabulary_size, preset=args.preset)
        figures = tlm.evaluation.evaluate(
            model, data.validation, mask_token_id=data.tokenizer.pad_id, steps=args.max_batches
        )
        print(
            f"{kind:>11}: loss {figures['loss']:.4f} nats/token, "
            f"perplexity {figures['perplexity']:.2f} (vocabulary {vocabulary_size})"
        )
        rows.append(
            [
                tlm.models.label_of(kind),
                args.tokenizer,
                vocabulary_size,
                figures["loss"],
                figures["perplexity"],
            ]
        )
    if args.json:
        from tlm.provenance import write_figures

        table = {
            "title": "Untrained loss and perplexity",
            "columns": [
                "Model",
                "Tokenizer",
                "Vocabulary size",
                "Untrained loss (nats / token)",
                "Untrained perplexity",
            ],
            "decimals": [None, None, None, 4, 2],
            "rows": rows,
        }
        notes = [
            f"The `{args.preset}` presets, seed {args.seed}, the first {args.max_batches} "
            f"validation batches of `{args.corpus}`. log({vocabulary_size}) = "
            f"{math.log(vocabulary_size):.4f} nats: an untrained model should score about that."
        ]
        write_figures(args.json, "untrained_perplexity", [table], notes)


if __name__ == "__main__":
    main()
