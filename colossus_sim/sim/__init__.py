"""The simulation by role: a thin engine (``engine.py``) over collaborators that each own one
decision — admission, recovery, power, network, failures, planning — and a ledger that
records the run and builds its results. See ``docs/architecture.md``."""

from colossus_sim.sim.engine import Simulation

__all__ = ["Simulation"]
