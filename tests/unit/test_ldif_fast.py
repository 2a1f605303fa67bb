"""The fast LDIF reader reads exactly what the ldif package reads.

`workers.sources.ldif_fast` parses plain LDIF itself and hands anything else to the
``ldif`` package. These tests hold `iter_ldif` to the library-only reader it replaced:
the same records (dn, keys, value bytes, order) and the same errors, line number
included - for generated LDIF, for mutations of the demo tenant's exports, and with
chunks small enough to cut the input at every place.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import ldif
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.strategies import mutations
from workers.errors import LdifError
from workers.sources import ldif_fast
from workers.sources.parsing import _first_line, _to_utf8_stream, iter_ldif

DATA_DIR = Path(__file__).resolve().parents[2] / "workers" / "demo_tenant" / "data"
DEMO_FILES = ["ad.ldif", "ad-config.ldif"]
DEMO_BYTES = {name: (DATA_DIR / name).read_bytes() for name in DEMO_FILES}

FUZZ = settings(
    max_examples=int(os.environ.get("SMIME_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Record = tuple[str, dict[str, list[bytes]]]
Outcome = tuple[list[Record], str | None]


def library_iter_ldif(path: Path) -> Iterator[Record]:
    """iter_ldif as it was before the fast reader: the ldif package reads everything."""
    parser: ldif.LDIFParser | None = None
    try:
        with path.open("rb") as raw:
            stream = _to_utf8_stream(raw)
            parser = ldif.LDIFParser(stream, encoding=None, strict=True)
            for dn, entry in parser.parse():
                if not dn:
                    continue
                attrs: dict[str, list[bytes]] = {}
                for name, values in entry.items():
                    key = name.split(";", 1)[0].lower()
                    attrs.setdefault(key, []).extend(
                        v if isinstance(v, bytes) else str(v).encode() for v in values
                    )
                yield dn, attrs
    except OSError as exc:
        raise LdifError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    except Exception as exc:
        where = f" near line {parser.line_counter}" if parser is not None and parser.line_counter else ""
        reason = _first_line(exc)
        if reason == "subsection not found":
            reason = "a line is not 'attribute: value'"
        raise LdifError(f"{path.name} is not valid LDIF{where} ({reason})") from None


def outcome(read: Callable[[Path], Iterator[Record]], path: Path) -> Outcome:
    """The records read before an error, and the error's message (None if none)."""
    records: list[Record] = []
    try:
        for record in read(path):
            records.append(record)
    except LdifError as exc:
        return records, str(exc)
    return records, None


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ldif-fast-") as d:
        yield Path(d)


def assert_reads_like_library(path: Path, data: bytes, chunk: int = 1 << 20, tail: int = 1 << 16) -> Outcome:
    path.write_bytes(data)
    expected = outcome(library_iter_ldif, path)
    with mock.patch.multiple(ldif_fast, _CHUNK=chunk, _TAIL=tail):
        got = outcome(iter_ldif, path)
    assert got == expected
    return got


# --- strategies --------------------------------------------------------------------------

DNS = [
    "CN=Alice Smith,OU=Users,DC=contoso,DC=test",
    "CN=Zoë Jiménez,OU=Users,DC=contoso,DC=test",
    "cn=a+sn=b,dc=test",
    "CN=Smith\\, Bob,DC=test",
    'CN="a,b",DC=test',
    "CN=a , DC=b ",
    "CN=x",
]
ODD_DNS = ["Alice", "", "CN=a\nb", "CN=a,,DC=b"]
TYPES = ["mail", "cn", "objectClass", "userCertificate", "description", "x-attr;lang-en", "proxyAddresses"]
ODD_TYPES = [
    "Mail",
    "userCertificate;binary",
    "usercertificate",
    "version",
    "DN",
    "dn",  # a second dn
    "changetype",
    "control",
    "a b",
    "",
    "m\u00e9il",  # not ASCII
]
ODD_LINES = [
    b"mail alice@contoso.test",  # no colon
    b"photo:< file:///etc/passwd",
    b"changetype: modify",
    b"cert:: !!!",
    b"cert:: QQ",  # bad padding
    b"\r",
    b" continued",
    b"#",
    b"-",
    b"dn:: " + base64.b64encode(b"\xff\xfe"),  # not UTF-8
]

