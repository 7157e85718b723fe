"""`tlm data`: look at a corpus before training on it.

    tlm data describe                   # the default corpus, Shakespeare's plays
    tlm data describe tiny_shakespeare
    tlm data describe ptb               # Penn Treebank, already tokenized
    tlm data describe path/to/book.txt  # or a folder of .txt files

Taught in notebooks/01_text_preprocessing.ipynb.
"""

import argparse

DESCRIBE_HELP = """\
Print what a corpus holds: characters, words and lines per split, the plays or files in each
split, the distinct characters (a char tokenizer's vocabulary) and a short sample of the
training text; for a corpus already tokenized (ptb), its distinct words too. CORPUS is a corpus
name (shakespeare, tiny_shakespeare, ptb, tang_poems) or a path to a .txt file or a
folder of .txt files; see tlm.data.corpora.load_corpus for how each is split.
"""


HELP = "inspect corpora (tlm data describe [CORPUS])"


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "data",
        help=HELP,
        description="Inspect the corpora tlm trains on.",
    )
    actions = parser.add_subparsers(title="actions", dest="data_action", metavar="ACTION")
    describe = actions.add_parser(
        "describe",
        help="sizes, splits, distinct characters and a sample of a corpus",
        description=DESCRIBE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    describe.add_argument(
        "corpus",
        nargs="?",
        default="shakespeare",
        metavar="CORPUS",
        help="shakespeare (default), tiny_shakespeare, ptb, tang_poems, or a .txt file or folder",
    )
    describe.add_argument(
        "--sample-length",
        type=int,
        default=300,
        metavar="N",
        help="characters of training text to show (default: 300; 0 shows none)",
    )
    describe.set_defaults(func=run)

    def show_help(args):
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)


def run(args):
    from tlm.data.corpora import SPLITS, load_corpus

    if args.sample_length < 0:
        raise ValueError(
            f"`--sample-length` must be 0 or more. Received: --sample-length={args.sample_length}"
        )
    corpus = load_corpus(args.corpus)
    texts = {split: getattr(corpus, split) for split in SPLITS}
    same_test = corpus.test is corpus.validation or corpus.test == corpus.validation
    unit = "plays" if corpus.name == "shakespeare" else "files"

    print(f"Corpus: {corpus.name}")
    print(f"Split: {corpus.description}")
    print()
    columns = ["split", "characters", "words", "lines"] + ([unit] if corpus.documents else [])
    rows = []
    for split in SPLITS:
        text = texts[split]
        row = [split, len(text), len(text.split()), text.count("\n")]
        if corpus.documents:
            row.append(len(corpus.documents.get(split, ())))
        rows.append(row)
    counted = [texts["train"], texts["validation"]] + ([] if same_test else [texts["test"]])
    total = ["total", *(sum(row[i] for row in rows[: len(counted)]) for i in (1, 2, 3))]
    if corpus.documents:
        total.append(sum(row[4] for row in rows))
    widths = [10] + [12] * (len(columns) - 1)
    for row in [columns, *rows, total]:
        cells = [f"{row[0]:<{widths[0]}}"]
        cells += [
            f"{value:>{width},}" if isinstance(value, int) else f"{value:>{width}}"
            for value, width in zip(row[1:], widths[1:], strict=True)
        ]
        print("".join(cells).rstrip())
    if same_test:
        print("(test is the same text as validation; counted once in the total)")

    distinct = sorted(set("".join(counted)))
    unseen = sorted(set("".join(counted[1:])) - set(texts["train"]))
    shown = "".join(distinct)
    if len(shown) > 200:
        shown = shown[:200] + " ..."
    print()
    print(f"Distinct characters: {len(distinct)} ({len(set(texts['train']))} in train)")
    print(f"  {shown!r}")
    if unseen:
        print(f"Characters not in train (a char tokenizer maps them to [UNK]): {''.join(unseen)!r}")
    _print_words(corpus, texts["train"], counted[1:])
    if corpus.documents:
        for split in ("validation", "test"):
            print(f"{split.capitalize()} {unit}: {', '.join(corpus.documents[split])}")
    if args.sample_length:
        print()
        print(f"Sample (first {args.sample_length} characters of train):")
        print(texts["train"][: args.sample_length])
    return 0


def _print_words(corpus, train, held_out):
    """The vocabulary of a corpus already tokenized: its distinct words, and those unseen."""
    if not corpus.tokenized:
        return
    words = set(train.split())
    unseen = set(" ".join(held_out).split()) - words
    unknown = f", {corpus.unknown_token!r} for unknown words" if corpus.unknown_token else ""
    print(f"Tokenized: words separated by spaces, one sentence per line{unknown}")
    print(
        f"Distinct words in train: {len(words):,} ({len(words) + 1:,} with the end of "
        f"sentence); not in train: {len(unseen):,}"
    )
