"""The figures of ``colossus_sim.plots``: real PNGs of the expected size that are not blank,
axis labels with units, the facility cap drawn and respected, few artists for many rows,
sweep curves with seed bands, and no crash on the edge cases (a job that never starts,
failures off, an empty power series, an empty sweep)."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import matplotlib.colors as mpl_colors
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import EventCollection, PolyCollection
from matplotlib.figure import Figure
from queued_jobs import queued_scenario
from small_cluster import small_scenario

from colossus_sim import api, plots
from colossus_sim.results import JobSeries, PowerSeries, RunResult, Timeline

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def assert_real_png(path: Path, fig: Figure, coloured: float = 0.005) -> None:
    """A PNG of the figure's size in pixels, not blank, with data drawn in colour: at least
    ``coloured`` of the pixels saturated (text, grid and frame are grey; an empty figure of
    these has < 0.3% — a line plot ~1%, an area plot 20–50%)."""
    width, height = png_size(path)
    assert fig.dpi == plots.DPI
    assert (width, height) == fig.canvas.get_width_height()  # whole pixels, as Agg truncates
    pixels = mpimg.imread(path)[..., :3]
    assert pixels.shape == (height, width, 3)
    assert float(pixels.std()) > 0.08, "the image is (nearly) uniform"
    non_white = float(np.mean(np.any(pixels < 0.95, axis=-1)))
    assert non_white > 0.02, f"only {non_white:.1%} of the pixels are drawn"
    saturated = float(np.mean(pixels.max(axis=-1) - pixels.min(axis=-1) > 0.2))
    assert saturated > coloured, f"only {saturated:.2%} of the pixels are coloured"
    assert not list(path.parent.glob(".*.tmp")), "a temporary file was left behind"


def labels(fig: Figure) -> list[str]:
    return [label for ax in fig.axes for label in (ax.get_xlabel(), ax.get_ylabel()) if label]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """Three jobs on 100 racks for 2 days, failures at 300× (hundreds of them hit the jobs)."""
    return api.simulate(small_scenario(tmp_path_factory.mktemp("small"), horizon_days="2"))


@pytest.fixture(scope="module")
def waiting_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """Job b asks for more GB200 racks than a leaves free and waits the whole horizon."""
    path = small_scenario(tmp_path_factory.mktemp("waiting"), b_racks="40", horizon_days="2")
    return api.simulate(path)


@pytest.fixture(scope="module")
def capped_run() -> RunResult:
    """The default scenario's first 5 days under an 800 MW facility cap (the clocks drop to
    meet it from the start, every pretraining job running; the whole run, 72 days, costs four
    times as much and draws nothing these figures do not)."""
    return api.simulate(overrides=["power.facility_cap_mw=800", "horizon_days=5"])


def test_allocation_png(small_run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "allocation.png"
    fig = plots.plot_allocation(small_run, path)
    assert_real_png(path, fig, coloured=0.1)
    racks_ax, util_ax = fig.axes[:2]
    assert "(racks)" in racks_ax.get_ylabel()
    assert "(%)" in util_ax.get_ylabel()
    assert "(days)" in util_ax.get_xlabel()
    legend_text = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert {j.name for j in small_run.jobs} <= set(legend_text)
    # The utilisation never exceeds 100% and the days axis ends with the run.
    for line in util_ax.get_lines():
        assert float(np.max(np.asarray(line.get_ydata(), dtype=float))) <= 100.0 + 1e-9
    assert util_ax.get_xlim()[1] == pytest.approx(small_run.cluster.hours / 24)


def test_power_png_draws_the_cap_and_stays_under_it(capped_run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "power.png"
    fig = plots.plot_power(capped_run, path)
    assert_real_png(path, fig)
    ax = fig.axes[0]
    assert "(MW)" in ax.get_ylabel()
    assert "(days)" in ax.get_xlabel()
    cap = capped_run.cluster.power_cap_mw
    assert cap == 800.0
    lines = {line.get_gid(): line for line in ax.get_lines()}
    cap_y = np.asarray(lines["cap"].get_ydata(), dtype=float)
    assert np.allclose(cap_y, cap)
    # The highest draw in each bin: never over the cap, and the cap binds.
    facility = np.asarray(lines["facility_mw"].get_ydata(), dtype=float)
    assert float(facility.max()) <= cap + 1e-6
    assert float(facility.max()) > 0.9 * cap, "the cap should bind in this scenario"
    assert float(facility.max()) == pytest.approx(max(capped_run.power.facility_mw))
    # The lowest in each bin is the restarts' dips, never above the highest.
    low = np.asarray(lines["facility_low_mw"].get_ydata(), dtype=float)
    assert np.all(low <= facility + 1e-9)
    assert float(low.min()) == pytest.approx(capped_run.cluster.grid.draw_exceeded_mw["p100"])
    # The events: the bars count every step of 100 MW or more, once.
    bars = [b for other in fig.axes[1:] for b in other.patches]
    g = capped_run.cluster.grid
    assert sum(b.get_height() for b in bars) == pytest.approx(
        g.steps_per_day["100"] * capped_run.cluster.hours / 24
    )


def test_gantt_png_rows_failures_and_few_artists(small_run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "gantt.png"
    fig = plots.plot_gantt(small_run, path)
    assert_real_png(path, fig, coloured=0.1)
    ax = fig.axes[0]
    assert "(days)" in ax.get_xlabel()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert [t.split("\n")[0] for t in ticks] == [j.name for j in small_run.jobs]
    # One tick per failure that hit a job, drawn as one collection per job.
    timeline = small_run.timeline_frame()
    hit = timeline[(timeline["kind"] == "failure") & (timeline["job"] != "")]
    assert len(hit) > 50
    events = [c for c in ax.collections if isinstance(c, EventCollection)]
    assert len(events) <= len(small_run.jobs)
    assert sum(len(c.get_positions()) for c in events) == len(hit)
    # Bars: at most one collection per job and status (plus each job's running base).
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bars) <= len(small_run.jobs) * 5
    assert len(small_run.job_series) > len(bars) * 5


def test_gantt_of_a_job_that_never_started(waiting_run: RunResult, tmp_path: Path) -> None:
    waiting = [j for j in waiting_run.jobs if j.start_days is None]
    assert [j.name for j in waiting] == ["b"]
    for plot in (plots.plot_gantt, plots.plot_allocation, plots.plot_power):
        path = tmp_path / f"{plot.__name__}.png"
        assert_real_png(path, plot(waiting_run, path))
    fig = plots.plot_gantt(waiting_run)
    notes = [t.get_text() for t in fig.axes[0].child_axes[0].get_yticklabels()]
    assert any("never started" in n for n in notes)


def _bars(fig: Figure) -> dict[str, list[tuple[float, float]]]:
    """Each Gantt bar collection by gid (``job:status``): the (start, end) days of its bars."""
    out = {}
    for c in fig.axes[0].collections:
        if isinstance(c, PolyCollection) and c.get_gid():
            xs = [p.vertices[:, 0] for p in c.get_paths()]
            out[str(c.get_gid())] = [(float(x.min()), float(x.max())) for x in xs]
    return out


def test_gantt_draws_the_queue_from_submit_to_start_and_nothing_while_held(
    tmp_path: Path,
) -> None:
    """``wide`` queues from day 1 to day 5, ``stuck`` from day 3 to the end (day 12),
    ``held`` is never submitted; each submitted after day 0 has a submit marker there."""
    run = api.simulate(queued_scenario(tmp_path))
    path = tmp_path / "gantt.png"
    fig = plots.plot_gantt(run, path)
    assert_real_png(path, fig)
    bars = _bars(fig)
    assert bars["wide:pending"] == [pytest.approx((1.0, 5.0), abs=1e-3)]
    assert bars["wide:running"] == [pytest.approx((5.0, 8.0), abs=1e-3)]  # not under the queue
    assert bars["stuck:pending"] == [pytest.approx((3.0, 12.0), abs=1e-3)]
    assert "stuck:running" not in bars and "first:pending" not in bars
    assert not [gid for gid in bars if gid.startswith("held:")]
    queued = plots.STATUS_COLORS["pending"]
    colours = [c.get_facecolor() for c in fig.axes[0].collections if c.get_gid() == "wide:pending"]
    assert np.allclose(colours[0][0][:3], mpl_colors.to_rgb(queued))
    marks = {
        str(line.get_gid()): float(np.asarray(line.get_xdata(), dtype=float)[0])
        for line in fig.axes[0].get_lines()
        if str(line.get_gid()).endswith(":submit")
    }
    assert marks == {"wide:submit": 1.0, "long:submit": 2.0, "stuck:submit": 3.0}
    legend = {t.get_text() for legend in fig.legends for t in legend.get_texts()}
    assert {"queued", "submitted"} <= legend and "pending" not in legend
    notes = [t.get_text() for t in fig.axes[0].child_axes[0].get_yticklabels()]
    assert "queued 4.0 d" in notes[1]
    assert notes[3].startswith("queued from day 3.0") and notes[4].startswith("never submitted")
    again = tmp_path / "again.png"
    plots.plot_gantt(run, again)
    assert again.read_bytes() == path.read_bytes()


def test_plots_with_failures_off(tmp_path: Path) -> None:
    scenario = api.load_scenario(
        small_scenario(tmp_path, horizon_days="2"), ["failures.enabled=false"]
    )
    run = api.simulate(scenario)
    assert run.cluster.failures == 0
    for plot in (plots.plot_allocation, plots.plot_power, plots.plot_gantt):
        path = tmp_path / f"{plot.__name__}.png"
        assert_real_png(path, plot(run, path))
    gantt = plots.plot_gantt(run)
    assert not [c for c in gantt.axes[0].collections if isinstance(c, EventCollection)]


def test_empty_series_do_not_crash(small_run: RunResult, tmp_path: Path) -> None:
    empty = small_run.model_copy(
        update={
            "power": PowerSeries(**{key: [] for key in PowerSeries.model_fields}),
            "job_series": JobSeries(**{key: [] for key in JobSeries.model_fields}),
            "timeline": Timeline(**{key: [] for key in Timeline.model_fields}),
        }
    )
    for plot in (plots.plot_allocation, plots.plot_power, plots.plot_gantt):
        path = tmp_path / f"{plot.__name__}.png"
        fig = plot(empty, path)
        width, height = fig.get_size_inches() * plots.DPI
        assert png_size(path) == (round(width), round(height))
        assert all("(" in label for label in labels(fig))
    power = plots.plot_power(empty)
    assert [line.get_gid() for line in power.axes[0].get_lines()] == ["cap"]


def test_same_figure_same_bytes(small_run: RunResult, tmp_path: Path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    plots.plot_gantt(small_run, first)
    plots.plot_gantt(small_run, second)
    assert first.read_bytes() == second.read_bytes()
    assert b"Software" not in first.read_bytes()


# ----------------------------------------------------------------------------- sweeps


def sweep_frame(seeds: int = 5) -> pd.DataFrame:
    """A table shaped like ``api.sweep``'s: point × seed × job rows, grid paths as columns."""
    rng = np.random.default_rng(7)
    rows = []
    point = 0
    for racks in (2720, 3400, 4080):
        for multiplier in (1.0, 2.0):
            for seed in range(seeds):
                for i, job in enumerate(("grok5_6t", "grok5_10t", "late")):
                    never = job == "late" and racks == 4080
                    rows.append(
                        {
                            "point": point,
                            "jobs.grok5_10t.racks": racks,
                            "failures.rate_multiplier": multiplier,
                            "seed": seed,
                            "job": job,
                            "time_to_train_days": math.nan
                            if never
                            else 20 + 10 * i + 3400 / racks * 5 * multiplier + rng.normal(0, 1),
                            "goodput": math.nan
                            if never
                            else 0.9 - 0.1 * multiplier + rng.normal(0, 0.02),
                        }
                    )
                point += 1
    return pd.DataFrame(rows)


