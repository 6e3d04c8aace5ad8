"""A local fake of BigQuery's REST API (v2), running query jobs on a sample GA4 export.

It speaks the JSON that `google-cloud-bigquery` sends and parses, so `BigQueryConnector` runs
unchanged against `http://127.0.0.1:PORT` (`client_options={"api_endpoint": ...}`, anonymous
credentials or a throwaway key). Queries run on DuckDB through the same translation the SQL
tests use (`tests.emulator.bigquery_sql_duckdb`), over an export folder written by
`connectors.sample_export.write_export`:

- `POST /bigquery/v2/projects/{p}/jobs` (jobs.insert): a query job. With `dryRun` nothing runs
  and `totalBytesProcessed` is the estimate; otherwise the query runs at once (the job is DONE
  when inserted) and the job fails with `bytesBilledLimitExceeded` when the bytes it bills are
  more than `maximumBytesBilled`. SQL the translation cannot run is a 400 `invalidQuery`.
- `GET /bigquery/v2/projects/{p}/jobs/{id}` (jobs.get);
- `GET /bigquery/v2/projects/{p}/queries/{id}` (jobs.getQueryResults): `maxResults` rows a page,
  `pageToken` for the next, `schema`, `totalRows`.

Bytes, as BigQuery's on-demand pricing counts them: the sizes of the columns a query names
(each leaf of a STRUCT or ARRAY separately: STRING 2 + its UTF-8 bytes, INT64 and FLOAT64 8,
BOOL 1, NULL 0) in the tables its `_TABLE_SUFFIX` bounds select; billed is that rounded up to
a MiB, at least 10 MiB. It is a model, close to what BigQuery reports, not its exact figure.
`bytes_factor` multiplies it (a property that many times larger), for budget tests.

Faults on demand: `fake.inject("403")` (accessDenied), `"404"` (dataset not found) or
`"bytes_billed"` (the job fails as over `maximumBytesBilled`, whatever the estimate said).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
import pandas as pd

from tests.emulator.bigquery_sql_duckdb import UntranslatableSql, export_connection, to_duckdb

MIB = 1024**2
MIN_BILLED = 10 * MIB
SUFFIX_BOUNDS = re.compile(r"_TABLE_SUFFIX\s+BETWEEN\s+@(\w+)\s+AND\s+@(\w+)", re.IGNORECASE)
STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}


class JobError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def body(self) -> dict:
        errors = [{"reason": self.reason, "message": self.message, "domain": "global"}]
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": errors,
                "status": STATUS.get(self.code, "UNKNOWN"),
            }
        }


@dataclass
class Job:
    """One job as the fake saw it, for tests to assert on."""

    job_id: str
    project: str
    sql: str
    parameters: dict[str, str]
    dry_run: bool
    maximum_bytes_billed: int | None
    bytes_processed: int
    bytes_billed: int = 0
    suffixes: list[str] = field(default_factory=list)
    error: dict | None = None
    rows: pd.DataFrame | None = None
    pages_served: int = 0


class BigQueryFake:
    """BigQuery's query REST API on 127.0.0.1 over one sample export folder."""

    def __init__(self, export: Path, *, bytes_factor: float = 1.0, port: int = 0) -> None:
        self.export = Path(export)
        self.bytes_factor = bytes_factor
        self.requested_port = port
        self.jobs: dict[str, Job] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self._faults: deque[str] = deque()
        self._lock = threading.Lock()
        self._con = export_connection(self.export)
        self.sizes = column_sizes(self._con)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> BigQueryFake:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.requested_port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="bigquery-fake",
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

    def __enter__(self) -> BigQueryFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def inject(self, kind: str, times: int = 1) -> None:
        if kind not in ("403", "404", "bytes_billed"):
            raise ValueError(f"Unknown fault {kind!r}.")
        self._faults.extend([kind] * times)

    def query_jobs(self, dry_run: bool | None = None) -> list[Job]:
        return [j for j in self.jobs.values() if dry_run is None or j.dry_run == dry_run]

    # --- jobs -----------------------------------------------------------------------------

    def insert_job(self, project: str, body: dict) -> dict:
        config = body.get("configuration", {})
        fault = self._next_fault(dry_run=bool(config.get("dryRun")))
        if fault == "403":
            raise JobError(
                403,
                "accessDenied",
                f"Access Denied: Project {project}: User does not have bigquery.jobs.create "
                f"permission in project {project}.",
            )
        if fault == "404":
            raise JobError(404, "notFound", f"Not found: Dataset {project}:analytics_123456789")
        query = config.get("query", {})
        sql = query.get("query", "")
        parameters = {
            p["name"]: p["parameterValue"]["value"] for p in query.get("queryParameters", [])
        }
        reference = body.get("jobReference", {})
        limit = query.get("maximumBytesBilled")
        job = Job(
            job_id=reference.get("jobId") or uuid.uuid4().hex,
            project=project,
            sql=sql,
            parameters=parameters,
            dry_run=bool(config.get("dryRun")),
            maximum_bytes_billed=int(limit) if limit is not None else None,
            bytes_processed=0,
        )
        try:
            duck_sql = to_duckdb(sql)
        except UntranslatableSql as error:
            raise JobError(400, "invalidQuery", str(error)) from error
        job.suffixes = self._suffixes(sql, parameters)
        job.bytes_processed = self.bytes_scanned(sql, job.suffixes)
        if not job.dry_run:
            self._run(job, duck_sql, fault)
        with self._lock:
            self.jobs[job.job_id] = job
        return self._resource(job)

    def _next_fault(self, dry_run: bool) -> str | None:
        """The next injected fault; `bytes_billed` waits for a job that runs."""
        with self._lock:
            if not self._faults or (dry_run and self._faults[0] == "bytes_billed"):
                return None
            return self._faults.popleft()

    def _run(self, job: Job, duck_sql: str, fault: str | None) -> None:
        job.bytes_billed = max(MIN_BILLED, math.ceil(job.bytes_processed / MIB) * MIB)
        limit = job.maximum_bytes_billed
        if fault == "bytes_billed" or (limit is not None and job.bytes_billed > limit):
            job.error = {
                "reason": "bytesBilledLimitExceeded",
                "message": f"Query exceeded limit for bytes billed: {limit}. "
                f"{job.bytes_billed} or higher required.",
            }
            return
        try:
            with self._lock:
                job.rows = self._con.execute(duck_sql, job.parameters).df()
        except duckdb.Error as error:
            raise JobError(400, "invalidQuery", f"DuckDB could not run it: {error}") from error

    def _suffixes(self, sql: str, parameters: dict[str, str]) -> list[str]:
        """The tables `events_*` matches that the query's suffix bounds select."""
        every = sorted(self.sizes["suffix"].unique())
        match = SUFFIX_BOUNDS.search(sql)
        if not match:
            return every
        low, high = parameters[match.group(1)], parameters[match.group(2)]
        return [s for s in every if low <= s <= high]

    def bytes_scanned(self, sql: str, suffixes: list[str]) -> int:
        """What BigQuery would process: the named columns of the selected tables."""
        sizes = self.sizes[self.sizes["suffix"].isin(suffixes)]
        named = [leaf for leaf in sizes["leaf"].unique() if _names(sql, leaf)]
        total = int(sizes[sizes["leaf"].isin(named)]["bytes"].sum())
        return int(total * self.bytes_factor)

    def job_resource(self, job_id: str) -> dict:
        return self._resource(self._job(job_id))

    def query_results(self, job_id: str, query: dict[str, list[str]]) -> dict:
        job = self._job(job_id)
        if job.error:
            raise JobError(400, job.error["reason"], job.error["message"])
        rows = job.rows if job.rows is not None else pd.DataFrame()
        start = int(query.get("pageToken", query.get("startIndex", ["0"]))[0])
        size = int(query.get("maxResults", ["0"])[0]) or len(rows) or 1
        page = rows.iloc[start : start + size]
        job.pages_served += 1
        answer: dict[str, Any] = {
            "kind": "bigquery#getQueryResultsResponse",
            "jobReference": {"projectId": job.project, "jobId": job.job_id},
            "schema": {"fields": _schema(rows)},
            "totalRows": str(len(rows)),
            "jobComplete": True,
            "cacheHit": False,
            "totalBytesProcessed": str(job.bytes_processed),
            "rows": [_row(values) for values in page.itertuples(index=False)],
        }
        if start + size < len(rows):
            answer["pageToken"] = str(start + size)
        return answer

    def _job(self, job_id: str) -> Job:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise JobError(404, "notFound", f"Not found: Job {job_id}")
        return job

    def _resource(self, job: Job) -> dict:
        stats = {"totalBytesProcessed": str(job.bytes_processed), "statementType": "SELECT"}
        if not job.dry_run:
            stats["totalBytesBilled"] = str(job.bytes_billed)
        status: dict[str, Any] = {"state": "DONE"}
        if job.error:
            status["errorResult"] = job.error
            status["errors"] = [job.error]
        configuration: dict[str, Any] = {"query": {"query": job.sql}, "jobType": "QUERY"}
        if job.dry_run:
            configuration["dryRun"] = True
        return {
            "kind": "bigquery#job",
            "id": f"{job.project}:{job.job_id}",
            "jobReference": {"projectId": job.project, "jobId": job.job_id},
            "configuration": configuration,
            "status": status,
            "statistics": {
                "creationTime": str(int(time.time() * 1000)),
                "totalBytesProcessed": str(job.bytes_processed),
                "query": stats,
            },
        }


