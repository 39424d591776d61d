"""Every ``colossus-sim`` command the README and the docs show is one the program takes.

Each command line of the README's shell blocks, and each command quoted inline in README and
``docs/*.md``, is parsed by the real command line (its options, their types and choices), and
the scenario, ``--set`` and ``--grid`` values of ``run``, ``fabric``, ``sweep`` and ``compare``
are loaded and checked as those commands do before they run — nothing is simulated. The
README's Python blocks call functions of ``api`` and ``plots`` that exist, with keywords they
take. A renamed option or keyword, a moved scenario path or a scenario removed from the
library fails here, not in a reader's terminal.
"""

from __future__ import annotations

import ast
import inspect
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.core
import typer.main

from colossus_sim import api, plots, sweep
from colossus_sim.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDERS = ("…", "...", "MODE", "[", "PATH", "my_scenario.yaml")
"""Text that marks a command as a pattern to fill in rather than one to run as written."""
COMMAND = typer.main.get_command(app)


def _shell_lines(text: str) -> Iterator[str]:
    """The ``colossus-sim`` lines of the fenced ``bash`` blocks, without their comments."""
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.startswith("colossus-sim "):
                yield line.split(" #", 1)[0].strip()


def _inline(text: str) -> Iterator[str]:
    """Commands quoted inline (`` `colossus-sim run …` ``), a line break inside one joined."""
    for quoted in re.findall(r"`(colossus-sim [^`]+)`", text):
        yield " ".join(quoted.split())


def _commands() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for doc in DOCS:
        text = doc.read_text()
        for line in [*_shell_lines(text), *_inline(text)]:
            if not any(mark in line for mark in PLACEHOLDERS) and (doc.name, line) not in found:
                found.append((doc.name, line))
    return found


COMMANDS = _commands()


def test_the_readme_shows_the_commands_users_start_from() -> None:
    readme = [line for doc, line in COMMANDS if doc == "README.md"]
    assert len(readme) >= 40, readme  # the what-ifs, run, check, sweep, compare, step ...
    verbs = {shlex.split(line)[1] for line in readme}
    assert {"run", "check", "plan", "step", "fabric", "validate", "sweep", "compare"} <= verbs


def _parsed(args: list[str]) -> tuple[str, dict[str, Any]]:
    """The command's name and its parameters as the command line parses them."""
    assert isinstance(COMMAND, typer.core.TyperGroup)
    if args[0].startswith("-"):  # an option of the program itself (--version, --help)
        with pytest.raises(typer.Exit) as stopped:
            COMMAND.make_context("colossus-sim", list(args))
        assert stopped.value.exit_code == 0
        return "", {}
    command = COMMAND.commands.get(args[0])
    assert command is not None, f"no command {args[0]!r}"
    with command.make_context(args[0], args[1:]) as context:
        return args[0], dict(context.params)


@pytest.mark.parametrize(("doc", "line"), COMMANDS, ids=[f"{d}: {c}" for d, c in COMMANDS])
def test_a_documented_command_is_taken_as_written(doc: str, line: str) -> None:
    name, params = _parsed(shlex.split(line)[1:])
    overrides = list(params.get("set_") or [])
    if name in ("run", "fabric"):
        api.load_scenario(params["scenario"], overrides)
    elif name == "sweep":
        grid = api.parse_grid_option(params["grid"] or [])
        seeds = api.parse_seeds_option(params["seeds"]) if params["seeds"] else None
        plan = sweep.plan(
            params["scenario"],
            grid,
            overrides=overrides,
            seeds=seeds,
            replicas=params["replicas"],
        )
        assert plan.points, line
    elif name == "compare":
        for side, extra in ((params["a"], params["set_a"]), (params["b"], params["set_b"])):
            api.load_scenario(side, overrides + list(extra or []))


def _python_calls() -> list[tuple[str, str, ast.Call | ast.Attribute]]:
    """Every ``api.NAME`` / ``plots.NAME`` the README's Python blocks use: the call when called."""
    found: list[tuple[str, str, ast.Call | ast.Attribute]] = []
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S):
        tree = ast.parse(block)
        calls = {id(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("api", "plots")
            ):
                found.append((node.value.id, node.attr, calls.get(id(node), node)))
    return found


def test_the_readme_python_names_exist_and_take_the_keywords_it_gives() -> None:
    """Each module function the README calls exists and accepts its keywords (a renamed
    ``overrides=``, ``progress=``, ``replicas=`` ... fails here)."""
    used = _python_calls()
    assert len(used) >= 15, used
    modules = {"api": api, "plots": plots}
    for module, name, node in used:
        target = getattr(modules[module], name)  # AttributeError names what is missing
        if isinstance(node, ast.Call) and node.keywords:
            signature = inspect.signature(target)
            given = {k.arg for k in node.keywords if k.arg is not None}
            takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
            assert takes_any or given <= set(signature.parameters), (module, name, given)
