"""How fast is the text pipeline? Prints seconds and tokens per second; asserts nothing.

    python benchmarks/data_pipeline.py                      # the default corpus, shakespeare
    python benchmarks/data_pipeline.py --corpus tiny_shakespeare
    python benchmarks/data_pipeline.py --json benchmarks/results/data_pipeline.json

Measures (a) loading the corpus (markdown -> play text), training the char tokenizer on the
train split and char-tokenizing the whole corpus (target: under 3 s on 2 cores), and (b) the
tokens per second `make_lm_dataset` delivers over one full epoch of the train split, shuffled
as in training (target: at least 400,000, ~50x what a small Transformer trains at on a CPU).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="shakespeare", help="corpus name or path")
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2, help="epochs to time (best is shown)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    from tlm.data import corpora
    from tlm.data.pipeline import make_lm_dataset
    from tlm.data.tokenizers import build_tokenizer

    corpora.shakespeare_plays.cache_clear()
    start = time.perf_counter()
    corpus = corpora.load_corpus(args.corpus)
    load_seconds = time.perf_counter() - start
    # tiny_shakespeare's test is its validation text: count it once.
    held_out = [corpus.validation] + ([] if corpus.test == corpus.validation else [corpus.test])
    text = "".join([corpus.train, *held_out])

    start = time.perf_counter()
    tokenizer = build_tokenizer("char", [corpus.train])
    build_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ids = tokenizer.encode(text)
    encode_seconds = time.perf_counter() - start

    train_ids = np.asarray(tokenizer.encode(corpus.train))
    dataset = make_lm_dataset(
        train_ids,
        args.sequence_length,
        args.batch_size,
        shuffle=True,
        seed=0,
        drop_remainder=True,
    )
    rates = []
    for _ in range(args.epochs):
        tokens, start = 0, time.perf_counter()
        for x, _ in dataset:
            tokens += int(tf.size(x))
        rates.append(tokens / (time.perf_counter() - start))

    print(f"corpus: {corpus.name} ({len(text):,} characters; {os.cpu_count()} CPU cores)")
    print(f"  load corpus:                    {load_seconds:6.2f} s")
    print(f"  build char tokenizer on train:  {build_seconds:6.2f} s")
    print(
        f"(a) char-tokenize whole corpus:   {encode_seconds:6.2f} s "
        f"({len(ids):,} tokens; target < 3 s)"
    )
    print(
        f"(b) make_lm_dataset, one epoch:   {max(rates):,.0f} tokens/s "
        f"(best of {args.epochs}; sequence_length={args.sequence_length}, "
        f"batch_size={args.batch_size}, shuffled; target >= 400,000)"
    )
    if args.json:
        from tlm.provenance import write_figures

        table = {
            "title": "Text pipeline",
            "columns": ["Figure", "Value", "Target"],
            "decimals": [None, 2, None],
            "rows": [
                [f"Load the corpus ({len(text):,} characters) (s)", load_seconds, None],
                ["Train the char tokenizer on the train split (s)", build_seconds, None],
                [f"Char-tokenize the whole corpus, {len(ids):,} tokens (s)", encode_seconds, "< 3"],
                [
                    f"`make_lm_dataset` throughput, one shuffled epoch, best of {args.epochs} "
                    "(tokens / s)",
                    round(max(rates)),
                    ">= 400,000",
                ],
            ],
        }
        notes = [
            f"Corpus `{corpus.name}`; context {args.sequence_length}, batch {args.batch_size}."
        ]
        write_figures(args.json, "data_pipeline", [table], notes)


if __name__ == "__main__":
    main()
