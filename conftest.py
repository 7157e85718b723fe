"""Pytest setup for the whole repository: the names every docstring example may use.

Docstring examples under `tlm/` run as doctests (`--doctest-modules` in setup.cfg). Each one
sees its module's globals plus `doctest_namespace`; this file puts there the names that
examples use without importing them: `np` (numpy), `tlm` and `build_tokenizer`. So a
tokenizer module's example can call `build_tokenizer` without the module importing the registry
that imports it (an import cycle).

Every test, doctests included, fails when TensorFlow warns that one of tlm's compiled functions
re-traced too often ("N out of the last N calls to ... triggered tf.function retracing"):
decoding and evaluation are built to compile once per shape, and that warning would mean they do
not. Keras' own training and prediction steps are left out: TensorFlow counts them over every
model a process builds, and the tests build hundreds.

The environment variables are set before anything imports TensorFlow (the same as in
tests/conftest.py, which pytest loads after this file), and tlm is imported inside the
fixture, for doctests only: other tests import what they need themselves.
"""

import logging
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _doctest_names(request):
    if not isinstance(request.node, pytest.DoctestItem):
        return
    import tlm
    from tlm.data import build_tokenizer

    doctest_namespace = request.getfixturevalue("doctest_namespace")
    doctest_namespace["np"] = np
    doctest_namespace["tlm"] = tlm
    doctest_namespace["build_tokenizer"] = build_tokenizer


class _RetracingWarnings(logging.Handler):
    """Keeps TensorFlow's frequent re-tracing warnings (its Python logger, "tensorflow")."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        message = record.getMessage()
        if "triggered tf.function retracing" in message and "TensorFlowTrainer" not in message:
            self.messages.append(message)


@pytest.fixture(autouse=True)
def _fail_on_retracing():
    handler = _RetracingWarnings()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    yield
    logger.removeHandler(handler)
    if handler.messages:
        pytest.fail("TensorFlow re-traced a compiled function too often:\n" + "\n".join(
            message[:300] for message in handler.messages
        ))
