"""The tree stays the data flow the README describes: small modules, and a Design section naming each one."""

from __future__ import annotations

import re

from .helpers import ROOT

PACKAGE = ROOT / "reconciler"
MAX_LINES = 300
# Code spans of the Design section's package lists that name no module: a class, a library, a command.
NOT_MODULES = {"Client", "httpx", "fmt", "import"}


def _modules() -> dict[str, set[str]]:
    """The package's modules outside the emulator, by subpackage ("" for the top level)."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[0] == "emulator" or parts[-1] in ("__init__", "__main__"):
            continue
        found.setdefault("/".join(parts[:-1]), set()).add(parts[-1])
    return found


def _design() -> dict[str, set[str]]:
    """The Design section's lists: each package's code spans, and the top level's ("" for it)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    design = readme.split("## Design\n", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, set[str]] = {}
    for item in re.findall(r"^- (.*?)(?=^- |^\S|\Z)", design, re.M | re.S):
        package = re.match(r"\*\*`(\w+)/`\*\*", item)
        key = package.group(1) if package else ""
        listed.setdefault(key, set()).update(re.findall(r"`(\w+)`", item))
    return listed


def test_no_module_outside_the_emulator_passes_three_hundred_lines() -> None:
    lines = {
        f"{package}/{name}": len((PACKAGE / package / f"{name}.py").read_text().splitlines())
        for package, names in _modules().items()
        for name in names
    }
    assert {name: count for name, count in lines.items() if count > MAX_LINES} == {}, "split along the data flow"


def test_the_design_section_names_every_module_where_it_lives_and_no_module_that_is_gone() -> None:
    modules, listed = _modules(), _design()
    for package, names in modules.items():
        assert names <= listed.get(package, set()), f"{package or 'reconciler'}: not in the Design section"
    for package, spans in listed.items():
        if package:  # a package's list names its modules only (and a few words that are no module)
            assert spans - modules.get(package, set()) - NOT_MODULES == set(), f"{package}/: no such modules"
