"""Entra ID through Microsoft Graph v1.0: users, the organization's sync status, ``$batch``.

Records come back exactly as Graph returns them (the same dicts an ``entra-users.json``
export holds), so ``workers.sources.parsing`` reads them unchanged. Graph carries no
certificates for users; those come from AD and Exchange Online.

Thread-safe: single-user calls may run concurrently; the organization is fetched once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests

from workers.errors import AuthError, GraphError, MalformedResponseError, SourceError, ThrottledError
from workers.facts import GroupInfo
from workers.sources.m365_auth import (
    GRAPH_SCOPE,
    Answer,
    M365Http,
    RetryPolicy,
    TokenProvider,
    parse_retry_after,
)

GRAPH_BASE_URL = "https://graph.microsoft.com"
BATCH_LIMIT = 20  # Graph's maximum number of requests in one $batch
MAX_PAGE_SIZE = 999  # the largest $top /users accepts

#: The properties docs/snapshot.md §1 asks for (Graph returns most of them only when selected).
USER_PROPERTIES = (
    "id",
    "displayName",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "proxyAddresses",
    "onPremisesSyncEnabled",
    "onPremisesImmutableId",
    "onPremisesDistinguishedName",
    "onPremisesSamAccountName",
    "onPremisesLastSyncDateTime",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
)
GROUP_PROPERTIES = ("id", "displayName", "securityEnabled", "onPremisesSecurityIdentifier")
ORGANIZATION_PROPERTIES = (
    "id",
    "displayName",
    "onPremisesSyncEnabled",
    "onPremisesLastSyncDateTime",
    "verifiedDomains",
)

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_ADVANCED = {"ConsistencyLevel": "eventual"}  # needed for proxyAddresses/any(...) filters


def _literal(value: str) -> str:
    """An OData string literal: quotes doubled, so user input cannot change the filter."""
    return "'" + value.replace("'", "''") + "'"


def _query(params: dict[str, str]) -> str:
    return urlencode(params, safe="$,'():@", quote_via=quote)


class GraphSource:
    """Microsoft Graph v1.0, app-only (User.Read.All, Organization.Read.All)."""

    def __init__(
        self,
        tokens: TokenProvider,
        *,
        base_url: str = GRAPH_BASE_URL,
        session_factory: Callable[[], requests.Session] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.root = f"{self.base_url}/v1.0"
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.retry = retry or RetryPolicy()
        self.http = M365Http(
            "Microsoft Graph",
            tokens,
            GRAPH_SCOPE,
            session_factory=session_factory,
            timeout=timeout,
            retry=retry,
        )
        self._organization: dict[str, Any] | None = None
        self._org_lock = threading.Lock()

    # -- the wire ----------------------------------------------------------------------
    def _get(self, url: str, what: str, headers: dict[str, str] | None = None) -> dict[str, Any] | None:
        """GET one JSON object; None for 404."""
        answer = self.http.send("GET", url, what=what, headers=headers)
        if answer.status == 404:
            return None
        if answer.status >= 400:
            raise _error_from(answer.status, _json_or_none(answer.body), what)
        return _json_object(answer, what)

    def _pages(self, url: str, what: str, headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        while url:
            data = self._get(url, what, headers)
            if data is None:
                raise GraphError(
                    f"Microsoft Graph answered {what} with 404 Not Found.", code="NotFound", status=404
                )
            yield from _value_list(data, what)
            link = data.get("@odata.nextLink")
            url = self._checked_next_link(link, what) if link else ""

    def _checked_next_link(self, link: Any, what: str) -> str:
        if not isinstance(link, str) or urlsplit(link).netloc != urlsplit(self.base_url).netloc:
            raise MalformedResponseError(
                f"Microsoft Graph answered {what} with a next-page link that does not point back to "
                f"{urlsplit(self.base_url).netloc}; refusing to follow it."
            )
        return link

    # -- users -------------------------------------------------------------------------------
    def _user_requests(self, key: str) -> list[tuple[str, dict[str, str] | None]]:
        """Relative URLs to try in order for one name: id, then UPN/mail/nickname, then proxy address."""
        key = key.strip()
        select = ",".join(USER_PROPERTIES)
        if _GUID.match(key):
            return [(f"/users/{key.strip('{}')}?{_query({'$select': select})}", None)]
        if "@" in key:
            first = f"userPrincipalName eq {_literal(key)} or mail eq {_literal(key)}"
            proxy = f"proxyAddresses/any(p:p eq {_literal('smtp:' + key)})"
            return [
                (f"/users?{_query({'$filter': first, '$select': select})}", None),
                (f"/users?{_query({'$filter': proxy, '$select': select, '$count': 'true'})}", _ADVANCED),
            ]
        nick = f"mailNickname eq {_literal(key)}"
        return [(f"/users?{_query({'$filter': nick, '$select': select})}", None)]

    def get_user(self, key: str) -> dict[str, Any] | None:
        """One user by object id, UPN, mail, proxy address or mailNickname; None if nobody matches.

        Usually one request; a proxy address that is neither UPN nor mail costs a second one.
        """
        what = f"looking up user {key!r}"
        for relative, headers in self._user_requests(key):
            data = self._get(self.root + relative, what, headers)
            found = _users_in(data, what)
            if len(found) > 1:
                raise GraphError(
                    f"Microsoft Graph found {len(found)} users for {key!r}; name one by its UPN or id."
                )
            if found:
                return found[0]
        return None

    # -- groups (roles) ---------------------------------------------------------------------
    def member_groups(self, user_id: str) -> list[GroupInfo]:
        """Every group the user is in, nested included (transitiveMemberOf, groups only)."""
        select = ",".join(GROUP_PROPERTIES)
        url = f"{self.root}/users/{quote(user_id.strip(), safe='')}/transitiveMemberOf/microsoft.graph.group"
        return [_group(g) for g in self._pages(f"{url}?{_query({'$select': select})}", "reading groups")]

    def find_groups(self, spec: str) -> list[GroupInfo]:
        """Groups named by object id, on-premises SID or display name. A DN cannot be asked of
        Graph (groups have no DN there): it matches nothing."""
        spec, select = spec.strip(), ",".join(GROUP_PROPERTIES)
        what = f"looking up group {spec!r}"
        if _GUID.match(spec):
            found = self._get(f"{self.root}/groups/{spec.strip('{}')}?{_query({'$select': select})}", what)
            return [_group(found)] if found else []
        field = "onPremisesSecurityIdentifier" if spec.upper().startswith("S-1-") else "displayName"
        if "=" in spec and field == "displayName":
            return []
        flt = f"{field} eq {_literal(spec)}"
        return [
            _group(g)
            for g in self._pages(f"{self.root}/groups?{_query({'$filter': flt, '$select': select})}", what)
        ]

    def get_users(self, keys: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """Many users via ``$batch`` (20 per request); a name that matches nobody maps to None."""
        keys = list(dict.fromkeys(keys))
        result: dict[str, dict[str, Any] | None] = {}
        pending = {k: self._user_requests(k) for k in keys}
        while pending:
            first = {k: reqs[0] for k, reqs in pending.items()}
            answers = self._batch(first)
            next_round: dict[str, list[tuple[str, dict[str, str] | None]]] = {}
            for key, (status, body) in answers.items():
                what = f"looking up user {key!r}"
                if status == 404:
                    found: list[dict[str, Any]] = []
                elif status >= 400:
                    raise _error_from(status, body, what)
                else:
                    found = _users_in(body if isinstance(body, dict) else None, what)
                if found:
                    result[key] = found[0]
                elif len(pending[key]) > 1:
                    next_round[key] = pending[key][1:]
                else:
                    result[key] = None
            pending = next_round
        return {k: result.get(k) for k in keys}

    def _batch(
        self, requests_by_key: dict[str, tuple[str, dict[str, str] | None]]
    ) -> dict[str, tuple[int, Any]]:
        """Run GETs through $batch, 20 at a time, retrying items that answer 429 on their own."""
        out: dict[str, tuple[int, Any]] = {}
        items = list(requests_by_key.items())
        for start in range(0, len(items), BATCH_LIMIT):
            chunk = dict(items[start : start + BATCH_LIMIT])
            waited, attempt = 0.0, 0
            while chunk:
                ids = {str(i): key for i, key in enumerate(chunk)}
                body = {
                    "requests": [
                        {
                            "id": i,
                            "method": "GET",
                            "url": chunk[key][0],
                            **({"headers": chunk[key][1]} if chunk[key][1] else {}),
                        }
                        for i, key in ids.items()
                    ]
                }
                what = f"looking up {len(chunk)} users in one $batch"
                answer = self.http.send("POST", f"{self.root}/$batch", what=what, json_body=body)
                if answer.status >= 400:
                    raise _error_from(answer.status, _json_or_none(answer.body), what)
                throttled: dict[str, tuple[str, dict[str, str] | None]] = {}
                longest: float | None = None
                for response in _value_list(_json_object(answer, what), what, key="responses"):
                    key = ids.get(str(response.get("id")))
                    status = response.get("status")
                    if key is None or not isinstance(status, int):
                        raise MalformedResponseError(
                            f"Microsoft Graph answered {what} with an unreadable item."
                        )
                    if status in (429, 503, 504):
                        throttled[key] = chunk[key]
                        headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
                        ra = parse_retry_after(headers.get("retry-after"))
                        longest = ra if longest is None or (ra or 0) > longest else longest
                    else:
                        out[key] = (status, response.get("body"))
                missing = set(chunk) - set(throttled) - set(out)
                if missing:
                    raise MalformedResponseError(
                        f"Microsoft Graph answered {what} without {len(missing)} of the items."
                    )
                chunk = throttled
                if chunk:
                    delay = self.retry.delay(attempt, longest)
                    attempt += 1
                    if attempt >= self.retry.attempts or waited + delay > self.retry.budget_s:
                        raise ThrottledError(
                            f"Microsoft Graph kept throttling {len(chunk)} user lookups in a $batch after "
                            f"{attempt} attempt(s); try again in a few minutes."
                        )
                    time.sleep(delay)
                    waited += delay
        return out

    def iter_users(self) -> Iterator[dict[str, Any]]:
        """Every user, 999 per request."""
        url = (
            f"{self.root}/users?{_query({'$select': ','.join(USER_PROPERTIES), '$top': str(self.page_size)})}"
        )
        return self._pages(url, "listing users")

    # -- organization ---------------------------------------------------------------------------
    def get_organization(self) -> dict[str, Any]:
        """The tenant's organization object (sync status), cached after the first call."""
        with self._org_lock:
            if self._organization is None:
                url = f"{self.root}/organization?{_query({'$select': ','.join(ORGANIZATION_PROPERTIES)})}"
                orgs = list(self._pages(url, "reading the organization"))
                if not orgs:
                    raise MalformedResponseError("Microsoft Graph answered /organization with no object.")
                self._organization = orgs[0]
            return self._organization


