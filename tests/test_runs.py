"""load_run checks what it loads: damaged copies of a real run become clear errors."""

import json
import os
import shutil

import numpy as np
import pytest

from tlm.cli import main
from tlm.data.tokenizers import build_tokenizer
from tlm.generation import generate
from tlm.training import load_run


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


def test_a_tokenizer_of_another_size_is_refused(run_copy, trained_run):
    corpus = (trained_run.parent / "toy.txt").read_text(encoding="utf-8")
    shutil.rmtree(run_copy / "tokenizer")
    build_tokenizer("char", corpus + "XYZ").save(str(run_copy / "tokenizer"))
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


def test_a_prompt_with_a_lone_surrogate_is_refused_by_name(trained_run):
    run = load_run(str(trained_run))
    with pytest.raises(ValueError, match=r"`prompt` must be valid Unicode text: .* index 3"):
        generate(run.model, run.tokenizer, "to \ud800 be", 5)


def test_a_model_with_a_shorter_context_than_its_run_is_refused(run_copy):
    from tlm.models import TransformerLanguageModel

    config = json.loads((run_copy / "config.json").read_text())
    config["model"]["kind"] = "transformer"
    (run_copy / "config.json").write_text(json.dumps(config))
    vocabulary_size = config["data"]["vocabulary_size"]
    model = TransformerLanguageModel(
        vocabulary_size,
        sequence_length=8,
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=8,
    )
    model(np.zeros((1, 4), "int32"))
    model.save(run_copy / "model.keras")
    with pytest.raises(
        ValueError,
        match=r"records training windows of 16 tokens but model.keras has a context of 8 tokens",
    ):
        load_run(str(run_copy))
