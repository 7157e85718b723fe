"""`tlm train`: train a language model of any registered kind and write a run directory.

The work is `tlm.training.train`; this module parses the options, prepares the data and the
model, and prints a summary. The training options are generated from `TrainConfig`'s fields and
the others from `TrainJob`'s, so `--help` states the defaults the code uses. TensorFlow is
imported when this command's parser is built, so `tlm --help` stays instant.
"""

import argparse
import dataclasses
import os
import time

from tlm.checks import (
    check_choice,
    check_optional_positive_int,
    check_positive_int,
    check_rate,
)
from tlm.commands.options import add_options, given

# `tlm.pretrained.FINE_TUNE_SEQUENCE_LENGTH`, spelled out so `--help` stays instant (tested).
FINE_TUNE_SEQUENCE_LENGTH = 128

DESCRIPTION = """\
Train a language model with Keras `model.fit` and write a run directory: the best model by
validation perplexity (model.keras), the tokenizer, config.json, history.json, TensorBoard logs,
training_curves.png, and backup/ while the run is unfinished. Running the same command again
with the same --out resumes an interrupted run from its last backup (same model settings
required); the batches after the resume are the ones the uninterrupted run would have seen.

The learning rate warms up linearly for --warmup-steps, then follows a cosine down to
--min-learning-rate at the last step. Validation perplexity and bits per character are
computed exactly over the whole validation split after every epoch."""

EPILOG = """\
examples:
  tlm train --model transformer --preset tiny --epochs 3 --out runs/tiny-transformer
  tlm train --model lstm --corpus tiny_shakespeare --epochs 1 --steps-per-epoch 500
  tlm train --preset nanogpt-cpu --corpus tiny_shakespeare --batch-size 12 --stride 1 \\
      --steps-per-epoch 2000 --learning-rate 1e-3 --min-learning-rate 1e-4 \\
      --warmup-steps 100 --global-clipnorm 1.0 --out runs/nanogpt-cpu
  tlm train --pretrained presets/gpt2_base_en --lora-rank 4 --corpus tiny_shakespeare \\
      --batch-size 4 --epochs 1 --steps-per-epoch 100 --learning-rate 1e-4"""


def _setting(default, help):  # noqa: A002
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class TrainJob:
    """What `tlm train` trains on and where it writes: everything but the `TrainConfig`."""

    model: str = _setting("transformer", "model kind: transformer, lstm or a registered one")
    preset: str = _setting("tiny", "size preset of the model kind: tiny, nanogpt-cpu, nanogpt-gpu")
    dropout: float | None = _setting(None, "dropout rate; None: the preset's")
    pretrained: str | None = _setting(
        None,
        "fine-tune a keras_hub GPT-2 preset (folder, name or handle) with its own tokenizer, "
        "instead of building --model/--preset on a --tokenizer; None: train from scratch",
    )
    lora_rank: int | None = _setting(
        None, "with --pretrained: train rank-R LoRA factors only (keras_hub's enable_lora)"
    )
    corpus: str = _setting(
        "shakespeare",
        "corpus name (shakespeare, tiny_shakespeare, ptb, tang_poems) or path to a .txt file or "
        "folder of them",
    )
    tokenizer: str = _setting("char", "tokenizer kind: char, word, wordpiece, sentencepiece, bpe")
    vocabulary_size: int | None = _setting(
        None, "vocabulary size of word and subword tokenizers; None: the kind's"
    )
    sequence_length: int | None = _setting(
        None,
        "context length in tokens; None: the preset's context, or 64 for a model without one "
        f"({FINE_TUNE_SEQUENCE_LENGTH} at most for --pretrained)",
    )
    batch_size: int = _setting(32, "sequences per training step")
    cache_dir: str | None = _setting(
        None, "folder to cache tokenized ids and tokenizers in; None: no cache"
    )
    out: str | None = _setting(None, "run directory; None: runs/MODEL-PRESET-CORPUS-TOKENIZER")

    def __post_init__(self):
        check_positive_int("batch_size", self.batch_size)
        check_optional_positive_int("sequence_length", self.sequence_length)
        check_optional_positive_int("vocabulary_size", self.vocabulary_size)
        check_optional_positive_int("lora_rank", self.lora_rank)
        if self.dropout is not None and self.pretrained is not None:
            raise ValueError(
                "`dropout` is the pretrained model's own: --dropout applies to --model/--preset. "
                f"Received: dropout={self.dropout}, pretrained={self.pretrained!r}"
            )
        if self.lora_rank is not None and self.pretrained is None:
            raise ValueError(
                "`lora_rank` applies to a pretrained model: give --pretrained too. "
                f"Received: lora_rank={self.lora_rank}, pretrained=None"
            )
        if self.dropout is not None:
            check_rate("dropout", self.dropout)
        from tlm.data.tokenizers import TOKENIZER_KINDS  # imports TensorFlow: not at `--help`

        check_choice("tokenizer", self.tokenizer, TOKENIZER_KINDS)

    @property
    def run_dir(self):
        """`out`, or runs/MODEL-PRESET-CORPUS-TOKENIZER with a path corpus reduced to its name."""
        if self.out:
            return self.out
        corpus = os.path.splitext(os.path.basename(os.path.normpath(self.corpus)))[0]
        if self.pretrained:
            preset = os.path.basename(os.path.normpath(self.pretrained.split("://")[-1]))
            return os.path.join("runs", f"{preset}-{corpus}")
        return os.path.join("runs", f"{self.model}-{self.preset}-{corpus}-{self.tokenizer}")


