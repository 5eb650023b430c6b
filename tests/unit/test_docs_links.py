"""The README and the docs are self-contained: every link stays inside the repository and leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_links_stay_inside_the_repository(document: Path) -> None:
    broken = []
    for target in _LINK.findall(document.read_text(encoding="utf-8")):
        if target.startswith("#"):
            continue
        path = (document.parent / target.split("#")[0]).resolve()
        if "://" in target or not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
    assert broken == []


def test_the_rules_are_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/rules.md)" in readme
    rules = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for must in ("1.42 €", "21.34 €", "42.69 €", "Europe/Riga", "last day", "JA", "STOP", "3 passwords", "Decision"):
        assert must in rules, must


_CODE = re.compile(r"`([^`\s]+)`")
_REFERENCE = re.compile(r"^(?P<file>[\w./-]+\.py)?(?:::(?P<test>\w+))?$")


def _resolve(name: str) -> Path:
    if "/" in name:
        return ROOT / name
    found = sorted((ROOT / "tests").rglob(name))
    assert len(found) == 1, f"{name}: {len(found)} files of that name under tests/"
    return found[0]


def test_every_test_that_security_md_names_exists() -> None:
    """``file::test`` (or ``::test`` after a file) in docs/security.md names a test that is there."""
    current: Path | None = None
    missing, named = [], 0
    for span in _CODE.findall((ROOT / "docs" / "security.md").read_text(encoding="utf-8")):
        reference = _REFERENCE.match(span)
        if reference is None or not span.strip(":"):
            continue
        if reference["file"]:
            current = _resolve(reference["file"])
            if not current.exists():
                missing.append(span)
                continue
        if reference["test"]:
            assert current is not None, f"{span} names no file before it"
            named += 1
            if not re.search(rf"^(async )?def {reference['test']}\(", current.read_text(encoding="utf-8"), re.M):
                missing.append(f"{current.relative_to(ROOT)}::{reference['test']}")
    assert named > 40 and missing == []
