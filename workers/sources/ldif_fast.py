"""A fast reader for the plain LDIF that ldifde and ldapsearch write.

The ``ldif`` package reads a file one line at a time in Python and costs about four times
what this reader does (measured on exports of 10,000 and 100,000 users with certificates,
29 MB and 290 MB: ~0.9 s against ~0.25 s, ~12 s against ~3 s), which made it the slowest
step of loading a large snapshot. This reader takes the file in large chunks cut at blank
lines, splits a chunk into lines with one regex and parses only the plain subset itself:
``dn:``/``dn::`` lines, ``attr: value``, ``attr:: base64``, folded lines, ``#`` comments,
blank lines, and ``version:`` lines before a dn. A record with anything else in it (a
``:<`` URL, ``changetype:``/``control:``, a line without a colon, a non-ASCII attribute
name, bad base64, a dn that is not UTF-8 or not a DN, a second dn, a lone carriage
return, ...) is handed to the ``ldif`` package, so the records and the errors are always
exactly the library's.

Records come out as ``iter_ldif`` yields them: ``(dn, {lower-case attribute name without
;options: [bytes]})``; records with an empty dn are left out.
"""

from __future__ import annotations

import binascii
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

import ldif

Record = tuple[str, dict[str, list[bytes]]]

_CHUNK = 1 << 20
_MAX_BUFFER = 64 << 20  # no blank line in this much: leave the rest of the file to the library
_TAIL = 1 << 16  # where to look first for the last blank line of a chunk
_a2b = binascii.a2b_base64  # what base64.decodebytes, the library's decoder, calls
# Types the library reads as plain attributes but that belong to change records.
_DEFERRED_KEYS = frozenset({"changetype", "control"})
# The library's lines: a line break followed by a space folds the next line onto this one.
_LINE_BREAK = re.compile(rb"\n(?! )")
_FOLD = re.compile(rb"\n ")
_LONE_CR = re.compile(rb"\r(?!\n)")
# `10 in line` finds a "\n" at once; `b"\n" in line` first tries b"\n" as an int and
# raises, formats and swallows a TypeError, which costs more than the search.
_LF = 0x0A
_CR = 0x0D
# Type=value pairs joined by commas, no newline: a subset of ldif.DN_REGEX that is much
# cheaper to match. Whatever it matches ldif.is_dn accepts; anything else asks is_dn.
_SIMPLE_DN = re.compile(r"[\w.-]+=[^,\n]+(?:,[\w.-]+=[^,\n]+)*")


class _Defer(Exception):
    """This record is not plain LDIF: let the library read it."""


def _merge_entry(entry: dict[str, list[bytes]]) -> dict[str, list[bytes]]:
    """The library's {type as written: values} as {lower-case type without options: values}."""
    attrs: dict[str, list[bytes]] = {}
    for name, values in entry.items():
        key = name.split(";", 1)[0].lower()
        attrs.setdefault(key, []).extend(v if isinstance(v, bytes) else str(v).encode() for v in values)
    return attrs


