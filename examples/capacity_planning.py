# %% [markdown]
# # Capacity planning with colossus-sim
#
# A planner's questions about the Colossus 2 default scenario: how the seven jobs share the
# racks, what the site draws against its power cap, where the failures land — and what the
# 10T job's time-to-train does if it gets more or fewer racks, with GPUs failing as often as
# Llama 3's did or twice as often.
#
# Run it as a script (`python examples/capacity_planning.py`); in Jupyter, open
# `capacity_planning.ipynb` beside it, which shows the frames and figures inline. Figures go to
# `$CAPACITY_PLANNING_OUT`
# (default `./capacity_planning_out`). On 2 cores it takes about a minute; the sweep's points
# are stored in the output folder, so a second run only redraws. `CAPACITY_PLANNING_QUICK=1`
# runs it with a tenth of the failures (what the tests run: the same steps, in seconds).

# %%
import os
from pathlib import Path

import pandas as pd

from colossus_sim import api, plots

OUT = Path(os.environ.get("CAPACITY_PLANNING_OUT", "capacity_planning_out"))
OUT.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("CAPACITY_PLANNING_QUICK") == "1"
RATE = 0.1 if QUICK else 1.0  # failures as a multiple of Llama 3's rate (most of a run's cost)
OVERRIDES = [f"failures.rate_multiplier={RATE:g}"] if QUICK else []
pd.set_option("display.width", 140)

# %% [markdown]
# ## The default scenario, one run
#
# `load_scenario()` reads `scenarios/colossus2.yaml`; overrides use the paths of
# `colossus-sim run --set` (e.g. `["jobs.grok5_10t.racks=+20%"]`).

# %%
scenario = api.load_scenario(overrides=OVERRIDES)
run = api.simulate(scenario)
jobs = run.jobs_frame()
print(
    jobs[["job", "gpu", "racks", "mfu", "goodput", "failures", "time_to_train_days"]]
    .round({"mfu": 3, "goodput": 3, "time_to_train_days": 1})
    .to_string(index=False)
)

# %% [markdown]
# ## Who holds the racks, what the site draws, where the failures land

# %%
plots.plot_allocation(run, OUT / "allocation.png")
plots.plot_power(run, OUT / "power.png")
plots.plot_gantt(run, OUT / "gantt.png")

# %% [markdown]
# ## Sweep: the 10T job's racks × the failure rate
#
# Six points (3 rack counts × 2 failure-rate multipliers), one run each with the scenario's
# seed; pass `seeds=[...]` or `replicas=N` for a spread (the plots then draw the median and a
# P10–P90 band). One row per point and job; the grid paths are columns.

# %%
base_racks = next(j.racks for j in run.jobs if j.name == "grok5_10t")
grid = {
    "jobs.grok5_10t.racks": [round(base_racks * f) for f in (0.8, 1.0, 1.2)],
    "failures.rate_multiplier": [RATE, 2 * RATE],
}
sweep = api.sweep(None, grid, overrides=OVERRIDES, store=OUT / "sweep_store", workers=2)
tenth = sweep[sweep["job"] == "grok5_10t"]
print(
    tenth[[*grid, "goodput", "time_to_train_days"]]
    .round({"goodput": 3, "time_to_train_days": 1})
    .to_string(index=False)
)

# %% [markdown]
# Time-to-train counts from a job's start, so a job that waits for racks (the 6T when the
# 10T takes more) does not show its wait there: the day it finishes does. The table has both,
# with the days it queued.

# %%
six_t = sweep[sweep["job"] == "grok5_6t"]
print(
    six_t[[*grid, "wait_days", "time_to_train_days", "finish_days"]]
    .round({"wait_days": 1, "time_to_train_days": 1, "finish_days": 1})
    .to_string(index=False)
)

# %%
plots.plot_sweep(
    tenth,
    x="jobs.grok5_10t.racks",
    y="time_to_train_days",
    hue="failures.rate_multiplier",
    path=OUT / "sweep_10t_time_to_train.png",
)
plots.plot_sweep(
    sweep[sweep["failures.rate_multiplier"] == RATE],
    x="jobs.grok5_10t.racks",
    y="finish_days",
    path=OUT / "sweep_finish_day.png",
)

# %%
written = sorted(p.name for p in OUT.glob("*.png"))
print(f"wrote {len(written)} figures to {OUT}: {', '.join(written)}")
