"""Optimizers by name: AdamW (nanoGPT's), Adam and SGD, with optional gradient clipping.

Taught in notebooks/04_transformer_language_model.ipynb. `clipnorm` clips each gradient
tensor's norm; `global_clipnorm` (nanoGPT's `grad_clip`) rescales all gradients together when
their joint norm exceeds the value, which keeps the update's direction.
"""

import keras

OPTIMIZERS = ("adamw", "adam", "sgd")


def make_optimizer(
    name,
    learning_rate,
    *,
    model=None,
    weight_decay=0.1,
    beta_1=0.9,
    beta_2=0.99,
    momentum=0.9,
    clipnorm=None,
    global_clipnorm=None,
):
    """Build the optimizer called `name` ("adamw", "adam" or "sgd").

    AdamW decays only weights with two or more dimensions (matrices and embeddings), not
    biases or normalisation scales, as nanoGPT does; pass the `model` for that.

    Example:

    >>> make_optimizer("sgd", 0.1, momentum=0.0).__class__.__name__
    'SGD'
    """
    if isinstance(name, keras.optimizers.Optimizer):
        return name
    clipping = {"clipnorm": clipnorm, "global_clipnorm": global_clipnorm}
    if name == "adamw":
        optimizer = keras.optimizers.AdamW(
            learning_rate, weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2, **clipping
        )
        if model is not None:
            optimizer.exclude_from_weight_decay(
                var_list=[v for v in model.trainable_variables if len(v.shape) < 2]
            )
        return optimizer
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2, **clipping)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, **clipping)
    raise ValueError(f"`optimizer` must be one of {OPTIMIZERS}. Received: optimizer={name!r}")