types = st.one_of(
    st.sampled_from(TYPES).map(str.encode),
    st.from_regex(rb"[A-Za-z][A-Za-z0-9-]{0,10}(;[a-z]{1,6})?", fullmatch=True),
)
odd_types = st.sampled_from(ODD_TYPES).map(str.encode)
values = st.one_of(
    st.binary(max_size=40),
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30).map(str.encode),
    st.sampled_from([b"", b" padded ", b":colon", b"<angle", b"#hash", b"a\rb", b"x" * 200]),
)


@st.composite
def attr_line(draw: st.DrawFn, name: bytes, value: bytes) -> bytes:
    """How an exporter might write name=value: plain if it can be, else base64, now and then odd."""
    safe = all(32 <= c < 127 for c in value) and value[:1] not in (b" ", b":", b"<") and value[-1:] != b" "
    style = draw(st.sampled_from(["auto"] * 8 + ["plain", "base64"]))
    if style == "plain" or (style == "auto" and safe):
        sep = draw(st.sampled_from([b": ", b": ", b":", b":  ", b":\t"]))
        return name + sep + value + draw(st.sampled_from([b"", b"", b" ", b"\t"]))
    return name + draw(st.sampled_from([b":: ", b"::"])) + base64.b64encode(value)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    lines: list[bytes] = []
    if draw(st.booleans()):
        lines += [b"version: 1", b""]
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(b"# " + draw(values).replace(b"\n", b""))
        if draw(st.integers(0, 19)) == 0:
            lines.append(b"version: 1")
        dn = draw(st.sampled_from(ODD_DNS if draw(st.integers(0, 19)) == 0 else DNS)).encode()
        lines.append(draw(attr_line(draw(st.sampled_from([b"dn"] * 29 + [b"DN"])), dn)))
        for _ in range(draw(st.integers(0, 6))):
            if draw(st.integers(0, 19)) == 0:
                lines.append(b"#c")
            name = draw(odd_types if draw(st.integers(0, 19)) == 0 else types)
            lines.append(draw(attr_line(name, draw(values))))
        lines += [b""] * draw(st.integers(1, 3))
    if lines and draw(st.integers(0, 4)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(ODD_LINES)))

    physical: list[bytes] = []
    for line in lines:
        width = draw(st.one_of(st.none(), st.integers(1, 30)))
        if width is None or len(line) <= width:
            physical.append(line)
            continue
        physical.append(line[:width])
        rest = line[width:]
        while rest:
            width = draw(st.integers(1, 30))
            physical.append(b" " + rest[:width])
            rest = rest[width:]
    eol = draw(st.sampled_from([b"\n", b"\r\n", b""]))  # b"": mixed
    data = b"".join(line + (eol or draw(st.sampled_from([b"\n", b"\r\n"]))) for line in physical)
    ending = draw(st.sampled_from(["keep"] * 7 + ["strip", "strip", "cr"]))
    if ending == "strip":
        data = data.rstrip(b"\r\n")
    elif ending == "cr":
        data += b"\r"
    return data


def ldif_mutations(base: bytes) -> st.SearchStrategy[bytes]:
    """Edits of an LDIF file that hit its syntax: separators, folds, line ends."""
    inserts = st.one_of(st.binary(min_size=1, max_size=8), st.sampled_from([b"\n", b"\n ", b"\r\n"]))
    return mutations(base, set_bytes=b"\n\r :<#=,+\\\x00\x80\xff", inserts=inserts)


chunks = st.sampled_from([1, 2, 7, 64, 1000, 1 << 20])
tails = st.sampled_from([1, 5, 1 << 16])


# --- the property --------------------------------------------------------------------------


@FUZZ
@given(documents(), chunks, tails)
@example(b"dn: CN=a,DC=b\nmail: a\nMail: b\nmail: c\n", 1 << 20, 1 << 16)
@example(b"version: 1\n\ndn: CN=a,DC=b\n\n\ndn: CN=b,DC=b\nmail: b\n", 3, 1)
def test_generated_ldif_reads_as_the_library_reads_it(
    scratch: Path, data: bytes, chunk: int, tail: int
) -> None:
    assert_reads_like_library(scratch / "export.ldif", data, chunk, tail)


