"""The image installs requirements-runtime.txt alone: it must hold the operator's whole tree.

A runtime package pinned only in requirements.txt would pass every other test (the dev
virtualenv has it) and break the image; these tests catch that, from the installed metadata.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """Package → pinned version of a requirements file (its `-r` lines aside)."""
    found = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", "-")):
            name, version = line.split("==")
            found[canonical(name)] = version
    return found


RUNTIME = pins(REPO / "requirements-runtime.txt")
ALL = pins(REPO / "requirements.txt")


def test_requirements_txt_includes_the_runtime_pins_and_repeats_none() -> None:
    """requirements.txt = `-r requirements-runtime.txt` + dev, test and Pulumi pins, disjoint."""
    assert "-r requirements-runtime.txt" in (REPO / "requirements.txt").read_text().splitlines()
    assert not RUNTIME.keys() & ALL.keys()


def test_the_runtime_pins_close_over_the_operators_dependencies() -> None:
    """Every direct dependency and everything it needs (at run time) is a runtime pin."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    todo = [Requirement(spec) for spec in project["dependencies"]]
    seen: set[str] = set()
    missing = []
    while todo:
        requirement = todo.pop()
        name = canonical(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        if name not in RUNTIME:
            missing.append(name)
        for spec in metadata.requires(requirement.name) or []:
            needed = Requirement(spec)
            if needed.marker is None or needed.marker.evaluate({"extra": ""}):
                todo.append(needed)
    assert not missing, f"pin these in requirements-runtime.txt (the image): {sorted(missing)}"


def test_no_dev_or_pulumi_package_goes_into_the_image() -> None:
    """Test tools, linters and Pulumi stay out of requirements-runtime.txt."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = {canonical(Requirement(spec).name)
              for group in project["optional-dependencies"].values() for spec in group}
    assert not extras & RUNTIME.keys()
