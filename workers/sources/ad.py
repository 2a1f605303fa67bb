"""Live Active Directory over ldap3: find users, stream audits, read the PKI configuration, and the
few narrow writes remediation needs.

Records come back in exactly the shape `parsing.iter_ldif` yields — ``(dn, {lower-case attribute:
[bytes]})`` with ``;binary`` dropped — so the snapshot code and the checks cannot tell a live
directory from an export. See docs/ad.md for configuration and the service account's rights.

Design points, each for a reason:
- TLS always (LDAPS, or StartTLS on ldap://), certificates verified unless switched off: the bind
  carries a password.
- One bound connection, reused; on a broken connection a *read* is retried once on the next
  domain controller, a *write* never (its outcome would be unknown).
- Every operation has a client-side receive timeout and a server-side time limit.
- Filters are built only from escaped values (`escape_filter_chars`), never by formatting input.
- No schema download (``get_info=NONE``): attributes a forest lacks (mailNickname without the
  Exchange schema) are simply absent instead of an ldap3 error, and answers stay raw bytes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPException,
    LDAPStartTLSError,
)
from ldap3.protocol.formatters.formatters import format_sid
from ldap3.utils.conv import escape_bytes, escape_filter_chars
from ldap3.utils.dn import parse_dn

from workers.dirnames import dn_id, looks_like_dn, sid_bytes
from workers.errors import (
    AdAuditInterrupted,
    AdAuthError,
    AdConnectionError,
    AdError,
    AdPermissionError,
    AdWriteConflict,
    AdWriteError,
    AmbiguousUserError,
    InputError,
    UnknownUserError,
)
from workers.facts import AdConfig, GroupInfo
from workers.sources import parsing
from workers.sources.parsing import config_from_records

log = logging.getLogger("smime_doctor.ad")

Record = tuple[str, dict[str, list[bytes]]]
T = TypeVar("T")

# What the checks read (docs/snapshot.md, ad.ldif). Plain userCertificate: AD accepts both names,
# Samba answers only the plain one; answers with ;binary are accepted too.
USER_ATTRIBUTES = (
    "objectClass",
    "objectGUID",
    "sAMAccountName",
    "userPrincipalName",
    "mail",
    "proxyAddresses",
    "mailNickname",
    "displayName",
    "userCertificate",
    "userSMIMECertificate",
    "memberOf",
    "whenChanged",
    "userAccountControl",
    "msExchHideFromAddressLists",
)
CONFIG_ATTRIBUTES = (
    "objectClass",
    "cn",
    "displayName",
    "flags",
    "revision",
    "msPKI-Template-Schema-Version",
    "msPKI-Template-Minor-Revision",
    "msPKI-Cert-Template-OID",
    "msPKI-Enrollment-Flag",
    "msPKI-Private-Key-Flag",
    "msPKI-Certificate-Name-Flag",
    "msPKI-Minimal-Key-Size",
    "msPKI-RA-Signature",
    "msPKI-Certificate-Application-Policy",
    "pKIExtendedKeyUsage",
    "pKIKeyUsage",
    "pKIDefaultKeySpec",
    "pKIMaxIssuingDepth",
    "pKICriticalExtensions",
    "pKIExpirationPeriod",
    "pKIOverlapPeriod",
    "cACertificate",
    "userCertificate",
    "dNSHostName",
    "certificateTemplates",
)
DEFAULT_USER_FILTER = "(&(objectCategory=person)(mail=*))"  # as docs/snapshot.md's ldifde example
PAGE_SIZE = 1000  # AD's MaxPageSize
IN_CHAIN = "1.2.840.113556.1.4.1941"  # LDAP_MATCHING_RULE_IN_CHAIN: nested group membership
BIT_AND = "1.2.840.113556.1.4.803"  # LDAP_MATCHING_RULE_BIT_AND
SECURITY_ENABLED = 0x80000000  # groupType bit of security groups (ADS_GROUP_TYPE_SECURITY_ENABLED)
GROUP_ATTRIBUTES = ["cn", "groupType", "objectGUID", "objectSid"]
PAGED_RESULTS = "1.2.840.113556.1.4.319"
CERT_ATTRIBUTES = ("userCertificate", "userSMIMECertificate")

# LDAP result codes we turn into sentences.
NO_SUCH_ATTRIBUTE = 16
UNDEFINED_ATTRIBUTE_TYPE = 17
CONSTRAINT_VIOLATION = 19
ATTRIBUTE_OR_VALUE_EXISTS = 20
INVALID_ATTRIBUTE_SYNTAX = 21
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49
INSUFFICIENT_ACCESS_RIGHTS = 50
BUSY = 51
UNAVAILABLE = 52
UNWILLING_TO_PERFORM = 53
# AD's sub-codes in a failed bind's message ("data 52e").
BIND_REASONS = {
    "525": "the account does not exist",
    "52e": "the password is wrong",
    "530": "the account may not log on at this time",
    "531": "the account may not log on from this workstation",
    "532": "the password has expired",
    "533": "the account is disabled",
    "701": "the account has expired",
    "773": "the password must be changed before first use",
    "775": "the account is locked out",
}


@dataclass(frozen=True)
class AdSettings:
    """How to reach and bind to the directory. ``servers`` are tried in order (failover).

    A server is ``ldaps://host[:port]`` (LDAPS), ``ldap://host[:port]`` (StartTLS, required) or a
    bare host (LDAPS). ``user`` may be a UPN, a DN or ``DOMAIN\\user``; ``auth="kerberos"`` binds with
    GSSAPI from the process's ticket cache instead (needs the ``gssapi`` package).

    ``kerberos_hosts`` (Kerberos only): the DCs' DNS names, one per entry of ``servers`` in the same
    order, used for the service principal ``ldap/<name>`` when a server is given by address or by an
    alias; an empty entry, or no entries at all, means the server's own host name.
    """

    servers: tuple[str, ...]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: str = "simple"  # "simple" | "kerberos"
    ca_file: str | None = None  # PEM bundle of the CA(s) that issued the DCs' certificates
    verify: bool = True  # False only for a lab: the password then goes to whoever answers
    base_dn: str | None = None  # default: the DC's defaultNamingContext
    config_dn: str | None = None  # default: the DC's configurationNamingContext
    connect_timeout: float = 5.0
    timeout: float = 30.0  # per operation (client receive timeout and server time limit)
    page_size: int = PAGE_SIZE
    user_filter: str = DEFAULT_USER_FILTER  # for iter_users (audits, the collector)
    extra_attributes: tuple[str, ...] = ()  # e.g. the sync-scope attribute (extensionAttribute15)
    kerberos_hosts: tuple[str, ...] = ()  # per server: the DC's DNS name for ldap/<name> (Kerberos)

    def __post_init__(self) -> None:
        if self.kerberos_hosts and len(self.kerberos_hosts) != len(self.servers):
            raise InputError(
                f"SMIME_DOCTOR_AD_KERBEROS_HOSTS names {len(self.kerberos_hosts)} host(s) for "
                f"{len(self.servers)} domain controller(s): give one DNS name per server, in the same order "
                "(an empty entry keeps that server's own name)"
            )

    def kerberos_host(self, index: int, server_host: str) -> str:
        """The host name in the service principal ldap/<name> for servers[index]."""
        return (self.kerberos_hosts[index].strip() if self.kerberos_hosts else "") or server_host

    @staticmethod
    def from_env(env: dict[str, str] | None = None, prefix: str = "SMIME_DOCTOR_AD_") -> AdSettings:
        """Settings from SMIME_DOCTOR_AD_* variables (the password may come from a file)."""
        e = dict(os.environ if env is None else env)

        def get(name: str) -> str | None:
            value = e.get(prefix + name, "").strip()
            return value or None

        servers = tuple(s.strip() for s in (get("SERVERS") or "").split(",") if s.strip())
        if not servers:
            raise InputError(f"{prefix}SERVERS is not set (comma-separated ldaps://dc1,ldaps://dc2)")
        password = get("PASSWORD")
        pw_file = get("PASSWORD_FILE")
        if password is None and pw_file:
            try:
                with open(pw_file, encoding="utf-8") as f:
                    password = f.read().strip()
            except OSError as exc:
                raise InputError(f"{prefix}PASSWORD_FILE cannot be read: {exc.strerror}") from None
        extra = tuple(a.strip() for a in (get("EXTRA_ATTRIBUTES") or "").split(",") if a.strip())
        kerberos_hosts = tuple(h.strip() for h in (get("KERBEROS_HOSTS") or "").split(","))
        try:
            return AdSettings(
                servers=servers,
                user=get("USER"),
                password=password,
                auth=get("AUTH") or "simple",
                ca_file=get("CA_FILE"),
                verify=(get("VERIFY") or "true").lower() not in ("0", "false", "no"),
                base_dn=get("BASE_DN"),
                config_dn=get("CONFIG_DN"),
                connect_timeout=float(get("CONNECT_TIMEOUT") or 5),
                timeout=float(get("TIMEOUT") or 30),
                extra_attributes=extra,
                kerberos_hosts=kerberos_hosts if any(kerberos_hosts) else (),
            )
        except ValueError:
            raise InputError(f"{prefix}CONNECT_TIMEOUT and {prefix}TIMEOUT must be numbers") from None


@dataclass
class AdStats:
    """Counts for benchmarks and logs: directory operations, and connection set-up separately."""

    operations: int = 0  # searches and modifies issued on behalf of a caller
    setup_operations: int = 0  # bind, StartTLS, rootDSE reads
    connects: int = 0


@dataclass(frozen=True)
class WriteResult:
    """A write's outcome: the attributes as re-read before and after it (values as bytes)."""

    dn: str
    action: str
    before: dict[str, list[bytes]]
    after: dict[str, list[bytes]]

    @property
    def changed(self) -> bool:
        return self.before != self.after


