"""PostgreSQL store URLs (SPEC §12) without importing psycopg: recognise one, show one.

A URL is shown only without its password (``postgresql://ann@db/support``), and a
connection failure names the host and the database the way libpq would resolve them.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(value: object) -> bool:
    """Whether a `--store` value names a PostgreSQL database rather than a directory."""
    return isinstance(value, str) and value.lower().startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL without a password (in the user part or as a ``password=`` parameter)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^@/]*@", "//***@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{hosts}" if user else hosts
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k == "password" for k, _ in pairs):
            query = urlencode([(k, v) for k, v in pairs if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def host_and_database(url: str) -> tuple[str, str]:
    """The host and database a URL connects to, with libpq's defaults (PGHOST,
    PGDATABASE, the user name) filled in; for messages only."""
    try:
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query))
        hosts = parts.netloc.rpartition("@")[2]
        user = (
            unquote(parts.netloc.rpartition("@")[0].split(":", 1)[0]) if "@" in parts.netloc else ""
        )
    except ValueError:
        return "?", "?"
    host = params.get("host") or unquote(hosts) or os.environ.get("PGHOST") or "localhost"
    database = (
        unquote(parts.path.lstrip("/"))
        or params.get("dbname")
        or os.environ.get("PGDATABASE")
        or params.get("user")
        or user
        or os.environ.get("PGUSER")
        or _login()
    )
    if params.get("service") or os.environ.get("PGSERVICE"):
        service = params.get("service") or os.environ.get("PGSERVICE")
        if not unquote(hosts) and not params.get("host"):
            host = f"service {service}"
    return host, database


def _login() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return "?"
