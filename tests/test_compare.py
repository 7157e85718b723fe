"""Tests of tlm.compare: budget, figures and their summary, report, plots, and a tiny comparison."""

import json
import math

import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from tlm.compare.budget import Budget
from tlm.compare.plots import (
    plot_attention_heatmap,
    plot_final_figures,
    plot_validation_curves,
)
from tlm.compare.report import (
    compare_figure,
    display_width,
    format_samples,
    reading,
    write_report,
    write_results_json,
)
from tlm.compare.results import ComparisonResult, ModelRun, Stat, format_table
from tlm.plotting import cjk_font, font_family_for

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_run(kind, seed, test_perplexity, steps=100, parameters=1000):
    figures = {
        "parameters": parameters,
        "steps": steps,
        "tokens_seen": steps * 64,
        "wall_time": 10.0 + seed,
        "train_tokens_per_second": 640.0,
        "validation_perplexity": test_perplexity + 0.5,
        "test_perplexity": test_perplexity,
        "test_bits_per_character": math.log2(test_perplexity),
        "generation_tokens_per_second": 50.0,
    }
    curve = {
        "step": [50, 100],
        "wall_time": [5.0, 10.0],
        "validation_perplexity": [test_perplexity * 2, test_perplexity + 0.5],
    }
    return ModelRun(kind, "tiny", seed, f"{kind}-seed{seed}", figures, curve)


def make_result(tmp_path, transformer=(5.0,), lstm=(6.0,), budget=("steps", 100)):
    runs = [make_run("transformer", s, p) for s, p in enumerate(transformer)]
    runs += [make_run("lstm", s, p, parameters=990) for s, p in enumerate(lstm)]
    settings = {
        "corpus": "tiny.txt",
        "tokenizer": "char",
        "sequence_length": 16,
        "batch_size": 4,
        "budget": {"kind": budget[0], "value": budget[1]},
        "seeds": list(range(len(transformer))),
        "presets": {"transformer": "tiny", "lstm": "tiny"},
    }
    samples = [
        {"prompt": "ROMEO:", "strategy": "greedy", "texts": {"transformer": "ab\nc", "lstm": "d|e"}}
    ]
    return ComparisonResult(tmp_path, settings, runs, samples=samples, wall_time=12.0)


# Budget


def test_flops_budget_turns_into_steps_per_model():
    budget = Budget("flops", 6e6 * 64 * 10)
    assert budget.steps_for(flops_per_token=6e6, tokens_per_step=64) == 10
    assert budget.steps_for(flops_per_token=3e6, tokens_per_step=64) == 20


def test_time_budget_has_no_step_count():
    assert Budget("time", 30).steps_for() is None
    assert Budget("time", 30).seconds == 30.0


@pytest.mark.parametrize("value", [0, -1, float("nan"), True, "10"])
def test_budget_must_be_positive(value):
    with pytest.raises(ValueError, match="`budget_value` must be a finite number greater than 0"):
        Budget("steps", value)


def test_unknown_budget_kind_is_refused():
    with pytest.raises(ValueError, match="`budget` must be one of 'steps', 'time', 'flops'"):
        Budget("epochs", 3)


def test_flops_budget_below_one_step_is_refused():
    with pytest.raises(ValueError, match="too small for one training step"):
        Budget("flops", 10).steps_for(flops_per_token=1e6, tokens_per_step=64)


# Figures and summary


def test_stat_gives_mean_and_sample_spread():
    stat = Stat.of([4.0, 6.0, float("nan")])
    assert stat.mean == 5.0
    assert stat.std == pytest.approx(math.sqrt(2.0))
    assert (stat.min, stat.max, stat.values) == (4.0, 6.0, (4.0, 6.0))
    assert stat.format(2) == "5.00 ± 1.41"
    assert Stat.of([3.0]).format(1) == "3.0"


