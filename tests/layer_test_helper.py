"""The checks every tlm layer and model passes, in one call (as keras-hub's `run_layer_test`).

`run_layer_test(cls, init_kwargs, input_data)` checks, with tiny shapes:

1. registered as a Keras serializable under the "tlm" package;
2. `get_config` is JSON-serialisable and `from_config(get_config())` gives the same config;
3. eager and symbolic (`keras.Input`) calls give the expected shape;
4. saving to `.keras` and reloading with `safe_mode=True` gives identical outputs;
5. one training step changes the trainable weights and gives a finite loss;
6. under the `mixed_bfloat16` policy it runs and outputs the expected dtype (policy reset after).
"""

import json

import keras
import numpy as np
from keras import ops


def _as_model(instance, input_data):
    """A model to save and train: the model itself, or the layer wrapped in a functional model."""
    if isinstance(instance, keras.Model):
        return instance
    inputs = keras.Input(shape=input_data.shape[1:], dtype=str(input_data.dtype))
    return keras.Model(inputs, instance(inputs))


def run_layer_test(
    cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    tmp_path,
    expected_mixed_dtype="bfloat16",
    run_training=True,
):
    """Run the shared checks on `cls(**init_kwargs)` called on `input_data` (a NumPy array).

    Args:
        cls: the layer or model class.
        init_kwargs: constructor arguments.
        input_data: a NumPy batch the layer accepts.
        expected_output_shape: the output shape for `input_data`.
        tmp_path: pytest's `tmp_path`, for the `.keras` file.
        expected_mixed_dtype: the output dtype under `mixed_bfloat16` (`"float32"` for logits).
        run_training: whether to check a training step.
    """
    # 1. Registered serializable.
    assert keras.saving.get_registered_name(cls) == f"tlm>{cls.__name__}"
    assert keras.saving.get_registered_object(f"tlm>{cls.__name__}") is cls

    # 2. Config round trip.
    instance = cls(**init_kwargs)
    config = instance.get_config()
    json.dumps(config)
    revived = cls.from_config(config)
    assert revived.get_config() == config

    # 3. Eager and symbolic calls.
    output = instance(input_data)
    assert tuple(output.shape) == tuple(expected_output_shape)
    symbolic_input = keras.Input(shape=input_data.shape[1:], dtype=str(input_data.dtype))
    symbolic_output = cls(**init_kwargs)(symbolic_input)
    assert tuple(symbolic_output.shape) == (None, *expected_output_shape[1:])

    # 4. Reload from a .keras file, safely, with identical outputs.
    model = _as_model(instance, input_data)
    path = str(tmp_path / f"{cls.__name__}.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(reloaded(input_data)), ops.convert_to_numpy(model(input_data))
    )

    # 5. One training step moves the weights.
    if run_training:
        trainee = _as_model(cls(**init_kwargs), input_data)
        trainee.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        trainee(input_data)
        before = [ops.convert_to_numpy(w) for w in trainee.trainable_weights]
        loss = trainee.train_on_batch(input_data, np.ones(expected_output_shape, "float32"))
        assert np.isfinite(loss)
        after = [ops.convert_to_numpy(w) for w in trainee.trainable_weights]
        assert any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))

    # 6. Mixed precision.
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed_output = cls(**init_kwargs)(input_data)
        assert keras.backend.standardize_dtype(mixed_output.dtype) == expected_mixed_dtype
        assert np.all(np.isfinite(ops.convert_to_numpy(ops.cast(mixed_output, "float32"))))
    finally:
        keras.config.set_dtype_policy("float32")
