"""Griffe extension: document the fields of tlm's settings dataclasses with their own help text.

`TrainConfig` and `CompareConfig` declare each field as `name: type = setting(default, help,
...)`, where `help` is the one description of the setting, also shown by `tlm train --help` and
`tlm compare --help`. Read as plain source, such a field has no docstring and its default looks
like a call to `setting`. This extension gives each field its `help` as docstring and its
`default` as value, so the API reference lists every setting with its default and its meaning.

A help text written as a literal string is read from the source. One built at import time (an
f-string) is read from the imported dataclass instead; if the import fails, the field keeps no
docstring and the build goes on.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import os

try:
    from griffe import Docstring, ExprKeyword, Extension
except ImportError:  # lets tests import this module without the docs extra
    Docstring = ExprKeyword = None
    Extension = object

# The name of the field helper in tlm (tlm/training/config.py).
SETTING = "setting"


def _literal(expression):
    """The value of a literal expression written as source text, else None."""
    try:
        return ast.literal_eval(str(expression))
    except (ValueError, SyntaxError):
        return None


def _runtime_help(attr):
    """The help text of field `attr` from the imported dataclass, or None."""
    owner = attr.parent
    # The settings modules import TensorFlow: keep its start-up lines out of the build log.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        cls = getattr(importlib.import_module(owner.module.path), owner.name)
        fields = {field.name: field for field in dataclasses.fields(cls)}
        return fields[attr.name].metadata["help"]
    except Exception:  # noqa: BLE001  (documentation only: a missing text is not an error)
        return None


class SettingFields(Extension):
    """Give each `name: type = setting(default, help, ...)` field its default and docstring."""

    def on_attribute_instance(self, *, attr, **kwargs) -> None:
        value = attr.value
        if str(getattr(value, "function", "")) != SETTING:
            return
        positional = [a for a in value.arguments if not isinstance(a, ExprKeyword)]
        keywords = {a.name: a.value for a in value.arguments if isinstance(a, ExprKeyword)}
        default = positional[0] if positional else keywords.get("default")
        help_expression = positional[1] if len(positional) > 1 else keywords.get("help")
        if default is None or help_expression is None:
            return
        attr.value = default
        text = _literal(help_expression)
        if not isinstance(text, str):
            text = _runtime_help(attr)
        if text and attr.docstring is None:
            attr.docstring = Docstring(text, parent=attr)
