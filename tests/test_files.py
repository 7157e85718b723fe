"""Atomic writes: a failure mid-write leaves the previous file and no temporary behind."""

import os

import pytest

from tlm.files import write_text_atomically


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "config.json"
    write_text_atomically(path, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomically(path, "new \ud800 text\n")  # a lone surrogate cannot be UTF-8
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_a_written_file_has_the_permissions_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain.txt"
    with open(plain, "w", encoding="utf-8") as file:
        file.write("x")
    atomic = tmp_path / "atomic.txt"
    write_text_atomically(atomic, "x")
    assert os.stat(atomic).st_mode == os.stat(plain).st_mode


def test_two_writers_of_one_path_never_share_a_temporary(tmp_path, monkeypatch):
    import tempfile

    names = []
    real_mkstemp = tempfile.mkstemp

    def recording_mkstemp(*args, **kwargs):
        descriptor, name = real_mkstemp(*args, **kwargs)
        names.append(name)
        return descriptor, name

    monkeypatch.setattr(tempfile, "mkstemp", recording_mkstemp)
    path = tmp_path / "history.json"
    write_text_atomically(path, "1")
    write_text_atomically(path, "2")
    assert len(set(names)) == 2 and all(os.path.dirname(n) == str(tmp_path) for n in names)
    assert path.read_text(encoding="utf-8") == "2"


def test_a_failed_backup_save_keeps_the_previous_backup_and_no_temporary(tmp_path):
    import errno

    import keras
    import numpy as np

    from tlm.training.runs import ResumableBackup

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)
    backup = ResumableBackup(str(tmp_path / "backup"))
    backup.set_model(model)
    backup.save()
    weights = tmp_path / "backup" / "latest.weights.h5"
    saved = weights.read_bytes()

    def out_of_space(path, overwrite=True):
        with open(path, "wb") as file:
            file.write(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    model.save_weights = out_of_space
    with pytest.raises(OSError, match="No space left on device"):
        backup.save()
    assert weights.read_bytes() == saved
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
        "latest.weights.h5",
        "training_metadata.json",
    ]
