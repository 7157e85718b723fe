"""Text pipeline: corpora, cleaning, tokenizers and tf.data batches for language modelling."""
