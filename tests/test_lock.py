"""The locks in requirements/ against pyproject.toml, their source: every dependency declared
there is pinned, at a version it allows, with hashes. A dependency added or tightened without
`make lock` fails here, before a fresh clone's hash-checked `make` install does."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
DEV_LOCK = ROOT / "requirements" / "dev.lock"
BUILD_INPUT = ROOT / "requirements" / "build.in"

# `name==version \` or `name==version ; marker \`, as uv pip compile writes a pin.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(lock: Path) -> dict[NormalizedName, Version]:
    found: dict[NormalizedName, Version] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            found[canonicalize_name(match.group(1))] = Version(match.group(2))
    return found


def declared() -> tuple[list[Requirement], list[Requirement], list[Requirement]]:
    """Runtime, dev and build requirements as pyproject.toml and requirements/build.in say."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = [Requirement(r) for r in project["project"]["dependencies"]]
    dev = [Requirement(r) for r in project["project"]["optional-dependencies"]["dev"]]
    build = [Requirement(r) for r in project["build-system"]["requires"]]
    build += [
        Requirement(line)
        for line in BUILD_INPUT.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return runtime, dev, build


def unmet(requirements: list[Requirement], locked: dict[NormalizedName, Version]) -> list[str]:
    problems = []
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = locked.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} does not allow the locked {version}")
    return problems


def test_the_runtime_lock_pins_every_dependency_and_the_build_backend() -> None:
    runtime, _, build = declared()

    assert unmet(runtime + build, pins(RUNTIME_LOCK)) == [], "run `make lock`"


def test_the_dev_lock_pins_every_dependency_with_the_runtime_locks_versions() -> None:
    runtime, dev, _ = declared()
    locked = pins(DEV_LOCK)

    assert unmet(runtime + dev, locked) == [], "run `make lock`"
    # Installed one over the other: shared packages must not move between the two.
    runtime_pins = pins(RUNTIME_LOCK)
    moved = {n: (v, locked[n]) for n, v in runtime_pins.items() if n in locked and locked[n] != v}
    assert moved == {}, "run `make lock`"


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda p: p.name)
def test_every_pin_carries_hashes(lock: Path) -> None:
    # pip --require-hashes refuses a lock with one unhashed pin: say which, here.
    text = lock.read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    unhashed = [e.split()[0] for e in entries if _PIN.match(e) and "--hash=sha256:" not in e]

    assert unhashed == []
    assert len(pins(lock)) > 50
