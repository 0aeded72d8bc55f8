"""A PostgREST-protocol test server over a real PostgreSQL database.

PostgREST (the HTTP API in front of every Supabase project) cannot run here, so this
server speaks exactly the part of its protocol that the unmodified ``supabase`` client
sends for the aragora stores, translated into parameterised SQL on the real server:

- ``GET /rest/v1/<table>`` with ``select`` (``*`` or a column list), filters
  ``col=eq.v`` / ``neq`` / ``gt`` / ``gte`` / ``lt`` / ``lte`` / ``in.(a,b)`` /
  ``is.null``, ``order=col.desc,col2.asc``, ``limit`` and ``offset``;
- ``POST`` inserts of one object or an array (``columns=``), with
  ``Prefer: return=representation|minimal``, and upserts via ``on_conflict=`` plus
  ``Prefer: resolution=merge-duplicates|ignore-duplicates``;
- ``PATCH`` and ``DELETE`` with filters;
- PostgREST's error JSON (``code``, ``message``, ``details``, ``hint``): 409 for a unique
  violation, 404 ``PGRST205`` for an unknown table, 400 for other database errors, and
  the API gateway's 401 ``Invalid API key`` when the ``apikey`` header is wrong.

Like PostgREST, every request is one transaction, results are built by ``json_agg`` in
the database, and inserts go through ``json_populate_recordset``. Table and column names
are checked against the catalog and quoted; values are always query parameters. Anything
else gets a 400 with code ``PGRST100`` so a test notices an unsupported request.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg2
import psycopg2.pool
from psycopg2 import sql

PREFIX = "/rest/v1/"
RESERVED = frozenset({"select", "order", "limit", "offset", "columns", "on_conflict"})
OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
#: How results become JSON text, in the database, as PostgREST does it.
AGGREGATE = sql.SQL("SELECT coalesce(json_agg(_r), '[]')::text FROM ({}) _r")
INVALID_KEY = {"message": "Invalid API key",
               "hint": "Double check your Supabase `anon` or `service_role` API key."}


class RequestError(Exception):
    """An error answered with PostgREST's error JSON."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "details": details, "hint": hint, "message": message}


def _unsupported(what: str) -> RequestError:
    return RequestError(400, "PGRST100", f"the test server does not implement {what}")


class Catalog:
    """Column names and primary keys of ``public`` tables (known tables are cached)."""

    def __init__(self) -> None:
        self._tables: dict[str, tuple[list[str], list[str]]] = {}
        self._lock = threading.Lock()

    def table(self, conn: Any, name: str) -> tuple[list[str], list[str]]:
        """``(columns, primary key columns)`` of ``name``; 404 ``PGRST205`` if unknown."""
        with self._lock:
            known = self._tables.get(name)
        if known is not None:
            return known
        with conn.cursor() as cursor:
            cursor.execute("SELECT column_name FROM information_schema.columns WHERE"
                           " table_schema = 'public' AND table_name = %s"
                           " ORDER BY ordinal_position", (name,))
            columns = [row[0] for row in cursor.fetchall()]
            if not columns:
                raise RequestError(
                    404, "PGRST205",
                    f"Could not find the table 'public.{name}' in the schema cache")
            cursor.execute("SELECT a.attname FROM pg_index i JOIN pg_class c ON"
                           " c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
                           " JOIN pg_attribute a ON a.attrelid = i.indrelid"
                           " AND a.attnum = ANY(i.indkey) WHERE i.indisprimary"
                           " AND n.nspname = 'public' AND c.relname = %s", (name,))
            key = [row[0] for row in cursor.fetchall()]
        with self._lock:
            self._tables[name] = (columns, key)
        return columns, key


def _names(text: str, columns: list[str]) -> list[str]:
    names = [n.strip().strip('"') for n in text.split(",") if n.strip()]
    for name in names:
        if name not in columns:
            raise RequestError(400, "42703", f"column {name} does not exist")
    return names


