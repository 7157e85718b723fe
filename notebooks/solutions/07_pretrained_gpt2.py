"""Solutions to the exercises of lesson 07, Pretrained GPT-2 (07_pretrained_gpt2.ipynb).

Each `exercise_N()` computes its answer at a small size and asserts what the exercise asks
for. Nothing is downloaded: the GPT-2 here is the tiny one with random weights that the lesson
writes with `save_tiny_gpt2_preset`, its byte-level BPE learned from a few lines of text.
Run them all:

    python notebooks/solutions/07_pretrained_gpt2.py
"""

import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np

from tlm.models import count_parameters
from tlm.pretrained import (
    bytes_to_unicode,
    learn_byte_level_bpe,
    load_pretrained,
    save_tiny_gpt2_preset,
)

ENGLISH = "But soft, what light through yonder window breaks?\nIt is the east."
CHINESE = "大语言模型是一种基于神经网络的语言模型。"
# What the tiny GPT-2's BPE learns from: English only, like the lesson's Shakespeare slice.
BPE_TEXT = """ROMEO:
But soft, what light through yonder window breaks?
It is the east, and Juliet is the sun.
Arise, fair sun, and kill the envious moon,
Who is already sick and pale with grief,
That thou her maid art far more fair than she.
"""


def exercise_1():
    """GPT-2's byte-to-symbol map, both ways.

    With `tlm.pretrained.bytes_to_unicode`, check that the 256 bytes get 256 different printable
    symbols (the space byte is "Ġ", the newline "Ċ"), write the inverse map, and check that
    text -> UTF-8 bytes -> symbols -> bytes -> text gives back an English and a Chinese sentence.
    Then learn a byte-level BPE on English text only (`learn_byte_level_bpe`) and check that
    every Chinese character is exactly three symbols, none of them merged.
    """
    symbols = bytes_to_unicode()
    assert sorted(symbols) == list(range(256))
    assert len(set(symbols.values())) == 256
    assert all(symbol.isprintable() and not symbol.isspace() for symbol in symbols.values())
    assert symbols[ord(" ")] == "Ġ" and symbols[ord("\n")] == "Ċ"
    inverse = {symbol: byte for byte, symbol in symbols.items()}
    for text in (ENGLISH, CHINESE):
        written = "".join(symbols[byte] for byte in text.encode("utf-8"))
        assert bytes(inverse[symbol] for symbol in written).decode("utf-8") == text
        assert len(written) == len(text.encode("utf-8"))
    assert all(len(character.encode("utf-8")) == 3 for character in CHINESE)

    vocabulary, merges = learn_byte_level_bpe(BPE_TEXT, 300)
    merged_pieces = [piece for piece in vocabulary if len(piece) > 1 and piece != "<|endoftext|>"]
    chinese_symbols = {symbols[byte] for byte in CHINESE.encode("utf-8")}
    # No learned piece is made of a Chinese character's bytes: they stay three symbols each.
    assert not any(set(piece) <= chinese_symbols for piece in merged_pieces)
    print(
        f"{len(merges)} merges learned from English, e.g. {merges[:3]}; "
        f"'语' is {[symbols[b] for b in '语'.encode()]}"
    )


def exercise_2():
    """LoRA's trainable parameters by hand.

    Write the tiny random GPT-2 preset (`save_tiny_gpt2_preset`), load it and call
    `enable_lora(4)`. Keras factors the update of each attention's query and value kernel, of
    shape `(hidden_dim, num_heads, head_dim)`, as A of shape `(hidden_dim, num_heads, rank)`
    times B of shape `(rank, head_dim)`, and leaves the projections' biases
    `(num_heads, head_dim)` trainable. Count the trainable weights by hand from the model's
    sizes and check the count of `model.trainable_weights`, and the share of all parameters.
    """
    folder = os.path.join(tempfile.mkdtemp(), "gpt2-tiny")
    run = load_pretrained(save_tiny_gpt2_preset(folder, BPE_TEXT, vocabulary_size=300, seed=0))
    model = run.model
    total = count_parameters(model)
    rank = 4
    model.enable_lora(rank)
    hidden_dim, num_layers, num_heads = model.hidden_dim, model.num_layers, model.num_heads
    head_dim = hidden_dim // num_heads
    per_projection = hidden_dim * num_heads * rank + rank * head_dim + num_heads * head_dim
    by_hand = num_layers * 2 * per_projection  # query and value in every layer
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    assert trainable == by_hand, (trainable, by_hand)
    assert trainable < total / 10
    print(
        f"{num_layers} layers x 2 projections x {per_projection} = {by_hand:,} trainable "
        f"of {total:,} parameters ({by_hand / total:.1%})"
    )


if __name__ == "__main__":
    for exercise in (exercise_1, exercise_2):
        exercise()