class AdSource:
    """One directory, one reusable bound connection. Thread-safe; close() or use as a context manager."""

    def __init__(self, settings: AdSettings) -> None:
        if not settings.servers:
            raise InputError("no domain controller configured")
        if settings.auth not in ("simple", "kerberos"):
            raise InputError(f"unknown AD authentication {settings.auth!r}: use 'simple' or 'kerberos'")
        if settings.auth == "simple" and not (settings.user and settings.password):
            raise InputError("simple bind needs a user (UPN, DN or DOMAIN\\user) and a password")
        if not 1 <= settings.page_size <= PAGE_SIZE:
            raise InputError(f"page size must be 1..{PAGE_SIZE} (AD's MaxPageSize)")
        self.settings = settings
        self.stats = AdStats()
        self._lock = threading.RLock()
        self._conn: ldap3.Connection | None = None
        self._server_name: str | None = None
        self._preferred = 0  # index of the DC that last worked: failover sticks
        self._root: dict[str, str] = {}
        self._config_records: list[Record] | None = None
        self._config: AdConfig | None = None

    # -- connection -----------------------------------------------------------------------
    def __enter__(self) -> AdSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._drop()

    @property
    def server(self) -> str | None:
        """The domain controller currently in use (host:port), or None when not connected."""
        return self._server_name

    def _drop(self) -> None:
        conn, self._conn, self._server_name = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(LDAPException, OSError):
                conn.unbind()

    def _server(self, spec: str) -> tuple[ldap3.Server, bool, str]:
        """(ldap3 Server, use StartTLS?, host:port for messages) from one configured server."""
        url = spec if "://" in spec else f"ldaps://{spec}"
        parts = urlsplit(url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise InputError(
                "a configured domain controller is not given as ldaps://host[:port] or ldap://host[:port]",
                admin_detail=f"domain controller {spec!r} is not ldaps://host[:port] or ldap://host[:port]",
            )
        ldaps = parts.scheme == "ldaps"
        port = parts.port or (636 if ldaps else 389)
        s = self.settings
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED if s.verify else ssl.CERT_NONE,
            ca_certs_file=s.ca_file,
            version=ssl.PROTOCOL_TLS_CLIENT,
        )
        server = ldap3.Server(
            parts.hostname,
            port=port,
            use_ssl=ldaps,
            tls=tls,
            get_info=ldap3.NONE,
            connect_timeout=s.connect_timeout,
        )
        return server, not ldaps, f"{parts.hostname}:{port}"

    def _connect(self) -> ldap3.Connection:
        """Bind to the first domain controller that answers, starting with the last good one."""
        s = self.settings
        n = len(s.servers)
        failures: list[str] = []
        reasons: list[str] = []  # the same without the servers' names: the sentence an end user may see
        for i in range(n):
            index = (self._preferred + i) % n
            server, starttls, name = self._server(s.servers[index])
            conn = self._new_connection(server, s.kerberos_host(index, server.host))
            started = time.monotonic()
            try:
                conn.open()
                if starttls:
                    self.stats.setup_operations += 1
                    if not conn.start_tls():
                        raise LDAPStartTLSError(conn.result.get("message") or "StartTLS refused")
                self.stats.setup_operations += 1
                if not self._bind(conn, name):
                    self._bind_failed(conn, name)
            except AdError:
                conn.unbind()
                raise
            except (LDAPException, OSError) as exc:
                failures.append(f"{name} ({_reason(exc)})")
                reasons.append(_user_reason(exc))
                log.warning("ad.connect_failed", extra={"dc": name, "reason": _reason(exc)})
                with contextlib.suppress(LDAPException, OSError):
                    conn.unbind()
                continue
            self.stats.connects += 1
            self._conn, self._server_name, self._preferred = conn, name, index
            log.info("ad.connected", extra={"dc": name, "ms": round((time.monotonic() - started) * 1000)})
            return conn
        raise AdConnectionError(
            f"no domain controller could be reached ({', '.join(dict.fromkeys(reasons))})",
            admin_detail="no domain controller could be reached: " + "; ".join(failures),
        )

    def _new_connection(self, server: ldap3.Server, kerberos_host: str) -> ldap3.Connection:
        s = self.settings
        common: dict[str, Any] = {
            "receive_timeout": max(1, math.ceil(s.timeout)),  # ldap3 packs it as an integer
            "raise_exceptions": False,
            "auto_referrals": False,
            "return_empty_attributes": False,
            "read_only": False,
        }
        if s.auth == "kerberos":
            try:
                import gssapi  # type: ignore[import-not-found]  # noqa: F401
            except ImportError:
                raise AdError(
                    "Kerberos bind needs the 'gssapi' package (pip install gssapi) and a ticket (kinit)"
                ) from None
            # The service principal is ldap/<kerberos_host>: the DC's DNS name, which the server's
            # address (or an alias) is not. ldap3 takes it as the first SASL credential.
            return ldap3.Connection(
                server,
                authentication=ldap3.SASL,
                sasl_mechanism=ldap3.KERBEROS,
                sasl_credentials=(kerberos_host,),
                **common,
            )
        return ldap3.Connection(
            server, user=s.user, password=s.password, authentication=ldap3.SIMPLE, **common
        )

    def _bind(self, conn: ldap3.Connection, name: str) -> bool:
        """Bind; a Kerberos failure on this side (no ticket, unknown service principal, KDC
        unreachable) becomes one AdAuthError sentence instead of a GSSAPI traceback."""
        if self.settings.auth != "kerberos":
            return bool(conn.bind())
        import gssapi  # type: ignore[import-not-found]  # present: _new_connection checked

        try:
            return bool(conn.bind())
        except gssapi.exceptions.GSSError as exc:
            raise AdAuthError(_kerberos_reason(exc, name, conn.sasl_credentials[0])) from None

    def _bind_failed(self, conn: ldap3.Connection, name: str) -> None:
        result = conn.result or {}
        code = result.get("result")
        message = str(result.get("message") or "")
        who = self.settings.user or "the Kerberos principal"
        if code == INVALID_CREDENTIALS and self.settings.auth == "kerberos":
            raise AdAuthError(
                "the domain controller refused the Kerberos sign-in of smime-doctor's service account: its "
                "principal may be disabled, or the ticket is for another domain controller",
                admin_detail=f"{name} refused the Kerberos bind ({message.strip() or result.get('description')}): "
                f"the ticket's principal may be disabled, or the ticket is for another DC than {name} "
                "(check SMIME_DOCTOR_AD_KERBEROS_HOSTS)",
            )
        if code == INVALID_CREDENTIALS:
            reason = next((text for sub, text in BIND_REASONS.items() if f"data {sub}" in message), None)
            raise AdAuthError(
                f"the domain controller refused the sign-in of smime-doctor's service account: "
                f"{reason or 'wrong user name or password'}. "
                "Check the service account's password and that it is neither locked out nor disabled.",
                admin_detail=f"{name} refused the bind as {who}: {reason or 'wrong user name or password'}",
            )
        if code == UNWILLING_TO_PERFORM or code == 8:  # strongerAuthRequired
            raise AdAuthError(
                "the domain controller refused a simple bind without encryption: use LDAPS or StartTLS, or Kerberos",
                admin_detail=f"{name} refused a simple bind as {who} ({result.get('description')}): "
                "use LDAPS or StartTLS, or Kerberos",
            )
        raise LDAPCommunicationError(f"bind failed: {result.get('description')} {message}".strip())

    def _run(self, fn: Callable[[ldap3.Connection], T], *, write: bool = False) -> T:
        """Run one operation on the shared connection; reads fail over once to the next DC."""
        with self._lock:
            for attempt in (1, 2):
                conn = self._conn or self._connect()
                name = self._server_name
                try:
                    self.stats.operations += 1
                    return fn(conn)
                except (LDAPCommunicationError, OSError) as exc:
                    self._drop()
                    self._preferred = (self._preferred + 1) % len(self.settings.servers)
                    if write:
                        raise AdConnectionError(
                            f"the connection to the domain controller broke during a write ({_user_reason(exc)}); "
                            "whether it was applied is unknown — read the user again before retrying",
                            admin_detail=f"the connection to {name} broke during a write ({_reason(exc)})",
                        ) from None
                    if attempt == 2:
                        raise AdConnectionError(
                            f"the domain controller stopped answering ({_user_reason(exc)})",
                            admin_detail=f"the domain controller {name} stopped answering ({_reason(exc)})",
                        ) from None
                    log.warning("ad.retry", extra={"dc": name, "reason": _reason(exc)})
            raise AssertionError("unreachable")

    def _root_dse(self) -> dict[str, str]:
        """Naming contexts from the rootDSE; read once, counted as connection set-up."""
        if not self._root:

            def op(conn: ldap3.Connection) -> list[Record]:
                conn.search(
                    "",
                    "(objectClass=*)",
                    search_scope=ldap3.BASE,
                    attributes=["defaultNamingContext", "configurationNamingContext", "dnsHostName"],
                    time_limit=int(self.settings.timeout),
                )
                return _entries(conn.response)

            with self._lock:
                entries = self._run(op)
                self.stats.operations -= 1
                self.stats.setup_operations += 1
            for _, attrs in entries:
                self._root = {k: v[0].decode() for k, v in attrs.items() if v}
        return self._root

    @property
    def base_dn(self) -> str:
        dn = self.settings.base_dn or self._root_dse().get("defaultnamingcontext")
        if not dn:
            raise AdError("the domain controller did not name its domain (set the base DN explicitly)")
        return dn

    @property
    def config_dn(self) -> str:
        dn = self.settings.config_dn or self._root_dse().get("configurationnamingcontext")
        if not dn:
            raise AdError("the domain controller did not name its configuration partition (set it)")
        return dn

    # -- searches -------------------------------------------------------------------------
    def _search(
        self, base: str, flt: str, attributes: Sequence[str], scope: str = ldap3.SUBTREE, size_limit: int = 0
    ) -> list[Record]:
        def op(conn: ldap3.Connection) -> list[Record]:
            conn.search(
                base,
                flt,
                search_scope=scope,
                attributes=list(attributes),
                size_limit=size_limit,
                time_limit=int(self.settings.timeout),
            )
            _check_read(conn.result, base)
            return _entries(conn.response)

        return self._run(op)

    @property
    def user_attributes(self) -> list[str]:
        return [*USER_ATTRIBUTES, *self.settings.extra_attributes]

    def find_user(self, query: str) -> Record:
        """The one person named by SMTP address (mail or any proxyAddresses value), UPN,
        sAMAccountName (also DOMAIN\\name) or objectGUID. One search."""
        flt = user_filter(query)
        found = self._search(self.base_dn, flt, self.user_attributes, size_limit=10)
        if not found:
            raise UnknownUserError(f"no user named '{query.strip()}' in Active Directory", query)
        if len(found) > 1:
            dns = sorted(dn for dn, _ in found)
            raise AmbiguousUserError(
                f"'{query.strip()}' matches {len(dns)} AD objects: {'; '.join(dns)}", query, dns
            )
        return found[0]

    def find_by_name(self, name: str, limit: int = 10) -> list[Record]:
        """People a chat message may mean by `name`: AD's ambiguous name resolution (anr), which
        matches the start of displayName, givenName, sn, sAMAccountName, mail and proxyAddresses
        ("carl" finds Carl and Carla). Few attributes, at most `limit` entries. One search."""
        q = parsing.check_lookup_name(name).strip()
        if len(q) < 2 or any(ord(c) < 0x20 or c == "\x7f" for c in q):
            return []
        flt = f"(&(objectCategory=person)(anr={escape_filter_chars(q)}))"
        attrs = ["displayName", "mail", "sAMAccountName", "userPrincipalName"]
        return self._search(self.base_dn, flt, attrs, size_limit=limit)

    def read(self, dn: str, attributes: Sequence[str] | None = None) -> Record:
        """One object by DN (base search); UnknownUserError if it is gone."""
        found = self._search(dn, "(objectClass=*)", attributes or self.user_attributes, scope=ldap3.BASE)
        if not found:
            raise UnknownUserError(f"{dn} no longer exists in Active Directory", dn)
        return found[0]

    def iter_users(self, flt: str | None = None, page_size: int | None = None) -> Iterator[Record]:
        """Every matching user, streamed page by page (simple paged results, 1,000 per page).

        Only one page is held at a time. If the DC goes away mid-way the error says how many
        entries were already handed out (AdAuditInterrupted.delivered), so an audit can report them.
        """
        size = page_size or self.settings.page_size
        base, flt = self.base_dn, flt or self.settings.user_filter
        cookie: bytes | None = None
        delivered = 0
        while True:

            def op(
                conn: ldap3.Connection, cookie: bytes | None = cookie
            ) -> tuple[list[Record], bytes | None]:
                conn.search(
                    base,
                    flt,
                    search_scope=ldap3.SUBTREE,
                    attributes=self.user_attributes,
                    paged_size=size,
                    paged_cookie=cookie,
                    time_limit=int(self.settings.timeout),
                )
                _check_read(conn.result, base)
                controls = (conn.result or {}).get("controls") or {}
                next_cookie = controls.get(PAGED_RESULTS, {}).get("value", {}).get("cookie")
                return _entries(conn.response), next_cookie or None

            try:
                if cookie is None:
                    page, cookie = self._run(op)
                else:  # a paging cookie belongs to one connection: no failover mid-way
                    page, cookie = self._run_once(op)
            except AdConnectionError as exc:
                if delivered == 0 and cookie is None:
                    raise
                raise AdAuditInterrupted(
                    f"reading users stopped after {delivered}: {exc}; the result covers only those",
                    delivered,
                    admin_detail=exc.admin_detail,
                ) from None
            for record in page:
                delivered += 1
                yield record
            del page
            if not cookie:
                return

    def _run_once(self, fn: Callable[[ldap3.Connection], T]) -> T:
        with self._lock:
            if self._conn is None:
                raise AdConnectionError("the connection was lost between pages")
            name = self._server_name
            try:
                self.stats.operations += 1
                return fn(self._conn)
            except (LDAPCommunicationError, OSError) as exc:
                self._drop()
                self._preferred = (self._preferred + 1) % len(self.settings.servers)
                raise AdConnectionError(
                    f"the domain controller stopped answering ({_user_reason(exc)})",
                    admin_detail=f"the domain controller {name} stopped answering ({_reason(exc)})",
                ) from None

    # -- groups (roles) -----------------------------------------------------------------
    def is_member(self, user_dn: str, group_dn: str) -> bool:
        """Whether user_dn is in group_dn directly or through nested groups (one base search)."""
        flt = f"(memberOf:{IN_CHAIN}:={escape_filter_chars(group_dn)})"
        return bool(self._search(user_dn, flt, ["1.1"], scope=ldap3.BASE))

    def groups_of(self, user_dn: str) -> list[str]:
        """DNs of every group user_dn belongs to, nested membership included."""
        flt = f"(&(objectClass=group)(member:{IN_CHAIN}:={escape_filter_chars(user_dn)}))"
        return sorted(dn for dn, _ in self._search(self.base_dn, flt, ["1.1"]))

    def security_groups_of(self, user_dn: str) -> list[Record]:
        """Every *security* group user_dn belongs to, nested included (one search): roles never
        come from distribution groups, whose membership is often self-service."""
        flt = (
            f"(&(objectClass=group)(groupType:{BIT_AND}:={SECURITY_ENABLED})"
            f"(member:{IN_CHAIN}:={escape_filter_chars(user_dn)}))"
        )
        return self._search(self.base_dn, flt, GROUP_ATTRIBUTES)

    def find_groups(self, spec: str) -> list[Record]:
        """Groups named by DN, objectGUID, SID or bare CN (security or not: the caller decides)."""
        spec = spec.strip()
        guid = parsing.normalise_guid(spec)
        if guid:
            flt = f"(objectGUID={escape_bytes(uuid.UUID(guid).bytes_le)})"
        elif (sid := sid_bytes(spec)) is not None:
            flt = f"(objectSid={escape_bytes(sid)})"
        elif looks_like_dn(spec):
            try:
                return self._search(spec, "(objectClass=group)", GROUP_ATTRIBUTES, scope=ldap3.BASE)
            except AdError:
                return []  # no such object (or outside the tree we may read)
        else:
            flt = f"(cn={escape_filter_chars(spec)})"
        return self._search(self.base_dn, f"(&(objectClass=group){flt})", GROUP_ATTRIBUTES, size_limit=50)

    # -- configuration partition --------------------------------------------------------
    @property
    def pki_base(self) -> str:
        return f"CN=Public Key Services,CN=Services,{self.config_dn}"

    def config_records(self) -> list[Record]:
        """Everything under CN=Public Key Services (templates, CAs, AIA, NTAuth, KRA); read once."""
        if self._config_records is None:
            self._config_records = self._search(self.pki_base, "(objectClass=*)", CONFIG_ATTRIBUTES)
        return self._config_records

    def read_config(self) -> AdConfig:
        """The AdConfig the pki.* checks judge, built as the snapshot builds it; cached."""
        if self._config is None:
            self._config = config_from_records(self.config_records())
        return self._config

    # -- writes -------------------------------------------------------------------------
    def remove_certificate_values(self, dn: str, values: Mapping[str, Sequence[bytes]]) -> WriteResult:
        """Delete exactly these values from userCertificate/userSMIMECertificate, nothing else.

        Refused (AdWriteConflict) if any of them is no longer there: the object changed since
        the values were read. LDAP's value-delete is itself atomic, so a change racing this call
        is refused by AD too.
        """
        bad = set(values) - set(CERT_ATTRIBUTES)
        if bad:
            raise InputError(f"only {' and '.join(CERT_ATTRIBUTES)} can have certificates removed, not {bad}")
        attrs = [a for a in CERT_ATTRIBUTES if values.get(a)]
        if not attrs:
            raise InputError("no certificate values to remove")
        before = self._current(dn, attrs)
        for attr in attrs:
            missing = [v for v in values[attr] if v not in before[attr]]
            if missing:
                raise AdWriteConflict(
                    f"{dn} changed since it was read: {len(missing)} of the {attr} values to remove "
                    "are no longer there. Nothing was changed; read the user again and re-approve."
                )
        changes = {a: [(ldap3.MODIFY_DELETE, list(values[a]))] for a in attrs}
        return self._modify(dn, "remove_certificate_values", changes, before)

    def restore_certificate_values(self, dn: str, values: Mapping[str, Sequence[bytes]]) -> WriteResult:
        """Add exactly these values back to userCertificate/userSMIMECertificate (undo of a removal).

        Refused (AdWriteConflict) if any of them is already there: the object changed since the
        removal. LDAP's value-add is atomic, so a value added meanwhile by someone else is refused
        by AD too (attributeOrValueExists) and nothing is written.
        """
        bad = set(values) - set(CERT_ATTRIBUTES)
        if bad:
            raise InputError(
                f"only {' and '.join(CERT_ATTRIBUTES)} can have certificates restored, not {bad}"
            )
        attrs = [a for a in CERT_ATTRIBUTES if values.get(a)]
        if not attrs:
            raise InputError("no certificate values to restore")
        before = self._current(dn, attrs)
        for attr in attrs:
            present = [v for v in values[attr] if v in before[attr]]
            if present or len(set(values[attr])) != len(values[attr]):
                raise AdWriteConflict(
                    f"{dn} changed since it was read: {len(present)} of the {attr} values to restore "
                    "are already there. Nothing was changed; read the user again and re-approve."
                )
        changes = {a: [(ldap3.MODIFY_ADD, list(values[a]))] for a in attrs}
        return self._modify(dn, "restore_certificate_values", changes, before)

    def clear_smime_certificates(self, dn: str, expected: Sequence[bytes]) -> WriteResult:
        """Empty userSMIMECertificate, provided it still holds exactly `expected` (as read earlier)."""
        attr = "userSMIMECertificate"
        before = self._current(dn, [attr])
        if sorted(before[attr]) != sorted(expected):
            raise AdWriteConflict(
                f"{dn} changed since it was read: userSMIMECertificate now holds {len(before[attr])} "
                f"value(s), {len(expected)} were expected. Nothing was changed; read the user again."
            )
        if not expected:
            return WriteResult(dn, "clear_smime_certificates", before, before)
        return self._modify(
            dn, "clear_smime_certificates", {attr: [(ldap3.MODIFY_DELETE, list(expected))]}, before
        )

    def set_mail_nickname(self, dn: str, value: str, expected: str | None) -> WriteResult:
        """Set mailNickname, provided it is still `expected` (None: still unset). Atomic compare-and-set."""
        attr = "mailNickname"
        if not value.strip():
            raise InputError("mailNickname cannot be empty")
        before = self._current(dn, [attr])
        current = before[attr][0].decode("utf-8", "replace") if before[attr] else None
        if current != expected:
            raise AdWriteConflict(
                f"{dn} changed since it was read: mailNickname is {current!r}, expected {expected!r}. "
                "Nothing was changed."
            )
        ops: list[tuple[str, list[Any]]] = []
        if expected is not None:
            ops.append((ldap3.MODIFY_DELETE, [expected]))
        ops.append((ldap3.MODIFY_ADD, [value]))
        return self._modify(dn, "set_mail_nickname", {attr: ops}, before)

    def lowercase_addresses(
        self, dn: str, expected_mail: str | None, expected_proxies: Sequence[str]
    ) -> WriteResult:
        """Lower-case mail and the address part of SMTP proxyAddresses (the SMTP:/smtp: prefix, which
        marks the primary, is kept). Refused if either attribute differs from what was read."""
        attrs = ["mail", "proxyAddresses"]
        before = self._current(dn, attrs)
        mail = before["mail"][0].decode() if before["mail"] else None
        proxies = [p.decode() for p in before["proxyAddresses"]]
        if mail != expected_mail or sorted(proxies) != sorted(expected_proxies):
            raise AdWriteConflict(
                f"{dn} changed since it was read: mail or proxyAddresses differ from what was approved. "
                "Nothing was changed; read the user again."
            )
        changes: dict[str, list[tuple[str, list[Any]]]] = {}
        if mail is not None and mail != mail.lower():
            changes["mail"] = [(ldap3.MODIFY_DELETE, [mail]), (ldap3.MODIFY_ADD, [mail.lower()])]
        old = [p for p in proxies if p.lower().startswith("smtp:") and p[5:] != p[5:].lower()]
        if old:
            new = [p[:5] + p[5:].lower() for p in old]
            changes["proxyAddresses"] = [(ldap3.MODIFY_DELETE, old), (ldap3.MODIFY_ADD, new)]
        if not changes:
            return WriteResult(dn, "lowercase_addresses", before, before)
        return self._modify(dn, "lowercase_addresses", changes, before)

    def set_text_values(
        self, dn: str, values: dict[str, Sequence[str]], expected: dict[str, Sequence[str]]
    ) -> WriteResult:
        """Put text attributes back to exactly `values` (an empty list removes the attribute), provided
        each still holds exactly `expected` (compared case-sensitively, order ignored); the undo of
        set_mail_nickname and lowercase_addresses. Refused, writing nothing, if anything differs."""
        attrs = sorted(set(values) | set(expected))
        before = self._current(dn, attrs)
        current = {a: sorted(v.decode("utf-8", "replace") for v in before[a]) for a in attrs}
        if any(current[a] != sorted(expected.get(a, [])) for a in attrs):
            raise AdWriteConflict(
                f"{dn} changed since it was read: {', '.join(attrs)} differ from what was approved. "
                "Nothing was changed; read the user again."
            )
        changes: dict[str, list[tuple[str, list[Any]]]] = {
            a: [(ldap3.MODIFY_REPLACE, list(values.get(a, [])))]
            for a in attrs
            if sorted(values.get(a, [])) != current[a]
        }
        if not changes:
            return WriteResult(dn, "set_text_values", before, before)
        return self._modify(dn, "set_text_values", changes, before)

    def _current(self, dn: str, attrs: Sequence[str]) -> dict[str, list[bytes]]:
        _, found = self.read(dn, attrs)
        return {a: list(found.get(a.lower(), [])) for a in attrs}

    def _modify(
        self,
        dn: str,
        action: str,
        changes: dict[str, list[tuple[str, list[Any]]]],
        before: dict[str, list[bytes]],
    ) -> WriteResult:
        def op(conn: ldap3.Connection) -> dict[str, Any]:
            conn.modify(dn, changes)
            return dict(conn.result or {})

        result = self._run(op, write=True)
        if result.get("result") != 0:
            raise self._write_error(result, dn, sorted(changes))
        log.info("ad.write", extra={"dn": dn, "action": action, "attributes": sorted(changes)})
        after = self._current(dn, list(before))
        return WriteResult(dn, action, before, after)

    def _write_error(self, result: dict[str, Any], dn: str, attrs: list[str]) -> AdError:
        code = result.get("result")
        message = str(result.get("message") or "").strip()
        names = ", ".join(attrs)
        who = self.settings.user or "the service account"
        if code == INSUFFICIENT_ACCESS_RIGHTS:
            ou = parent_dn(dn)
            grants = " ".join(f'/G "{who}:WP;{a};user"' for a in attrs)
            return AdPermissionError(
                f"{who} lacks the right 'Write {names}' on {dn}, so nothing was changed. Delegate it on the "
                f'users\' OU: dsacls "{ou}" /I:S {grants} (see docs/ad.md).'
            )
        if code in (NO_SUCH_ATTRIBUTE, ATTRIBUTE_OR_VALUE_EXISTS):
            return AdWriteConflict(
                f"{dn} changed while the write was under way ({names}: {result.get('description')}); "
                "AD applied nothing. Read the user again and re-approve."
            )
        if code == CONSTRAINT_VIOLATION:
            return AdWriteError(
                f"AD refused the new value of {names} on {dn} (constraint violation: {message or 'no detail'}); "
                "typically a value longer than the schema allows or a second value in a single-valued attribute. "
                "Nothing was changed."
            )
        if code == UNDEFINED_ATTRIBUTE_TYPE:
            return AdWriteError(
                f"this forest has no attribute {names}: the Exchange schema extension is missing. Nothing was changed."
            )
        if code == INVALID_ATTRIBUTE_SYNTAX:
            return AdWriteError(
                f"AD rejected the value of {names} on {dn} as malformed or out of range ({message}); "
                "Samba reports a value longer than the schema allows this way. Nothing was changed."
            )
        if code == NO_SUCH_OBJECT:
            return AdWriteConflict(
                f"{dn} no longer exists (moved or deleted since it was read). Nothing was changed."
            )
        if code in (BUSY, UNAVAILABLE):
            return AdConnectionError(
                f"the domain controller is busy or unavailable ({message}); try again shortly"
            )
        return AdWriteError(f"AD refused to change {names} on {dn}: {result.get('description')} ({message})")