class LdifReader:
    """Records of an LDIF byte stream, read fast where the LDIF is plain.

    After an error, ``line_counter`` is the line the ``ldif`` package had reached in the
    whole stream, counted its way (a folded line once; comments and blank lines count),
    and the exception is the library's own.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.line_counter = 0  # lines before the chunk being read
        # What comes before the first ": " of a line -> key, for types that are the only
        # spelling of their key so far: b"mail" for "mail: v", b"mail:" for "mail:: dg==".
        self._plain: dict[bytes, str] = {}
        self._base64: dict[bytes, str] = {}
        self._known: dict[bytes, str] = {}  # every type seen -> key
        self._spelling: dict[str, bytes] = {}  # key -> its first spelling

    def parse(self) -> Iterator[Record]:
        read = self._stream.read
        buf = b""
        searched = 0  # buf[:searched] has no blank line to cut at
        while True:
            data = read(_CHUNK)
            if not data:
                if buf:
                    yield from self._chunk(buf)
                return
            buf = buf + data if buf else data
            cut = _last_boundary(buf, searched)
            if cut < 0:
                if len(buf) > _MAX_BUFFER:
                    yield from self._library(_Chained(buf, self._stream), self.line_counter)
                    return
                searched = max(0, len(buf) - 3)
                continue
            chunk, buf = buf[:cut], buf[cut:]
            searched = 0
            yield from self._chunk(chunk)

    def _chunk(self, raw: bytes) -> Iterator[Record]:
        """The records of some whole records."""
        base = self.line_counter
        text = raw
        if _CR in text:
            if _LONE_CR.search(text):  # the library keeps such a "\r": let it read this chunk
                yield from self._library(io.BytesIO(raw), base)
                return
            text = text.translate(None, b"\r")  # the library strips the "\r" of each "\r\n"
        # One logical line each, as the library counts them, still folded.
        lines = _LINE_BREAK.split(text)
        terminated = text.endswith(b"\n")
        if terminated:
            lines.pop()
        count = len(lines)
        start = 0
        while start < count:
            line = lines[start]
            if not line or line[0] == 0x23:  # a blank line or a comment between records
                start += 1
                continue
            if line[0] == 0x0A:  # a blank line with lines folded onto it
                line = _FOLD.sub(b"", line)
                if not line or line[0] == 0x23:
                    start += 1
                    continue
            try:
                end = lines.index(b"", start)
            except ValueError:
                end = count
            try:
                record = self._record(lines, start, end)
            except _Defer:
                # The record's lines as they are in the file (but for the "\r" of a "\r\n"),
                # which the library reads as it would there.
                text = b"\n".join(lines[start:end])
                if end < count:
                    text += b"\n\n"  # the blank line that ends the record counts
                elif terminated:
                    text += b"\n"
                yield from self._library(io.BytesIO(text), base + start)
            else:
                if record is not None and record[0]:
                    yield record
            start = end + 1
        self.line_counter = base + count

    def _record(self, lines: list[bytes], start: int, end: int) -> Record | None:
        """The record in lines[start:end] (no blank line there); None for version lines only."""
        i = start
        while True:  # version lines may come before the dn
            line = lines[i]
            if _LF in line:
                if line[0] == 0x0A:
                    raise _Defer
                line = _FOLD.sub(b"", line)
            name, sep, rest = line.partition(b":")
            if name == b"dn" and sep:
                break
            if name != b"version" or not sep or rest[:1] in (b":", b"<"):
                raise _Defer
            i += 1
            while i < end and lines[i][0] == 0x23:
                i += 1
            if i == end:
                return None
        try:
            dn = _value(rest).decode("utf-8")
        except UnicodeDecodeError:
            raise _Defer from None
        if not _SIMPLE_DN.fullmatch(dn) and not ldif.is_dn(dn):
            raise _Defer

        plain = self._plain.get
        base64 = self._base64.get
        attrs: dict[str, list[bytes]] = {}
        spelled: dict[str, bytes] = {}
        for line in lines[i + 1 : end]:
            name, sep, rest = line.partition(b": ")
            key = plain(name)
            if key is not None and sep:
                value = rest.strip()
                if _LF in value:  # folded
                    value = _FOLD.sub(b"", rest).strip()
            else:
                key = base64(name)
                if key is not None and sep:
                    try:
                        value = _a2b(rest)  # skips the folds' "\n " as it skips any non-base64 byte
                    except binascii.Error:
                        raise _Defer from None
                else:
                    if _LF in line:
                        line = _FOLD.sub(b"", line)
                        if not line:  # a blank line after all: the library ends a record here
                            raise _Defer
                    if line[0] == 0x23:
                        continue
                    name, sep, rest = line.partition(b":")
                    key = self._key(name, sep, attrs, spelled)
                    value = _value(rest)
            if key in attrs:
                attrs[key].append(value)
            else:
                attrs[key] = [value]
        return dn, attrs

    def _key(self, name: bytes, sep: bytes, attrs: dict[str, list[bytes]], spelled: dict[str, bytes]) -> str:
        """The key of a type that is not in the fast tables; _Defer if the library must read it."""
        if not sep or name == b"dn":
            raise _Defer
        key = self._known.get(name)
        if key is None:
            try:
                key = name.decode("ascii").split(";", 1)[0].lower()
            except UnicodeDecodeError:
                raise _Defer from None
            if key in _DEFERRED_KEYS:
                raise _Defer
            self._known[name] = key
            first = self._spelling.setdefault(key, name)
            if first == name:
                self._plain[name] = key
                self._base64[name + b":"] = key
                return key
            # From now on every spelling of this key comes through here.
            self._plain.pop(first, None)
            self._base64.pop(first + b":", None)
        # The key is spelled more than one way in this stream (userCertificate and
        # userCertificate;binary, say). The library keeps the values of each spelling
        # together, so a record with two spellings of the key goes to the library.
        other = spelled.get(key)
        if other is None:
            if key in attrs:  # from the other spelling, while that was in the fast tables
                raise _Defer
            spelled[key] = name
        elif other != name:
            raise _Defer
        return key

    def _library(self, stream: BinaryIO | _Chained, first_line: int) -> Iterator[Record]:
        """The records the ldif package reads from ``stream``, which starts a record at
        line ``first_line + 1`` of the whole stream."""
        parser = ldif.LDIFParser(stream, encoding=None, strict=True)
        try:
            for dn, entry in parser.parse():
                if dn:
                    yield dn, _merge_entry(entry)
        finally:
            self.line_counter = first_line + parser.line_counter


def _value(rest: bytes) -> bytes:
    """The value of an unfolded line from what follows its first colon, read as the library does."""
    c = rest[:1]
    if c == b":":
        try:
            return _a2b(rest[1:])
        except binascii.Error:
            raise _Defer from None
    if c == b"<":
        raise _Defer
    return rest.strip()


def _last_boundary(buf: bytes, lo: int) -> int:
    """The offset just after the last blank line in ``buf[lo:]`` whose next byte shows that
    no line is folded onto it, so a record starts there; -1 if there is none."""
    size = len(buf)
    end = size
    floor = max(lo, size - _TAIL)
    while True:
        i = buf.rfind(b"\n\n", floor, end)
        j = buf.rfind(b"\n\r\n", floor, end)
        if i < 0 and j < 0:
            if floor == lo:
                return -1
            end = min(end, floor + 2)
            floor = lo
            continue
        cut = i + 2 if i > j else j + 3
        if cut < size and buf[cut] != 0x20:
            return cut
        end = max(i, j) + 1


class _Chained:
    """``readline`` over bytes already read, then the rest of a stream."""

    def __init__(self, head: bytes, tail: BinaryIO) -> None:
        self._head: io.BytesIO | None = io.BytesIO(head)
        self._tail = tail

    def readline(self) -> bytes:
        if self._head is not None:
            line = self._head.readline()
            if line.endswith(b"\n"):
                return line
            self._head = None
            return line + self._tail.readline()
        return self._tail.readline()