@FUZZ
@given(st.sampled_from(DEMO_FILES).flatmap(lambda name: ldif_mutations(DEMO_BYTES[name])), chunks, tails)
def test_mutated_exports_read_as_the_library_reads_them(
    scratch: Path, data: bytes, chunk: int, tail: int
) -> None:
    assert_reads_like_library(scratch / "export.ldif", data, chunk, tail)


@pytest.mark.parametrize("name", DEMO_FILES)
@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda b: b, id="as-is"),
        pytest.param(lambda b: b.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda b: b"\xef\xbb\xbf" + b, id="utf-8-bom"),
        pytest.param(
            lambda b: b"\xff\xfe" + b.replace(b"\n", b"\r\n").decode().encode("utf-16-le"), id="utf-16"
        ),
    ],
)
@pytest.mark.parametrize("chunk", [1 << 20, 100, 1])
def test_demo_exports_read_as_the_library_reads_them(
    tmp_path: Path, name: str, encode: Callable[[bytes], bytes], chunk: int
) -> None:
    records, error = assert_reads_like_library(tmp_path / name, encode(DEMO_BYTES[name]), chunk)
    assert error is None
    assert records


# --- corners, spelled out ----------------------------------------------------------------

CORNERS = {
    "version and comments before the dn": b"version: 1\n# c\n#d\ndn: CN=a,DC=b\nmail: x\n",
    "version lines only": b"version: 1\n# c\n",
    "version then an attribute": b"version: 1\nmail: x\n",
    "folded dn and values": b"dn: CN=a,D\n C=b\nmail: a\n  b\ncert:: MA\n MC\n",
    "folded type": b"dn: CN=a,DC=b\nma\n il: x\n",
    "fold after the colon": b"dn: CN=a,DC=b\nmail:\n  x\n",
    "blank line folded onto": b"dn: CN=a,DC=b\n\n mail: x\n\ndn: CN=c,DC=d\n",
    "blank line of folds": b"dn: CN=a,DC=b\nmail: x\n\n \ndn: CN=c,DC=d\n",
    "comment folded onto": b"dn: CN=a,DC=b\n# a comment\n mail: x\nmail: y\n",
    "first line starts with a space": b" dn: CN=a,DC=b\n",
    "CRLF": b"dn: CN=a,DC=b\r\nmail: x\r\n\r\ndn: CN=c,DC=d\r\n",
    "CR CR LF": b"dn: CN=a,DC=b\nmail: x\r\r\nsn: y\n",
    "lone CR in a value": b"dn: CN=a,DC=b\nmail: a\rb\n",
    "a line of CR": b"dn: CN=a,DC=b\nmail: a\n\r\n\r\r\ndn: CN=c,DC=d\n",
    "CR at the end": b"dn: CN=a,DC=b\nmail: x\r",
    "no newline at the end": b"dn: CN=a,DC=b\nmail: x",
    "empty value": b"dn: CN=a,DC=b\nmail:\nsn: \n",
    "empty type": b"dn: CN=a,DC=b\n: x\n",
    "URL value": b"dn: CN=a,DC=b\nphoto:< file:///etc/passwd\nmail: x\n",
    "changetype": b"dn: CN=a,DC=b\nchangetype: add\nmail: x\n",
    "two spellings in a record": b"dn: CN=a,DC=b\nuserCertificate;binary:: AQ==\nuserCertificate:: Ag==\nuserCertificate;binary:: Aw==\n",
    "two spellings in two records": b"dn: CN=a,DC=b\nmail: a\n\ndn: CN=b,DC=b\nMail: b\nMail: c\n\ndn: CN=c,DC=b\nmail: d\n",
    "DN as an attribute": b"dn: CN=a,DC=b\nDN: x\n",
    "empty dn": b"dn:\nmail: x\n\ndn: CN=a,DC=b\n",
    "base64 dn": b"dn:: " + base64.b64encode("CN=Zoë,DC=b".encode()) + b"\nmail: x\n",
    "dn with escapes": b"dn: CN=Smith\\, Bob,DC=b\n",
    "two dn lines": b"dn: CN=a,DC=b\ndn: CN=c,DC=b\n",
    "not a DN": b"dn: CN=a,DC=b\nmail: x\n\ndn: Alice\n",
    "dn not UTF-8": b"dn: CN=\xff,DC=b\n",
    "no colon": b"dn: CN=A,DC=x\nmail: a@x\n\ndn: CN=B,DC=x\nmail b@x\n",
    "no colon, a known type": b"dn: CN=A,DC=x\nmail: a@x\n\ndn: CN=B,DC=x\nmail\n",
    "type not ASCII": b"dn: CN=a,DC=b\nm\xc3\xa9il: x\n",
    "bad base64": b"dn: CN=a,DC=b\nmail: x\n\n# c\ndn: CN=c,DC=b\ncert:: QQ\n",
    "record without dn": b"dn: CN=a,DC=b\n\nmail: x\n",
}


