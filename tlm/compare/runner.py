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
from pathlib import Path

from tlm.compare.budget import Budget
from tlm.compare.results import ComparisonResult, ModelRun, kind_label
from tlm.compare.settings import resolve_settings

# A sentence of the default corpus for the attention heatmap (other corpora: validation text).
ATTENTION_TEXT = "To be, or not to be, that is the question:"


def compare_baselines(
    corpus="shakespeare",
    tokenizer="char",
    *,
    models=None,
    preset=None,
    presets=None,
    budget=None,
    budget_value=None,
    sequence_length=None,
    batch_size=None,
    seeds=None,
    learning_rate=None,
    vocabulary_size=None,
    max_eval_batches=None,
    prompts=None,
    max_new_tokens=None,
    top_k=10,
    out=None,
    quick=False,
    verbose=1,
):
    """Train an LSTM and a Transformer on the same data under one budget; measure and report.

    Both models share the corpus, tokenizer, context length, batch size, seeds, learning-rate
    schedule and budget. The presets of the same name are sized to about the same parameter
    count (`tlm.models.PRESETS`); both counts are reported. Budgets:

    - `"steps"`: the same number of optimizer steps (so the same tokens);
    - `"time"`: the same seconds of training (a faster model takes more steps); the learning
      rate decays over the share of time used;
    - `"flops"`: the same training FLOPs, turned into steps per model with
      `tlm.models.flops_per_token`.

    Everything is checked before any work starts: a bad argument raises a `ValueError` naming
    it, and nothing is written.

    Args:
        corpus: a corpus name (`"shakespeare"`, `"tiny_shakespeare"`) or a path to a `.txt` file
            or a folder of them.
        tokenizer: a tokenizer kind (`"char"`, `"word"`, `"wordpiece"`, `"sentencepiece"`,
            `"bpe"`).
        models: the model kinds, default `("transformer", "lstm")`.
        preset: preset of every model, default `"tiny"` (`"nanogpt-cpu"`, `"nanogpt-gpu"`).
        presets: `{kind: preset}` overriding `preset` for some kinds.
        budget: `"steps"`, `"time"` or `"flops"`; default `"time"` (`"steps"` when `quick`).
        budget_value: steps, seconds or FLOPs per model; default 210 s, 2000 steps or 3e12
            FLOPs (`quick`: 30 steps, 20 s or 3e10 FLOPs).
        sequence_length: context length in tokens, default 64 (`quick`: 32).
        batch_size: sequences per step, default 32 (`quick`: 16).
        seeds: a list of seeds, or a number `n` for seeds `0..n-1`; default `[0]`.
        learning_rate: peak learning rate of both models, default 3e-3.
        vocabulary_size: vocabulary size for the trained tokenizers.
        max_eval_batches: batches of each split in the final evaluation, default all
            (`quick`: 8); curves during training use at most 20 (`quick`: 4).
        prompts: prompts to sample both models with; default two Shakespeare openings.
        max_new_tokens: tokens per sample, default 200 (`quick`: 40).
        top_k: k of the top-k samples.
        out: output directory, default `runs/compare-<timestamp>`; must not exist or be empty.
        quick: a smoke test: small data shapes, few steps, short samples.
        verbose: 1 shows Keras progress bars, 0 only the headline of each model.

    Returns:
        A `ComparisonResult`; `result.table()` is the summary table.

    Example:

    >>> result = compare_baselines(quick=True, out="runs/compare-quick")  # doctest: +SKIP
    >>> print(result.table())  # doctest: +SKIP
    """
    started = time.monotonic()
    settings = resolve_settings(
        corpus=corpus,
        tokenizer=tokenizer,
        models=models,
        preset=preset,
        presets=presets,
        budget=budget,
        budget_value=budget_value,
        sequence_length=sequence_length,
        batch_size=batch_size,
        seeds=seeds,
        learning_rate=learning_rate,
        vocabulary_size=vocabulary_size,
        max_eval_batches=max_eval_batches,
        prompts=prompts,
        max_new_tokens=max_new_tokens,
        top_k=top_k,
        out=out,
        quick=quick,
        verbose=verbose,
    )
    from tlm.data.pipeline import prepare

    s = settings
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
    out = Path(s.out)
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
                if attention is not None:
                    plots["attention"] = _plot_attention(out, attention)
    result = ComparisonResult(out, record, runs, samples=samples, plots=plots)
    _finish(result, started)
    return result