def _names(sql: str, leaf: str) -> bool:
    """Does the query name this leaf column? An array's leaves by their path inside it."""
    top, _, rest = leaf.partition(".")
    if not re.search(rf"\b{top}\b", sql):
        return False
    if top in ("event_params", "user_properties", "items"):
        return re.search(rf"\b{re.escape(rest)}\b", sql) is not None
    return not rest or re.search(rf"\b{re.escape(leaf)}\b", sql) is not None


def column_sizes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Bytes per (table suffix, leaf column) by BigQuery's data size rules."""
    schema = con.execute('DESCRIBE SELECT * EXCLUDE (_TABLE_SUFFIX) FROM "events_*"').fetchall()
    parts = []
    for name, kind, *_ in schema:
        for leaf, expression in _leaves(name, kind, name):
            parts.append(f"SELECT _TABLE_SUFFIX AS suffix, '{leaf}' AS leaf, {expression} AS bytes")
    sql = " UNION ALL ".join(
        f'SELECT suffix, leaf, SUM(bytes)::BIGINT AS bytes FROM ({p} FROM "events_*") '
        "GROUP BY suffix, leaf"
        for p in parts
    )
    return con.execute(sql).df()


def _leaves(path: str, kind: str, expression: str, in_list: str | None = None):
    """(leaf path, SQL of its bytes in one row) for every leaf of a column's type."""
    kind = kind.strip()
    if kind.endswith("[]"):  # a list of structs: its leaves, summed over the elements
        yield from _leaves(path, kind[:-2], "e", in_list=expression)
        return
    if kind.startswith("STRUCT("):
        for field_name, field_kind in _struct_fields(kind):
            yield from _leaves(
                f"{path}.{field_name}", field_kind, f'{expression}."{field_name}"', in_list
            )
        return
    if kind == "VARCHAR":
        size = f"CASE WHEN {expression} IS NULL THEN 0 ELSE 2 + strlen({expression}) END"
    elif kind == "BOOLEAN":
        size = f"CASE WHEN {expression} IS NULL THEN 0 ELSE 1 END"
    else:
        size = f"CASE WHEN {expression} IS NULL THEN 0 ELSE 8 END"
    if in_list is not None:
        size = f"COALESCE(list_sum([{size} FOR e IN {in_list}]), 0)"
    yield path, size


