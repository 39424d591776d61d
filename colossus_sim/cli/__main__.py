"""``python -m colossus_sim.cli``: the same typer app as the installed ``colossus-sim`` and
``python cli.py`` (so ``python -X importtime -m colossus_sim.cli run`` measures the
command's start-up)."""

from colossus_sim.cli.app import main

if __name__ == "__main__":
    main()
