"""What a seed may be, checked one way wherever a seed comes in: an integer from 0 to
2**63−1 (the scenario schema's ``seed`` field holds the same bounds), blamed on the option or
argument the user wrote (``--seed``, ``--seeds``, ``--replicas``, ``seed=``). A leaf beside
``errors``; cost: a comparison.
"""

from __future__ import annotations

from colossus_sim.errors import ScenarioError

MAX_SEED = 2**63
"""Seeds are below this (a signed 64-bit integer, as the schema and the store keys take them)."""
SEED_RANGE = "an integer from 0 to 2**63−1"


def check_seed(seed: object, option: str) -> int:
    """``seed`` itself when it is a valid seed, else bad input at ``option``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
        raise ScenarioError.at(option, f"a seed is {SEED_RANGE}", got=repr(seed))
    return seed


def check_seed_run(base: int, count: int, option: str) -> tuple[int, ...]:
    """The ``count`` seeds ``base … base + count − 1`` when they all are valid seeds, else bad
    input at ``option`` (the one that asked for the run of seeds)."""
    if base + count > MAX_SEED:
        raise ScenarioError.at(
            option,
            f"the seeds {base} … {base + count - 1} run past 2**63−1",
            got=f"base seed {base}, {count} seeds",
        )
    return tuple(range(base, base + count))
