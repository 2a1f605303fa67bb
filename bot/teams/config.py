"""Teams settings from the environment (the names the Azure Bot and Bot Framework docs use).

The app password is never logged or repr'd. `check(emulator)` refuses the combinations that
would leave the endpoint open: the emulator mode (no token check) with an app id configured or
in production, and a production bot without a home tenant (users of any tenant would be matched).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from workers.errors import InputError

APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")


@dataclass(frozen=True)
class TeamsConfig:
    app_id: str = ""
    app_password: str = field(default="", repr=False)
    tenant_id: str = ""
    app_type: str = "MultiTenant"
    production: bool = False
    # Overrides of the Bot Framework's public-cloud endpoints; only tests set these.
    openid_metadata_url: str | None = None
    channel_token_issuer: str | None = None
    # SMIME_DOCTOR_TEAMS_LOGIN_URL: the Entra sign-in host the bot gets its outbound Bot Framework
    # token from (client credentials; the tenant is appended, see bot.teams.auth). Default:
    # Microsoft's public cloud, https://login.microsoftonline.com. Without this setting the
    # authority was hard-wired and a wrong one showed only in production; the tests point it
    # at a local token endpoint.
    login_url: str | None = None

    @classmethod
    def from_env(cls) -> TeamsConfig:
        app_type = os.environ.get("MICROSOFT_APP_TYPE") or "MultiTenant"
        match = {t.lower(): t for t in APP_TYPES}.get(app_type.lower())
        if match is None:
            raise InputError(f"MICROSOFT_APP_TYPE must be one of {', '.join(APP_TYPES)} (got {app_type!r})")
        return cls(
            app_id=os.environ.get("MICROSOFT_APP_ID", "").strip(),
            app_password=os.environ.get("MICROSOFT_APP_PASSWORD", ""),
            tenant_id=os.environ.get("MICROSOFT_APP_TENANT_ID", "").strip().lower(),
            app_type=match,
            production=os.environ.get("SMIME_DOCTOR_PRODUCTION", "").lower() in ("1", "true", "yes", "on"),
            login_url=os.environ.get("SMIME_DOCTOR_TEAMS_LOGIN_URL", "").strip() or None,
        )

    def check(self, emulator: bool) -> None:
        """Raise InputError (one sentence for the operator) if this would run unsafely."""
        if emulator:
            if self.production:
                raise InputError("--emulator is refused when SMIME_DOCTOR_PRODUCTION is set")
            if self.app_id:
                raise InputError(
                    "--emulator accepts unauthenticated activities and is refused when MICROSOFT_APP_ID is set"
                )
            return
        if not self.app_id:
            raise InputError("MICROSOFT_APP_ID is not set (use --emulator for local tests without Teams)")
        if self.app_type != "UserAssignedMSI" and not self.app_password:
            raise InputError("MICROSOFT_APP_PASSWORD is not set")
        if self.app_type in ("SingleTenant", "UserAssignedMSI") and not self.tenant_id:
            raise InputError(f"MICROSOFT_APP_TENANT_ID is required for MICROSOFT_APP_TYPE={self.app_type}")
        if self.login_url is not None and not self.login_url.startswith("https://"):
            raise InputError(f"SMIME_DOCTOR_TEAMS_LOGIN_URL must be an https:// URL (got {self.login_url!r})")
        if self.production and not self.tenant_id:
            raise InputError(
                "SMIME_DOCTOR_PRODUCTION requires MICROSOFT_APP_TENANT_ID, so users of other tenants are refused"
            )
