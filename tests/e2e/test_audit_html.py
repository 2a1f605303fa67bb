"""The HTML audit report as a person sees it: `smime-doctor audit --demo --format html`, opened in
headless Chromium (Debian's chromium + chromium-driver, installed on demand by
tests/support/browser.py, driven with Selenium).

At 1366×900 the verdict counts are above the fold, a header click sorts, the filter hides rows;
at 390×844 the page does not scroll sideways; printed, the table header repeats (thead is a
table-header-group) and the controls are gone. A hostile display name stays text. Screenshots go
to the test's tmp_path, and to docs/img/ when SMIME_DOCTOR_WRITE_SCREENSHOTS=1.

The first tests read the file with html.parser only (no browser): structure, order, counts.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import set_viewport, start_chromium
from workers.demo_tenant import COLLECTED_AT, DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
DOCS_IMG = ROOT / "docs" / "img"
WIDE, TALL = 1366, 900
PHONE, PHONE_TALL = 390, 844
HOSTILE = '<script>window.__pwned=1</script>"\'><img src=x onerror="window.__pwned=2">\x1b[31m\u202eAdele'


def smime_doctor(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script (as an admin runs it), else the module."""
    script = Path(sys.executable).with_name("smime-doctor")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=180, check=False, cwd=ROOT)


def _html_report(path: Path, *extra: str) -> Path:
    done = smime_doctor("audit", *extra, "--format", "html", "--out", str(path))
    assert done.returncode == 1, done.stderr  # the demo has failing users
    assert done.stdout == "" and path.stat().st_size > 0
    return path


