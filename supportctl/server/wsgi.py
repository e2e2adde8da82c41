"""A WSGI entry point for production servers: ``supportctl.server.wsgi:app``.

The store is ``$SUPPORTCTL_STORE``, a directory or a ``postgresql://`` URL (else the default
store directory); ``$SUPPORTCTL_POOL_SIZE`` sizes a PostgreSQL pool (8); for example::

    SUPPORTCTL_STORE=/srv/supportctl gunicorn -w 1 --threads 8 -b 127.0.0.1:8080 \\
        supportctl.server.wsgi:app
"""

from __future__ import annotations

import os
from pathlib import Path

from supportctl.config import default_store_path
from supportctl.server.app import create_app
from supportctl.storage.pgurl import is_postgres_url

_store = os.environ.get("SUPPORTCTL_STORE") or ""
app = create_app(
    _store if is_postgres_url(_store) else Path(_store or default_store_path()),
    threads=int(os.environ.get("SUPPORTCTL_POOL_SIZE") or 8),
)
