"""Pytest setup for the whole repository: the names every docstring example may use.

Docstring examples under `tlm/` run as doctests (`--doctest-modules` in setup.cfg). Each one
sees its module's globals plus `doctest_namespace`; this file puts there the names that
examples use without importing them: `np` (numpy), `tlm` and `build_tokenizer`. So a
tokenizer module's example can call `build_tokenizer` without the module importing the registry
that imports it (an import cycle).

The environment variables are set before anything imports TensorFlow (the same as in
tests/conftest.py, which pytest loads after this file), and tlm is imported inside the
fixture, for doctests only: other tests import what they need themselves.
"""

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
