"""A local fake of the GA4 Admin API (v1beta and v1alpha): the calls `kanon check-property` and
`kanon dsr delete` make, answered from an `AdminProperty` a test sets up.

`GA4Emulator` embeds it, so the Data API and the Admin API answer on one port, as Google's do
through one endpoint setting. It speaks the REST JSON Google's own clients send and parse:

- `GET properties/{p}` (with `parent: accounts/{a}`), `.../dataRetentionSettings`,
  `.../googleSignalsSettings` (alpha), `.../userProvidedDataSettings` (alpha),
  `GET accounts/{a}/dataSharingSettings`, `GET properties/{p}/dataStreams`,
  `.../dataStreams/{s}/dataRedactionSettings` (alpha);
- `GET properties/{p}/accessBindings` (alpha) paged by `pageSize`/`pageToken`, needing the
  `analytics.manage.users.readonly` scope;
- `POST properties/{p}:submitUserDeletion` (alpha), needing `analytics.edit`, one identifier per
  request; each deletion is recorded in `deletions`.

Scopes: a self-signed service-account JWT carries its scopes in a `scope` claim, which the fake
reads (without verifying the signature); requests without one (AnonymousCredentials) get
`granted_scopes`, everything by default. A missing scope answers 403 as Google does.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

READONLY = "https://www.googleapis.com/auth/analytics.readonly"
EDIT = "https://www.googleapis.com/auth/analytics.edit"
USERS_READONLY = "https://www.googleapis.com/auth/analytics.manage.users.readonly"
USERS = "https://www.googleapis.com/auth/analytics.manage.users"
ALL_SCOPES = frozenset({READONLY, EDIT, USERS_READONLY, USERS})
READ_SCOPES = frozenset({READONLY, EDIT})
SCOPE_MESSAGE = "Request had insufficient authentication scopes."
KANON_READER = "kanon-reader@kanon-test.iam.gserviceaccount.com"
SHARING_FIELDS = (
    "sharingWithGoogleSupportEnabled",
    "sharingWithGoogleAssignedSalesEnabled",
    "sharingWithGoogleAnySalesEnabled",
    "sharingWithGoogleProductsEnabled",
    "sharingWithOthersEnabled",
)
DELETION_IDS = ("userId", "clientId", "appInstanceId", "userProvidedData")


class AdminError(Exception):
    """An error the fake answers with: HTTP status and Google's message."""

    def __init__(self, code: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason


@dataclass
class WebStream:
    stream_id: str = "1111"
    display_name: str = "www.example.com"
    email_redaction: bool = True
    query_parameter_redaction: bool = True
    query_parameter_keys: list[str] = field(default_factory=lambda: ["email", "phone", "name"])


@dataclass
class AdminProperty:
    """What the fake property's admin screens say; the defaults keep every promise."""

    account_id: str = "987654"
    event_data_retention: str = "FOURTEEN_MONTHS"
    user_data_retention: str = "FOURTEEN_MONTHS"
    reset_user_data_on_new_activity: bool = False
    google_signals: str | None = "GOOGLE_SIGNALS_DISABLED"  # None: the alpha API answers 403
    data_sharing: dict[str, bool] = field(
        default_factory=lambda: dict.fromkeys(SHARING_FIELDS, False)
    )
    user_provided_data_collection: bool = False
    streams: list[WebStream] = field(default_factory=lambda: [WebStream()])
    # (email, GA4 roles) of everyone with access to the property
    access_bindings: list[tuple[str, list[str]]] = field(
        default_factory=lambda: [(KANON_READER, ["predefinedRoles/viewer"])]
    )
    access_page_size: int = 50  # the most bindings one page holds, whatever the client asks
    granted_scopes: frozenset[str] = ALL_SCOPES  # for requests whose token names no scopes
    deletions: list[dict] = field(default_factory=list)

    def violate_everything(self) -> AdminProperty:
        """Break every promise at once (a test's 'violating property')."""
        self.event_data_retention = "TWO_MONTHS"
        self.user_data_retention = "TWENTY_SIX_MONTHS"
        self.reset_user_data_on_new_activity = True
        self.google_signals = "GOOGLE_SIGNALS_ENABLED"
        self.data_sharing = dict.fromkeys(SHARING_FIELDS, True)
        self.user_provided_data_collection = True
        self.streams = [WebStream(email_redaction=False, query_parameter_keys=["phone"])]
        return self


class AdminApi:
    """Routes Admin API requests for one property; `answer` returns (status, JSON body)."""

    def __init__(self, state: AdminProperty, property_id: str, describe: Any) -> None:
        self.state = state
        self.property_id = property_id
        self.describe = describe  # () -> the property resource (name, display name, zone)

    def knows(self, path: str) -> bool:
        return bool(re.match(r"/(v1beta|v1alpha)/(properties|accounts)/", path)) and not (
            re.search(r":(runReport|batchRunReports)$|/metadata$", path)
        )

    def answer(
        self, method: str, path: str, body: dict, query: dict[str, str], authorization: str | None
    ) -> dict:
        version, rest = path.split("/", 2)[1:]
        route, needs = self._route(method, version, rest)
        self._check_scope(needs, authorization)
        return route(body, query)

    def _route(self, method: str, version: str, rest: str) -> tuple[Any, frozenset[str]]:
        alpha = version == "v1alpha"
        p, a = re.escape(self.property_id), re.escape(self.state.account_id)
        table = [
            ("GET", rf"properties/{p}", True, self._property, READ_SCOPES),
            ("GET", rf"properties/{p}/dataRetentionSettings", True, self._retention, READ_SCOPES),
            ("GET", rf"properties/{p}/googleSignalsSettings", alpha, self._signals, READ_SCOPES),
            ("GET", rf"properties/{p}/userProvidedDataSettings", alpha, self._upd, READ_SCOPES),
            ("GET", rf"accounts/{a}/dataSharingSettings", True, self._sharing, READ_SCOPES),
            ("GET", rf"properties/{p}/dataStreams", True, self._streams, READ_SCOPES),
            (
                "GET",
                rf"properties/{p}/dataStreams/(\w+)/dataRedactionSettings",
                alpha,
                self._redaction,
                READ_SCOPES,
            ),
            (
                "GET",
                rf"properties/{p}/accessBindings",
                alpha,
                self._bindings,
                {USERS_READONLY, USERS},
            ),
            ("POST", rf"properties/{p}:submitUserDeletion", alpha, self._delete, {EDIT}),
        ]
        for verb, pattern, available, handler, needs in table:
            match = re.fullmatch(pattern, rest)
            if verb == method and match and available:
                groups = match.groups()
                return functools.partial(_with_groups, handler, groups), frozenset(needs)
        if re.match(r"(properties|accounts)/", rest) and not re.match(
            rf"(properties/{p}|accounts/{a})\b", rest
        ):
            raise AdminError(403, "The caller does not have permission", "PERMISSION_DENIED")
        raise AdminError(404, f"Method not found: {method} /{version}/{rest}")

    def _check_scope(self, needs: frozenset[str], authorization: str | None) -> None:
        granted = token_scopes(authorization)
        if granted is None:
            granted = self.state.granted_scopes
        if not needs & granted:
            raise AdminError(403, SCOPE_MESSAGE, "ACCESS_TOKEN_SCOPE_INSUFFICIENT")

    # --- resources --------------------------------------------------------------------------

    def _name(self, suffix: str = "") -> str:
        return f"properties/{self.property_id}{suffix}"

    def _property(self, body: dict, query: dict) -> dict:
        return {**self.describe(), "parent": f"accounts/{self.state.account_id}"}

    def _retention(self, body: dict, query: dict) -> dict:
        return {
            "name": self._name("/dataRetentionSettings"),
            "eventDataRetention": self.state.event_data_retention,
            "userDataRetention": self.state.user_data_retention,
            "resetUserDataOnNewActivity": self.state.reset_user_data_on_new_activity,
        }

    def _signals(self, body: dict, query: dict) -> dict:
        if self.state.google_signals is None:
            raise AdminError(403, "The caller does not have permission (emulated alpha API).")
        return {
            "name": self._name("/googleSignalsSettings"),
            "state": self.state.google_signals,
            "consent": "GOOGLE_SIGNALS_CONSENT_CONSENTED",
        }

    def _upd(self, body: dict, query: dict) -> dict:
        return {
            "name": self._name("/userProvidedDataSettings"),
            "userProvidedDataCollectionEnabled": self.state.user_provided_data_collection,
            "automaticallyDetectedDataCollectionEnabled": False,
        }

    def _sharing(self, body: dict, query: dict) -> dict:
        name = f"accounts/{self.state.account_id}/dataSharingSettings"
        return {"name": name, **self.state.data_sharing}

    def _streams(self, body: dict, query: dict) -> dict:
        streams = [
            {
                "name": self._name(f"/dataStreams/{stream.stream_id}"),
                "type": "WEB_DATA_STREAM",
                "displayName": stream.display_name,
                "webStreamData": {"defaultUri": f"https://{stream.display_name}"},
            }
            for stream in self.state.streams
        ]
        return {"dataStreams": streams}

    def _redaction(self, body: dict, query: dict, stream_id: str) -> dict:
        for stream in self.state.streams:
            if stream.stream_id == stream_id:
                return {
                    "name": self._name(f"/dataStreams/{stream_id}/dataRedactionSettings"),
                    "emailRedactionEnabled": stream.email_redaction,
                    "queryParameterRedactionEnabled": stream.query_parameter_redaction,
                    "queryParameterKeys": list(stream.query_parameter_keys),
                }
        raise AdminError(404, f"Data stream {stream_id} not found.")

    def _bindings(self, body: dict, query: dict) -> dict:
        asked = int(query.get("pageSize") or 0) or self.state.access_page_size
        size = min(asked, self.state.access_page_size)
        start = int(query.get("pageToken") or 0)
        page = self.state.access_bindings[start : start + size]
        bindings = [
            {"name": self._name(f"/accessBindings/{start + i}"), "user": user, "roles": roles}
            for i, (user, roles) in enumerate(page)
        ]
        answer: dict[str, Any] = {"accessBindings": bindings}
        if start + size < len(self.state.access_bindings):
            answer["nextPageToken"] = str(start + size)
        return answer

    def _delete(self, body: dict, query: dict) -> dict:
        given = [key for key in DELETION_IDS if body.get(key)]
        if len(given) != 1:
            raise AdminError(400, "Exactly one user identifier must be set.", "INVALID_ARGUMENT")
        moment = datetime.now(UTC).replace(microsecond=0)
        self.state.deletions.append({given[0]: body[given[0]], "time": moment})
        return {"deletionRequestTime": moment.isoformat().replace("+00:00", "Z")}


def _with_groups(handler: Any, groups: tuple, body: dict, query: dict) -> dict:
    return handler(body, query, *groups)


def token_scopes(authorization: str | None) -> frozenset[str] | None:
    """The `scope` claim of a bearer JWT (unverified), or None when the token names none."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    parts = authorization.removeprefix("Bearer ").split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        return None
    scope = claims.get("scope") if isinstance(claims, dict) else None
    return frozenset(scope.split()) if isinstance(scope, str) else None
