"""Reusable Keras layers for language models: self-attention, embeddings, Transformer blocks.

Import them into your own models; every layer is serializable (`.keras`, `safe_mode=True`).
"""

from tlm.layers.attention import CausalSelfAttention, causal_mask, scaled_dot_product_attention
from tlm.layers.embedding import TokenAndPositionEmbedding, sinusoidal_positions
from tlm.layers.transformer_block import TransformerBlock

__all__ = [
    "CausalSelfAttention",
    "TokenAndPositionEmbedding",
    "TransformerBlock",
    "causal_mask",
    "scaled_dot_product_attention",
    "sinusoidal_positions",
]