def test_summary_aggregates_each_figure_over_seeds(tmp_path):
    result = make_result(tmp_path, transformer=(5.0, 5.2, 5.4), lstm=(6.0, 6.1, 6.2))
    summary = result.summary
    assert result.kinds == ["transformer", "lstm"]
    assert summary["transformer"]["test_perplexity"].mean == pytest.approx(5.2)
    assert summary["lstm"]["test_perplexity"].std == pytest.approx(0.1)
    assert len(summary["lstm"]["parameters"].values) == 3


def test_table_has_one_row_per_model_with_spread(tmp_path):
    table = make_result(tmp_path, transformer=(5.0, 5.2), lstm=(6.0, 6.2)).table()
    lines = table.splitlines()
    assert len(lines) == 4
    assert "Test perplexity" in lines[0] and "Wall time (s)" in lines[0]
    assert lines[2].startswith("| Transformer | 1,000 |")
    assert "5.10 ± 0.14" in lines[2]
    assert lines[3].startswith("| LSTM | 990 |")


def test_table_leaves_out_figures_nobody_measured():
    table = format_table({"lstm": {"test_perplexity": Stat.of([3.0])}})
    assert table.splitlines()[0] == "| Model | Test perplexity |"


# Reading and report


def test_reading_names_the_winner_and_the_margin():
    summary = {
        "transformer": {"test_perplexity": Stat.of([4.0])},
        "lstm": {"test_perplexity": Stat.of([5.0])},
    }
    sentence = compare_figure(summary, "test_perplexity", "lstm", "transformer")
    assert sentence == "Test perplexity: the Transformer won, 4.00 against 5.00 (20.0% lower)."
    summary["lstm"]["train_tokens_per_second"] = Stat.of([300.0])
    summary["transformer"]["train_tokens_per_second"] = Stat.of([200.0])
    sentence = compare_figure(summary, "train_tokens_per_second", "transformer", "lstm")
    assert "the LSTM won, 300 against 200 (50.0% higher)" in sentence


def test_reading_says_when_the_gap_is_within_the_seeds_spread(tmp_path):
    result = make_result(tmp_path, transformer=(5.0, 6.0), lstm=(5.2, 6.2))
    text = "\n".join(reading(result))
    assert "within the spread across seeds" in text
    assert "2 seeds" in text


def test_reading_has_caveats_for_one_seed(tmp_path):
    text = "\n".join(reading(make_result(tmp_path)))
    assert text.startswith("Under the same budget (100 training steps per model). Test perplexity")
    assert "one seed" in text and "one corpus (tiny.txt)" in text


def test_report_and_results_json_hold_every_figure(tmp_path):
    result = make_result(tmp_path, transformer=(5.0, 5.5), lstm=(6.0, 6.5))
    result.plots = {"curves": "validation_perplexity.png"}
    report = write_report(result, tmp_path / "report.md").read_text()
    assert "# Transformer vs LSTM" in report
    assert result.table() in report
    assert "![curves](validation_perplexity.png)" in report
    assert "`ab<br>c`" in report and "d\\|e" in report
    assert "`transformer-seed1`" in report

    data = json.loads(write_results_json(result, tmp_path / "results.json").read_text())
    assert data["summary"]["lstm"]["test_perplexity"]["mean"] == pytest.approx(6.25)
    assert data["summary"]["lstm"]["test_perplexity"]["values"] == [6.0, 6.5]
    assert len(data["runs"]) == 4
    assert data["runs"][0]["curve"]["validation_perplexity"] == [10.0, 5.5]
    assert data["samples"][0]["texts"]["lstm"] == "d|e"


def test_results_json_writes_missing_figures_as_null(tmp_path):
    result = make_result(tmp_path)
    result.runs[0].figures["generation_tokens_per_second"] = float("nan")
    result.runs[0].figures["flops_per_token"] = np.float32(2.5)
    data = json.loads(write_results_json(result, tmp_path / "results.json").read_text())
    assert data["runs"][0]["figures"]["generation_tokens_per_second"] is None
    assert data["runs"][0]["figures"]["flops_per_token"] == 2.5


