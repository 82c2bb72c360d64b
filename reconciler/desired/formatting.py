"""The canonical layout of manifest files, written with ruamel.yaml's round-trip mode so comments survive.

Canonical means: two-space mappings, sequences indented under their key, no re-wrapping of long strings,
quotes as the author wrote them, key order kept. ``fmt`` rewrites files into it; ``import`` writes in it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler import errors, files
from reconciler.desired import discovery, limits


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.explicit_start = False
    return yaml


def canonical(text: str, name: str = "<text>") -> str:
    """``text`` in the canonical layout; a file that does not parse is an error at its position."""
    yaml = _yaml()
    try:
        documents = list(yaml.load_all(text))
        out = io.StringIO()
        yaml.dump_all(documents, out)
    except Exception as error:  # ruamel raises many unrelated classes; all carry marks or a message
        raise errors.ManifestErrors([limits.yaml_problem(name, error, text)]) from None
    return out.getvalue()


def dump(documents: Sequence[Any]) -> str:
    """Plain data as manifest text in the canonical layout (for ``import``)."""
    out = io.StringIO()
    _yaml().dump_all(list(documents), out)
    return out.getvalue()


@dataclass(frozen=True)
class Formatted:
    path: Path
    changed: bool


def format_files(paths: Sequence[str], *, check: bool, max_bytes: int = limits.DEFAULT_MAX_BYTES) -> list[Formatted]:
    """Every manifest under ``paths`` in the canonical layout; with ``check`` nothing is written."""
    found, problems = discovery.find_files(paths)
    results = []
    for path in found:
        try:
            text = limits.read_text(path, max_bytes)
            formatted = canonical(text, str(path))
        except errors.ManifestErrors as error:
            problems.extend(error.problems)
            continue
        changed = formatted != text
        if changed and not check:
            files.write_atomically(path, formatted)
        results.append(Formatted(path, changed))
    if problems:
        raise errors.ManifestErrors(problems)
    return results
