"""The strict base model, the number types the schemas share, and the provenance rule: every
number carries a source or an assumption.

``StrictModel`` forbids unknown keys and freezes instances after validation. ``Sourced`` adds a
``provenance`` mapping from dotted field paths (or their prefixes) to a ``Provenance`` record
holding either ``source:`` (where the figure was published) or ``assumption:`` (why we chose
it); validation fails when a value has neither, or when provenance names a field that does not
exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from colossus_sim.errors import FieldValueError

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(StrictModel):
    """Exactly one of: a published ``source``, or an ``assumption`` with its reasoning."""

    source: str | None = None
    assumption: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.source is None) == (self.assumption is None):
            raise ValueError("give exactly one of 'source' or 'assumption'")
        for text in (self.source, self.assumption):
            if text is not None and not text.strip():
                raise ValueError("a source or assumption must not be empty")
        return self

    @property
    def is_assumption(self) -> bool:
        return self.assumption is not None


#: Leaf keys that are identity or bookkeeping, not claims about the world. A scenario's
#: ``extends`` (its parent) and ``expect`` (regression baselines) are bookkeeping too.
_UNSOURCED_KEYS = frozenset(
    {
        "name",
        "title",
        "description",
        "kind",
        "provenance",
        "source",
        "role",
        "gap",
        "inconsistency",
        "extends",
        "expect",
    }
)


def leaf_paths(value: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every leaf value in a dumped model (dicts descend, lists are leaves)."""
    if isinstance(value, dict):
        paths = []
        for key, sub in value.items():
            if key in _UNSOURCED_KEYS or sub is None:
                continue
            paths.extend(leaf_paths(sub, f"{prefix}.{key}" if prefix else key))
        return paths
    return [prefix] if prefix else []


def _covered(path: str, keys: set[str]) -> bool:
    parts = path.split(".")
    return any(".".join(parts[:n]) in keys for n in range(1, len(parts) + 1))


class Sourced(StrictModel):
    """A data-file model whose every figure is traced to a source or labelled an assumption.

    Only values written in the file need provenance; schema defaults (``ep: 1`` for a dense
    model) are part of the model, documented where they are declared.
    """

    provenance: dict[str, Provenance]

    @model_validator(mode="after")
    def _every_value_traced(self) -> Self:
        dumped = self.model_dump(mode="json", exclude={"provenance"}, exclude_unset=True)
        leaves = leaf_paths(dumped)
        keys = set(self.provenance)
        for key in sorted(keys):
            if not any(leaf == key or leaf.startswith(key + ".") for leaf in leaves):
                raise FieldValueError(
                    f"provenance.{key}", f"provenance names '{key}', which is not a field here"
                )
        for leaf in leaves:
            if not _covered(leaf, keys):
                raise FieldValueError(
                    leaf, "no provenance: add a 'source:' or an 'assumption:' for it"
                )
        return self

    def provenance_of(self, dotted: str) -> Provenance | None:
        parts = dotted.split(".")
        for n in range(len(parts), 0, -1):
            found = self.provenance.get(".".join(parts[:n]))
            if found is not None:
                return found
        return None
