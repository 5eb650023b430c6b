"""requirements.lock pins, with hashes, a version inside every range of pyproject.toml.

scripts/install (scripts/demo, scripts/test, CI) installs the lock with
``--require-hashes``; embedders get pyproject.toml's compatible ranges. These
tests fail when one was changed without the other (run scripts/lock).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}\b")


def _lock() -> dict[str, tuple[Version, int]]:
    """name → (pinned version, number of sha256 hashes)."""
    pins: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        pin = PIN.match(line)
        if pin:
            name = canonicalize_name(pin.group(1))
            assert name not in pins, f"{name} is pinned twice"
            pins[name] = (Version(pin.group(2)), 0)
        elif HASH.search(line):
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
        else:
            assert not line.strip() or line.lstrip().startswith("#"), f"unexpected line in the lock: {line!r}"
    return pins


def _installed_by_our_scripts() -> list[Requirement]:
    names = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"]
    return [Requirement(r) for r in names + PYPROJECT["build-system"]["requires"]]


def test_every_dependency_application_test_and_build_is_pinned_inside_its_range() -> None:
    pins = _lock()
    for requirement in _installed_by_our_scripts():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run scripts/lock"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"requirements.lock pins {name} {pins[name][0]}, outside pyproject.toml's {requirement}: run scripts/lock"
        )


def test_every_pin_has_a_hash_so_pip_can_require_them() -> None:
    pins = _lock()
    assert len(pins) > 40  # the application's, the test tools', their dependencies'
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_aiosmpplib_is_exactly_0_7_4_in_both_and_the_other_ranges_are_bounded() -> None:
    assert _lock()["aiosmpplib"][0] == Version("0.7.4")
    ranges: dict[str, SpecifierSet] = {canonicalize_name(r.name): r.specifier for r in _installed_by_our_scripts()}
    assert str(ranges["aiosmpplib"]) == "==0.7.4"  # the transport uses its internals
    unbounded = [
        name
        for name, specifier in ranges.items()
        if name not in {"aiosmpplib", "tzdata", "setuptools", "wheel"}  # tzdata: the newest data is right
        and not any(s.operator == "<" for s in specifier)
    ]
    assert unbounded == [], "a compatible range has an upper bound (below the next major release)"
