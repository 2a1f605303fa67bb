"""Build the Teams app package an admin uploads: manifest.json + color.png + outline.png in a zip.

    python scripts/teams_package.py --app-id <MICROSOFT_APP_ID> [--domain bot.example.com] [--out dist/smime-doctor-teams.zip]

The bot id in deploy/teams/manifest.json is a placeholder; the package gets the real app id
(default $MICROSOFT_APP_ID). Missing or wrongly sized icons are regenerated (plain PNGs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "deploy" / "teams"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def png(size: int, pixel: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """A minimal RGBA PNG; pixel(x, y) -> (r, g, b, a)."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _shield(x: int, y: int, size: int) -> bool:
    """A simple shield outline shape (the product's mark) in a size×size box."""
    u, v = x / size, y / size
    if not 0.2 <= u <= 0.8 or not 0.15 <= v <= 0.85:
        return False
    return v < 0.55 or abs(u - 0.5) < (0.85 - v) * 1.0


def color_icon() -> bytes:
    return png(192, lambda x, y: (255, 255, 255, 255) if _shield(x, y, 192) else (0, 94, 184, 255))


def outline_icon() -> bytes:
    """32×32, white on transparent, as Teams requires for the outline icon."""
    return png(32, lambda x, y: (255, 255, 255, 255) if _shield(x, y, 32) else (0, 0, 0, 0))


def png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def icons() -> dict[str, bytes]:
    out = {}
    for name, size, make in (("color.png", 192, color_icon), ("outline.png", 32, outline_icon)):
        path = SRC / name
        data = path.read_bytes() if path.is_file() else b""
        if png_size(data) != (size, size):
            data = make()
            path.write_bytes(data)
        out[name] = data
    return out


def manifest(app_id: str, domain: str | None) -> dict[str, object]:
    data = json.loads((SRC / "manifest.json").read_text(encoding="utf-8"))
    text = json.dumps(data).replace(PLACEHOLDER, app_id)
    data = json.loads(text)
    if domain:
        data["validDomains"] = [domain]
    return data


def build(app_id: str, out: Path, domain: str | None = None) -> Path:
    if not GUID.match(app_id):
        raise SystemExit(
            f"teams_package: the app id must be the bot's Microsoft App ID (a GUID), got {app_id!r}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:  # files at the root, as Teams expects
        z.writestr("manifest.json", json.dumps(manifest(app_id, domain), indent=2, ensure_ascii=False))
        for name, data in icons().items():
            z.writestr(name, data)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--app-id", default=os.environ.get("MICROSOFT_APP_ID", ""), help="default $MICROSOFT_APP_ID"
    )
    p.add_argument("--domain", help="the bot's public host name (validDomains)")
    p.add_argument("--out", default=str(ROOT / "dist" / "smime-doctor-teams.zip"))
    args = p.parse_args(argv)
    print(build(args.app_id, Path(args.out), args.domain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
