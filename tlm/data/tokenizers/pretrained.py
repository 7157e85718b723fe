"""`KerasHubTokenizer`: a pretrained model's own keras_hub tokenizer behind tlm's interface.

A pretrained model reads text only through the tokenizer it was trained with (GPT-2: byte-level
BPE, 50,257 tokens). This wrapper gives a `keras_hub.tokenizers.Tokenizer` tlm's `Tokenizer`
interface, so `prepare`, `evaluate`, `generate` and `train` use it as any tlm tokenizer. It is
loaded with its model by `tlm.pretrained.load_pretrained`, never trained by tlm.

Taught in notebooks/07_pretrained_gpt2.ipynb.
"""

import json
import os

import numpy as np
import tensorflow as tf

from tlm.data.cleaning import TextCleaner
from tlm.data.tokenizers.base import Tokenizer

# keras_hub's own files (its tokenizer.json and assets/) go into this subfolder of a saved
# tokenizer, beside tlm's tokenizer.json.
KERAS_HUB_DIR = "keras_hub"
KERAS_HUB_CONFIG_FILE = "tokenizer.json"


def raw_text_cleaner():
    """The cleaner of a pretrained tokenizer: none of tlm's cleaning, the text as it is.

    GPT-2 was trained on raw text and its byte-level BPE encodes any string, so tlm does not
    normalize, collapse whitespace or drop control characters before it.
    """
    return TextCleaner(
        normalization=None,
        lowercase=False,
        strip_punctuation=False,
        remove_control=False,
        collapse_whitespace=False,
        collapse_blank_lines=False,
    )


class KerasHubTokenizer(Tokenizer):
    """A keras_hub tokenizer (GPT-2's byte-level BPE) as a tlm `Tokenizer`.

    Its ids are the pretrained model's: no "[PAD]"/"[UNK]" reserved at 0 and 1. `pad_id` is the
    end-of-text token ("<|endoftext|>" for GPT-2), which text never encodes to (keras_hub
    splits special tokens out of strings only when asked), so `generate` bans it and
    `evaluate` never meets it; `unk_id` is `None`: byte-level BPE spells every string.
    `decode(encode(s)) == s` for any `s` (GPT-2's byte-level BPE is lossless).

    Args:
        tokenizer: a `keras_hub.tokenizers.Tokenizer` with an `end_token_id`.
        cleaner: default `raw_text_cleaner()`.

    Example:

    >>> import keras_hub
    >>> vocabulary = {"<|endoftext|>": 0, "a": 1, "Ġ": 2, "b": 3, "Ġa": 4}
    >>> tokenizer = KerasHubTokenizer(keras_hub.models.GPT2Tokenizer(vocabulary, ["Ġ a"]))
    >>> tokenizer.encode("a a b").tolist(), tokenizer.decode([1, 4, 2, 3])
    ([1, 4, 2, 3], 'a a b')
    """

    kind = "keras_hub"
    unk_id = None

    def __init__(self, tokenizer, cleaner=None):
        super().__init__(cleaner if cleaner is not None else raw_text_cleaner())
        end_token_id = getattr(tokenizer, "end_token_id", None)
        if end_token_id is None:
            raise ValueError(
                "`tokenizer` must be a keras_hub tokenizer with an end token (as GPT-2's "
                f"'<|endoftext|>'). Received: tokenizer of type {type(tokenizer).__name__}"
            )
        self.keras_hub_tokenizer = tokenizer
        self.pad_id = int(end_token_id)
        self._vocabulary = list(tokenizer.get_vocabulary())

    def encode_clean(self, text):
        # keras_hub's tokenizer is TF ops; one string of any length gives a 1-D tensor.
        return np.asarray(self.keras_hub_tokenizer(tf.constant(text)), dtype=np.int32)

    def _tf_encode_clean(self, strings):
        ids = self.keras_hub_tokenizer(strings)
        if isinstance(ids, list):  # keras_hub hands eager results back as Python lists
            if strings.shape.rank == 0:
                return tf.constant(ids, tf.int32)
            return tf.ragged.constant(ids, dtype=tf.int32, ragged_rank=1)
        return tf.cast(ids, tf.int32)

    def _decode_ids(self, ids):
        if ids.size == 0:
            return ""
        text = self.keras_hub_tokenizer.detokenize(tf.constant(ids, tf.int32))
        # keras_hub returns a Python str in eager mode (a string tensor in a graph).
        if isinstance(text, tf.Tensor):
            text = text.numpy()
        return text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text

    def tf_resources(self):
        return [self.keras_hub_tokenizer]

    def _tf_decode_ids(self, ids):
        text = self.keras_hub_tokenizer.detokenize(ids)
        # Bytes that are not UTF-8 (part of a character) become U+FFFD, as `decode` writes them.
        return tf.strings.unicode_transcode(
            text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
        )

    def get_config(self):
        return {
            **super().get_config(),
            "class": type(self.keras_hub_tokenizer).__name__,
            "vocabulary_size": self.vocabulary_size,
        }

    def _save_assets(self, directory):
        # keras_hub writes its own tokenizer.json and assets/ (vocabulary and merges).
        self.keras_hub_tokenizer.save_to_preset(os.path.join(directory, KERAS_HUB_DIR))

    @classmethod
    def from_files(cls, directory, config, cleaner):
        # What keras_hub's preset loader does for a tokenizer, without a model's config.json:
        # deserialize the layer from keras_hub's tokenizer.json, then read its vocabulary files.
        import keras
        import keras_hub  # noqa: F401 - registers keras_hub's classes for deserialization

        path = os.path.join(directory, KERAS_HUB_DIR)
        with open(os.path.join(path, KERAS_HUB_CONFIG_FILE), encoding="utf-8") as file:
            tokenizer = keras.saving.deserialize_keras_object(json.load(file))
        tokenizer.load_preset_assets(path)
        return cls(tokenizer, cleaner=cleaner)
