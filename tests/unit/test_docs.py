"""The contracts live in docs/, and the generated parts cannot drift from the code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.gen_catalogue import TARGET as CHECKS_MD
from scripts.gen_catalogue import render
from workers.checks import REGISTRY
from workers.checks.base import check, outcomes

ROOT = Path(__file__).resolve().parents[2]


def test_docs_checks_md_matches_the_registrations() -> None:
    assert CHECKS_MD.read_text(encoding="utf-8") == render(), "docs/checks.md is stale: run `make docs`"


def test_every_check_is_in_docs_checks_md_with_its_rule() -> None:
    text = CHECKS_MD.read_text(encoding="utf-8")
    for spec in REGISTRY.values():
        assert f"| `{spec.id}` | {spec.scope} |" in text
        assert spec.rule.replace("|", "\\|") in text


def test_every_check_has_a_one_line_rule_and_a_severity() -> None:
    for spec in REGISTRY.values():
        assert spec.rule and "\n" not in spec.rule, spec.id
        # the severity column is read from the status values in the check's code
        assert set(outcomes(spec)) - {"pass"}, f"{spec.id}: no fail/warn/info status found in its code"


def test_registration_without_a_rule_fails() -> None:
    with pytest.raises(TypeError):
        check("test.no_rule", en="x", de="x")  # type: ignore[call-arg]
    for bad in ("", "  ", "two\nlines"):
        with pytest.raises(RuntimeError, match="rule"):
            check("test.bad_rule", en="x", de="x", rule=bad)
    assert "test.no_rule" not in REGISTRY and "test.bad_rule" not in REGISTRY


@pytest.mark.parametrize("lang", ["en", "de"])
def test_explain_shows_the_rule_and_the_summary_in_the_askers_language(lang: str) -> None:
    from handlers.help import explain

    spec = REGISTRY["publish.count_limit"]
    text = explain(spec.id, lang)
    assert spec.summary[lang] in text and spec.rule in text
    other = "de" if lang == "en" else "en"
    assert spec.summary[other] not in text


def _repository_files() -> list[Path]:
    """Tracked files plus new ones not ignored (so a fresh citation fails before its commit)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):  # an export without .git
        skip = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.parts)]
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_nothing_cites_the_contracts_outside_the_repository() -> None:
    # The contracts used to live next to the repository; a clone has none of them.
    needles = ["../" + "shared", "/work/" + "shared", "shared/" + "reference"]
    needles += [name + ".md" for name in ("CHECKS", "SNAPSHOT", "DESIGN")]
    hits = []
    for path in _repository_files():
        if not path.is_file() or path.suffix in {".png", ".zip", ".sst", ".der", ".cer", ".p7b"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if any(needle in line for needle in needles):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not hits, "cite docs/ instead:\n" + "\n".join(hits)


@pytest.mark.parametrize("page", ["snapshot.md", "architecture.md", "checks.md"])
def test_the_contracts_are_in_the_repository(page: str) -> None:
    assert (ROOT / "docs" / page).is_file()