@pytest.mark.parametrize("data", CORNERS.values(), ids=CORNERS.keys())
@pytest.mark.parametrize("chunk", [1 << 20, 3])
def test_corner_reads_as_the_library_reads_it(tmp_path: Path, data: bytes, chunk: int) -> None:
    assert_reads_like_library(tmp_path / "export.ldif", data, chunk)


def test_error_names_the_line_as_the_library_counts_lines(tmp_path: Path) -> None:
    # The bad line is the file's 7th, but the library counts a folded line once: 6.
    data = b"# export\ndn: CN=A,DC=x\ncert:: MA\n MC\n\ndn: CN=B,DC=x\nmail b@x\n"
    records, error = assert_reads_like_library(tmp_path / "export.ldif", data)
    assert records == [("CN=A,DC=x", {"cert": [b"0\x03\x02"]})]
    assert error == "export.ldif is not valid LDIF near line 6 (a line is not 'attribute: value')"


def test_a_record_bigger_than_the_buffer_goes_to_the_library(tmp_path: Path) -> None:
    data = b"dn: CN=a,DC=b\n" + b"".join(b"mail: %d\n" % i for i in range(300)) + b"\ndn: CN=c,DC=b\nmail b\n"
    with mock.patch.object(ldif_fast, "_MAX_BUFFER", 100):
        records, error = assert_reads_like_library(tmp_path / "export.ldif", data, chunk=64)
    assert len(records[0][1]["mail"]) == 300
    assert error is not None and "near line 304" in error


# --- it is the fast path that reads plain LDIF -------------------------------------------


def _no_library(*args: object, **kwargs: object) -> ldif.LDIFParser:
    raise AssertionError("the ldif package was asked to read plain LDIF")


@pytest.mark.parametrize("name", DEMO_FILES)
def test_plain_ldif_never_reaches_the_library(name: str) -> None:
    with mock.patch.object(ldif_fast.ldif, "LDIFParser", _no_library):
        records = list(iter_ldif(DATA_DIR / name))
    assert records == list(library_iter_ldif(DATA_DIR / name))


def test_only_the_unusual_record_reaches_the_library(tmp_path: Path) -> None:
    path = tmp_path / "export.ldif"
    path.write_bytes(b"dn: CN=a,DC=b\nmail: a\n\ndn: CN=b,DC=b\nchangetype: add\n\ndn: CN=c,DC=b\nmail: c\n")
    seen: list[bytes] = []
    real = ldif.LDIFParser

    def spy(stream: io.BytesIO, **kwargs: object) -> ldif.LDIFParser:
        seen.append(stream.getvalue())
        return real(stream, **kwargs)

    with mock.patch.object(ldif_fast.ldif, "LDIFParser", spy):
        assert [dn for dn, _ in iter_ldif(path)] == ["CN=a,DC=b", "CN=b,DC=b", "CN=c,DC=b"]
    assert seen == [b"dn: CN=b,DC=b\nchangetype: add\n\n"]


def test_reads_the_stream_in_chunks() -> None:
    sizes: list[int] = []

    class Stream(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            sizes.append(-1 if size is None else size)
            return super().read(size)

    data = DEMO_BYTES["ad.ldif"]
    with mock.patch.object(ldif_fast, "_CHUNK", 4096):
        assert sum(1 for _ in ldif_fast.LdifReader(Stream(data)).parse()) > 1
    assert sizes and all(size == 4096 for size in sizes)
