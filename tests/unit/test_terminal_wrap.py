"""The terminal: answers wrap at word boundaries at any width, never mid-word, no trailing blanks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.console import render_answer
from workers.answers import ReportAnswer
from workers.diagnosis import Engine
from workers.sources.directory import open_directory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reports() -> list[dict]:  # type: ignore[type-arg]
    directory = open_directory(demo=True)
    engine = Engine(directory.tenant, directory.tenant.collected_at, lang="en")
    try:
        return [
            engine.diagnose(directory.find(u), u).to_json()
            for u in ("stale.smime", "prov.error", "many.values")
        ]
    finally:
        engine.close()


@pytest.mark.parametrize("width", [40, 80, 120])
def test_console_answers_wrap_at_word_boundaries(reports: list[dict], width: int) -> None:  # type: ignore[type-arg]
    for report in reports:
        out = render_answer(ReportAnswer(report), "en", width=width)
        lines = out.splitlines()
        assert all(len(line) <= width for line in lines), max(lines, key=len)
        assert all(line == line.rstrip() for line in lines)
        unwrapped = render_answer(ReportAnswer(report), "en", width=10_000)
        longest = max(len(w) for w in unwrapped.split())
        if longest < width - 4:  # only a word longer than a line may be cut
            assert out.split() == unwrapped.split()  # wrapping moved line breaks, never split a word


def test_the_command_line_wraps_at_columns_and_files_are_not_wrapped(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "diagnose", "stale.smime", "--demo"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) > 10 and all(len(line) <= 80 for line in lines) and "\x1b[" not in done.stdout