@pytest.fixture(scope="module")
def report_en(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _html_report(tmp_path_factory.mktemp("html") / "audit.html", "--demo")


@pytest.fixture(scope="module")
def report_de(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _html_report(tmp_path_factory.mktemp("html") / "audit-de.html", "--demo", "--lang", "de")


@pytest.fixture(scope="module")
def audit_json() -> dict[str, Any]:
    done = smime_doctor("audit", "--demo", "--format", "json")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (installed with apt if missing; under CI=true a
    missing browser fails the tests, locally without root it skips them)."""
    driver = start_chromium(WIDE, TALL)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """The browser back at 1366×900, screen media, after the test."""
    yield browser
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    set_viewport(browser, WIDE, TALL)


def _open(driver: Any, path: Path, width: int = WIDE, height: int = TALL) -> None:
    set_viewport(driver, width, height)
    driver.get(path.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"


def _screenshot(driver: Any, tmp_path: Path, name: str) -> Path:
    """The viewport as PNG under tmp_path (the test's artefact), and in docs/img/ on request."""
    data = base64.b64decode(driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"])
    target = tmp_path / name
    target.write_bytes(data)
    if os.environ.get("SMIME_DOCTOR_WRITE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS_IMG / name)
    return target


# -- the file itself (html.parser, no browser) -----------------------------------------------------


class _Page(HTMLParser):
    """What the tests read from the markup: the root's lang, header cells, rows, counts, problems."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.viewport = ""
        self.in_thead = False
        self.headers: list[str] = []
        self.rows: list[dict[str, str]] = []
        self.counts: dict[str, int] = {}
        self.top: list[tuple[str, int]] = []
        self.scripts = 0
        self.external: list[str] = []
        self._th: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag == "meta" and a.get("name") == "viewport":
            self.viewport = a.get("content", "")
        if tag == "thead":
            self.in_thead = True
        if tag == "th" and self.in_thead:
            self._th = []
        if tag == "tr" and "data-verdict" in a:
            self.rows.append({"verdict": a["data-verdict"]})
        if tag == "td" and self.rows and "data-sort" in a and "user" in a.get("class", ""):
            self.rows[-1]["user"] = a["data-sort"]
        if tag == "li" and "data-count" in a:
            self.counts[a["data-verdict"]] = int(a["data-count"])
        if tag == "g" and "data-users" in a:
            self.top.append((a["data-check"], int(a["data-users"])))
        if tag == "script":
            self.scripts += 1
        self.external += [v for k, v in a.items() if k in ("src", "href") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self.in_thead = False
        if tag == "th" and self._th is not None:
            self.headers.append("".join(self._th).strip())
            self._th = None

    def handle_data(self, data: str) -> None:
        if self._th is not None:
            self._th.append(data)


def _parse(path: Path) -> _Page:
    parsed = _Page()
    parsed.feed(path.read_text(encoding="utf-8"))
    return parsed


def test_structure_order_and_counts_match_the_json_audit(report_en: Path, audit_json: dict[str, Any]) -> None:
    parsed = _parse(report_en)
    assert parsed.lang == "en" and parsed.viewport == "width=device-width, initial-scale=1"
    assert parsed.headers == ["User", "Verdict", "Answer", "Problems"]
    summary = audit_json["summary"]
    verdicts = summary["verdicts"]
    assert len(parsed.rows) == summary["users"] == len(audit_json["reports"]) == 43
    assert parsed.counts == {
        "fail": verdicts.get("fail", 0),
        "warn": verdicts.get("warn", 0),
        "ok": summary["users"] - verdicts.get("fail", 0) - verdicts.get("warn", 0),
    }
    order = [r["verdict"] for r in parsed.rows]
    assert order == sorted(order, key=["fail", "warn", "ok"].index), "failing users first, then warn, then ok"
    assert order.count("fail") == verdicts["fail"] and order.count("warn") == verdicts["warn"]
    # the same users as the JSON audit, in its order within each verdict group
    json_users = [
        str(r["subject"].get("primary_smtp") or r["subject"]["query"]).lower() for r in audit_json["reports"]
    ]
    json_fail = [u for u, r in zip(json_users, audit_json["reports"], strict=True) if r["verdict"] == "fail"]
    assert [r["user"] for r in parsed.rows if r["verdict"] == "fail"] == json_fail
    assert sorted(r["user"] for r in parsed.rows) == sorted(json_users)
    # top problems: users affected per check, as the JSON summary counts them, most first
    assert len(parsed.top) == 10
    expected = {check: n for check, n in summary["checks"]}
    assert all(expected[check] == n for check, n in parsed.top)
    assert [n for _, n in parsed.top] == sorted((n for _, n in summary["checks"]), reverse=True)[:10]
    # one page, nothing loaded from anywhere
    assert parsed.scripts == 1 and parsed.external == []
    text = report_en.read_text(encoding="utf-8")
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text
    assert text.count("<svg id=") == 2  # the verdict bar and the top-problems chart


def test_findings_repeated_per_certificate_are_one_line_with_a_count(report_en: Path) -> None:
    text = report_en.read_text(encoding="utf-8")
    row = text[text.index('data-sort="many.values@contoso.example"') :]
    row = row[: row.index("</tr>")]
    assert row.count('data-check="cert.validity"') == 1 and "×11" in row


def test_german_report_has_german_labels(report_de: Path) -> None:
    parsed = _parse(report_de)
    assert parsed.lang == "de"
    assert parsed.headers == ["Benutzer", "Ergebnis", "Antwort", "Probleme"]
    text = report_de.read_text(encoding="utf-8")
    for label in (
        "S/MIME-Prüfbericht",
        "Häufigste Probleme",
        "Mandantenweite Befunde",
        "Benutzer mit Fehlern",
    ):
        assert label in text
    for english in (">Users<", ">Verdict<", "Most common problems", "Tenant-wide findings", "users fail"):
        assert english not in text


# -- in the browser ----------------------------------------------------------------------------------


def _order(driver: Any) -> list[str]:
    return driver.execute_script(  # type: ignore[no-any-return]
        "return Array.from(document.querySelectorAll('#users-table tbody tr'))"
        ".map(function (r) { return r.cells[0].getAttribute('data-sort'); });"
    )


def _visible(driver: Any) -> list[dict[str, str]]:
    return driver.execute_script(  # type: ignore[no-any-return]
        "return Array.from(document.querySelectorAll('#users-table tbody tr')).filter(function (r) {"
        " return r.getClientRects().length > 0; }).map(function (r) {"
        " return {text: r.textContent.toLowerCase(), verdict: r.getAttribute('data-verdict')}; });"
    )


def test_summary_is_above_the_fold_at_1366(page: Any, report_en: Path, tmp_path: Path) -> None:
    _open(page, report_en)
    counts = page.find_element("id", "verdict-counts")
    assert counts.is_displayed()
    bottom = page.execute_script("return arguments[0].getBoundingClientRect().bottom", counts)
    assert bottom < TALL
    chart_top = page.execute_script(
        "return document.getElementById('verdict-chart').getBoundingClientRect().top"
    )
    assert chart_top < TALL  # the verdict chart starts on the first screen too
    assert page.find_element("id", "controls").is_displayed()  # the script ran (CSP hash matches)
    _screenshot(page, tmp_path, "audit-1366.png")


def test_clicking_a_header_sorts_the_rows(page: Any, report_en: Path) -> None:
    _open(page, report_en)
    before = _order(page)
    header = page.find_element("css selector", "#users-table th[data-col=user]")
    header.click()
    after = _order(page)
    assert after != before and after == sorted(before)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert _order(page) == sorted(before, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    page.find_element("css selector", "#users-table th[data-col=verdict]").click()
    verdicts = page.execute_script(
        "return Array.from(document.querySelectorAll('#users-table tbody tr')).map(function (r) {"
        " return r.getAttribute('data-verdict'); });"
    )
    assert verdicts == sorted(verdicts, key=["fail", "warn", "ok"].index)


def test_filter_hides_rows_that_do_not_match(page: Any, report_en: Path) -> None:
    _open(page, report_en)
    total = len(_visible(page))
    assert total == 43
    box = page.find_element("id", "filter")
    box.send_keys("stale")
    shown = _visible(page)
    assert 0 < len(shown) < total and all("stale" in row["text"] for row in shown)
    assert page.find_element("id", "shown").text.startswith(f"{len(shown)} of 43")
    box.clear()
    box.send_keys("publish.clutter")  # check ids are searchable too
    assert all("publish.clutter" in row["text"] for row in _visible(page))
    page.execute_script("arguments[0].value = ''; arguments[0].dispatchEvent(new Event('input'));", box)
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "verdict-filter")).select_by_value("warn")
    shown = _visible(page)
    assert shown and {row["verdict"] for row in shown} == {"warn"}


def test_phone_width_has_no_horizontal_page_scroll(page: Any, report_en: Path, tmp_path: Path) -> None:
    _open(page, report_en, PHONE, PHONE_TALL)
    assert page.execute_script("return window.innerWidth") == PHONE
    assert page.execute_script("return document.documentElement.scrollWidth") <= PHONE
    counts = page.find_element("id", "verdict-counts")
    assert page.execute_script("return arguments[0].getBoundingClientRect().bottom", counts) < PHONE_TALL
    _screenshot(page, tmp_path, "audit-390.png")
    page.find_element("css selector", "#users-table th[data-col=problems]").click()  # sorting still works
    assert page.execute_script("return document.documentElement.scrollWidth") <= PHONE


def test_print_repeats_the_header_and_drops_the_controls(page: Any, report_en: Path) -> None:
    for width in (WIDE, PHONE):  # the phone layout must not leak into print
        _open(page, report_en, width, TALL)
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert page.execute_script("return matchMedia('print').matches")
        style = page.execute_script(
            "var s = getComputedStyle(document.querySelector('#users-table thead'));"
            "return [s.display, getComputedStyle(document.getElementById('controls')).display,"
            " getComputedStyle(document.querySelector('#users-table tbody tr')).display];"
        )
        assert style == ["table-header-group", "none", "table-row"]
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def test_without_javascript_the_table_is_complete(page: Any, report_en: Path) -> None:
    page.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        _open(page, report_en)
        assert len(_visible(page)) == 43  # (execute_script still runs: WebDriver is not the page)
        assert not page.find_element("id", "controls").is_displayed()
        assert not page.find_element("css selector", ".sort-hint").is_displayed()
        assert page.find_element("css selector", "#users-table thead th").text == "User"
    finally:
        page.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_german_in_the_browser(page: Any, report_de: Path) -> None:
    _open(page, report_de)
    assert page.execute_script("return document.documentElement.lang") == "de"
    assert page.find_element("id", "shown").text == "43 von 43 Benutzern angezeigt"
    heads = [th.text.strip(" ▲▼") for th in page.find_elements("css selector", "#users-table thead th")]
    assert heads == ["Benutzer", "Ergebnis", "Antwort", "Probleme"]


def test_hostile_display_name_is_shown_as_text(page: Any, tmp_path: Path) -> None:
    """A display name with markup, quotes and terminal/bidi controls, through the CLI from a
    snapshot: nothing runs, no element appears, the name reads as written (controls shown)."""
    snap = tmp_path / "snap"
    shutil.copytree(DATA_DIR, snap)
    ldif = snap / "ad.ldif"
    encoded = base64.b64encode(HOSTILE.encode()).decode()
    text = ldif.read_text(encoding="utf-8")
    assert "displayName: Adele Vance\n" in text
    ldif.write_text(
        text.replace("displayName: Adele Vance\n", f"displayName:: {encoded}\n", 1), encoding="utf-8"
    )
    out = _html_report(tmp_path / "hostile.html", "--snapshot", str(snap), "--at", COLLECTED_AT)
    _open(page, out)
    assert page.execute_script("return typeof window.__pwned") == "undefined"
    assert page.execute_script("return document.scripts.length") == 1
    assert page.execute_script("return document.images.length") == 0
    cell = page.find_element("css selector", "#users-table td[data-sort='adele.vance@contoso.example'] .name")
    shown = page.execute_script("return arguments[0].textContent", cell)
    assert (
        shown
        == '<script>window.__pwned=1</script>"\'><img src=x onerror="window.__pwned=2">\\x1b[31m\\u202eAdele'
    )
    assert page.execute_script("return arguments[0].children.length", cell) == 0
    # the filter takes the same text without acting on it
    page.find_element("id", "filter").send_keys("<script>")
    assert [r["text"] for r in _visible(page)] and all("adele.vance" in r["text"] for r in _visible(page))
