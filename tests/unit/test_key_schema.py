"""The Redis key schema is spelled in one module (workers/keys.py): a key built anywhere else
would be a key nobody can find when renaming, migrating or cleaning up."""

from __future__ import annotations

import re
from pathlib import Path

from workers.keys import Keys

ROOT = Path(__file__).resolve().parents[2]
# an f-string that puts a prefix in front of a ':'-separated key name
KEY_SPELLING = re.compile(r"""f["'][^"']*\{[\w.]*prefix\}:""")
OWN_NAMESPACE = {"workers/keys.py", "bot/slack/store.py"}  # the Slack store's keys live under Keys.slack


def test_no_module_but_the_schema_spells_a_redis_key() -> None:
    offenders = []
    for package in ("bot", "handlers", "workers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in OWN_NAMESPACE:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if KEY_SPELLING.search(line) and not line.lstrip().startswith(("#", '"""')):
                    offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == [], "build Redis keys with workers.keys.Keys:\n" + "\n".join(offenders)


def test_two_installations_on_one_redis_never_share_a_key() -> None:
    a, b = Keys("smime"), Keys("other")
    names = [
        lambda k: k.approval("R-1"),
        lambda k: k.pending_approvals,
        lambda k: k.approval_digest("prune_certificates", "d"),
        lambda k: k.backup("R-1"),
        lambda k: k.execution_lease("R-1"),
        lambda k: k.job("q-1"),
        lambda k: k.answer("q-1"),
        lambda k: k.targets("q-1"),
        lambda k: k.delivered("x"),
        lambda k: k.plan_request("x"),
        lambda k: k.audit,
        lambda k: k.slack,
        lambda k: k.teams_card("R-1", "c"),
    ]
    mine, theirs = [n(a) for n in names], [n(b) for n in names]
    assert len(set(mine)) == len(names) and not set(mine) & set(theirs)
    assert all(k.startswith("smime:") for k in mine)
