"""The notebooks (``notebooks/<language>/*.py``, stored executed as ``*.ipynb``).

- every notebook exists in both languages, and their code cells are identical;
- the stored notebook is its source, executed, with nothing on stderr but lit_basics' own
  ``warning:`` lines and no error;
- the numbers it prints for the notes' loops are the notes' loops' (``lit_basics.notes_loops``);
- (slow) a fresh execution prints what the stored notebook shows (``scripts/notebooks.py``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from lit_basics.notes_loops import notes_linear, notes_logistic, notes_logistic_bce, notes_polynomial

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("notebook_tools", REPO / "scripts" / "notebooks.py")
assert _spec is not None
assert _spec.loader is not None
notebook_tools = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notebook_tools)

SOURCES = notebook_tools.sources()
NAMES = sorted({source.name for source in SOURCES})


def _id(source: Path) -> str:
    return f"{source.parent.name}/{source.stem}"


def _stored(source: Path):
    return nbformat.read(notebook_tools.stored_path(source), as_version=4)


def _code(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def _stdout(notebook) -> str:
    return "".join(
        output["text"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output["output_type"] == "stream" and output["name"] == "stdout"
    )


def test_the_notebooks_are_there():
    assert {"01", "02", "03", "04"} <= {name[:2] for name in NAMES}, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_notebook_in_both_languages_with_identical_code(name):
    pair = {language: REPO / "notebooks" / language / name for language in notebook_tools.LANGUAGES}
    missing = [str(path.relative_to(REPO)) for path in pair.values() if not path.is_file()]
    assert not missing, f"missing: {missing}"
    zh, en = (_code(notebook_tools.read_source(path)) for path in pair.values())
    assert len(zh) == len(en), f"{len(zh)} code cells in Chinese, {len(en)} in English"
    for index, (a, b) in enumerate(zip(zh, en, strict=True)):
        assert a == b, f"code cell {index} differs:\n--- zh\n{a}\n--- en\n{b}"


@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_stored_notebook_is_its_source_executed(source):
    stored = _stored(source)
    described = notebook_tools.read_source(source)
    assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in described.cells], (
        f"{notebook_tools.stored_path(source).name} is not {source.name}: python scripts/notebooks.py build {source}"
    )
    assert notebook_tools.unclean_outputs(stored) == []


def test_stored_notebooks_say_nothing_of_where_they_were_built():
    for source in SOURCES:
        text = notebook_tools.stored_path(source).read_text(encoding="utf-8")
        assert str(REPO) not in text, f"{source.name} shows the path it was built in"


# The notes' printed lines, as the notes print them, from their own loops (the tests' oracle).
NOTES_LINES = {
    "02": [f"epoch: {e}, loss: {r['loss']}" for e, r in enumerate(notes_linear()[1:])],
    "03": [f"epoch {e + 1}, Loss: {r['loss']:.5f}" for e, r in enumerate(notes_polynomial()[1:]) if (e + 1) % 20 == 0],
    "04": [
        f"epoch: {e + 1}, Loss: {r['loss']:.5f}, Acc: {r['acc']:.5f}"
        for records in (notes_logistic(), notes_logistic_bce(logit_threshold=0.5))
        for e, r in enumerate(records)
        if (e + 1) % 200 == 0
    ],
}


@pytest.mark.parametrize("source", [s for s in SOURCES if s.name[:2] in NOTES_LINES], ids=_id)
def test_notebooks_print_the_notes_numbers(source):
    printed = [line for line in _stdout(_stored(source)).splitlines() if line.startswith("epoch")]
    assert printed == NOTES_LINES[source.name[:2]]


@pytest.mark.parametrize("source", [s for s in SOURCES if s.name[:2] in ("02", "03", "04")], ids=_id)
def test_notebooks_show_lightning_equal_to_the_notes(source):
    stdout = _stdout(_stored(source))
    checks = [line for line in stdout.splitlines() if "equal" in line]
    assert checks, "the notebook shows no comparison with the notes"
    assert all("False" not in line for line in checks), checks
    assert sum(line.count("True") for line in checks) >= 2, checks


def test_normalise_keeps_what_must_not_differ():
    assert notebook_tools.normalise("loss: 0.123 at 0x7f00deadbeef") == "loss: 0.123 at 0x…"
    assert notebook_tools.normalise("During Time: 0.205 s") == "During Time: <time>"
    assert notebook_tools.normalise("epoch: 3, loss: 0.5") == "epoch: 3, loss: 0.5"


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_a_fresh_execution_prints_what_is_stored(source, tmp_path):
    problems, seconds = notebook_tools.check(source, tmp_path)
    assert not problems, "\n".join(problems)
    assert seconds < 120, f"{source.name} took {seconds:.0f} s (budget: 60 s on 2 cores)"
    written = [path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file()]
    assert all(path.parts[0] == "runs" for path in written), f"written outside runs/: {written}"
