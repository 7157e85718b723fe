"""Tokenizers: text -> int32 ids -> text, eagerly (numpy) and inside `tf.data` (TF ops).

Taught in notebooks/01_text_preprocessing.ipynb. Every kind shares one interface and two
reserved ids: `pad_id = 0` ("[PAD]", skipped by `decode`) and `unk_id = 1` ("[UNK]").
`encode` cleans the text with the tokenizer's `TextCleaner` first, so training and encoding
always see the same characters.

What each kind promises about `decode(encode(s))`:

- "char": Unicode code points. Equals `cleaner(s)` whenever every character of `cleaner(s)`
  was seen in training; an unseen character becomes `unk_id` and decodes as "[UNK]".
- "word", "wordpiece": whitespace is not kept exactly (see their docstrings); unseen words
  become "[UNK]". What is promised is that ids are stable: `encode(decode(encode(s))) ==
  encode(s)`.
- "sentencepiece" (unigram) and "bpe": trained with byte fallback and without whitespace
  normalisation, so `decode(encode(s)) == cleaner(s)` for any text, spaces and newlines
  included, with one documented exception: U+2581 "▁", SentencePiece's own space marker,
  decodes as a space.

Saved tokenizers are plain files: `tokenizer.json` (kind, cleaning and settings), plus
`vocabulary.json` (a JSON list of tokens) or `sentencepiece.model` (the SentencePiece proto).

One module per idea: `base.py` (the `Tokenizer` interface, reserved tokens, file helpers),
`char.py`, `word.py`, `wordpiece.py`, `sentencepiece.py` (unigram and BPE), `pretrained.py`
(`KerasHubTokenizer`: a pretrained model's keras_hub tokenizer, loaded, never trained),
`registry.py` (`build_tokenizer`, `load_tokenizer`, `TOKENIZER_KINDS`) and `layer.py`
(`TokenizerLayer`).
"""

from tlm.data.tokenizers.base import (
    CONFIG_FILE,
    PAD_TOKEN,
    RESERVED_TOKENS,
    UNK_TOKEN,
    VOCABULARY_FILE,
    Tokenizer,
)
from tlm.data.tokenizers.char import CharTokenizer
from tlm.data.tokenizers.layer import TokenizerLayer
from tlm.data.tokenizers.pretrained import KerasHubTokenizer
from tlm.data.tokenizers.registry import (
    DEFAULT_VOCABULARY_SIZES,
    TOKENIZER_KINDS,
    build_tokenizer,
    load_tokenizer,
)
from tlm.data.tokenizers.sentencepiece import (
    SENTENCEPIECE_FILE,
    BPETokenizer,
    SentencePieceTokenizer,
)
from tlm.data.tokenizers.word import WordTokenizer
from tlm.data.tokenizers.wordpiece import WordPieceTokenizer

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_VOCABULARY_SIZES",
    "PAD_TOKEN",
    "RESERVED_TOKENS",
    "SENTENCEPIECE_FILE",
    "TOKENIZER_KINDS",
    "UNK_TOKEN",
    "VOCABULARY_FILE",
    "BPETokenizer",
    "CharTokenizer",
    "KerasHubTokenizer",
    "SentencePieceTokenizer",
    "Tokenizer",
    "TokenizerLayer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "build_tokenizer",
    "load_tokenizer",
]
