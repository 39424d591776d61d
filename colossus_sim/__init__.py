"""colossus-sim: a discrete-event simulator of a frontier AI training cluster.

The package is layered (see docs/architecture.md): ``config`` reads and validates the data
files, ``perf`` holds the pure physics (FLOPs, memory, collectives, step time, planner), and
the command line (``colossus_sim/cli``, run by ``cli.py`` at the project root) renders what the
layers compute.
"""

__version__ = "0.1.0"