# -- helpers -------------------------------------------------------------------------------


def group_info(record: Record) -> GroupInfo:
    """A group record as role checks compare it: DN, objectGUID and SID ids, and its type."""
    dn, attrs = record
    ids = {dn_id(dn)}
    guid = parsing.guid_from_bytes((attrs.get("objectguid") or [b""])[0])
    if guid:
        ids.add(f"guid:{guid[0]}")
    sid = (attrs.get("objectsid") or [b""])[0]
    if sid:
        with contextlib.suppress(Exception):  # a malformed SID just leaves that id out
            ids.add(f"sid:{format_sid(sid).lower()}")
    try:
        group_type = int((attrs.get("grouptype") or [b"0"])[0])
    except ValueError:
        group_type = 0
    name = (attrs.get("cn") or [dn.encode()])[0].decode(errors="replace")
    return GroupInfo(name, frozenset(ids), bool(group_type & SECURITY_ENABLED))


def user_filter(query: str) -> str:
    """The search filter for a user name; every piece of input is escaped (*, (, ), \\, NUL)."""
    q = parsing.check_lookup_name(query).strip()  # bounded before any LDAP query
    if not q:
        raise UnknownUserError("no user name given", query)
    if any(ord(c) < 0x20 or c == "\x7f" for c in q):
        # AD and Samba end a value at NUL even when escaped (\00): "alice\0x" would find alice.
        # No directory name holds control characters, so such input names nobody.
        raise UnknownUserError("a user name cannot contain control characters", query)
    if q.lower().startswith("smtp:"):
        q = q[5:]
    if "\\" in q and q.index("\\") > 0 and "@" not in q:  # DOMAIN\sam
        q = q.split("\\", 1)[1]
    v = escape_filter_chars(q)
    terms = [f"(sAMAccountName={v})", f"(userPrincipalName={v})", f"(mail={v})", f"(proxyAddresses=smtp:{v})"]
    guid = parsing.normalise_guid(q)
    if guid:
        terms.append(f"(objectGUID={escape_bytes(uuid.UUID(guid).bytes_le)})")
    return f"(&(objectCategory=person)(|{''.join(terms)}))"


