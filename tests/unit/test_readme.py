"""The README's catalogue is generated from the registered checks; it must not drift."""

from __future__ import annotations

import re
from pathlib import Path

from scripts.gen_catalogue import END, START, block
from workers.checks import REGISTRY

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_catalogue_matches_the_code() -> None:
    text = README.read_text()
    current = text[text.index(START) : text.index(END) + len(END)]
    assert current == block(), "run `make catalogue` to refresh the README"


def test_readme_states_the_catalogue_size() -> None:
    stated = re.search(r"catalogue of (\d+) checks", README.read_text())
    assert stated and int(stated.group(1)) == len(REGISTRY)
