"""The capacity-planning notebook runs in a real Jupyter kernel (nbclient, ipykernel) from its
first cell to its last, and shows what a notebook should: the run as a short summary, frames as
tables, every figure inline as a PNG, the sweep's progress. The notebook is kept with its
outputs stripped. The percent-format script ``examples/capacity_planning.py`` is its text twin
for those without Jupyter (``tests/test_example.py``)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "capacity_planning.ipynb"
PNG = b"\x89PNG\r\n\x1a\n"


def _read() -> Any:
    nbformat = pytest.importorskip("nbformat")
    return nbformat.read(NOTEBOOK, as_version=4)


def test_the_notebook_is_kept_without_outputs() -> None:
    notebook = _read()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    assert "QUICK = False" in code[0].source


def _outputs(cell: Any, kind: str) -> list[Any]:
    return [o for o in cell.outputs if kind in o.get("data", {})]


def test_the_notebook_runs_and_shows_frames_figures_and_progress(tmp_path: Path) -> None:
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = copy.deepcopy(_read())
    first = notebook.cells[1]
    first.source = first.source.replace("QUICK = False", "QUICK = True")  # the 3-day version
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    cells = {c.source.splitlines()[-1]: c for c in notebook.cells if c.cell_type == "code"}
    errors = [o for c in cells.values() for o in c.outputs if o.output_type == "error"]
    assert not errors, errors

    run = cells["run"]
    (html,) = _outputs(run, "text/html")
    summary = html["data"]["text/html"]
    assert "colossus2 + horizon_days=3 (seed 42)" in summary and "grok5_10t" in summary
    assert len(summary) < 10_000  # a summary, not the run's timeline

    for frame_cell in (cells[next(k for k in cells if k.startswith("jobs[["))], cells["]"]):
        (table,) = _outputs(frame_cell, "text/html")
        assert "<table" in table["data"]["text/html"] and "grok5_10t" in table["data"]["text/html"]

    figures = [c for source, c in cells.items() if source.startswith("plots.plot_")]
    assert len(figures) == 4
    for cell in figures:
        (image,) = _outputs(cell, "image/png")
        assert base64.b64decode(image["data"]["image/png"])[:8] == PNG

    sweep = cells["]"]
    progress = "".join(
        o.get("text", "") for o in sweep.outputs if o.output_type == "stream" and o.name == "stderr"
    )
    assert "sweep 2/2" in progress  # the notebook's sweep shows its progress unasked


def test_a_run_and_a_figure_show_themselves_briefly(
    default_run_with: Callable[..., Any],
) -> None:
    """Without Jupyter: a run's repr is a summary of a few lines (a default run's full dump is
    megabytes), its HTML a small table, and a figure renders itself as a PNG for the notebook."""
    from colossus_sim import plots

    run = default_run_with("horizon_days=1", "failures.enabled=false")
    text = repr(run)
    assert text == str(run) and text.startswith("RunResult(colossus2 + horizon_days=1")
    assert len(text.splitlines()) <= 25 and all(j.name in text for j in run.jobs)
    html = run._repr_html_()
    assert "<table>" in html and len(html) < 10_000
    assert len(run.model_dump_json()) > 10 * len(html)  # what a dump would have printed
    fig = plots.plot_power(run)
    assert fig._repr_png_()[:8] == PNG


def test_progress_shows_by_default_only_in_a_notebook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from one_job import one_job_scenario

    from colossus_sim import api, sweep_exec

    scenario = one_job_scenario(tmp_path, horizon_days=0.5)
    grid = {"failures.rate_multiplier": [1, 2]}
    api.sweep(scenario, grid, workers=1, store=tmp_path / "a")
    assert "sweep" not in capsys.readouterr().err  # a script stays quiet unless asked
    monkeypatch.setattr(sweep_exec, "in_notebook", lambda: True)
    api.sweep(scenario, grid, workers=1, store=tmp_path / "b")
    err = capsys.readouterr().err
    assert "\rsweep 0/2" in err and "\rsweep 2/2" in err  # one line, rewritten per point
    api.sweep(scenario, grid, workers=1, store=tmp_path / "c", progress=False)
    assert "sweep" not in capsys.readouterr().err