def test_samples_print_side_by_side():
    text = format_samples(
        [{"prompt": "A", "strategy": "top_k", "texts": {"transformer": "xy", "lstm": "zw"}}],
        ["transformer", "lstm"],
        width=50,
    )
    lines = text.splitlines()
    assert lines[0] == "Prompt 'A', top_k:"
    assert lines[1].startswith("TRANSFORMER") and "| LSTM" in lines[1]
    assert lines[2].startswith("xy") and lines[2].endswith("| zw")


def test_chinese_samples_align_by_terminal_columns():
    poem = "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。"
    text = format_samples(
        [{"prompt": "春", "strategy": "greedy", "texts": {"transformer": poem, "lstm": "ab cd"}}],
        ["transformer", "lstm"],
        width=43,
    )
    lines = text.splitlines()[1:]
    # Each Chinese character takes two columns: the separators line up in every row.
    columns = [display_width(line[: line.index("|")]) for line in lines]
    assert columns == [21] * len(lines), text
    assert "".join(line[: line.index("|")].strip() for line in lines[1:]) == poem
    assert lines[1].endswith("| ab cd")


# Plots


def test_attention_heatmap_draws_chinese_tokens_with_a_cjk_font(tmp_path, recwarn):
    if cjk_font() is None:
        pytest.skip("no installed font draws Chinese (CI installs fonts-wqy-microhei)")
    tokens = list("床前明月光，")
    path = plot_attention_heatmap(np.tril(np.ones((6, 6))) / 6, tokens, tmp_path / "zh.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    # matplotlib warns "Glyph ... missing from font(s)" for each character it cannot draw.
    assert not [w for w in recwarn if "missing from font" in str(w.message)]
    assert font_family_for(tokens)[0] == cjk_font()
    assert font_family_for(["ROMEO:"]) is None
    # The font found draws the characters themselves, not the boxes of matplotlib's Last
    # Resort font (which has a "glyph" for every character and never warns).
    path = font_manager.findfont(font_manager.FontProperties(family=cjk_font()))
    assert "LastResort" not in path
    assert all(ord(c) in FT2Font(path).get_charmap() for c in "床前明月光，")


def test_plots_write_png_files(tmp_path):
    result = make_result(tmp_path, transformer=(5.0, 5.5), lstm=(6.0, 6.5))
    curves = {kind: [run.curve for run in result.runs_of(kind)] for kind in result.kinds}
    paths = [
        plot_validation_curves(curves, tmp_path / "curves.png"),
        plot_final_figures(result.summary, tmp_path / "final.png"),
        plot_attention_heatmap(np.tril(np.ones((2, 5, 5))) / 5, list("ab\n d"), tmp_path / "a.png"),
        plot_attention_heatmap(np.eye(3), ["x", "y", "z"], tmp_path / "one_head.png"),
    ]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_MAGIC


def test_attention_heatmap_refuses_non_square_weights(tmp_path):
    with pytest.raises(ValueError, match=r"`weights` must have shape .* Received: shape=\(2, 3\)"):
        plot_attention_heatmap(np.ones((2, 3)), ["a", "b"], tmp_path / "a.png")


# compare_baselines: bad input is refused before any work, and nothing is written


@pytest.fixture
def tiny_corpus(tmp_path):
    speakers = ("KING", "QUEEN", "LORD")
    lines = []
    for i in range(300):
        lines += [f"{speakers[i % 3]}:", "my lord, the night is fair and the day is good.", ""]
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


TINY = dict(
    budget="steps",
    budget_value=2,
    sequence_length=16,
    batch_size=4,
    max_eval_batches=2,
    max_new_tokens=4,
    prompts=["KING:"],
    verbose=0,
)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"models": ["transformer", "gru"]}, "`models` must be one of .* Received: models='gru'"),
        ({"presets": {"rnn": "tiny"}}, "`presets` must be one of .* Received: presets='rnn'"),
        (
            {"preset": "huge"},
            "Unknown preset for the transformer model: .* Received: preset='huge'",
        ),
        (
            {"presets": {"lstm": "big"}},
            "Unknown preset for the lstm model: .* Received: preset='big'",
        ),
        (
            {"budget_value": 0},
            r"`budget_value` must be a finite number greater than 0. Received: budget_va",
        ),
        (
            {"budget": "time", "budget_value": -5},
            "`budget_value` must be a finite number greater than 0",
        ),
        ({"budget": "epochs"}, "`budget` must be one of 'steps', 'time', 'flops'"),
        ({"seeds": 0}, "`seeds` must be an integer of at least 1. Received: seeds=0"),
        ({"seeds": [1, 1]}, "`seeds` must be a number or a list of distinct integers"),
        ({"tokenizer": "morse"}, "`tokenizer` must be one of .* Received: tokenizer='morse'"),
        ({"sequence_length": 0}, "`sequence_length` must be an integer of at least 1"),
        ({"max_eval_batches": 0}, "`max_eval_batches` must be None or an integer of at least 1"),
        ({"top_k": -1}, "`top_k` must be an integer of at least 1. Received: top_k=-1"),
        ({"seed": 3}, r"Unknown comparison setting\(s\): seed\. Valid: .*seeds"),
        ({"prompts": [""]}, "`prompts` must be a list of non-empty strings"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(tmp_path, tiny_corpus, arguments, message):
    from tlm.compare import compare_baselines

    out = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        compare_baselines(corpus=tiny_corpus, **{**TINY, "out": out, **arguments})
    assert not out.exists()


def test_corpus_too_small_for_the_context_is_refused(tmp_path):
    from tlm.compare import compare_baselines

    corpus = tmp_path / "small.txt"
    corpus.write_text("\n".join(["To be, or not to be."] * 40), encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"has \d+ tokens, fewer than sequence_length \+ 1"):
        compare_baselines(corpus=corpus, **{**TINY, "sequence_length": 64, "out": out})
    assert not out.exists()


def test_output_directory_that_is_a_file_is_refused(tmp_path, tiny_corpus):
    from tlm.compare import compare_baselines

    out = tmp_path / "results.txt"
    out.write_text("keep me")
    with pytest.raises(ValueError, match="`out` must be a directory, but a file of that name"):
        compare_baselines(corpus=tiny_corpus, **{**TINY, "out": out})
    assert out.read_text() == "keep me"


def test_non_empty_output_directory_is_refused(tmp_path, tiny_corpus):
    from tlm.compare import compare_baselines

    (tmp_path / "old.md").write_text("earlier results")
    with pytest.raises(ValueError, match="`out` must be a new or empty directory"):
        compare_baselines(corpus=tiny_corpus, **{**TINY, "out": tmp_path})


def test_flops_budget_too_small_for_one_step_is_refused(tmp_path, tiny_corpus):
    from tlm.compare import compare_baselines

    out = tmp_path / "out"
    with pytest.raises(ValueError, match="`budget_value` is too small for one training step"):
        compare_baselines(
            corpus=tiny_corpus, **{**TINY, "budget": "flops", "budget_value": 1e3, "out": out}
        )
    assert not out.exists()


# Training plan and the time-budget schedule


def test_step_plan_gives_about_a_dozen_evaluations():
    from tlm.compare.fitting import plan_steps, plan_time

    assert plan_steps(2000) == (10, 200)
    assert plan_steps(30) == (10, 3)
    assert plan_steps(3) == (3, 1)
    epochs, steps_per_epoch = plan_time(seconds=100, step_time=0.1)
    assert steps_per_epoch == 83 and epochs * steps_per_epoch >= 3 * 1000


def test_budget_fraction_decay_follows_the_time_used():
    from tlm.compare.fitting import BudgetFractionDecay

    schedule = BudgetFractionDecay(1e-2, warmup_steps=10, min_learning_rate=1e-3)
    assert float(schedule(0)) == pytest.approx(1e-2 / 11)
    assert float(schedule(50)) == pytest.approx(1e-2)
    schedule.fraction.assign(1.0)
    assert float(schedule(50)) == pytest.approx(1e-3)
    schedule.fraction.assign(0.5)
    assert float(schedule(50)) == pytest.approx(5.5e-3)
    assert BudgetFractionDecay.from_config(schedule.get_config()).learning_rate == 1e-2


# A whole comparison, tiny


@pytest.mark.slow
def test_compare_baselines_trains_both_models_and_writes_everything(tmp_path, tiny_corpus):
    from tlm.compare import compare_baselines
    from tlm.training import load_run

    out = tmp_path / "compare"
    result = compare_baselines(corpus=tiny_corpus, **{**TINY, "out": out})

    assert result.kinds == ["transformer", "lstm"]
    for run in result.runs:
        assert run.figures["steps"] == 2
        assert run.figures["tokens_seen"] == 2 * 16 * 4
        assert run.figures["test_perplexity"] > 1
        assert run.figures["generation_tokens_per_second"] > 0
        assert run.figures["generation_first_call_seconds"] > 0
        assert len(run.curve["validation_perplexity"]) == 2
        assert load_run(run.run_dir).tokenizer.vocabulary_size > 3  # a normal tlm run
    parameters = [run.figures["parameters"] for run in result.runs]
    assert abs(parameters[0] - parameters[1]) / parameters[0] < 0.05

    for name in (
        "report.md",
        "results.json",
        "validation_perplexity.png",
        "final_figures.png",
        "attention.png",
    ):
        assert (out / name).is_file(), name
    assert (out / "attention.png").read_bytes()[:8] == PNG_MAGIC
    report = (out / "report.md").read_text()
    assert result.table() in report and "## Samples" in report and "| `KING:` |" in report
    data = json.loads((out / "results.json").read_text())
    assert data["settings"]["budget"] == {"kind": "steps", "value": 2}
    assert data["provenance"]["machine"]["cores"] >= 1 and data["provenance"]["date"]
    assert set(data["summary"]) == {"transformer", "lstm"}
    assert [s["strategy"] for s in data["samples"]] == ["greedy", "top_k"]
    assert set(data["samples"][0]["texts"]) == {"transformer", "lstm"}


@pytest.mark.slow
def test_time_budget_gives_each_model_the_same_seconds(tmp_path, tiny_corpus):
    from tlm.compare import compare_baselines

    arguments = {**TINY, "budget": "time", "budget_value": 6, "out": tmp_path / "time"}
    result = compare_baselines(corpus=tiny_corpus, **arguments)
    for run in result.runs:
        # The clock stops training after the step that crosses the budget, then evaluates.
        assert 6 <= run.figures["wall_time"] < 30
        assert run.figures["steps"] > 1
        assert run.curve["wall_time"][-1] >= 5.9
    assert "6 s of training per model" in (tmp_path / "time" / "report.md").read_text()


@pytest.mark.slow
def test_several_seeds_give_mean_and_spread(tmp_path, tiny_corpus):
    from tlm.compare import compare_baselines

    result = compare_baselines(
        corpus=tiny_corpus, **{**TINY, "seeds": 2, "out": tmp_path / "seeds"}
    )
    assert [(run.kind, run.seed) for run in result.runs] == [
        ("transformer", 0),
        ("lstm", 0),
        ("transformer", 1),
        ("lstm", 1),
    ]
    assert (tmp_path / "seeds" / "lstm-seed1" / "model.keras").is_file()
    stat = result.summary["transformer"]["test_perplexity"]
    assert len(stat.values) == 2 and stat.std > 0
    assert " ± " in result.table()
    data = json.loads((tmp_path / "seeds" / "results.json").read_text())
    assert len(data["summary"]["lstm"]["test_perplexity"]["values"]) == 2
