"""tlm: build, train, evaluate and sample small language models with Keras 3 and TensorFlow.

The subpackages load on first use, so `import tlm` and `tlm --help` stay fast:

    import tlm
    corpus = tlm.data.load_corpus("shakespeare")   # imports tlm.data (and TensorFlow) here
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "data",
    "layers",
    "models",
    "training",
    "generation",
    "evaluation",
    "pretrained",
    "export",
    "compare",
    "plotting",
    "checks",
    "provenance",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"tlm.{name}")
    raise AttributeError(f"module 'tlm' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBMODULES])