HELP = "Train a language model (Transformer, LSTM, ...); write a run directory."

# The options of each help group, in order.
JOB_GROUPS = {
    "model": ("model", "preset", "dropout", "pretrained", "lora_rank"),
    "data": (
        "corpus",
        "tokenizer",
        "vocabulary_size",
        "sequence_length",
        "batch_size",
        "cache_dir",
    ),
}


def add_parser(subparsers):
    from tlm.training import TrainConfig

    parser = subparsers.add_parser(
        "train",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for title, names in JOB_GROUPS.items():
        add_options(parser.add_argument_group(title), TrainJob, names)
    add_options(parser.add_argument_group("training (tlm.training.TrainConfig)"), TrainConfig)
    add_options(parser.add_argument_group("output"), TrainJob, ("out",))
    parser.set_defaults(func=run)
    return parser


def run(args):
    import keras

    from tlm.data.pipeline import prepare
    from tlm.models import build_model, default_sequence_length, preset_config
    from tlm.training import TrainConfig, runs, train

    job = TrainJob(**given(args, TrainJob))
    config = TrainConfig(**given(args, TrainConfig))
    if job.pretrained is None:
        preset_config(job.model, job.preset)  # checks the kind and its preset
    out = job.run_dir
    if runs.check_run_directory(out, None) and runs.is_finished(out):
        raise ValueError(
            "`--out` holds a finished run (it has a model and no backup to resume from). Choose "
            f"a new folder. Received: out={out!r}"
        )
    keras.utils.set_random_seed(config.seed or 0)
    pretrained = _load_pretrained(job) if job.pretrained else None
    if pretrained is not None:
        tokenizer = pretrained.tokenizer
        sequence_length = job.sequence_length or min(
            pretrained.model.context_length, FINE_TUNE_SEQUENCE_LENGTH
        )
    else:
        tokenizer = job.tokenizer
        sequence_length = job.sequence_length or default_sequence_length(job.model, job.preset)

    # Loading a corpus and training a subword tokenizer can take a while: say what is going on.
    name = f"{job.pretrained}'s" if pretrained else f"the {job.tokenizer}"
    print(f"Preparing {job.corpus!r} with {name} tokenizer ...", flush=True)
    started = time.monotonic()
    data = prepare(
        job.corpus,
        tokenizer,
        sequence_length=sequence_length,
        batch_size=job.batch_size,
        vocabulary_size=job.vocabulary_size if pretrained is None else None,
        stride=config.stride,
        seed=config.seed or 0,
        cache_dir=job.cache_dir,
    )
    print(
        f"Prepared in {time.monotonic() - started:.1f} s: {len(data.train_ids):,} training "
        f"tokens, vocabulary {data.tokenizer.vocabulary_size:,}",
        flush=True,
    )
    if pretrained is not None:
        model = pretrained.model
        if job.lora_rank is not None:
            model.enable_lora(job.lora_rank)
    else:
        overrides = {} if job.dropout is None else {"dropout": job.dropout}
        model = build_model(
            job.model,
            data.tokenizer.vocabulary_size,
            job.preset,
            sequence_length=sequence_length,
            **overrides,
        )
    result = train(model, data, config, out)
    _print_summary(result, out)
    return 0


def _load_pretrained(job):
    from tlm.pretrained import load_pretrained

    print(f"Loading the pretrained model {job.pretrained!r} ...", flush=True)
    return load_pretrained(job.pretrained)


def _print_summary(result, out):
    history = result.history
    print(f"run directory: {out}")
    print(
        f"steps: {result.steps}  wall time: {result.wall_time:.1f} s  "
        f"tokens/s: {result.tokens_per_second:,.0f}"
    )
    if history.get("val_perplexity"):
        best = min(
            range(len(history["val_perplexity"])),
            key=lambda i: history["val_perplexity"][i] or float("inf"),
        )
        line = (
            f"best validation: epoch {history['epoch'][best]}, "
            f"loss {history['val_loss'][best]:.4f} nats/token, "
            f"perplexity {history['val_perplexity'][best]:.3f}"
        )
        if history.get("val_bits_per_character"):
            line += f", {history['val_bits_per_character'][best]:.4f} bits/char"
        print(line)
    if result.stopped:
        print(f"stopped early: {result.stopped.replace('_', ' ')}")
