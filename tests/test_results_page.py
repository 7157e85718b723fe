"""The results page and the README's results block are generated from the measured JSON files."""

import importlib.util
import json
from pathlib import Path

import pytest

from tlm.compare.results import ComparisonResult, ModelRun
from tlm.provenance import provenance, write_figures

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "results_page", ROOT / "benchmarks" / "results_page.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


results_page = _load_script()


def test_committed_pages_agree_with_the_committed_json():
    # Fails when a figure on docs/results.md or in README.md's block is not the JSON's.
    assert results_page.main(["--check"]) == 0


def test_every_committed_json_names_its_command_machine_and_date():
    for path in (ROOT / "benchmarks" / "results").glob("*.json"):
        source = json.loads(path.read_text())["provenance"]
        assert source["command"] and source["date"] and source["tlm_version"], path.name
        assert source["machine"]["cpu"] and source["machine"]["cores"], path.name


def _figures(tmp_path, value):
    record = write_figures(
        tmp_path / "data_pipeline.json",
        "data_pipeline",
        [
            {
                "title": "Text pipeline",
                "columns": ["Figure", "Value"],
                "decimals": [None, 2],
                "rows": [["Load the corpus (s)", value], ["Tokens", 1234567]],
            }
        ],
        notes=["Corpus `toy`."],
        command="python benchmarks/data_pipeline.py",
    )
    return json.loads((tmp_path / "data_pipeline.json").read_text()), record


def test_a_benchmark_section_shows_its_figures_and_where_they_come_from(tmp_path):
    written, record = _figures(tmp_path, 0.1875)
    assert written == record
    page = results_page.render_page({"data_pipeline": written})
    assert "| Load the corpus (s) | 0.19 |" in page and "| Tokens | 1,234,567 |" in page
    assert "Command: `python benchmarks/data_pipeline.py`." in page
    assert results_page.machine_name(written["provenance"]["machine"]) in page
    assert "Corpus `toy`." in page
    # The other sections say plainly that nothing was measured.
    assert page.count("**Not yet measured**") == len(results_page.SECTIONS) - 1


def test_a_changed_figure_changes_the_page(tmp_path):
    first, _ = _figures(tmp_path, 0.19)
    second, _ = _figures(tmp_path, 0.29)
    assert results_page.render_page({"data_pipeline": first}) != results_page.render_page(
        {"data_pipeline": second}
    )


def test_the_comparison_section_and_readme_block_come_from_results_json():
    runs = [
        ModelRun("transformer", "tiny", 0, "t", {"test_perplexity": 5.0, "parameters": 100}),
        ModelRun("lstm", "tiny", 0, "l", {"test_perplexity": 6.0, "parameters": 101}),
    ]
    settings = {"corpus": "shakespeare", "budget": {"kind": "time", "value": 150.0}}
    result = ComparisonResult(
        "out", settings, runs, wall_time=421.0, provenance=provenance("tlm compare")
    )
    record = json.loads(json.dumps(result.to_dict()))
    page = results_page.render_page({"compare": record})
    assert result.table() in page and "took 7 min 1 s, from preparing the data" in page
    block = results_page.render_readme_block({"compare": record})
    assert result.table() in block and "`tlm compare`" in block
    assert "Test perplexity: the Transformer won, 5.00 against 6.00" in block
    readme = f"intro\n{results_page.README_START}\nold figures\n{results_page.README_END}\nend\n"
    updated = results_page.updated_readme(readme, {"compare": record})
    assert (
        "old figures" not in updated
        and updated.startswith("intro\n")
        and updated.endswith("\nend\n")
    )


def test_readme_without_the_block_markers_is_refused():
    with pytest.raises(ValueError, match="results block markers"):
        results_page.updated_readme("no markers here", {})


def test_a_table_row_of_the_wrong_width_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must have 2 values, one per column"):
        write_figures(
            tmp_path / "x.json", "x", [{"title": "T", "columns": ["a", "b"], "rows": [[1]]}]
        )
    assert not (tmp_path / "x.json").exists()
