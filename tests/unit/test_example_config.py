"""deploy/smime-doctor.example.toml is generated from the Settings model, and loads as it stands."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from scripts.gen_config import EXAMPLES, TARGET, render
from workers.config import Settings, load_settings


def _fields(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out[path] = info
            out.update(_fields(ann, path + "."))
        else:
            out[path] = info
    return out


def test_the_example_config_is_up_to_date() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), "run `make docs` (scripts/gen_config.py)"


def test_every_setting_is_in_the_example_with_description_and_env_var() -> None:
    text = TARGET.read_text(encoding="utf-8")
    for path, info in _fields(Settings).items():
        assert info.description, f"{path} has no description in workers/config.py"
        assert "SMIME_DOCTOR_" + path.replace(".", "__").upper() in text, path
        name = path.rsplit(".", 1)[-1]
        default = info.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            assert f"[{path}]" in text or f"[{path}." in text, path
        elif default is None:
            assert f"# {name} = " in text, f"{path}: no commented example"
        else:
            assert f"\n{name} = " in text, path


def test_the_example_parses_and_every_key_is_a_setting() -> None:
    data = tomllib.loads(TARGET.read_text(encoding="utf-8"))
    known = _fields(Settings)

    def walk(d: dict[str, Any], prefix: str = "") -> None:
        for key, value in d.items():
            path = f"{prefix}{key}"
            assert path in known, f"{path} is not a setting"
            if isinstance(value, dict):
                walk(value, path + ".")

    walk(data)


def test_the_example_loads_and_validates_as_the_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in list(os.environ):
        if var.startswith("SMIME_DOCTOR_"):
            monkeypatch.delenv(var)
    defaults = Settings()
    monkeypatch.setenv("SMIME_DOCTOR_CONFIG", str(TARGET))
    loaded = load_settings()
    assert loaded == defaults
    # and the file is really read: a changed value comes through
    changed = TARGET.read_text(encoding="utf-8").replace("\njob_timeout_s = 120\n", "\njob_timeout_s = 300\n")
    assert changed != TARGET.read_text(encoding="utf-8")
    other = tmp_path / "changed.toml"
    other.write_text(changed, encoding="utf-8")
    monkeypatch.setenv("SMIME_DOCTOR_CONFIG", str(other))
    assert load_settings().job_timeout_s == 300


def test_the_commented_examples_are_shown_and_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    text = TARGET.read_text(encoding="utf-8")
    data: dict[str, Any] = {}
    for path, lines in EXAMPLES.items():
        assert all(f"# {line}\n" in text for line in lines), path
        value = tomllib.loads("\n".join(line for line in lines if "{ ... }" not in line))
        *parents, _ = path.split(".")
        d = data
        for part in parents:
            d = d.setdefault(part, {})
        d.update(value)
    for var in list(os.environ):
        if var.startswith("SMIME_DOCTOR_"):
            monkeypatch.delenv(var)
    settings = Settings(**data)
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.approvers_targets == [{"platform": "slack", "channel": "C0APPROVERS"}]
    assert settings.roles.approver.groups == ["CN=PKI Approvers,OU=Groups,DC=contoso,DC=com"]
