"""load_run checks what it loads: damaged files and mismatched parts become clear errors."""

import json
import os
import shutil

import keras
import pytest

from tlm.cli import main
from tlm.data.tokenizers import build_tokenizer
from tlm.generation import generate
from tlm.models import LSTMLanguageModel
from tlm.training import load_run
from tlm.training.runs import model_description, write_json

TEXT = "to be, or not to be, that is the question"


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(0)
    tokenizer = build_tokenizer("char", TEXT)
    model = LSTMLanguageModel(
        tokenizer.vocabulary_size, embedding_dim=8, hidden_dim=8, num_layers=1
    )
    model(keras.ops.zeros((1, 4), "int32"))
    model.save(directory / "model.keras")
    tokenizer.save(str(directory / "tokenizer"))
    write_json(directory / "config.json", {"tlm_run": 2, "model": model_description(model)})
    return directory


@pytest.fixture
def run_copy(saved_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(saved_run, copy)
    return copy


def test_a_sound_run_loads(run_copy):
    run = load_run(str(run_copy))
    assert run.model.vocabulary_size == run.tokenizer.vocabulary_size


def test_a_truncated_model_file_is_named_as_damaged(run_copy):
    model_file = run_copy / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:500])
    with pytest.raises(ValueError, match=r"model file '.*model\.keras' cannot be loaded: it is "):
        load_run(str(run_copy))


def test_a_tokenizer_without_its_vocabulary_names_the_missing_file(run_copy):
    os.remove(run_copy / "tokenizer" / "vocabulary.json")
    with pytest.raises(
        ValueError,
        match=r"holds a 'char' tokenizer that cannot be loaded \(No such file or directory: "
        r".*vocabulary\.json\)",
    ):
        load_run(str(run_copy))


def test_a_tokenizer_of_another_size_is_refused(run_copy):
    shutil.rmtree(run_copy / "tokenizer")
    build_tokenizer("char", TEXT + "XYZ").save(str(run_copy / "tokenizer"))
    with pytest.raises(ValueError, match=r"disagree on the vocabulary size: the model has \d+ "):
        load_run(str(run_copy))


def test_a_config_of_another_kind_is_refused(run_copy):
    config = json.loads((run_copy / "config.json").read_text())
    config["model"]["kind"] = "transformer"
    (run_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="records a 'transformer' model but model.keras holds"):
        load_run(str(run_copy))


def test_the_cli_says_what_is_damaged_in_one_line(run_copy, capsys):
    model_file = run_copy / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:500])
    assert main(["generate", str(run_copy), "--prompt", "to"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tlm generate: error: The run's model file") and "Traceback" not in err


def test_a_prompt_with_a_lone_surrogate_is_refused_by_name(saved_run):
    run = load_run(str(saved_run))
    with pytest.raises(ValueError, match=r"`prompt` must be valid Unicode text: .* index 3"):
        generate(run.model, run.tokenizer, "to \ud800 be", 5)