def _run_model(kind, seed, data, s, run_dir, step_times, counter):
    import keras

    from tlm.compare import fitting
    from tlm.evaluation import evaluate
    from tlm.models import count_parameters, flops_per_token
    from tlm.training import load_run, make_optimizer, train

    preset = s.presets[kind]
    keras.utils.set_random_seed(seed)
    model = _build_model(kind, data, s)
    parameters = count_parameters(model)
    flops = flops_per_token(model)
    tokens_per_step = s.sequence_length * s.batch_size
    budget = Budget(s.budget, s.budget_value)
    _say(
        s.verbose or 1,
        f"\n{counter} {kind_label(kind)} (preset {preset!r}, seed {seed}): {parameters:,} "
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

    curve_data = dataclasses.replace(data, validation=data.validation.take(s.curve_batches))
    result = train(
        model,
        curve_data,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        learning_rate=s.learning_rate,
        seed=seed,
        out=os.fspath(run_dir),
        callbacks=callbacks,
        data_config={"corpus": s.corpus},
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
            mask_token_id=data.tokenizer.pad_id,
            steps=s.max_eval_batches,
        )
        figures[f"{split}_loss"] = scores["loss"]
        figures[f"{split}_perplexity"] = scores["perplexity"]
        figures[f"{split}_bits_per_character"] = scores.get("bits_per_character", float("nan"))
    samples, figures["generation_tokens_per_second"] = _sample(saved, data.tokenizer, s, seed)
    attention = None
    if kind == "transformer" and hasattr(saved, "attention_scores"):
        attention = _attention(saved, data, s)
    _say(
        s.verbose or 1,
        f"{kind_label(kind)}: {result.steps:,} steps in {result.wall_time:.0f} s, validation "
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
    from tlm.models import flops_per_token

    for kind in s.models:
        model = _build_model(kind, data, s)
        Budget("flops", s.budget_value).steps_for(
            flops_per_token(model), s.sequence_length * s.batch_size
        )


def _build_model(kind, data, s):
    """The comparison's `kind` model: its preset, a Transformer's context set to the data's."""
    from tlm.models import build_model

    overrides = {"sequence_length": s.sequence_length} if kind == "transformer" else {}
    return build_model(kind, data.tokenizer.vocabulary_size, s.presets[kind], **overrides)


def _sample(model, tokenizer, s, seed):
    """Samples for every prompt (greedy, top-k) and greedy generation speed in tokens/s."""
    from tlm.generation import generate

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
    # The first greedy call compiled the decoding loop; time a second one.
    begin = time.perf_counter()
    generate(model, tokenizer, s.prompts[0], max_new_tokens=s.max_new_tokens, strategy="greedy")
    seconds = time.perf_counter() - begin
    speed = s.max_new_tokens / seconds if seconds > 0 else float("nan")
    return samples, speed


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
    import numpy as np

    ids = data.tokenizer.encode(ATTENTION_TEXT)
    if s.corpus not in ("shakespeare", "tiny_shakespeare") or data.tokenizer.unk_id in ids:
        ids = data.validation_ids[: min(48, s.sequence_length)]
    ids = np.asarray(ids[: min(48, s.sequence_length)], dtype="int32")
    scores = model.attention_scores(ids[None])
    weights = np.asarray(scores[-1])[0]  # (num_heads, time, time)
    tokens = [data.tokenizer.id_to_token(int(i)) for i in ids]
    return weights, tokens, len(scores)


def _plot_attention(out, attention):
    from tlm.compare.plots import plot_attention_heatmap

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
    from tlm.compare.plots import plot_final_figures, plot_validation_curves
    from tlm.compare.report import write_report, write_results_json

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