def _where(table: str, filters: list[tuple[str, str]], columns: list[str]) -> tuple[
        sql.Composable, list[Any]]:
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for column, expression in filters:
        _names(column, columns)
        field = sql.Identifier(table, column)
        operator, _, value = expression.partition(".")
        if operator in OPERATORS:
            parts.append(sql.SQL("{} " + OPERATORS[operator] + " %s").format(field))
            params.append(value)
        elif operator == "in" and value.startswith("(") and value.endswith(")"):
            items = [v.strip().strip('"') for v in value[1:-1].split(",")]
            parts.append(sql.SQL("{} IN ({})").format(
                field, sql.SQL(", ").join(sql.Placeholder() for _ in items)))
            params.extend(items)
        elif operator == "is" and value == "null":
            parts.append(sql.SQL("{} IS NULL").format(field))
        else:
            raise _unsupported(f"the filter {operator!r}")
    if not parts:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts), params


def _order(text: str | None, columns: list[str]) -> sql.Composable:
    if not text:
        return sql.SQL("")
    terms: list[sql.Composable] = []
    for term in text.split(","):
        column, *modifiers = term.split(".")
        _names(column, columns)
        words = {"asc": "ASC", "desc": "DESC", "nullsfirst": "NULLS FIRST",
                 "nullslast": "NULLS LAST"}
        if any(m not in words for m in modifiers):
            raise _unsupported(f"the order {term!r}")
        terms.append(sql.SQL(" ").join([sql.Identifier(column),
                                        *(sql.SQL(words[m]) for m in modifiers)]))
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(terms)


def _count(value: str | None, name: str, params: list[Any]) -> sql.Composable:
    if value is None:
        return sql.SQL("")
    if not value.isdigit():
        raise RequestError(400, "PGRST102", f"{name} must be a number")
    params.append(int(value))
    return sql.SQL(f" {name.upper()} %s")


def _prefer(header: str | None) -> dict[str, str]:
    pairs = (item.strip().partition("=") for item in (header or "").split(",") if item.strip())
    return {key: value for key, _, value in pairs}


