"""Tests for tlm.export and `tlm export`: a SavedModel that takes text and returns text, loaded
by a process that has TensorFlow and tensorflow-text but not tlm or keras_hub."""

import json
import logging
import math
import os
import shlex
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import tensorflow as tf
from toy_corpus import TOY_TEXT

from tlm.cli import main
from tlm.commands.export import DESCRIPTION as COMMAND_DESCRIPTION
from tlm.commands.export import FORMATS as COMMAND_FORMATS
from tlm.data import build_tokenizer
from tlm.evaluation import evaluate
from tlm.export import FORMATS, LITERT_FILE, SIGNATURES, export
from tlm.generation import generate
from tlm.models import LSTMLanguageModel, TransformerLanguageModel
from tlm.training import Run, load_run

PROMPTS = ["ab 1, said", "ca"]

# Run in a fresh interpreter with tlm and keras_hub made unimportable: what the SavedModel
# needs must be in the SavedModel. Prints one JSON line.
TLM_FREE_SCRIPT = r"""
import json, sys
sys.modules["tlm"] = None
sys.modules["keras_hub"] = None
import tensorflow as tf
import tensorflow_text  # noqa: F401 - registers the tokenizer ops

folder, prompts, max_new_tokens = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
exported = tf.saved_model.load(folder)
generate = exported.signatures["generate"]


def texts(top_k, seed, top_p=1.0, temperature=1.0):
    result = generate(
        prompt=tf.constant(prompts),
        max_new_tokens=tf.constant(max_new_tokens),
        temperature=tf.constant(temperature),
        top_k=tf.constant(top_k),
        top_p=tf.constant(top_p),
        seed=tf.constant(seed),
    )
    return [text.decode("utf-8") for text in result["text"].numpy()]


scores = exported.signatures["score"](text=tf.constant(["ab 1, said the ab\nca 2, said"]))
logits = exported.signatures["next_token_logits"](token_ids=tf.constant([[2, 3, 4]]))
print(json.dumps({
    "greedy": texts(top_k=1, seed=0),
    "greedy_other_seed": texts(top_k=1, seed=5),
    "sampled": texts(top_k=0, seed=3),
    "sampled_again": texts(top_k=0, seed=3),
    "sampled_other_seed": texts(top_k=0, seed=4),
    "top_p": texts(top_k=5, seed=3, top_p=0.8, temperature=0.7),
    "perplexity": scores["perplexity"].numpy().tolist(),
    "bits_per_character": scores["bits_per_character"].numpy().tolist(),
    "logits_shape": logits["logits"].shape.as_list(),
    "imported_tlm": any(name.split(".")[0] in ("tlm", "keras_hub") and module is not None
                        for name, module in sys.modules.items()),
}))
"""


