"""Training: exact perplexity, callbacks for `model.fit`, schedules, the one-call recipe.

Taught in notebooks/03_lstm_language_model.ipynb and 04_transformer_language_model.ipynb.

    config = tlm.training.TrainConfig(epochs=5, learning_rate=3e-3)
    result = tlm.training.train(model, data, config, out="runs/char-lstm")
    run = tlm.training.load_run("runs/char-lstm")
"""

from tlm.training.batches import (
    contiguous_batches,
    count_contiguous_batches,
    count_windows,
    lm_batches,
)
from tlm.training.callbacks import (
    BudgetCallback,
    BudgetProgress,
    FlopsBudget,
    PerplexityCallback,
    ResetStatesAtEpochStart,
    TerminateOnNaN,
    TextGenerationCallback,
    ThroughputCallback,
    TimeBudget,
)
from tlm.training.config import TrainConfig
from tlm.training.lock import RunInUseError, run_lock
from tlm.training.metrics import Perplexity
from tlm.training.optimizers import OPTIMIZERS, make_optimizer
from tlm.training.placement import (
    MIXED_PRECISION_POLICIES,
    STRATEGIES,
    make_strategy,
    place_model,
)
from tlm.training.presets import TRAINING_PRESETS, TrainingPreset
from tlm.training.recipe import TrainResult, compile_for_training, train
from tlm.training.runs import BestModelCheckpoint, ResumableBackup, Run, load_run
from tlm.training.schedules import EpochDecay, WarmupCosineDecay

__all__ = [
    "MIXED_PRECISION_POLICIES",
    "OPTIMIZERS",
    "BestModelCheckpoint",
    "Perplexity",
    "PerplexityCallback",
    "ResetStatesAtEpochStart",
    "STRATEGIES",
    "TRAINING_PRESETS",
    "ResumableBackup",
    "Run",
    "RunInUseError",
    "TerminateOnNaN",
    "TextGenerationCallback",
    "ThroughputCallback",
    "TimeBudget",
    "BudgetCallback",
    "BudgetProgress",
    "FlopsBudget",
    "TrainConfig",
    "TrainResult",
    "TrainingPreset",
    "EpochDecay",
    "WarmupCosineDecay",
    "compile_for_training",
    "contiguous_batches",
    "count_contiguous_batches",
    "count_windows",
    "lm_batches",
    "load_run",
    "make_optimizer",
    "make_strategy",
    "place_model",
    "run_lock",
    "train",
]