def _struct_fields(kind: str) -> list[tuple[str, str]]:
    """The fields of a DuckDB STRUCT(...) type string."""
    inner = kind[len("STRUCT(") : -1]
    fields, depth, current = [], 0, ""
    for char in inner + ",":
        if char == "," and depth == 0:
            name, _, field_kind = current.strip().partition(" ")
            fields.append((name.strip('"'), field_kind))
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    return fields


def _schema(rows: pd.DataFrame) -> list[dict]:
    fields = []
    for name, dtype in rows.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            kind = "BOOLEAN"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "INTEGER"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "FLOAT"
        else:
            kind = "STRING"
        fields.append({"name": str(name), "type": kind, "mode": "NULLABLE"})
    return fields


def _row(values: tuple) -> dict:
    return {"f": [{"v": _cell(v)} for v in values]}


def _cell(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


JOBS = re.compile(r"^/bigquery/v2/projects/([^/]+)/jobs$")
JOB = re.compile(r"^/bigquery/v2/projects/([^/]+)/jobs/([^/]+)$")
RESULTS = re.compile(r"^/bigquery/v2/projects/([^/]+)/queries/([^/]+)$")


class _Handler(BaseHTTPRequestHandler):
    fake: BigQueryFake
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        self._answer("POST")

    def do_GET(self) -> None:
        self._answer("GET")

    def _answer(self, method: str) -> None:
        url = urlparse(self.path)
        self.fake.requests.append((method, url.path))
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        try:
            if method == "POST" and (m := JOBS.match(url.path)):
                self._send(200, self.fake.insert_job(m.group(1), body))
            elif method == "GET" and (m := JOB.match(url.path)):
                self._send(200, self.fake.job_resource(m.group(2)))
            elif method == "GET" and (m := RESULTS.match(url.path)):
                self._send(200, self.fake.query_results(m.group(2), parse_qs(url.query)))
            else:
                raise JobError(404, "notFound", f"No such method: {method} {url.path}")
        except JobError as error:
            self._send(error.code, error.body())

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    """Serve an export folder as BigQuery, e.g. for `kanon sync --source bigquery` by hand."""
    import argparse

    parser = argparse.ArgumentParser(description="A local BigQuery fake over a sample export.")
    parser.add_argument(
        "--export",
        type=Path,
        required=True,
        help="a `kanon sample --bigquery-export` folder (KANON_HOME/bigquery_export)",
    )
    parser.add_argument("--port", type=int, default=9050)
    parser.add_argument("--key", type=Path, help="write a throwaway service-account key here")
    args = parser.parse_args()
    with BigQueryFake(args.export, port=args.port) as fake:
        print(f"KANON_BIGQUERY_ENDPOINT={fake.endpoint}")
        print("KANON_BIGQUERY_PROJECT=kanon-sample KANON_BIGQUERY_DATASET=analytics_123456789")
        print("KANON_BIGQUERY_TIME_ZONE=Europe/Oslo")
        if args.key:
            from tests.emulator.ga4_emulator import service_account_key

            args.key.write_text(json.dumps(service_account_key(f"{fake.endpoint}/token")[0]))
            print(f"GOOGLE_APPLICATION_CREDENTIALS={args.key}")
        print("NO_PROXY=127.0.0.1,localhost   (Ctrl-C stops the fake)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
