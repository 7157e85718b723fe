"""`TokenizerLayer`: a tokenizer as a Keras layer, for `tf.data` pipelines fed strings."""

import keras


class TokenizerLayer(keras.layers.Layer):
    """A Keras layer that tokenizes strings with `tokenizer.tf_encode`.

    Takes a string tensor (scalar or `[batch]`) and returns int32 ids (1-D, or a
    `tf.RaggedTensor` `[batch, None]`). It holds no weights and is meant for `tf.data` input
    pipelines; it is not written into a model's `.keras` file (save the tokenizer beside it).

    Args:
        tokenizer: a `Tokenizer`.
    """

    def __init__(self, tokenizer, **kwargs):
        kwargs.setdefault("trainable", False)
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        self.tokenizer = tokenizer

    def call(self, inputs):
        return self.tokenizer.tf_encode(inputs)
