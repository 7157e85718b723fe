"""Shared pytest setup: quiet TensorFlow, the Keras TensorFlow backend, and local corpora."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
