"""Regenerate the check catalogue in README.md from the registered checks (so it cannot drift).

python scripts/gen_catalogue.py --write README.md   # rewrite the block in place
python scripts/gen_catalogue.py                     # print the block
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

START, END = "<!-- catalogue:start -->", "<!-- catalogue:end -->"


def block() -> str:
    from bot.cli import catalogue_markdown

    return f"{START}\n{catalogue_markdown()}\n{END}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", metavar="README", help="file whose catalogue block is replaced")
    args = parser.parse_args()
    if not args.write:
        print(block())
        return 0
    path = Path(args.write)
    text = path.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        print(f"{path} has no {START} marker", file=sys.stderr)
        return 2
    path.write_text(head + block() + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
