"""`compare_baselines`: an LSTM and a Transformer on the same data under one budget, measured.

For each seed, each model is built from its preset, trained with `tlm.training.train` into its
own run directory, reloaded from that directory (so the figures are those `tlm evaluate` gives),
evaluated on the validation and test splits, timed at generation, and sampled with the same
prompts. The comparison then writes plots, report.md and results.json beside the runs.
The lesson is notebooks/06_lstm_vs_transformer.ipynb.
"""

import dataclasses
import os
import time

import keras
import numpy as np

from tlm.compare import fitting
from tlm.compare.budget import Budget
from tlm.compare.plots import plot_attention_heatmap, plot_final_figures, plot_validation_curves
from tlm.compare.report import write_report, write_results_json
from tlm.compare.results import ComparisonResult, ModelRun
from tlm.compare.settings import CompareConfig
from tlm.data.pipeline import prepare
from tlm.evaluation import evaluate
from tlm.generation import generate, measure_generation_speed
from tlm.models import build_model, count_parameters, flops_per_token, label_of
from tlm.provenance import provenance
from tlm.training import FlopsBudget, load_run, make_optimizer, train

# A sentence of the default corpus for the attention heatmap (other corpora: validation text).
ATTENTION_TEXT = "To be, or not to be, that is the question:"


def compare_baselines(config=None, **overrides):
    """Train several model kinds on the same data under one budget; measure and report.

    Every model shares the corpus, tokenizer, context length, batch size, seeds, learning-rate
    schedule and budget. The presets of the same name are sized to about the same parameter
    count (`tlm.models.matched_presets`); the counts are reported. Budgets:

    - `"steps"`: the same number of optimizer steps (so the same tokens);
    - `"time"`: the same seconds of training (a faster model takes more steps); the learning
      rate decays over the share of time used;
    - `"flops"`: the same training FLOPs, turned into steps per model with
      `tlm.models.flops_per_token`.

    Any registered model kind takes part (`tlm.models.register_model_kind`). Everything is
    checked before any work starts: a bad argument raises a `ValueError` naming it, and nothing
    is written.

    Args:
        config: a `CompareConfig`, or None for `CompareConfig.create(**overrides)` (which
            takes `quick=True` for the smoke-test defaults).
        **overrides: `CompareConfig` fields replacing those of `config`
            (`compare_baselines(quick=True, out="runs/q")`).

    Returns:
        A `ComparisonResult`; `result.table()` is the summary table.

    Example:

    >>> result = compare_baselines(quick=True, out="runs/compare-quick")  # doctest: +SKIP
    >>> print(result.table())  # doctest: +SKIP
    """
    started = time.monotonic()
    if config is None:
        config = CompareConfig.create(**overrides)
    elif not isinstance(config, CompareConfig):
        raise ValueError(f"`config` must be a CompareConfig or None. Received: config={config!r}")
    else:
        config = config.replace(**overrides)
    out = config.output_directory()
    verbose = config.verbose
    s = config
    _say(verbose, f"Preparing {s.corpus!r} with the {s.tokenizer} tokenizer ...")
    data = prepare(
        s.corpus,
        s.tokenizer,
        s.sequence_length,
        s.batch_size,
        vocabulary_size=s.vocabulary_size,
        seed=s.seeds[0],
    )
    if s.budget == "flops":
        _check_flops_budget(data, s)
    out.mkdir(parents=True, exist_ok=True)
    record = s.record(data)
    _say(verbose, _describe(record, data))

    runs, samples, plots = [], [], {}
    step_times = {}
    total = len(s.seeds) * len(s.models)
    for seed in s.seeds:
        for kind in s.models:
            index = len(runs) + 1
            run_dir = out / (kind if len(s.seeds) == 1 else f"{kind}-seed{seed}")
            run, model_samples, attention = _run_model(
                kind, seed, data, s, run_dir, step_times, f"[{index}/{total}]"
            )
            runs.append(run)
            if seed == s.seeds[0]:
                _merge_samples(samples, kind, model_samples)
                if attention is not None and "attention" not in plots:
                    plots["attention"] = _plot_attention(out, attention)
    result = ComparisonResult(out, record, runs, samples=samples, plots=plots)
    _finish(result, started)
    return result


