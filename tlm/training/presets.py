"""Published training recipes as presets: the model, the data layout and the `TrainConfig`.

A recipe is more than a model size: Zaremba et al. (2014) reached their Penn Treebank
perplexities with a stateful LSTM trained on contiguous rows (truncated backpropagation through
time), plain SGD at learning rate 1 decayed by epoch, and gradient-norm clipping. A
`TrainingPreset` keeps all of it in one place:

    preset = TRAINING_PRESETS["zaremba-small"]
    data = tlm.data.prepare("ptb", "word", preset.sequence_length, preset.batch_size)
    model = preset.build_model(data.tokenizer.vocabulary_size)
    result = tlm.training.train(model, data, preset.config)

`benchmarks/ptb_zaremba.py` runs them and prints the published figures beside tlm's.

How the loss is counted: Zaremba's code (and TensorFlow's `ptb_word_lm`) sums the cross-entropy
over the unrolled steps and averages it over the batch, and clips the gradient of that sum.
Keras's loss is the mean over batch *and* steps, whose gradient is `1 / T` of theirs for `T`
unrolled steps. So the same updates need the learning rate times `T` and the clipping threshold
divided by `T`: the paper's "learning rate 1, clip 5" with 20 steps is `learning_rate=20`,
`global_clipnorm=0.25` here. (Both clip the norm of all gradients together, and below the
threshold `20 * g` is exactly `1 * (20 g)`.)
"""

import dataclasses

from tlm.training.config import TrainConfig


@dataclasses.dataclass(frozen=True)
class TrainingPreset:
    """A published recipe: what to build, how to lay out the data, how to train.

    Args:
        kind: the model kind (`"lstm"`).
        model_preset: the preset of `kind` (its sizes, dropout and initialisation).
        sequence_length: tokens per window (the unroll length).
        batch_size: rows per batch.
        stateful: carry the state across batches (contiguous rows).
        config: the `TrainConfig` of the recipe.
        corpus: the corpus and tokenizer kind it was published on.
        published: the published perplexities, `{"validation": ..., "test": ...}`.
        reference: where they were published.
    """

    kind: str
    model_preset: str
    sequence_length: int
    batch_size: int
    stateful: bool
    config: TrainConfig
    corpus: tuple
    published: dict
    reference: str

    def build_model(self, vocabulary_size, **overrides):
        """The recipe's model for `vocabulary_size` tokens; `overrides` replace arguments
        (`stateful=False` gives the same model without the carried state)."""
        from tlm.models import build_model

        arguments = {"stateful": self.stateful, "batch_size": self.batch_size}
        arguments.update(overrides)
        if not arguments["stateful"]:
            arguments["batch_size"] = None
        return build_model(self.kind, vocabulary_size, self.model_preset, **arguments)


ZAREMBA = "Zaremba, Sutskever and Vinyals (2014), Recurrent Neural Network Regularization"


def _zaremba(size, steps, epochs, constant_epochs, decay, clip, validation, test):
    return TrainingPreset(
        kind="lstm",
        model_preset=f"zaremba-{size}",
        sequence_length=steps,
        batch_size=20,
        stateful=True,
        config=TrainConfig(
            epochs=epochs,
            optimizer="sgd",
            momentum=0.0,
            learning_rate=1.0 * steps,  # lr 1 on the loss summed over the unrolled steps
            schedule="epoch_decay",
            decay_rate=decay,
            constant_epochs=constant_epochs,
            global_clipnorm=clip / steps,  # their clip on the summed loss's gradient
        ),
        corpus=("ptb", "word"),
        published={"validation": validation, "test": test},
        reference=f"{ZAREMBA}, {size} model",
    )


TRAINING_PRESETS = {
    # 2 x 200, no dropout, 13 epochs, lr 1 halved each epoch after the 4th, clip 5, 20 steps.
    "zaremba-small": _zaremba("small", 20, 13, 4, 0.5, 5.0, 120.7, 114.5),
    # 2 x 650, dropout 0.5, 39 epochs, lr / 1.2 each epoch after the 6th, clip 5, 35 steps.
    "zaremba-medium": _zaremba("medium", 35, 39, 6, 1 / 1.2, 5.0, 86.2, 82.7),
    # 2 x 1500, dropout 0.65, 55 epochs, lr / 1.15 each epoch after the 14th, clip 10, 35 steps.
    "zaremba-large": _zaremba("large", 35, 55, 14, 1 / 1.15, 10.0, 82.2, 78.4),
}
