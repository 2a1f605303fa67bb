"""The command line every generated file shares: write it, check it is current, or print it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def generator_main(doc: str | None, what: str, render: Callable[[], str]) -> int:
    """`--write FILE` rewrites, `--check FILE` exits 1 when FILE is stale, nothing prints."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", type=Path, help=f"write {what} to FILE")
    group.add_argument(
        "--check", metavar="FILE", type=Path, help="exit 1 if FILE is not what the code generates"
    )
    args = parser.parse_args()
    text = render()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        return 0
    if args.check:
        if not args.check.is_file() or args.check.read_text(encoding="utf-8") != text:
            print(f"{args.check} is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0
