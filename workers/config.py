"""Configuration: environment variables (SMIME_DOCTOR_*) over an optional TOML file.

One Settings object serves the bot, the workers and the command line; each process reads
only what it needs (the bot never needs directory write credentials, workers never chat
tokens). `smime-doctor check-config` validates it and says exactly what is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from workers.errors import InputError


class RoleMembers(BaseModel):
    """Who holds a role: directory users (any address, UPN or sAMAccountName) and security groups
    (DN, objectGUID or SID; a bare CN only while exactly one security group has it; workers/roles.py)."""

    users: list[str] = Field(
        default_factory=list,
        description="directory users holding the role (any address, UPN or sAMAccountName)",
    )
    groups: list[str] = Field(
        default_factory=list,
        description="security groups whose members (nested included) hold the role (DN, objectGUID or SID)",
    )


class Roles(BaseModel):
    helpdesk: RoleMembers = Field(
        default_factory=RoleMembers, description="helpdesk: may diagnose anyone, audit, and request clean-ups"
    )
    approver: RoleMembers = Field(
        default_factory=RoleMembers, description="approvers: decide other people's clean-up requests"
    )
    admin: RoleMembers = Field(
        default_factory=RoleMembers,
        description="admins: also helpdesk; two distinct admins approve tenant-wide actions (upload_issuing_ca)",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMIME_DOCTOR_", env_nested_delimiter="__", extra="forbid")

    redis_url: str | None = Field(
        None, description="Redis for queues and the outbox; unset = jobs run in-process"
    )
    snapshot: str | None = Field(None, description="offline snapshot directory used as the directory source")
    demo: bool = Field(False, description="use the bundled demo tenant as the source")
    lang: str = Field("en", description="default answer language when the chat locale does not tell (en|de)")
    roles: Roles = Field(
        default_factory=Roles, description="who holds the roles beyond user (everyone may ask about themself)"
    )
    job_timeout_s: int = Field(120, ge=5, description="a job taking longer is stopped and reported")
    job_retries: int = Field(
        2, ge=0, le=10, description="retries for transient source errors and lost workers"
    )
    dedup_window_s: int = Field(
        60, ge=0, description="the same question from the same person within this window runs once"
    )
    identity_cache_ttl_s: int = Field(
        600, ge=0, description="how long a chat id → directory user mapping is cached"
    )
    conversation_ttl_s: int = Field(
        900,
        ge=0,
        description="how long the bot remembers a conversation's last question and its own open "
        "question, for follow-ups ('and carla?', '1'); 0 forgets at once",
    )
    approvers_targets: list[dict[str, Any]] = Field(
        default_factory=list,
        description="where approval requests are posted, e.g. {platform: slack, channel: C0APPROVERS}",
    )
    approval_ttl_s: int = Field(
        24 * 3600, ge=60, description="an undecided approval request expires after this"
    )
    audit_log_file: str | None = Field(
        None, description="JSON-lines file every approval event is appended to (for the SIEM)"
    )
    backup_dir: str | None = Field(
        None,
        description="folder for the full before-state of each executed change, one owner-only file per "
        "request (besides Redis); default: '<audit file name>-backups' next to audit_log_file",
    )
    outbox_stream: str = Field("smime:outbox", description="Redis stream the workers answer on")
    key_prefix: str = Field("smime", description="prefix of every Redis key this product writes")
    execution_lease_s: int = Field(
        30,
        ge=5,
        le=600,
        description="an executing clean-up renews its lock (and RQ's record of the job) every third of this; "
        "a worker that dies is replaced by another this long after its last renewal",
    )
    outbox_retry_base_s: float = Field(
        2.0,
        gt=0,
        description="a failed delivery (Slack/Teams error) is retried after this, then after twice as long each time",
    )
    outbox_retry_max_s: float = Field(
        60.0, gt=0, description="the longest wait between two attempts of a failing delivery"
    )
    outbox_max_attempts: int = Field(
        10,
        ge=1,
        description="a delivery failing this many times (about 5 minutes with the defaults) moves to the "
        "dead-letter stream <outbox_stream>:dead and is shown by check-config and audit-log",
    )
    outbox_claim_idle_s: float = Field(
        30.0,
        gt=0,
        description="an answer another bot instance took and left unacknowledged this long (it died) is "
        "delivered by a running instance",
    )

    @field_validator("lang")
    @classmethod
    def _lang(cls, v: str) -> str:
        if v not in ("en", "de"):
            raise ValueError("must be 'en' or 'de'")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("SMIME_DOCTOR_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and $SMIME_DOCTOR_CONFIG; a bad value is one clear sentence."""
    path = os.environ.get("SMIME_DOCTOR_CONFIG")
    if path and not Path(path).is_file():
        raise InputError(f"SMIME_DOCTOR_CONFIG names {path}, which does not exist")
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"configuration error in {where}: {first['msg']}") from None
    except Exception as exc:  # a TOML syntax error, say
        raise InputError(f"configuration file {path} cannot be read: {str(exc).splitlines()[0]}") from None
