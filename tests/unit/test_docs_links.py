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