def _normalise(raw: dict[str, Any]) -> dict[str, list[bytes]]:
    """ldap3's raw attributes as iter_ldif gives them: lower-case names, ;binary dropped, bytes."""
    out: dict[str, list[bytes]] = {}
    for name, values in raw.items():
        if not values:
            continue
        key = name.split(";", 1)[0].lower()
        out.setdefault(key, []).extend(v if isinstance(v, bytes) else str(v).encode() for v in values)
    return out


def _entries(response: Iterable[dict[str, Any]] | None) -> list[Record]:
    """Entries only: a search from the domain root also returns referrals (continuation refs)."""
    return [
        (e["dn"], _normalise(e.get("raw_attributes") or {}))
        for e in response or []
        if e.get("type") == "searchResEntry"
    ]


def _check_read(result: dict[str, Any] | None, base: str) -> None:
    code = (result or {}).get("result", 0)
    if code in (0, 4):  # success, sizeLimitExceeded (we asked for a few to detect ambiguity)
        return
    if code == NO_SUCH_OBJECT:
        return  # an empty answer: the object is not there
    description = (result or {}).get("description")
    message = str((result or {}).get("message") or "").strip()
    if code == INSUFFICIENT_ACCESS_RIGHTS:
        raise AdPermissionError(f"the service account may not read {base} ({message}); grant it read access")
    if code in (BUSY, UNAVAILABLE, 3):  # 3: timeLimitExceeded
        raise AdConnectionError(f"the domain controller did not complete a search of {base}: {description}")
    raise AdError(f"searching {base} failed: {description} ({message})")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "timed out" in text.lower():
        return "timed out"
    if "refused" in text.lower():
        return "connection refused"
    if "certificate verify failed" in text.lower():
        return "its TLS certificate is not trusted (set the CA file)"
    return text.splitlines()[0][:200]


