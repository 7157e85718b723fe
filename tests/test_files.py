"""Atomic writes: a failure mid-write leaves the previous file and no temporary behind."""

import errno
import os

import pytest

from tlm.files import atomic_path, write_text_atomically


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "config.json"
    write_text_atomically(path, "old\n")
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
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


def test_a_full_disk_keeps_the_old_file_names_the_path_and_leaves_no_temporary(
    small_filesystem,
):
    path = small_filesystem.path / "config.json"
    write_text_atomically(path, "old\n")
    with pytest.raises(OSError, match=r"No space left on device") as error:
        write_text_atomically(path, "x" * 400_000)  # more than the 256 KiB there is
    assert error.value.errno == errno.ENOSPC and error.value.filename == str(path)
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in small_filesystem.path.iterdir()] == ["config.json"]


def test_a_library_writer_that_runs_out_of_space_is_named_by_the_final_path(small_filesystem):
    path = small_filesystem.path / "model.keras"
    with pytest.raises(OSError, match=r"No space left on device") as error:  # noqa: PT012
        with atomic_path(path, suffix=".keras") as temporary:
            assert temporary.endswith(".keras") and os.path.dirname(temporary) == str(
                small_filesystem.path
            )
            with open(temporary, "wb") as file:
                file.write(os.urandom(400_000))
    assert error.value.filename == str(path)
    assert list(small_filesystem.path.iterdir()) == []


def test_an_h5py_report_is_cut_to_its_errno():
    report = (
        "Can't synchronously write data (file write failed: time = Tue Dec  1 00:10:21 2026\n"
        ", filename = '/r/.x.h5', file descriptor = 4, errno = 28, error message = 'No space')"
    )

    def h5py_like_writer(path):
        raise OSError(report)

    with pytest.raises(OSError, match="No space left on device") as error:  # noqa: PT012
        with atomic_path("weights.h5") as temporary:
            h5py_like_writer(temporary)
    assert str(error.value) == "[Errno 28] No space left on device: 'weights.h5'"
