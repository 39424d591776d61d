"""The ``colossus-sim`` command line: typer commands over ``colossus_sim.api``.

``app`` builds the typer app and its bad-input boundary; ``options`` declares every argument
and option once; ``render`` and ``render_sweep`` print tables and lines; ``run``, ``plan``
(plan, step, fabric), ``checks`` (validate, check) and ``sweeps`` (sweep, compare) hold the
commands. Nothing is imported here, so ``colossus_sim.cli.options`` loads on its own.
"""
