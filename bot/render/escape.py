"""Text from the directory or a certificate, made inert for each place it is shown.

Display names, subjects, SAN values, addresses, request reasons and check details are
written by whoever controls an account or a certificate — a self-published certificate whose
subject reads `[✅ Approve](https://evil.example)` must stay text in the approvers' card.
Each renderer escapes every interpolated value with the function for its markup; our own
fixed sentences keep their formatting. Values are escaped, not stripped, so `O'Brien & Söhne
<Sales>` and `Anna_Maria*` still read as written.

Control characters (C0, DEL, C1), line and paragraph separators and bidirectional overrides
are shown as `\\xNN` / `\\uNNNN` in every format: they could move the cursor, recolour or
clear a terminal, fake a new line, or reorder what a reader sees.
"""

from __future__ import annotations

import html
import re

from rich.markup import escape as _rich_escape

# C0 controls, DEL, C1 controls; Arabic letter mark, LRM/RLM, line/paragraph separators,
# bidi embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_NO_NL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _shown(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible_controls(value: object, multiline: bool = False) -> str:
    """`value` as text with every control/bidi character written out (`\\x1b`, `\\u202e`), so it
    is seen rather than obeyed. `multiline` keeps line feeds (for multi-line plain messages)."""
    return (_CONTROL_NO_NL if multiline else _CONTROL).sub(_shown, str(value))


# -- Adaptive Cards / Teams markdown ------------------------------------------------------------

_WJ = "\u2060"  # WORD JOINER: invisible, no break; splits a syntax pair without a visible change
# CommonMark backslash escapes for what Teams' markdown subset acts on (emphasis, links, lists)
# and what markdown-it (Teams desktop/web) adds: code, strikethrough, autolinks/HTML.
_CARD_INLINE = re.compile(r"[\\*_\[\]`~<>]")
_CARD_ENTITY = re.compile(r"&(?=#|[A-Za-z][A-Za-z0-9]*;)")
_CARD_LINE_START = re.compile(r"^([ \t]*)([-+#]|\d+(?=[.)]))", re.MULTILINE)
_CARD_INDENT = re.compile(r"^ +", re.MULTILINE)


def for_card_markdown(value: object, multiline: bool = False) -> str:
    """For Adaptive Card TextBlock text and Fact titles/values (markdown in Teams) and Teams
    text messages. Backslash-escapes `\\ * _ [ ] ` ~ < >`, an entity-like `&`, and list/heading
    markers at a line start (`-`, `+`, `#`, `1.`), as CommonMark renderers (markdown-it in
    Teams desktop/web) honour; leading spaces become no-break spaces (no indented code). The shared native renderer (Teams mobile) does not honour a
    backslash before `[` and has shown escaping backslashes literally (AdaptiveCards#5590,
    Teams-AdaptiveCards-Mobile#83), so a word joiner also goes between `]` and `(` — no
    renderer makes that a link — and between `{{`, so `{{DATE(…)}}` is not evaluated."""
    text = visible_controls(value, multiline)
    text = _CARD_INLINE.sub(lambda m: "\\" + m.group(), text)
    text = _CARD_ENTITY.sub(r"\\&", text)
    text = _CARD_LINE_START.sub(_card_line_start, text)
    text = _CARD_INDENT.sub(lambda m: "\u00a0" * len(m.group()), text)  # indented = code block
    return re.sub(r"\](?=\()|\{(?=\{)", lambda m: m.group() + _WJ, text)


def _card_line_start(m: re.Match[str]) -> str:
    lead, marker = m.group(1), m.group(2)
    if marker.isdigit():  # "1." / "1)" ordered list: escape the punctuation after the number
        return lead + marker + "\\"
    return lead + "\\" + marker


# -- Slack ----------------------------------------------------------------------------------------


def for_slack_text(value: object, multiline: bool = False) -> str:
    """For a message's top-level `text` (the notification fallback) and plain sentences: Slack's
    documented rule — `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;` — so `<!channel>`, `<@U…>` and
    `<http://x|label>` stay text."""
    text = visible_controls(value, multiline)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack has no escape for its formatting characters. A date token with an invalid format
# always shows its fallback, as plain text: `<!date^00000000^{_}|*>` displays `*` and formats
# nothing (the approach jsx-slack's <Escape> uses). Slack formats only at word boundaries
# (`Super_cali_fragilistic*expiali*docious` stays as typed), so `*`, `_`, `~` between two
# letters or digits — `anna_maria@…`, `prune_certificates` — are left as they are; every
# backtick, and the colon opening an `:emoji:` code, become tokens. Used with `verbatim: true`
# text objects, so bare URLs, #channels and @here are not linked either.
_SLACK_FORMAT = re.compile(r"(?<![^\W_])[*_~]|[*_~](?![^\W_])|`|:(?=[\w+-]*[A-Za-z][\w+-]*:)")


def _slack_literal(char: str) -> str:
    return "<!date^00000000^{_}|" + char + ">"


def for_slack_mrkdwn(value: object, multiline: bool = False) -> str:
    """For Block Kit `mrkdwn` text (sections, fields, context elements): `for_slack_text`, and
    each `* _ ~ `` ` `` (and the colon opening an `:emoji:` code) as a date token that shows the
    character and cannot format. A line starting with `>` gets a soft hyphen first: Slack
    quotes a line starting with `&gt;` too."""
    text = for_slack_text(value, multiline)
    text = _SLACK_FORMAT.sub(lambda m: _slack_literal(m.group()), text)
    return re.sub(r"^&gt;", "\u00ad&gt;", text, flags=re.MULTILINE)


def for_slack_code(value: object) -> str:
    """For a value inside our own `code` span: nothing formats there, but `&<>` still parse and
    a backtick would end the span, so it becomes ˋ (U+02CB)."""
    return for_slack_text(value).replace("`", "\u02cb")


# -- terminal and HTML ----------------------------------------------------------------------------


def for_terminal(value: object) -> str:
    """For rich console markup: `[link=…]`, `[bold]` and the like are escaped (rich.markup.escape),
    and escape sequences, CR, BEL, C1 and bidi controls are written out instead of reaching the
    terminal. Print with `emoji=False` as well, or `:warning:` in a name becomes ⚠."""
    return _rich_escape(visible_controls(value))


def for_html(value: object) -> str:
    """For HTML text and quoted attribute values: `& < > " '` as entities, controls written out."""
    return html.escape(visible_controls(value), quote=True)
