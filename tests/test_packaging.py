"""The package metadata: pins that install and import, and a licence in the current form."""

from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def _requirement(name):
    requirements = [Requirement(text) for text in PYPROJECT["project"]["dependencies"]]
    return next(r for r in requirements if r.name == name)


def test_tensorflow_text_skips_the_release_that_fails_to_import():
    # tensorflow-text 2.21.0's Linux wheel has an undefined ICU symbol; 2.21.1 imports.
    specifier = _requirement("tensorflow-text").specifier
    assert "2.21.0" not in specifier and "2.21.1" in specifier


def test_tensorflow_and_tensorflow_text_share_their_minor_version():
    for version in ("2.21.1", "2.21.5", "2.22.0", "2.20.3"):
        tensorflow = version in _requirement("tensorflow").specifier
        text = version in _requirement("tensorflow-text").specifier
        assert tensorflow == text or version == "2.21.0", version


def test_the_licence_is_an_spdx_expression_and_setuptools_reads_it():
    # The `{text = ...}` table is deprecated: setuptools warns on every install.
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    build = [Requirement(text) for text in PYPROJECT["build-system"]["requires"]]
    setuptools = next(r for r in build if r.name == "setuptools")
    assert "76.9" not in setuptools.specifier and "77.0" in setuptools.specifier


@pytest.mark.slow
def test_building_the_package_warns_of_nothing_deprecated(tmp_path):
    # A real build in pip's isolated environment, with the setuptools it installs from PyPI.
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", str(root), "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "DeprecationWarning" not in build.stdout + build.stderr
    assert list(tmp_path.glob("tlm-*.whl"))