def test_sweep_curve_with_seed_bands(tmp_path: Path) -> None:
    frame = sweep_frame()
    tenth = frame[frame["job"] == "grok5_10t"]
    path = tmp_path / "sweep.png"
    fig = plots.plot_sweep(
        tenth, x="jobs.grok5_10t.racks", hue="failures.rate_multiplier", path=path
    )
    assert_real_png(path, fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "racks of grok5_10t (racks)"
    assert ax.get_ylabel() == "time to train (days)"
    lines = ax.get_lines()
    assert len(lines) == 2  # one per failure multiplier
    for line, multiplier in zip(lines, (1.0, 2.0), strict=True):
        assert list(line.get_xdata()) == [2720.0, 3400.0, 4080.0]
        rows = tenth[tenth["failures.rate_multiplier"] == multiplier]
        expected = rows.groupby("jobs.grok5_10t.racks")["time_to_train_days"].median()
        assert np.allclose(np.asarray(line.get_ydata(), dtype=float), expected.to_numpy())
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2


def test_sweep_all_jobs_styles_the_other_grid_path(tmp_path: Path) -> None:
    frame = sweep_frame(seeds=1)
    path = tmp_path / "sweep.png"
    fig = plots.plot_sweep(frame, x="jobs.grok5_10t.racks", y="goodput", path=path)
    assert_real_png(path, fig)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "goodput (%)"
    lines = ax.get_lines()
    assert len(lines) == 3 * 2  # jobs × failure multipliers
    assert {line.get_linestyle() for line in lines} == {"-", "--"}
    assert all(float(np.max(np.asarray(line.get_ydata(), dtype=float))) > 1 for line in lines)
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]  # one seed: no band
    legend_text = {t.get_text() for legend in fig.legends for t in legend.get_texts()}
    assert {"grok5_6t", "grok5_10t", "late"} <= legend_text
    # The job that never started at 4,080 racks has no point there.
    late = [
        line
        for line in lines
        if line.get_color() == plots.job_colors(["grok5_6t", "grok5_10t", "late"])["late"]
    ]
    assert all(list(line.get_xdata()) == [2720.0, 3400.0] for line in late)