def _group(data: dict[str, Any]) -> GroupInfo:
    ids = {f"guid:{str(data.get('id', '')).lower()}"}
    if isinstance(sid := data.get("onPremisesSecurityIdentifier"), str) and sid:
        ids.add(f"sid:{sid.lower()}")
    return GroupInfo(
        str(data.get("displayName") or data.get("id")), frozenset(ids), data.get("securityEnabled") is True
    )


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _json_object(answer: Answer, what: str) -> dict[str, Any]:
    data = _json_or_none(answer.body)
    if not isinstance(data, dict):
        kind = answer.content_type.split(";")[0] or "no content type"
        raise MalformedResponseError(
            f"Microsoft Graph answered {what} with something that is not a JSON object ({kind}, "
            f"{len(answer.body)} bytes); a proxy or an outage page may be in the way."
        )
    return data


def _value_list(data: dict[str, Any], what: str, key: str = "value") -> list[dict[str, Any]]:
    values = data.get(key)
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise MalformedResponseError(f"Microsoft Graph answered {what} without a list of objects in {key!r}.")
    return values


def _users_in(data: dict[str, Any] | None, what: str) -> list[dict[str, Any]]:
    """A single user object or a filtered {"value": [...]} list, as a list."""
    if data is None:
        return []
    if "value" in data:
        return _value_list(data, what)
    if not isinstance(data.get("id"), str):
        raise MalformedResponseError(f"Microsoft Graph answered {what} with an object that is not a user.")
    return [data]


def _error_from(status: int, body: Any, what: str) -> SourceError:
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code") or "") if isinstance(error, dict) else ""
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    if status == 401:
        return AuthError(
            f"Microsoft Graph refused the app's token while {what} (HTTP 401{': ' + message if message else ''})."
        )
    if status == 403:
        return AuthError(
            f"Microsoft Graph denied {what} ({code or 'HTTP 403'}). Grant the app the application permissions "
            "User.Read.All and Organization.Read.All and give admin consent."
        )
    if message:
        return GraphError(
            f"Microsoft Graph could not complete {what}: {code}: {message[:400]}", code=code, status=status
        )
    return MalformedResponseError(
        f"Microsoft Graph answered {what} with HTTP {status} and no readable error."
    )
