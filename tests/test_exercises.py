"""Every lesson ends with exercises whose solutions live in notebooks/solutions/ and run here.

A lesson `notebooks/NN_name.ipynb` ends with a Markdown cell headed `## Exercises` (`## 练习` in
a Chinese lesson) that numbers its exercises ("1. ...") and links `solutions/NN_name.py`. That
module holds one function per exercise, `exercise_1()`, `exercise_2()`, ...: each one computes the
answer with tlm at a small size and asserts what the exercise asks the reader to find, so a
solution that no longer works fails here.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = tuple(sorted(path.stem for path in NOTEBOOKS_DIR.glob("*.ipynb")))
SOLUTIONS_DIR = NOTEBOOKS_DIR / "solutions"
HEADINGS = ("## Exercises", "## 练习")
NUMBERED = re.compile(r"^(\d+)\. ", re.MULTILINE)
EXERCISE = re.compile(r"^exercise_(\d+)$")


def _exercise_cell(name: str) -> str:
    cells = json.loads((NOTEBOOKS_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    markdown = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]
    for source in reversed(markdown):
        if source.lstrip().startswith(HEADINGS):
            return source
    raise AssertionError(f"{name}: no Markdown cell starting with one of {HEADINGS}")


def _solutions(name: str):
    path = SOLUTIONS_DIR / f"{name}.py"
    assert path.is_file(), f"{name}: no solutions file {path.relative_to(NOTEBOOKS_DIR.parent)}"
    spec = importlib.util.spec_from_file_location(f"solutions_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _exercise_numbers(module) -> list[int]:
    return sorted(
        int(match.group(1)) for match in map(EXERCISE.match, vars(module)) if match is not None
    )


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_ends_with_exercises_that_match_its_solutions(name):
    cell = _exercise_cell(name)
    assert f"solutions/{name}.py" in cell, f"{name}: the exercises do not link their solutions"
    asked = [int(number) for number in NUMBERED.findall(cell)]
    assert 2 <= len(asked) <= 3, f"{name}: {len(asked)} exercises (expected two or three)"
    assert asked == list(range(1, len(asked) + 1)), f"{name}: exercises numbered {asked}"
    assert _exercise_numbers(_solutions(name)) == asked, (
        f"{name}: the solutions define exercise_{_exercise_numbers(_solutions(name))}, "
        f"the lesson asks {asked}"
    )


def _all_exercises():
    for name in LESSONS:
        path = SOLUTIONS_DIR / f"{name}.py"
        if not path.is_file():
            continue
        numbers = re.findall(r"^def exercise_(\d+)\(", path.read_text(encoding="utf-8"), re.M)
        for number in numbers:
            yield pytest.param(name, int(number), id=f"{name}-exercise_{number}")


@pytest.mark.parametrize(("name", "number"), list(_all_exercises()))
def test_solution_runs_and_checks_its_answer(name, number):
    getattr(_solutions(name), f"exercise_{number}")()
