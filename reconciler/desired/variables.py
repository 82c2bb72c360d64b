"""Project variables: ``${var:NAME}`` in any manifest scalar, typed by the project's declaration. Pure.

A scalar that is exactly one reference takes the variable's value and type (``steps: ${var:steps}`` stays an
integer, so the API gets a number); a reference inside a longer string interpolates its text. Secrets never
travel this way: ``${env:NAME}`` stays the one way in for them (masked everywhere), and a ``${var:...}`` where a
credential belongs is refused, since a variable's value is printed by ``render`` and in every plan.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from reconciler.planning import names

Kind = Literal["string", "integer", "number", "boolean"]
Loc = tuple[str | int, ...]

NAME: Final = r"[A-Za-z_][A-Za-z0-9_]*"
WHOLE: Final = re.compile(r"^\$\{var:(" + NAME + r")\}$")
ANY: Final = re.compile(r"\$\{var:(" + NAME + r")\}")
STARTED: Final = "${var:"
ENVIRONMENT_PREFIX: Final = "BYTENITE_VAR_"


def parse(kind: Kind, text: str) -> Any:
    """A value given as text (``--var``, ``BYTENITE_VAR_*``) as the declared type; ValueError names what is wrong."""
    if kind == "string":
        return text
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"{text!r} is not a boolean (true or false)")
    if kind == "integer":
        try:
            return int(text.strip(), 10)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
    try:
        number = float(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def fits(kind: Kind, value: Any) -> bool:
    """Whether a value written in YAML (a default, an environment's value) is of the declared type."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def did_you_mean(name: str, known: Sequence[str]) -> str:
    near = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{near[0]}'?)" if near else ""


def unknown(name: str, known: Sequence[str]) -> str:
    if not known:
        return f"variable '{name}' is not declared: no project file (reconciler.yaml) declares variables"
    return f"variable '{name}' is not declared in the project{did_you_mean(name, known)}"


def interpolate(
    data: Any, values: Mapping[str, Any], known: Sequence[str], loc: Loc = ()
) -> tuple[Any, list[tuple[Loc, str]]]:
    """``data`` with every reference replaced, and the problems at their locations (the data left as it was there).

    ``values`` holds every declared variable that has a value; ``known`` every declared name, so an unset one
    and an undeclared one get different messages.
    """
    walk = _Walk(values, known, [])
    return walk(data, loc, None), walk.problems


@dataclass(frozen=True)
class _Walk:
    values: Mapping[str, Any]
    known: Sequence[str]
    problems: list[tuple[Loc, str]]

    def __call__(self, value: Any, loc: Loc, credential: str | None) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                inner = key if isinstance(key, str) and names.is_credential_name(key) else credential
                out[key] = self(item, (*loc, key), inner)
            return out
        if isinstance(value, list):
            return [self(item, (*loc, index), credential) for index, item in enumerate(value)]
        if not isinstance(value, str) or STARTED not in value:
            return value
        if credential is not None:
            message = f"{credential} is a credential: a ${{var:...}} may not give it; use ${{env:NAME}}"
            self.problems.append((loc, message))
            return value
        found = list(_problems(value, self.values, self.known))
        if found:
            self.problems.extend((loc, message) for message in found)
            return value
        whole = WHOLE.match(value)
        if whole:
            return self.values[whole.group(1)]
        return ANY.sub(lambda match: _text(self.values[match.group(1)]), value)


def _problems(value: str, values: Mapping[str, Any], known: Sequence[str]) -> Iterator[str]:
    names = ANY.findall(value)
    if value.count(STARTED) != len(names):
        yield "a variable reference is written ${var:NAME} (NAME: letters, digits, _)"
    for name in dict.fromkeys(names):
        if name not in known:
            yield unknown(name, known)
        elif name not in values:
            yield (
                f"variable '{name}' has no value: give it a default, a value in the environment, "
                f"{ENVIRONMENT_PREFIX}{name} or --var {name}=VALUE"
            )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
