"""Hypothesis strategies shared by the fuzz tests."""

from __future__ import annotations

from hypothesis import strategies as st

# Bytes that matter to DER (tags, lengths): what a "set" edit writes by default.
DER_BYTES = bytes([0x00, 0x80, 0x81, 0x82, 0x84, 0xFF, 0x30, 0x05])


@st.composite
def mutations(
    draw: st.DrawFn,
    base: bytes,
    set_bytes: bytes = DER_BYTES,
    inserts: st.SearchStrategy[bytes] | None = None,
) -> bytes:
    """1-6 edits of `base`: flip/overwrite a byte, insert or delete a run, or truncate.

    ``set_bytes`` are the values an overwrite picks from, ``inserts`` what an insert adds
    (default: 1-8 arbitrary bytes) — the parser's own syntax makes the interesting edits.
    """
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[i] = draw(st.sampled_from(set_bytes))
        elif op == "insert":
            data[i:i] = draw(inserts if inserts is not None else st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 8))]
        else:
            del data[i:]
    return bytes(data)