def _user_reason(exc: BaseException) -> str:
    """_reason without anything an end user must not see (ldap3's text may name the server)."""
    reason = _reason(exc)
    if reason.startswith("its TLS certificate is not trusted"):
        return "its TLS certificate is not trusted"
    return reason if reason in ("timed out", "connection refused") else "no answer"


def _kerberos_reason(exc: Exception, name: str, host: str) -> str:
    """One sentence for a client-side GSSAPI failure, saying what is missing and how to get it."""
    # gssapi's text is "Major (n): <generic>, Minor (m): <what the Kerberos library says>".
    full = " ".join(str(exc).split())
    detail = full.rsplit("): ", 1)[-1] if "Minor (" in full else full
    text = full.lower()
    cache = os.environ.get("KRB5CCNAME") or "the default ticket cache"
    spn = f"ldap/{host}"
    if (
        "no kerberos credentials" in text
        or "no credentials" in text
        or "not found in credential cache" in text
    ):
        why = (
            f"there is no Kerberos ticket in {cache}: run kinit as the service account "
            "(or point KRB5_CLIENT_KTNAME at its keytab)"
        )
    elif "expired" in text:
        why = f"the Kerberos ticket in {cache} has expired: renew it with kinit (or use a keytab)"
    elif "server not found in kerberos database" in text:
        why = (
            f"the KDC knows no service principal {spn}: if the server is given by address or alias, "
            "set SMIME_DOCTOR_AD_KERBEROS_HOSTS to the DC's DNS name"
        )
    elif "cannot contact any kdc" in text or "cannot find kdc" in text:
        why = "no KDC for the ticket's realm could be reached (check krb5.conf or the _kerberos DNS records)"
    elif "clock skew" in text:
        why = "this machine's clock differs from the KDC's by more than the allowed skew (5 minutes)"
    else:
        why = detail[:200] or type(exc).__name__
    return f"Kerberos bind to {name} (service principal {spn}) failed: {why}"


def parent_dn(dn: str) -> str:
    """The DN one level up (escaped commas in the RDN handled)."""
    parts = parse_dn(dn, escape=False)
    return ",".join(f"{a}={v}" for a, v, _ in parts[1:])
