"""Text pipeline: corpora, cleaning, tokenizers and tf.data batches for language modelling.

Taught in `notebooks/01_text_preprocessing.ipynb`.

    corpus = load_corpus("shakespeare")             # Corpus(train, validation, test)
    tokenizer = build_tokenizer("char", corpus.train)
    data = prepare(corpus, tokenizer, sequence_length=64, batch_size=32)
    x, y = next(iter(data.train))                   # y is x shifted by one token
"""

from tlm.data.cleaning import TextCleaner
from tlm.data.corpora import CORPORA, Corpus, load_corpus
from tlm.data.pipeline import LMData, make_lm_dataset, prepare
from tlm.data.tokenizers import (
    TOKENIZER_KINDS,
    BPETokenizer,
    CharTokenizer,
    KerasHubTokenizer,
    SentencePieceTokenizer,
    Tokenizer,
    TokenizerLayer,
    WordPieceTokenizer,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
)

__all__ = [
    "CORPORA",
    "TOKENIZER_KINDS",
    "BPETokenizer",
    "CharTokenizer",
    "Corpus",
    "KerasHubTokenizer",
    "LMData",
    "SentencePieceTokenizer",
    "TextCleaner",
    "Tokenizer",
    "TokenizerLayer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "build_tokenizer",
    "load_corpus",
    "load_tokenizer",
    "make_lm_dataset",
    "prepare",
]
