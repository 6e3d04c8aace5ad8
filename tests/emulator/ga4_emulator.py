"""A local GA4 emulator: the Data API v1beta and the few Admin API calls Kanon uses, over HTTP.

It speaks the REST JSON that Google's own clients send and parse, so `GA4Connector` and
`check_property` run unchanged against `http://127.0.0.1:PORT`. Answers come from a wrapped
connector (normally `SampleConnector`) with GA4's semantics:

- `POST /v1beta/properties/{id}:runReport` and `:batchRunReports` (at most 5 reports): names
  are validated (unknown → 400 INVALID_ARGUMENT naming the field; other property → 403
  PERMISSION_DENIED), `orderBys`, `limit` (default 10,000, at most 250,000) and `offset` page the
  rows, `rowCount` is the total; `metadata` carries timeZone, subjectToThresholding,
  dataLossFromOtherRow and sampling; `propertyQuota` is charged from an hourly and a daily budget
  with a rough token model (not Google's formula) and 429 RESOURCE_EXHAUSTED once spent.
- `GET /v1beta/properties/{id}/metadata`;
- the Admin API calls of `kanon check-property` and `kanon dsr`, answered by the fake in
  `tests/emulator/admin_emulator.py` from `admin=AdminProperty(...)`.
- `POST /token`: an OAuth token endpoint that only counts visits, so tests can prove that no
  token exchange happens (service accounts sign their own JWTs).

Only Kanon's allow-listed fields are known: the wrapped connector cannot answer anything else.

Faults on demand: `emulator.inject("503", times=2)` makes the next two API requests fail. Kinds:
"429", "500", "503", "403", "400", "timeout" (answer after `delay` seconds, longer than the
client's timeout), "truncate" (a page with fewer rows than rowCount promises), "cut" (the body
stops mid-JSON and the connection closes), "badjson" (a complete HTTP answer whose JSON is cut
off) and "reset" (the connection closes without an answer). `match="batchRunReports"` limits a
fault to requests whose path contains that text.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from connectors.base import ReportRequest, ReportResult
from connectors.catalog import DIMENSIONS, METRICS, CatalogError
from tests.emulator.admin_emulator import AdminApi, AdminError, AdminProperty

METRIC_TYPES = {
    "activeUsers": "TYPE_INTEGER",
    "sessions": "TYPE_INTEGER",
    "screenPageViews": "TYPE_INTEGER",
    "userEngagementDuration": "TYPE_SECONDS",
    "averageSessionDuration": "TYPE_SECONDS",
    "engagementRate": "TYPE_FLOAT",
    "bounceRate": "TYPE_FLOAT",
}
MAX_LIMIT = 250_000
DEFAULT_LIMIT = 10_000
MAX_BATCH = 5
FAULT_KINDS = ("429", "500", "503", "403", "400", "timeout", "truncate", "cut", "badjson", "reset")
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
PERMISSION_MESSAGE = (
    "User does not have sufficient permissions for this property. To learn more about Property "
    "ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id."
)
SCHEMA_HINT = (
    "For a list of valid dimensions and metrics, see "
    "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
)
ORDER_TYPES = {
    0: "ALPHANUMERIC",
    1: "ALPHANUMERIC",
    2: "CASE_INSENSITIVE_ALPHANUMERIC",
    3: "NUMERIC",
}

TokenCost = Callable[[ReportRequest, int, int], int]


def default_token_cost(request: ReportRequest, total_rows: int, returned_rows: int) -> int:
    """A rough model: longer ranges and bigger results cost more (GA4: most requests ≤ 10)."""
    days = (request.end - request.start).days + 1
    return 1 + days // 60 + len(request.dimensions) + total_rows // 5000 + returned_rows // 10_000


class ApiError(Exception):
    """An error answered as GA4 does: {"error": {"code", "message", "status"}}."""

    def __init__(self, code: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason  # google.rpc.ErrorInfo reason, e.g. ACCESS_TOKEN_SCOPE_INSUFFICIENT

    def body(self) -> dict:
        status = STATUS_NAMES.get(self.code, "UNKNOWN")
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": status}
        if self.reason:
            info = "type.googleapis.com/google.rpc.ErrorInfo"
            error["details"] = [{"@type": info, "reason": self.reason, "domain": "googleapis.com"}]
        return {"error": error}


@dataclass
class Fault:
    kind: str
    message: str | None = None
    delay: float | None = None
    match: str | None = None


@dataclass
class LoggedRequest:
    """One request the emulator received, for tests to assert on."""

    method: str
    path: str
    body: dict | None
    status: int = 0
    fault: str | None = None
    reports: int = 0  # reports answered (runReport: 1, batchRunReports: up to 5)
    tokens: int = 0
    authorization: str | None = None


@dataclass
class Quota:
    tokens_per_hour: int = 40_000
    tokens_per_day: int = 200_000
    concurrent_requests: int = 10
    hour_used: int = 0
    day_used: int = 0

    def charge(self, tokens: int) -> None:
        if self.hour_used + tokens > self.tokens_per_hour:
            raise ApiError(429, "Exhausted property tokens per hour. Try again in the next hour.")
        if self.day_used + tokens > self.tokens_per_day:
            raise ApiError(429, "Exhausted property tokens per day. Try again tomorrow.")
        self.hour_used += tokens
        self.day_used += tokens

    def status(self, tokens: int) -> dict:
        def pair(consumed: int, remaining: int) -> dict:
            return {"consumed": consumed, "remaining": max(remaining, 0)}

        return {
            "tokensPerDay": pair(tokens, self.tokens_per_day - self.day_used),
            "tokensPerHour": pair(tokens, self.tokens_per_hour - self.hour_used),
            "concurrentRequests": pair(0, self.concurrent_requests),
            "serverErrorsPerProjectPerHour": pair(0, 10),
            "potentiallyThresholdedRequestsPerHour": pair(0, 120),
            "tokensPerProjectPerHour": pair(tokens, self.tokens_per_hour - self.hour_used),
        }


@dataclass
class _Answer:
    status: int
    body: dict
    fault: Fault | None = None
    reports: int = 0
    tokens: int = 0


class GA4Emulator:
    """A GA4 Data/Admin API on 127.0.0.1, answering from `connector` (anything with `.run`)."""

    def __init__(
        self,
        connector: Any,
        *,
        property_id: str = "123456789",
        tokens_per_hour: int = 40_000,
        tokens_per_day: int = 200_000,
        token_cost: TokenCost = default_token_cost,
        time_zone: str | None = None,
        display_name: str = "Kanon sample property",
        data_retention: str | None = None,
        google_signals: str | None = "GOOGLE_SIGNALS_DISABLED",
        admin: AdminProperty | None = None,
        fault_delay: float = 2.0,
        port: int = 0,
    ) -> None:
        self.connector = connector
        self.requested_port = port  # 0: any free port
        self.property_id = str(property_id)
        self.quota = Quota(tokens_per_hour, tokens_per_day)
        self.token_cost = token_cost
        self.time_zone = time_zone
        self.display_name = display_name
        self.admin = admin or AdminProperty(google_signals=google_signals)
        if data_retention is not None:  # the older shorthand for both retention settings
            self.admin.event_data_retention = self.admin.user_data_retention = data_retention
        self.admin_api = AdminApi(self.admin, self.property_id, self._property)
        self.fault_delay = fault_delay
        self.log: list[LoggedRequest] = []
        self.token_requests = 0
        self._faults: deque[Fault] = deque()
        self._cache: dict[tuple, tuple[ReportResult, list[list]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> GA4Emulator:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.requested_port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() returns within one poll
            name="ga4-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GA4Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The emulator is not running: call start() first.")
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        """What to pass as `api_endpoint` (KANON_GA4_ENDPOINT)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.endpoint}/token"

    # --- test controls ----------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        times: int = 1,
        *,
        message: str | None = None,
        delay: float | None = None,
        match: str | None = None,
    ) -> None:
        """Make the next `times` API requests (whose path contains `match`) fail with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault {kind!r}; choose one of {', '.join(FAULT_KINDS)}.")
        with self._lock:
            self._faults.extend(Fault(kind, message, delay, match) for _ in range(times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def reset_quota(self) -> None:
        """A new hour and day: budgets are full again."""
        with self._lock:
            self.quota.hour_used = 0
            self.quota.day_used = 0

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()
            self.token_requests = 0

    @property
    def requests_served(self) -> int:
        return len(self.log)

    def calls(self, rpc: str) -> list[LoggedRequest]:
        """Logged requests whose path contains `rpc` (e.g. ":batchRunReports")."""
        return [entry for entry in self.log if rpc in entry.path]

    @property
    def tokens_charged(self) -> int:
        return sum(entry.tokens for entry in self.log)

    # --- request handling (called from the server threads) ----------------------------------

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.match is None or fault.match in path:
                    del self._faults[index]
                    return fault
        return None

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.log.append(entry)

    def handle(
        self,
        method: str,
        path: str,
        body: dict | None,
        query: dict[str, str] | None = None,
        authorization: str | None = None,
    ) -> _Answer:
        """Route one API request; faults that need the socket are applied by the handler."""
        fault = self._next_fault(path)
        if fault is not None and fault.kind in ("429", "500", "503", "403", "400"):
            return _Answer(int(fault.kind), self._fault_error(fault, body).body(), fault)
        if fault is not None and fault.kind == "timeout":
            time.sleep(fault.delay if fault.delay is not None else self.fault_delay)
        try:
            if self.admin_api.knows(path):
                answer = _Answer(
                    200, self.admin_api.answer(method, path, body or {}, query or {}, authorization)
                )
            else:
                answer = self._route(method, path, body)
        except AdminError as error:
            answer = _Answer(error.code, ApiError(error.code, error.message, error.reason).body())
        except ApiError as error:
            answer = _Answer(error.code, error.body())
        answer.fault = fault
        if fault is not None and fault.kind == "truncate":
            _truncate(answer.body)
        return answer

    def _fault_error(self, fault: Fault, body: dict | None) -> ApiError:
        code = int(fault.kind)
        if fault.message:
            return ApiError(code, fault.message)
        if code == 400:
            name = _first_field(body) or "pagePath"
            return ApiError(400, f"Field {name} is not a valid dimension. {SCHEMA_HINT}")
        defaults = {
            429: "Too many concurrent requests for this property (emulated).",
            500: "Internal error encountered.",
            503: "The service is currently unavailable.",
            403: PERMISSION_MESSAGE,
        }
        return ApiError(code, defaults[code])

    def _route(self, method: str, path: str, body: dict | None) -> _Answer:
        match = re.fullmatch(r"/(v1beta|v1alpha)/properties/([^/:]+)(.*)", path)
        if not match:
            raise ApiError(404, f"Method not found: {method} {path}")
        version, property_id, rest = match.groups()
        routes = {
            ("POST", "v1beta", ":runReport"): self._run_report,
            ("POST", "v1beta", ":batchRunReports"): self._batch_run_reports,
            ("GET", "v1beta", "/metadata"): self._metadata,
        }
        route = routes.get((method, version, rest))
        if route is None:
            raise ApiError(404, f"Method not found: {method} {path}")
        if property_id != self.property_id:
            raise ApiError(403, PERMISSION_MESSAGE)
        return route(body or {})

    # --- Data API ---------------------------------------------------------------------------

    def _run_report(self, body: dict) -> _Answer:
        report, tokens = self._report(body)
        report["kind"] = "analyticsData#runReport"
        return _Answer(200, report, reports=1, tokens=tokens)

    def _batch_run_reports(self, body: dict) -> _Answer:
        requests = body.get("requests") or []
        if not requests:
            raise ApiError(400, "Field requests is required: a batch needs at least one request.")
        if len(requests) > MAX_BATCH:
            raise ApiError(
                400, f"Field requests has {len(requests)} requests; the limit is {MAX_BATCH}."
            )
        for sub in requests:
            named = sub.get("property")
            if named and named != f"properties/{self.property_id}":
                raise ApiError(
                    400, "Field property of each request must be empty or match the batch's."
                )
        # Validate every report before charging any: GA4 answers a batch all or nothing.
        parsed = [self._parse(sub) for sub in requests]
        answered = [self._answer(*args) for args in parsed]
        reports = [report for report, _ in answered]
        tokens = sum(cost for _, cost in answered)
        body = {"reports": reports, "kind": "analyticsData#batchRunReports"}
        return _Answer(200, body, reports=len(reports), tokens=tokens)

    def _report(self, body: dict) -> tuple[dict, int]:
        return self._answer(*self._parse(body))

    def _parse(self, body: dict) -> tuple[ReportRequest, int, int, list[dict], bool]:
        dimensions = [item.get("name", "") for item in body.get("dimensions") or []]
        metrics = [item.get("name", "") for item in body.get("metrics") or []]
        for name in dimensions:
            if name not in DIMENSIONS:
                raise ApiError(400, f"Field {name} is not a valid dimension. {SCHEMA_HINT}")
        for name in metrics:
            if name not in METRICS:
                raise ApiError(400, f"Field {name} is not a valid metric. {SCHEMA_HINT}")
        if not metrics:
            raise ApiError(400, "Field metrics is required: a report needs at least one metric.")
        ranges = body.get("dateRanges") or []
        if len(ranges) != 1:
            raise ApiError(400, "Field dateRanges must hold exactly one range in this emulator.")
        start = self._date(ranges[0].get("startDate"), "dateRanges.startDate")
        end = self._date(ranges[0].get("endDate"), "dateRanges.endDate")
        if start > end:
            raise ApiError(400, "Field dateRanges.startDate must not be after endDate.")
        if _truthy(body.get("keepEmptyRows")):
            raise ApiError(400, "Field keepEmptyRows=true is not supported by this emulator.")
        limit = _integer(body.get("limit"), "limit") or DEFAULT_LIMIT
        offset = _integer(body.get("offset"), "offset")
        try:
            request = ReportRequest(tuple(dimensions), tuple(metrics), start, end)
        except (CatalogError, ValueError) as error:
            raise ApiError(400, str(error)) from None
        order = _order_keys(body.get("orderBys") or [], dimensions, metrics)
        quota = _truthy(body.get("returnPropertyQuota"))
        return request, min(limit, MAX_LIMIT), offset, order, quota

    def _answer(
        self, request: ReportRequest, limit: int, offset: int, order: list[dict], quota: bool
    ) -> tuple[dict, int]:
        result, rows = self._rows(request, order)
        page = rows[offset : offset + limit]
        tokens = max(1, int(self.token_cost(request, len(rows), len(page))))
        with self._lock:
            self.quota.charge(tokens)
            property_quota = self.quota.status(tokens)
        report: dict[str, Any] = {
            "dimensionHeaders": [{"name": name} for name in request.dimensions],
            "metricHeaders": [
                {"name": name, "type": METRIC_TYPES[name]} for name in request.metrics
            ],
            "rows": [_row(row, len(request.dimensions)) for row in page],
            "rowCount": len(rows),
            "metadata": _metadata(result),
        }
        if not report["rows"]:
            del report["rows"]  # as GA4 does: no rows, no key
        if quota:
            report["propertyQuota"] = property_quota
        return report, tokens

    def _rows(self, request: ReportRequest, order: list[dict]) -> tuple[ReportResult, list[list]]:
        # Pages of one report ask the same question again: answer it once (GA4 caches too).
        key = (id(self.connector), request, json.dumps(order, sort_keys=True))
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            result = self.connector.run(request)
            cached = (result, _sorted_rows(result, request, order))
            with self._lock:
                self._cache[key] = cached
                while len(self._cache) > 16:
                    self._cache.pop(next(iter(self._cache)))
        return cached

    def _date(self, value: Any, field_name: str) -> date:
        if not isinstance(value, str) or not value:
            raise ApiError(400, f"Field {field_name} is required.")
        today = self._today()
        if value == "today":
            return today
        if value == "yesterday":
            return today - timedelta(days=1)
        relative = re.fullmatch(r"(\d+)daysAgo", value)
        if relative:
            return today - timedelta(days=int(relative.group(1)))
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ApiError(
                400,
                f"Field {field_name} has invalid value {value!r}: use YYYY-MM-DD, today, "
                "yesterday or NdaysAgo.",
            ) from None

    def _today(self) -> date:
        today = getattr(self.connector, "today", None)
        return today() if callable(today) else date.today()

    def _metadata(self, body: dict) -> _Answer:
        name = f"properties/{self.property_id}/metadata"
        dimensions = [{"apiName": d, "uiName": d, "category": "Kanon"} for d in DIMENSIONS]
        metrics = [
            {"apiName": m, "uiName": m, "type": METRIC_TYPES.get(m, "TYPE_FLOAT")} for m in METRICS
        ]
        return _Answer(200, {"name": name, "dimensions": dimensions, "metrics": metrics})

    # --- Admin API --------------------------------------------------------------------------

    def _property(self) -> dict:
        """The property resource, for the Admin API fake."""
        return {
            "name": f"properties/{self.property_id}",
            "displayName": self.display_name,
            "timeZone": self.property_time_zone(),
            "currencyCode": "NOK",
            "propertyType": "PROPERTY_TYPE_ORDINARY",
            "serviceLevel": "GOOGLE_ANALYTICS_STANDARD",
        }

    def property_time_zone(self) -> str:
        """The configured zone, else the one the wrapped connector reports (asked once)."""
        if self.time_zone is None:
            today = self._today()
            probe = ReportRequest((), ("activeUsers",), today, today)
            self.time_zone = self.connector.run(probe).time_zone or "UTC"
        return self.time_zone


class _Handler(BaseHTTPRequestHandler):
    """HTTP plumbing: parse, ask the emulator, apply socket-level faults, log."""

    emulator: GA4Emulator
    protocol_version = "HTTP/1.0"  # one request per connection: simple, and faults stay local

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep test output quiet

    def _serve(self, method: str) -> None:
        path, _, query_string = self.path.partition("?")
        query = dict(parse_qsl(query_string))
        raw = self._read_body()
        if path == "/token":
            with self.emulator._lock:
                self.emulator.token_requests += 1
            token = {"access_token": "emulator-token", "expires_in": 3600, "token_type": "Bearer"}
            self._send(200, json.dumps(token).encode())
            return
        entry = LoggedRequest(method, path, None, authorization=self.headers.get("Authorization"))
        try:
            entry.body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            entry.status = 400
            error = ApiError(400, "Invalid JSON payload received.")
            self._finish(entry, 400, json.dumps(error.body()).encode())
            return
        try:
            answer = self.emulator.handle(
                method, path, entry.body, query, self.headers.get("Authorization")
            )
        except Exception as error:  # a bug in the wrapped connector: answer as GA4 would
            answer = _Answer(500, ApiError(500, f"Internal error: {error}").body())
        entry.fault = answer.fault.kind if answer.fault else None
        entry.reports, entry.tokens = answer.reports, answer.tokens
        payload = json.dumps(answer.body).encode()
        kind = entry.fault
        if kind == "reset":
            self.emulator._record(entry)
            self._drop()
            return
        if kind == "cut":
            self.emulator._record(entry)
            self._send(answer.status, payload[: len(payload) // 2], length=len(payload))
            self._drop()
            return
        if kind == "badjson":
            payload = payload[: len(payload) // 2]
        self._finish(entry, answer.status, payload)

    def _finish(self, entry: LoggedRequest, status: int, payload: bytes) -> None:
        entry.status = status
        self.emulator._record(entry)
        self._send(status, payload)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: bytes, length: int | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload) if length is None else length))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            pass  # the client gave up (a timeout fault): nothing left to tell it

    def _drop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


def _sorted_rows(result: ReportResult, request: ReportRequest, order: list[dict]) -> list[list]:
    frame = result.rows
    columns = list(request.dimensions) + list(request.metrics)
    rows = [list(row) for row in frame[columns].itertuples(index=False, name=None)]
    for key in reversed(order):  # stable sorts, last key first
        index = columns.index(key["name"])
        rows.sort(key=lambda row, i=index, k=key: _sort_key(row[i], k["type"]), reverse=key["desc"])
    return rows


def _sort_key(value: Any, order_type: str) -> Any:
    if order_type == "NUMERIC":
        try:
            return (0, float(value))
        except (TypeError, ValueError):
            return (1, 0.0)
    if order_type == "CASE_INSENSITIVE_ALPHANUMERIC":
        return str(value).lower()
    if isinstance(value, str):
        return value
    return float(value)


def _order_keys(order_bys: list[dict], dimensions: list[str], metrics: list[str]) -> list[dict]:
    keys = []
    for item in order_bys:
        desc = _truthy(item.get("desc"))
        if "dimension" in item:
            name = item["dimension"].get("dimensionName", "")
            if name not in dimensions:
                raise ApiError(
                    400, f"Field orderBys.dimension.dimensionName {name} is not in the request."
                )
            raw_type = item["dimension"].get("orderType", "ALPHANUMERIC")
            order_type = (
                ORDER_TYPES.get(raw_type, raw_type) if isinstance(raw_type, int) else raw_type
            )
            keys.append({"name": name, "type": order_type or "ALPHANUMERIC", "desc": desc})
        elif "metric" in item:
            name = item["metric"].get("metricName", "")
            if name not in metrics:
                raise ApiError(
                    400, f"Field orderBys.metric.metricName {name} is not in the request."
                )
            keys.append({"name": name, "type": "NUMERIC", "desc": desc})
        else:
            raise ApiError(400, "Field orderBys must name a dimension or a metric.")
    return keys


def _row(row: list, n_dimensions: int) -> dict:
    return {
        "dimensionValues": [{"value": str(value)} for value in row[:n_dimensions]],
        "metricValues": [{"value": _number(value)} for value in row[n_dimensions:]],
    }


def _number(value: Any) -> str:
    number = float(value)
    if math.isfinite(number) and number == int(number) and not isinstance(value, float):
        return str(int(number))
    return repr(number)


def _metadata(result: ReportResult) -> dict:
    metadata: dict[str, Any] = {"currencyCode": "NOK", "timeZone": result.time_zone}
    if result.subject_to_thresholding:
        metadata["subjectToThresholding"] = True
    if result.data_loss_from_other_row:
        metadata["dataLossFromOtherRow"] = True
    if result.sampled:
        metadata["samplingMetadatas"] = [{"samplesReadCount": "1000", "samplingSpaceSize": "2000"}]
    return metadata


def _truncate(body: dict) -> None:
    """Drop the last half of the rows of the first report that has any; rowCount stays."""
    reports = body.get("reports") if "reports" in body else [body]
    for report in reports or []:
        rows = report.get("rows") or []
        if rows:
            report["rows"] = rows[: len(rows) // 2]
            return


def _first_field(body: dict | None) -> str | None:
    if not body:
        return None
    source = (body.get("requests") or [body])[0]
    for key in ("dimensions", "metrics"):
        items = source.get(key) or []
        if items:
            return items[0].get("name")
    return None


def _integer(value: Any, field_name: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Field {field_name} must be an integer, not {value!r}.") from None
    if number < 0:
        raise ApiError(400, f"Field {field_name} must not be negative.")
    return number


def _truthy(value: Any) -> bool:
    return value is True or value == "true"


def service_account_key(
    token_uri: str, email: str = "kanon-reader@kanon-test.iam.gserviceaccount.com"
) -> tuple[dict, bytes]:
    """A throwaway service-account key (JSON fields) and its public key (PEM), for tests.

    `token_uri` should be the emulator's: the connector never calls it (self-signed JWTs), and
    if anything did, the emulator would count it instead of Google hearing about it.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = {
        "type": "service_account",
        "project_id": "kanon-test",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "universe_domain": "googleapis.com",
    }
    return info, public


def main() -> None:
    """Serve the sample property as GA4, e.g. for `kanon sync --source ga4` by hand."""
    import argparse
    from pathlib import Path

    from connectors.sample import SampleConnector

    parser = argparse.ArgumentParser(description="A local GA4 emulator over the sample property.")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--property", default="123456789")
    parser.add_argument("--today", type=date.fromisoformat, default=None)
    parser.add_argument("--key", type=Path, help="write a throwaway service-account key here")
    args = parser.parse_args()
    emulator = GA4Emulator(
        SampleConnector(today=args.today), property_id=args.property, port=args.port
    )
    with emulator:
        print(f"KANON_GA4_ENDPOINT={emulator.endpoint}")
        print(f"KANON_GA4_PROPERTY={emulator.property_id}")
        if args.key:
            args.key.write_text(json.dumps(service_account_key(emulator.token_uri)[0]))
            print(f"GOOGLE_APPLICATION_CREDENTIALS={args.key}")
        print("NO_PROXY=127.0.0.1,localhost   (Ctrl-C stops the emulator)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
