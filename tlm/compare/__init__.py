"""LSTM vs Transformer on the same data under one budget: `compare_baselines` and its result.

The lesson is notebooks/06_lstm_vs_transformer.ipynb.
"""

from tlm.compare.budget import BUDGET_KINDS, Budget
from tlm.compare.plots import plot_attention_heatmap, plot_final_figures, plot_validation_curves
from tlm.compare.results import FIGURES, ComparisonResult, ModelRun, Stat
from tlm.compare.runner import compare_baselines
from tlm.compare.settings import CompareConfig

__all__ = [
    "BUDGET_KINDS",
    "FIGURES",
    "Budget",
    "CompareConfig",
    "ComparisonResult",
    "ModelRun",
    "Stat",
    "compare_baselines",
    "plot_attention_heatmap",
    "plot_final_figures",
    "plot_validation_curves",
]
