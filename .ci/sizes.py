"""CI gate: no module of the package over 400 lines, no function over 60 lines.

A module that grows past 400 lines holds more than one idea; a function past 60 lines does
more than one step. The one exception is a physics formula that reads as one (listed below,
with why). Prints each offender and exits 1 if there is any.
Run: python .ci/sizes.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
FORMULAS = {
    # The vectorised step-time model: every term of the step, in the order of its Notes, over
    # all candidate plans at once. Split, its terms would lose their shared arrays.
    ("colossus_sim/perf/step_time.py", "step_arrays"),
}


def offenders(root: Path) -> list[str]:
    found = []
    files = [*sorted((root / "colossus_sim").rglob("*.py")), root / "cli.py"]
    for path in files:
        name = path.relative_to(root).as_posix()
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            found.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES and (name, node.name) not in FORMULAS:
                found.append(
                    f"{name}:{node.lineno}: {node.name} is {length} lines "
                    f"(at most {MAX_FUNCTION_LINES})"
                )
    return found


if __name__ == "__main__":
    bad = offenders(Path(__file__).resolve().parent.parent)
    for line in bad:
        print(line)
    print(f"sizes: {len(bad)} over the limits")
    sys.exit(1 if bad else 0)