class Request:
    """One parsed API request: table, query parameters, Prefer header, JSON body."""

    def __init__(self, method: str, path: str, prefer: str | None, body: bytes) -> None:
        url = urlsplit(path)
        if not url.path.startswith(PREFIX) or "/" in url.path[len(PREFIX):]:
            raise RequestError(404, "PGRST125", f"Invalid path {url.path}")
        self.method = method
        self.table = unquote(url.path[len(PREFIX):])
        pairs = parse_qsl(url.query, keep_blank_values=True)
        self.params = {k: v for k, v in pairs if k in RESERVED}
        self.filters = [(k, v) for k, v in pairs if k not in RESERVED]
        self.prefer = _prefer(prefer)
        try:
            self.body: Any = json.loads(body) if body else None
        except ValueError:
            raise RequestError(400, "PGRST102", "Empty or invalid json") from None

    def run(self, conn: Any, catalog: Catalog) -> tuple[int, str | None]:
        """Run the request in one transaction on ``conn``; return status and JSON text."""
        columns, key = catalog.table(conn, self.table)
        select = self.params.get("select", "*")
        chosen = (sql.SQL("*") if select == "*" else
                  sql.SQL(", ").join(map(sql.Identifier, _names(select, columns))))
        where, params = _where(self.table, self.filters, columns)
        table = sql.Identifier(self.table)
        if self.method == "GET":
            source = sql.SQL("SELECT {} FROM {}{}{}{}{}").format(
                chosen, table, where, _order(self.params.get("order"), columns),
                _count(self.params.get("limit"), "limit", params),
                _count(self.params.get("offset"), "offset", params))
            return 200, self._aggregate(conn, AGGREGATE.format(source), params)
        if self.method == "POST":
            change, params = self._insert(table, columns, key)
            status = 201
        elif self.method == "PATCH":
            if not isinstance(self.body, dict) or not self.body:
                raise RequestError(400, "PGRST102", "PATCH needs a JSON object")
            names = _names(",".join(self.body), columns)
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = _body.{}").format(sql.Identifier(n), sql.Identifier(n))
                for n in names)
            change = sql.SQL("UPDATE {} SET {} FROM json_populate_record(NULL::{}, %s) _body"
                             "{} RETURNING {}.*").format(table, assignments, table, where, table)
            params = [json.dumps(self.body), *params]
            status = 200
        elif self.method == "DELETE":
            change = sql.SQL("DELETE FROM {}{} RETURNING {}.*").format(table, where, table)
            status = 200
        else:
            raise _unsupported(f"the method {self.method}")
        if self.prefer.get("return") != "representation":
            with conn.cursor() as cursor:
                cursor.execute(change, params)
            return (201 if status == 201 else 204), None
        # A data-modifying WITH must be at the top level, as in PostgREST's own queries.
        query = sql.SQL("WITH _changed AS ({}) ").format(change) + AGGREGATE.format(
            sql.SQL("SELECT {} FROM _changed").format(chosen))
        return status, self._aggregate(conn, query, params)

    def _insert(self, table: sql.Identifier, columns: list[str],
                key: list[str]) -> tuple[sql.Composable, list[Any]]:
        rows = [self.body] if isinstance(self.body, dict) else self.body
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise RequestError(400, "PGRST102", "POST needs a JSON object or array of objects")
        names = _names(self.params.get("columns") or ",".join(rows[0]), columns)
        fields = sql.SQL(", ").join(map(sql.Identifier, names))
        statement = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM json_populate_recordset("
                            "NULL::{}, %s)").format(table, fields, fields, table)
        resolution = self.prefer.get("resolution")
        if resolution is not None:
            target = _names(self.params.get("on_conflict") or ",".join(key), columns)
            conflict = sql.SQL(" ON CONFLICT ({}) ").format(
                sql.SQL(", ").join(map(sql.Identifier, target)))
            if resolution == "ignore-duplicates":
                action: sql.Composable = sql.SQL("DO NOTHING")
            elif resolution == "merge-duplicates":
                action = sql.SQL("DO UPDATE SET ") + sql.SQL(", ").join(
                    sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(n), sql.Identifier(n))
                    for n in names)
            else:
                raise _unsupported(f"the resolution {resolution!r}")
            statement = statement + conflict + action
        return statement + sql.SQL(" RETURNING {}.*").format(table), [json.dumps(rows)]

    @staticmethod
    def _aggregate(conn: Any, query: sql.Composable, params: list[Any]) -> str:
        with conn.cursor() as cursor:
            cursor.execute(query, params)
            row = cursor.fetchone()
        return str(row[0]) if row else "[]"


def _database_error(error: psycopg2.Error) -> RequestError:
    code = error.pgcode or "XX000"
    status = 409 if code.startswith("23") else 400
    diag = error.diag
    return RequestError(status, code, diag.message_primary or str(error).strip(),
                        diag.message_detail, diag.message_hint)


class PostgrestTestServer:
    """The server on ``127.0.0.1`` and a free port, serving one database with one key.

    ``url`` is the project URL to give the supabase client (``https://`` when ``tls``, a
    server-side SSL context, is given); use it as a context manager or call :meth:`start`
    and :meth:`stop`.
    """

    def __init__(self, dsn: str, key: str, tls: ssl.SSLContext | None = None) -> None:
        self.key = key
        self.catalog = Catalog()
        self.pool = psycopg2.pool.ThreadedConnectionPool(1, 20, dsn)
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave as separate writes

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: tests read results, not access logs."""

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = server.answer(self.command, self.path, self.headers, body)
                data = payload.encode() if payload is not None else b""
                self.send_response(status)
                if payload is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="postgrest-test-server")

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, str | None]:
        """Status and JSON text for one request."""
        self.requests += 1
        if headers.get("apikey") != self.key:
            return 401, json.dumps(INVALID_KEY)
        conn = self.pool.getconn()
        try:
            request = Request(method, path, headers.get("Prefer"), body)
            with conn:
                return request.run(conn, self.catalog)
        except RequestError as error:
            return error.status, json.dumps(error.body)
        except psycopg2.Error as error:
            return _database_error(error).status, json.dumps(_database_error(error).body)
        finally:
            self.pool.putconn(conn)

    def start(self) -> PostgrestTestServer:
        """Serve in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the database connections."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.pool.closeall()

    def __enter__(self) -> PostgrestTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
