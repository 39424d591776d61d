"""colossus-sim command line: ``python cli.py --help`` in a checkout runs the same typer app as
the installed ``colossus-sim`` (the commands live in ``colossus_sim/cli/``).

Bad input prints ``file:line:col: field: what is wrong`` on stderr and exits with code 2.
"""

from colossus_sim.cli.app import app

if __name__ == "__main__":
    app()
