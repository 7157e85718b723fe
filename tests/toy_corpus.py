"""A corpus small enough to train on in seconds: two words and seven digits, over and over."""

TOY_TEXT = "".join(
    f"{word} {i % 7}, said the {word}\n" for i, word in enumerate(["ab", "ca"] * 120)
)