def _run_model(kind, seed, data, s, run_dir, step_times, counter):
    preset = s.model_presets[kind]
    keras.utils.set_random_seed(seed)
    model = _build_model(kind, data, s)
    parameters = count_parameters(model)
    flops = flops_per_token(model)
    tokens_per_step = s.sequence_length * s.batch_size
    budget = Budget(s.budget, s.budget_amount)
    _say(
        s.verbose or 1,
        f"\n{counter} {label_of(kind)} (preset {preset!r}, seed {seed}): {parameters:,} "
        f"parameters, {flops:,} training FLOPs per token; budget: {budget.describe()}",
    )

    recorder = fitting.CurveRecorder()
    callbacks, options = [recorder], {}
    if budget.kind == "time":
        key = (kind, preset)
        if key not in step_times:
            step_times[key] = fitting.estimate_step_time(model, data, s.learning_rate)
        epochs, steps_per_epoch = fitting.plan_time(budget.seconds, step_times[key])
        warmup = min(100, max(1, int(budget.seconds / step_times[key]) // 20))
        schedule = fitting.BudgetFractionDecay(
            s.learning_rate, warmup, 0, min_learning_rate=s.learning_rate / 10
        )
        callbacks.insert(0, fitting.BudgetClock(budget.seconds, schedule))
        options = dict(optimizer=make_optimizer("adamw", schedule, model=model))
    else:
        steps = budget.steps_for(flops, tokens_per_step)
        epochs, steps_per_epoch = fitting.plan_steps(steps)
        warmup = min(100, max(1, steps // 20))
        options = dict(warmup_steps=warmup)
        if budget.kind == "flops":
            # Steps carry it out; this shows the FLOPs spent.
            callbacks.insert(0, FlopsBudget(budget.value, float(flops) * tokens_per_step))

    curve_data = dataclasses.replace(data, validation=data.validation.take(s.eval_curve_batches))
    result = train(
        model,
        curve_data,
        out=os.fspath(run_dir),
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        learning_rate=s.learning_rate,
        seed=seed,
        callbacks=tuple(callbacks),
        verbose=s.verbose,
        **options,
    )

    # Measure what `tlm evaluate` and `tlm generate` see: the model saved in the run directory.
    saved = load_run(os.fspath(run_dir)).model
    figures = {
        "parameters": parameters,
        "flops_per_token": flops,
        "steps": result.steps,
        "tokens_seen": result.steps * tokens_per_step,
        "training_flops": float(flops) * result.steps * tokens_per_step,
        "wall_time": result.wall_time,
        "train_tokens_per_second": result.tokens_per_second,
    }
    for split in ("validation", "test"):
        scores = evaluate(
            saved,
            getattr(data, split),
            data.characters_per_token.get(split),
            words_per_token=data.words_per_token.get(split),
            mask_token_id=data.tokenizer.pad_id,
            steps=s.max_eval_batches,
        )
        figures[f"{split}_loss"] = scores["loss"]
        figures[f"{split}_perplexity"] = scores["perplexity"]
        figures[f"{split}_bits_per_character"] = scores.get("bits_per_character", float("nan"))
        if "bits_per_word" in scores:  # a tokenized corpus (ptb): its words are known
            figures[f"{split}_bits_per_word"] = scores["bits_per_word"]
    samples = _sample(saved, data.tokenizer, s, seed)
    speed = measure_generation_speed(
        saved, data.tokenizer, s.prompts[0], s.max_new_tokens, strategy="greedy"
    )
    figures["generation_tokens_per_second"] = speed.tokens_per_second
    figures["generation_first_call_seconds"] = speed.first_call_seconds
    attention = None
    if hasattr(saved, "attention_scores"):
        attention = _attention(saved, data, s)
    _say(
        s.verbose or 1,
        f"{label_of(kind)}: {result.steps:,} steps in {result.wall_time:.0f} s, validation "
        f"perplexity {figures['validation_perplexity']:.3f}, test perplexity "
        f"{figures['test_perplexity']:.3f}",
    )
    run = ModelRun(
        kind,
        preset,
        seed,
        os.fspath(run_dir),
        figures,
        curve=recorder.curve,
        config=saved.get_config(),
    )
    return run, samples, attention


def _check_flops_budget(data, s):
    """Refuse a FLOPs budget too small for one step of any model, before anything is written."""
    for kind in s.models:
        model = _build_model(kind, data, s)
        Budget("flops", s.budget_amount).steps_for(
            flops_per_token(model), s.sequence_length * s.batch_size
        )


def _build_model(kind, data, s):
    """The comparison's `kind` model: its preset, with a fixed context set to the data's."""
    return build_model(
        kind,
        data.tokenizer.vocabulary_size,
        s.model_presets[kind],
        sequence_length=s.sequence_length,
    )


def _sample(model, tokenizer, s, seed):
    """Samples for every prompt, greedy and top-k."""
    samples = []
    for strategy in ("greedy", "top_k"):
        # One batch: each row gets its own random draws. Prompts sampled one by one with the same
        # seed share their draws position by position, and a model that has forgotten its prompt
        # (a small LSTM soon does) then writes the same text for both.
        texts = generate(
            model,
            tokenizer,
            list(s.prompts),
            max_new_tokens=s.max_new_tokens,
            strategy=strategy,
            top_k=s.top_k if strategy == "top_k" else None,
            seed=seed,
        )
        for prompt, text in zip(s.prompts, texts, strict=True):
            samples.append({"prompt": prompt, "strategy": strategy, "text": text})
    return samples


def _merge_samples(samples, kind, model_samples):
    for sample in model_samples:
        match = next(
            (
                row
                for row in samples
                if row["prompt"] == sample["prompt"] and row["strategy"] == sample["strategy"]
            ),
            None,
        )
        if match is None:
            match = {"prompt": sample["prompt"], "strategy": sample["strategy"], "texts": {}}
            samples.append(match)
        match["texts"][kind] = sample["text"]


def _attention(model, data, s):
    """Last block's attention weights `(num_heads, T, T)` over one sentence, and its tokens."""
    ids = data.tokenizer.encode(ATTENTION_TEXT)
    if s.corpus not in ("shakespeare", "tiny_shakespeare") or data.tokenizer.unk_id in ids:
        ids = data.validation_ids[: min(48, s.sequence_length)]
    ids = np.asarray(ids[: min(48, s.sequence_length)], dtype="int32")
    scores = model.attention_scores(ids[None])
    weights = np.asarray(scores[-1])[0]  # (num_heads, time, time)
    tokens = [data.tokenizer.id_to_token(int(i)) for i in ids]
    return weights, tokens, len(scores)


def _plot_attention(out, attention):
    weights, tokens, num_layers = attention
    path = plot_attention_heatmap(
        weights,
        tokens,
        out / "attention.png",
        title=f"Transformer attention, block {num_layers} of {num_layers}, one panel per head",
    )
    return path.name


def _finish(result, started):
    """Plots, report.md and results.json."""
    out = result.out
    curves = {kind: [run.curve for run in result.runs_of(kind)] for kind in result.kinds}
    plots = {
        "validation perplexity": plot_validation_curves(
            curves, out / "validation_perplexity.png"
        ).name,
        "final figures": plot_final_figures(result.summary, out / "final_figures.png").name,
    }
    plots.update(result.plots)
    result.plots = plots
    result.wall_time = time.monotonic() - started
    result.provenance = provenance()
    write_results_json(result, out / "results.json")
    write_report(result, out / "report.md")


def _describe(record, data):
    return (
        f"{record['corpus']}: {len(data.train_ids):,} train, {len(data.validation_ids):,} "
        f"validation, {len(data.test_ids):,} test tokens; vocabulary {record['vocabulary_size']}"
    )


def _say(verbose, text):
    if verbose:
        print(text, flush=True)