def test_sweep_categorical_values_keep_their_order(tmp_path: Path) -> None:
    frame = sweep_frame(seeds=2)
    order = {2720: "+20%", 3400: "-20%", 4080: "+0%"}
    frame["jobs.grok5_10t.racks"] = frame["jobs.grok5_10t.racks"].map(order)
    frame = frame[frame["failures.rate_multiplier"] == 1.0]
    path = tmp_path / "sweep.png"
    fig = plots.plot_sweep(frame, x="jobs.grok5_10t.racks", path=path)
    assert_real_png(path, fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["+20%", "-20%", "+0%"]
    assert "(% change" in ax.get_xlabel()


def test_sweep_edge_cases(tmp_path: Path) -> None:
    frame = sweep_frame(seeds=1)
    empty = frame.iloc[0:0]
    path = tmp_path / "empty.png"
    fig = plots.plot_sweep(empty, x="jobs.grok5_10t.racks", path=path)
    width, height = plots.SWEEP_FIGSIZE
    assert png_size(path) == (round(width * plots.DPI), round(height * plots.DPI))
    assert not fig.axes[0].get_lines()
    one = frame[(frame["point"] == 0)]
    assert plots.plot_sweep(one, x="jobs.grok5_10t.racks").axes[0].get_lines()
    with pytest.raises(ValueError, match=r"no column 'jobs\.grok5_10t\.rack'"):
        plots.plot_sweep(frame, x="jobs.grok5_10t.rack")


def test_cli_run_and_sweep_write_their_plots(cli_module, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    scenario = str(small_scenario(tmp_path, horizon_days="1"))  # a run, a sweep: 1 day each
    runner = CliRunner()
    got = runner.invoke(cli_module.app, ["run", scenario, "--plot", str(tmp_path / "r.png")])
    assert got.exit_code == 0, got.output
    for name in ("allocation", "power", "gantt"):
        assert png_size(tmp_path / f"r_{name}.png")[0] > 0
    args = ["sweep", scenario, "--grid", "jobs.a.racks=20,24", "--workers", "1"]
    got = runner.invoke(cli_module.app, [*args, "--plot", str(tmp_path / "s.png")])
    assert got.exit_code == 0, got.output
    assert png_size(tmp_path / "s.png")[0] > 0
    got = runner.invoke(cli_module.app, [*args, "--plot", str(tmp_path / "t.png"), "--plot-y", "x"])
    assert got.exit_code == 2 and "--plot-y" in got.output and "Traceback" not in got.output


def test_grid_png_zooms_on_the_largest_step_each_second(
    capped_run: RunResult, tmp_path: Path
) -> None:
    """The hour around the largest step is drawn at one second (3,600 points, computed for
    that window only); a minute after a change, past every ramp, it is at the timeline's level;
    and the step it centres on is the run's largest."""
    from colossus_sim.perf import grid

    path = tmp_path / "grid.png"
    fig = plots.plot_grid(capped_run, path)
    assert_real_png(path, fig)
    hour = next(line for ax in fig.axes for line in ax.get_lines() if line.get_gid() == "hour")
    minutes = np.asarray(hour.get_xdata(), dtype=float)
    mw = np.asarray(hour.get_ydata(), dtype=float)
    assert minutes.size == 3600
    assert np.allclose(np.diff(minutes), 1 / 60)
    power = capped_run.power
    t_h, facility = np.asarray(power.time_h), np.asarray(power.facility_mw)
    steps = grid.net_steps(t_h, facility)
    at_h = np.unique(t_h)[1:][int(np.argmax(np.abs(steps)))]
    seconds = at_h * 3600 + minutes * 60
    level = facility[np.searchsorted(t_h * 3600, seconds, side="right") - 1]
    since = seconds - (t_h * 3600)[np.searchsorted(t_h * 3600, seconds, side="right") - 1]
    settled = since > 61  # past the GPUs' 20 ms and the cooling's 60 s
    assert settled.any()
    assert np.allclose(mw[settled], level[settled])
    # centred on the largest step: the timeline's level jumps by it at minute 0 (another event
    # may follow within the minute, so the drawn line is held to the levels, above)
    jump = level[minutes >= 0][0] - level[minutes < 0][-1]
    assert abs(jump) == pytest.approx(np.abs(steps).max(), rel=1e-6)


def test_a_jobs_later_phases_take_lighter_tints_of_its_colour() -> None:
    from matplotlib.colors import to_rgb

    jobs = ["imagine_v2", "grok5_10t", "grok5_10t/sft", "grok5_10t/rl", "grok5_6t"]
    colors = plots.job_colors(jobs)
    assert len(set(colors.values())) == len(jobs)  # every job its own colour
    # The 6T is the third family: the next palette colour, not shifted by the 10T's phases.
    assert (
        colors["grok5_6t"] == plots.job_colors(["imagine_v2", "grok5_10t", "grok5_6t"])["grok5_6t"]
    )
    base, sft, rl = (np.array(to_rgb(colors[j])) for j in jobs[1:4])
    # Each phase lies on the line from the job's colour to white, further along than the last.
    for tint in (sft, rl):
        share = (tint - base) / (1.0 - base)
        assert np.allclose(share, share[0], atol=0.02) and 0.0 < share[0] < 1.0  # 8-bit hex
    assert ((rl - base) / (1.0 - base))[0] > ((sft - base) / (1.0 - base))[0]


def test_every_run_figure_names_what_made_it_and_the_version(tmp_path: Path) -> None:
    from queued_jobs import queued_scenario

    run = api.simulate(queued_scenario(tmp_path), overrides=["jobs.long.racks=1"])
    for plot in (plots.plot_allocation, plots.plot_gantt, plots.plot_power, plots.plot_grid):
        fig = plot(run)
        assert fig.get_suptitle().endswith(run.label), plot.__name__
        assert "jobs.long.racks=1" in run.label
        assert f"colossus-sim {run.version}" in [t.get_text() for t in fig.texts], plot.__name__


def test_a_sweep_legend_names_only_jobs_with_a_point() -> None:
    frame = sweep_frame(seeds=1)
    frame.loc[frame["job"] == "late", "time_to_train_days"] = math.nan  # never started anywhere
    fig = plots.plot_sweep(frame, x="jobs.grok5_10t.racks")
    legend = {t.get_text() for legend in fig.legends for t in legend.get_texts()}
    assert {"grok5_6t", "grok5_10t"} <= legend and "late" not in legend