def run_tlm_free(folder, prompts, max_new_tokens):
    # The working directory is the SavedModel's parent, away from the source tree.
    result = subprocess.run(
        [sys.executable, "-c", TLM_FREE_SCRIPT, str(folder), json.dumps(prompts)]
        + [str(max_new_tokens)],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.abspath(folder)),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def tlm_generate_greedy(capsys, run, prompt, max_new_tokens):
    """What `tlm generate --strategy greedy` prints after the prompt."""
    capsys.readouterr()
    argv = ["generate", str(run), "--prompt", prompt, "--strategy", "greedy"]
    assert main([*argv, "--max-new-tokens", str(max_new_tokens)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(prompt) and printed.endswith("\n")
    return printed[len(prompt) : -1]


@pytest.fixture(scope="module")
def subword_run(tmp_path_factory):
    """A Transformer on BPE with a 16-token context, written by a real `tlm train`."""
    folder = tmp_path_factory.mktemp("subword")
    corpus = folder / "toy.txt"
    corpus.write_text(TOY_TEXT, encoding="utf-8")
    out = folder / "run"
    argv = ["train", "--corpus", str(corpus), "--model", "transformer", "--tokenizer", "bpe"]
    argv += ["--vocabulary-size", "280", "--sequence-length", "16", "--batch-size", "4"]
    argv += ["--steps-per-epoch", "3", "--out", str(out), "--verbose", "0"]
    assert main(argv) == 0
    return out


def test_formats_and_signatures():
    assert COMMAND_FORMATS == FORMATS == ("saved_model", "litert")
    assert SIGNATURES == ("generate", "score", "next_token_logits")


@pytest.mark.parametrize("which", ["char_lstm", "bpe_transformer"])
def test_exported_model_generates_tlm_generate_text_without_tlm(
    which, trained_run, subword_run, tmp_path, capsys
):
    run = trained_run if which == "char_lstm" else subword_run
    out = tmp_path / "exported"
    assert main(["export", str(run), str(out)]) == 0
    assert "saved_model_cli show" in capsys.readouterr().out
    # 40 new tokens run past the 16-token context: the window slides inside the graph too.
    max_new_tokens = 40
    result = run_tlm_free(out, PROMPTS, max_new_tokens)
    assert not result["imported_tlm"]
    # Greedy: the exported graph writes exactly what `tlm generate --strategy greedy` prints,
    # for each prompt of a batch; the seed does not matter.
    for prompt, text in zip(PROMPTS, result["greedy"], strict=True):
        assert text == tlm_generate_greedy(capsys, run, prompt, max_new_tokens)
    assert result["greedy_other_seed"] == result["greedy"]
    loaded = load_run(run)
    assert result["greedy"] == generate(loaded.model, loaded.tokenizer, PROMPTS, max_new_tokens)
    # Sampling: the same seed gives the same text, another seed another text.
    assert result["sampled_again"] == result["sampled"]
    assert result["sampled_other_seed"] != result["sampled"]
    assert result["top_p"] != result["sampled"]
    assert all(isinstance(text, str) and text for text in result["sampled"])
    assert result["logits_shape"] == [1, loaded.model.vocabulary_size]
    assert result["perplexity"][0] > 1 and result["bits_per_character"][0] > 0


def windows_dataset(ids, length):
    """`(x, y)` windows of `length` inputs, one after the other, as the exported score cuts."""
    count = math.ceil((len(ids) - 1) / length)
    padded = np.zeros(count * length + 1, "int32")
    padded[: len(ids)] = ids
    x, y = padded[:-1].reshape(count, length), padded[1:].reshape(count, length)
    weight = (np.arange(count * length) < len(ids) - 1).reshape(count, length)
    return tf.data.Dataset.from_tensors((x, y, weight.astype("float32")))


@pytest.fixture(scope="module")
def exported_subword(subword_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("exported") / "subword"
    export(subword_run, out)
    return tf.saved_model.load(str(out)), load_run(subword_run), out


def test_score_equals_evaluate_on_the_same_windows(exported_subword):
    exported, run, _ = exported_subword
    texts = ["ab 1, said the ab\nca 2, said the ca\n" * 3, "ca 5, said"]
    scores = exported.signatures["score"](text=tf.constant(texts))
    for i, text in enumerate(texts):
        ids = run.tokenizer.encode(text)
        characters_per_token = len(run.tokenizer.cleaner(text)) / len(ids)
        want = evaluate(
            run.model,
            windows_dataset(ids, run.model.context_length),
            characters_per_token=characters_per_token,
        )
        assert scores["perplexity"].numpy()[i] == pytest.approx(want["perplexity"], rel=1e-5)
        assert scores["bits_per_character"].numpy()[i] == pytest.approx(
            want["bits_per_character"], rel=1e-5
        )


def test_next_token_logits_are_the_models_last_position(exported_subword):
    exported, run, _ = exported_subword
    ids = np.array([[5, 6, 7, 8] * 6, [9, 10, 11, 12] * 6], "int32")  # 24 ids, context 16
    logits = exported.signatures["next_token_logits"](token_ids=tf.constant(ids))["logits"]
    want = run.model(ids[:, -16:], training=False)[:, -1, :]
    np.testing.assert_allclose(logits.numpy(), np.asarray(want), atol=1e-5)


def test_saved_model_cli_lists_the_signatures(exported_subword):
    _, run, folder = exported_subword
    cli = shutil.which("saved_model_cli") or os.path.join(
        os.path.dirname(sys.executable), "saved_model_cli"
    )
    result = subprocess.run(
        [cli, "show", "--dir", str(folder), "--all"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    shown = result.stdout
    vocabulary_size = run.model.vocabulary_size
    expected = {
        "generate": [
            ("prompt", "DT_STRING", "(-1)"),
            ("max_new_tokens", "DT_INT32", "()"),
            ("temperature", "DT_FLOAT", "()"),
            ("top_k", "DT_INT32", "()"),
            ("top_p", "DT_FLOAT", "()"),
            ("seed", "DT_INT32", "()"),
            ("text", "DT_STRING", "(-1)"),
        ],
        "score": [
            ("text", "DT_STRING", "(-1)"),
            ("perplexity", "DT_FLOAT", "(-1)"),
            ("bits_per_character", "DT_FLOAT", "(-1)"),
        ],
        "next_token_logits": [
            ("token_ids", "DT_INT32", "(-1, -1)"),
            ("logits", "DT_FLOAT", f"(-1, {vocabulary_size})"),
        ],
    }
    for signature, tensors in expected.items():
        section = shown.split(f"signature_def['{signature}']:")[1].split("signature_def[")[0]
        for name, dtype, shape in tensors:
            block = section.split(f"['{name}'] tensor_info:")[1]
            assert f"dtype: {dtype}" in block.split("name:")[0], (signature, name)
            assert f"shape: {shape}" in block.split("name:")[0], (signature, name)


def test_the_help_example_of_saved_model_cli_run_generates(exported_subword):
    # `saved_model_cli run` restores the variables by name, as TF Serving does (not as
    # `tf.saved_model.load`): the command of `tlm export --help`, run as printed.
    _, run, folder = exported_subword
    lines = COMMAND_DESCRIPTION.split("saved_model_cli run needs")[1].splitlines()[1:4]
    command = "\n".join(lines).replace("exported/shakespeare-char", shlex.quote(str(folder)))
    command = command.replace("python -c", f"{shlex.quote(sys.executable)} -c", 1)
    command = command.replace("ROMEO:", "ab 1, said")
    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Result for output key text:" in result.stdout
    greedy = generate(run.model, run.tokenizer, "ab 1, said", 100)
    assert repr(greedy.encode("utf-8"))[2:-1] in result.stdout


def test_graph_refuses_bad_sampling_values(exported_subword):
    exported, _, _ = exported_subword
    generate_signature = exported.signatures["generate"]
    settings = dict(
        prompt=tf.constant(["ab"]),
        max_new_tokens=tf.constant(4),
        temperature=tf.constant(1.0),
        top_k=tf.constant(1),
        top_p=tf.constant(1.0),
        seed=tf.constant(0),
    )
    for name, value, rule in [
        ("temperature", tf.constant(0.0), "`temperature` must be > 0"),
        ("top_p", tf.constant(1.5), "`top_p` must be in \\(0, 1\\]"),
        ("top_k", tf.constant(-1), "`top_k` must be at least 0"),
        ("max_new_tokens", tf.constant(-2), "`max_new_tokens` must be at least 0"),
        ("prompt", tf.constant(["ab", ""]), "every `prompt` must encode to at least one token"),
        ("prompt", tf.constant([], tf.string), "`prompt` must hold at least one string"),
    ]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=rule):
            generate_signature(**{**settings, name: value})
    empty = generate_signature(**{**settings, "max_new_tokens": tf.constant(0)})["text"]
    assert empty.numpy().tolist() == [b""]


@pytest.mark.parametrize(
    ("model_kind", "tokenizer_kind"),
    # char (LSTM) and BPE (Transformer) are the runs of the tests above.
    [("lstm", "word"), ("transformer", "wordpiece"), ("lstm", "sentencepiece")],
)  # fmt: skip
def test_every_tokenizer_kind_exports(model_kind, tokenizer_kind, tmp_path, caplog):
    size = {"word": 40, "wordpiece": 60, "sentencepiece": 300}[tokenizer_kind]
    tokenizer = build_tokenizer(tokenizer_kind, TOY_TEXT + "Zebra (x-y) «z» 你好，世界！\n", size)
    if model_kind == "transformer":
        model = TransformerLanguageModel(
            tokenizer.vocabulary_size, 16, num_layers=1, num_heads=2, hidden_dim=16,
            intermediate_dim=32,
        )  # fmt: skip
    else:
        model = LSTMLanguageModel(tokenizer.vocabulary_size, 8, 16, num_layers=1)
    with caplog.at_level("INFO", logger="tensorflow"):  # as in a notebook: INFO lines shown
        export(Run(model, tokenizer, {}, ""), tmp_path / "out")
        # No "Assets written to: <the temporary folder>"; the caller's log level is kept.
        assert "Assets written" not in caplog.text
        assert tf.get_logger().level == logging.INFO
    exported = tf.saved_model.load(str(tmp_path / "out"))
    prompts = ["ab 3, said the", "Zebra 你好"]
    texts = exported.signatures["generate"](
        prompt=tf.constant(prompts),
        max_new_tokens=tf.constant(24),
        temperature=tf.constant(1.0),
        top_k=tf.constant(1),
        top_p=tf.constant(1.0),
        seed=tf.constant(0),
    )["text"]
    want = generate(model, tokenizer, prompts, 24)
    assert [text.decode("utf-8") for text in texts.numpy()] == want


def test_litert_next_token_model(subword_run, tmp_path):
    out = tmp_path / "exported"
    assert main(["export", str(subword_run), str(out), "--format", "litert"]) == 0
    with warnings.catch_warnings():  # "use the LiteRT package's interpreter": not installed
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(str(out / LITERT_FILE))
    interpreter.allocate_tensors()
    (tensor,) = interpreter.get_input_details()
    ids = (np.arange(tensor["shape"][1]) % 5 + 2).astype("int32")[None, :]
    interpreter.set_tensor(tensor["index"], ids)
    interpreter.invoke()
    logits = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    exported = tf.saved_model.load(str(out))
    want = exported.signatures["next_token_logits"](token_ids=tf.constant(ids))["logits"]
    np.testing.assert_allclose(logits, want.numpy(), atol=1e-4)


# -- bad input --------------------------------------------------------------------------------
def test_export_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a run")
    assert main(["export", str(tmp_path), str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert str(tmp_path) in error and "tlm export: error:" in error
    assert not (tmp_path / "out").exists()


def test_export_refuses_an_existing_folder_unless_overwrite(trained_run, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["export", str(trained_run), str(out)]) == 2
    error = capsys.readouterr().err
    assert "`out_dir` must not exist or be empty" in error and str(out) in error
    assert (out / "keep.txt").read_text() == "mine"
    assert main(["export", str(trained_run), str(out), "--overwrite"]) == 0
    assert (out / "saved_model.pb").is_file() and not (out / "keep.txt").exists()


def test_export_refuses_an_unknown_format(trained_run, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["export", str(trained_run), str(tmp_path / "out"), "--format", "onnx"])
    assert "invalid choice: 'onnx'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="`format` must be one of 'saved_model', 'litert'. "):
        export(trained_run, tmp_path / "out", format="onnx")
    assert not (tmp_path / "out").exists()


def test_export_without_a_litert_converter_says_so(trained_run, tmp_path, monkeypatch):
    monkeypatch.delattr(tf.lite, "TFLiteConverter")
    with pytest.raises(ValueError, match="needs a LiteRT converter .* Received: format='litert'"):
        export(trained_run, tmp_path / "out", format="litert")
    assert not (tmp_path / "out").exists()


def test_litert_refuses_the_lstm_before_writing(trained_run, tmp_path, capsys):
    out = tmp_path / "exported"
    assert main(["export", str(trained_run), str(out), "--format", "litert"]) == 2
    error = capsys.readouterr().err
    assert "LSTM's recurrent loop" in error and "LSTMLanguageModel" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_export_leaves_nothing_behind(trained_run, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous export")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", fail)
    with pytest.raises(OSError, match="No space left"):
        export(trained_run, out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "old.txt").read_text() == "previous export"
