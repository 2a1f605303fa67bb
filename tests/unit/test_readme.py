"""The README is the front door: short, accurate about the catalogue, and every link resolves."""

from __future__ import annotations

import re
from pathlib import Path

from workers.checks import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_states_the_catalogue_size() -> None:
    stated = re.search(r"catalogue of (\d+) checks", README.read_text())
    assert stated and int(stated.group(1)) == len(REGISTRY)


def test_readme_stays_a_front_door() -> None:
    text = README.read_text()
    assert len(text.encode()) < 8 * 1024, "move details into docs/ and link them"
    for must in ("make demo", "make test", "make lock", "docs/checks.md"):
        assert must in text


def test_links_in_the_readme_and_docs_resolve() -> None:
    pages = [README, ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
