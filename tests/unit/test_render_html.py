"""bot/render/html.py without a browser: order, de-duplication, contrast, an empty audit, and flat
memory over a long stream (the page as seen in Chromium: tests/e2e/test_audit_html.py)."""

from __future__ import annotations

import io
import os
import re
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from bot.render.html import BACKGROUND, COLOURS, CSP, SCRIPT, STYLE, write_audit_html
from workers.report import AuditSummary

AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def _finding(check: str, status: str, title: str, cert: str | None = None) -> dict[str, Any]:
    return {
        "check": check,
        "status": status,
        "certificate": cert,
        "title": title,
        "detail": f"{title}.",
        "remedy": "",
        "evidence": {},
    }


def _report(user: str, verdict: str, findings: list[dict[str, Any]], name: str = "") -> dict[str, Any]:
    return {
        "schema": 1,
        "kind": "diagnosis",
        "subject": {"query": user, "primary_smtp": f"{user}@contoso.example", "display_name": name},
        "verdict": verdict,
        "headline": f"About {user}.",
        "findings": findings,
    }


def _page(reports: list[dict[str, Any]], lang: str = "en") -> tuple[str, AuditSummary]:
    out, summary = io.StringIO(), AuditSummary()
    write_audit_html(
        out, iter(reports), [_finding("sync.freshness", "pass", "Sync current")], summary, AT, lang
    )
    return out.getvalue(), summary


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "tr" and a.get("data-verdict"):
            self.rows.append(str(a["data-verdict"]))


def test_rows_are_failing_first_then_warn_then_ok_in_stream_order_within() -> None:
    reports = [
        _report("a", "info", []),
        _report("b", "fail", [_finding("cert.validity", "fail", "Certificate expired")]),
        _report("c", "warn", [_finding("publish.clutter", "warn", "1 stale values published")]),
        _report("d", "pass", []),
        _report("e", "fail", [_finding("trust.chain", "fail", "No trusted chain")]),
    ]
    page, summary = _page(reports)
    parsed = _Rows()
    parsed.feed(page)
    assert parsed.rows == ["fail", "fail", "warn", "ok", "ok"]
    users = re.findall(r'<td class="user"[^>]*data-sort="([^"]+)"', page)
    assert users == [f"{u}@contoso.example" for u in "becad"]
    assert summary.users == 5 and summary.verdicts["fail"] == 2
    assert 'data-verdict="ok" data-count="2"' in page and "thead" in parsed.tags


def test_a_finding_per_certificate_is_one_line_with_its_count() -> None:
    findings = [_finding("cert.validity", "fail", "Certificate expired", cert=f"{i:064x}") for i in range(3)]
    findings += [_finding("cert.validity", "warn", "Certificate expires in 20 days", cert="f" * 64)]
    page, _ = _page([_report("many", "fail", findings)])
    row = page[page.index('<tr data-verdict="fail">') :]
    row = row[: row.index("</tr>")]
    assert row.count("Certificate expired") == 1 and "×3" in row
    assert row.count("Certificate expires in 20 days") == 1 and "×1" not in row
    # the check counts once for the user in the summary, and its titles differ: the catalogue name
    assert 'data-check="cert.validity" data-users="1"' in page
    assert "e.g. Certificate expired · Certificate expires in 20 days" in page


def test_every_text_colour_has_at_least_4_5_to_1_contrast() -> None:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    bg = luminance(BACKGROUND)
    for name, colour in COLOURS.items():
        fg = luminance(colour)
        ratio = (max(fg, bg) + 0.05) / (min(fg, bg) + 0.05)
        assert ratio >= 4.5, f"{name} {colour}: {ratio:.2f}:1"
    # the table header's tinted background too
    tint = luminance("#f6f8fa")
    assert (tint + 0.05) / (luminance(COLOURS["text"]) + 0.05) >= 4.5


def test_empty_audit_and_unknown_language() -> None:
    page, summary = _page([], lang="fr")
    assert summary.users == 0 and '<html lang="en">' in page
    assert 'id="no-problems"' in page and "<tbody>\n</tbody>" in page


def test_german_labels() -> None:
    page, _ = _page(
        [_report("b", "fail", [_finding("trust.chain", "fail", "Keine vertrauenswürdige Kette")])], "de"
    )
    assert '<html lang="de">' in page and "Stand 20.11.2026, 06:00 UTC · 1 Benutzer" in page
    assert '<th scope="col" data-col="verdict" data-type="number" aria-sort="ascending">Ergebnis</th>' in page


def test_the_page_allows_only_its_own_style_and_script() -> None:
    assert "default-src 'none'" in CSP and "'unsafe-inline'" not in CSP
    page, _ = _page([_report("a", "info", [])])
    assert f"<style>{STYLE}</style>" in page and f"<script>{SCRIPT}</script>" in page
    assert not re.search(r"\s(src|href)=", page) and "url(" not in page and "@import" not in page
    assert " style=" not in page and not re.search(r"\son[a-z]+=", page)  # no inline styles or handlers


def _stream(n: int) -> Iterator[dict[str, Any]]:
    # warn, not fail: AuditSummary keeps a line per failing user (worst_users) by design
    problems = [_finding("cert.validity", "warn", "Certificate expires in 20 days", cert="a" * 64)] * 3
    for i in range(n):
        yield _report(f"user{i:06d}", "warn" if i % 3 else "info", problems if i % 3 else [], name=f"U {i}")


def test_memory_stays_flat_over_a_long_stream() -> None:
    """Rows go to temporary files, not memory: 3x the users costs no more than 1x."""

    def peak(n: int) -> int:
        with open(os.devnull, "w", encoding="utf-8") as out:
            tracemalloc.start()
            try:
                write_audit_html(out, _stream(n), [], AuditSummary(), AT, "en")
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    small, large = peak(2000), peak(6000)
    assert large < small + 400_000, (small, large)  # 4,000 more rows of ~450 bytes would be 1.8 MB


@pytest.mark.parametrize("lang", ["en", "de"])
def test_no_script_still_shows_every_row(lang: str) -> None:
    page, _ = _page([_report(f"u{i}", "warn", []) for i in range(7)], lang)
    assert page.count("<tr data-verdict=") == 7
    assert 'id="controls" hidden' in page  # the controls appear only when the script runs
