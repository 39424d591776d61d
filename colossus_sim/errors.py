"""The error family for bad input: what is wrong, and exactly where.

Every problem a user can cause (a typo'd key, a wrong type, a plan that does not divide the
model, a model that does not fit in HBM, more racks than the cluster has) is a
``ScenarioError``. It carries one or more ``Issue`` records; the CLI prints each as
``file:line:col: path.to.field: what is wrong (got X; expected Y); did you mean 'Z'?`` and
exits with code 2. The API raises the same exception, so notebooks see the same attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

#: Maps a dotted field path to (file, line, col) in the input it came from.
LocateFn = Callable[[str], tuple[str | None, int | None, int | None]]


@dataclass(frozen=True)
class Issue:
    """One problem in the input. ``field`` is a dotted path (``plan.tp``, ``arch.layers``)."""

    message: str
    field: str = ""
    file: str | None = None
    line: int | None = None
    col: int | None = None
    got: str | None = None
    expected: str | None = None
    suggestion: str | None = None

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.col is not None:
                    where += f":{self.col}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        detail = []
        if self.got is not None:
            detail.append(f"got {self.got}")
        if self.expected is not None:
            detail.append(f"expected {self.expected}")
        text = f"{where}{field}{self.message}"
        if detail:
            text += f" ({'; '.join(detail)})"
        if self.suggestion:
            text += f"; did you mean '{self.suggestion}'?"
        return text


class ScenarioError(Exception):
    """Bad or infeasible input; ``issues`` lists every problem found, first one foremost."""

    def __init__(self, issues: list[Issue]) -> None:
        if not issues:
            raise ValueError("ScenarioError needs at least one issue")
        self.issues = list(issues)
        # ``args`` holds the issues so that code rebuilding an exception as
        # ``type(exc)(*exc.args)`` (simpy, when a process raises; pickling) gets them back.
        super().__init__(self.issues)

    def __str__(self) -> str:
        return "\n".join(issue.render() for issue in self.issues)

    @classmethod
    def at(
        cls,
        field: str,
        message: str,
        *,
        got: str | None = None,
        expected: str | None = None,
        suggestion: str | None = None,
    ) -> ScenarioError:
        """One issue at a field path; the loader that knows the file adds file and line."""
        return cls(
            [
                Issue(
                    message=message,
                    field=field,
                    got=got,
                    expected=expected,
                    suggestion=suggestion,
                )
            ]
        )

    # The first issue's attributes, for callers that handle one problem at a time.
    @property
    def file(self) -> str | None:
        return self.issues[0].file

    @property
    def line(self) -> int | None:
        return self.issues[0].line

    @property
    def field(self) -> str:
        return self.issues[0].field

    @property
    def suggestion(self) -> str | None:
        return self.issues[0].suggestion

    def with_location(self, locate: LocateFn) -> ScenarioError:
        """A copy whose issues without a file get one from ``locate(field)``.

        Fields naming a command-line option (``--racks``) are not in any file and stay as they are.
        """
        issues = []
        for issue in self.issues:
            if issue.file is None and not issue.field.startswith("--"):
                file, line, col = locate(issue.field)
                issue = replace(issue, file=file, line=line, col=col)
            issues.append(issue)
        return ScenarioError(issues)


class FieldValueError(ValueError):
    """Raised inside a pydantic validator to blame a field below the model being validated.

    Pydantic keeps the original exception in ``ctx['error']``; the loader appends ``field``
    to the error's location so the message points at the right YAML line.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
