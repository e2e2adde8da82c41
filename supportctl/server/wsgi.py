"""A WSGI entry point for production servers: ``supportctl.server.wsgi:app``.

The store is ``$SUPPORTCTL_STORE`` (else the default store directory); for example::

    SUPPORTCTL_STORE=/srv/supportctl gunicorn -w 1 --threads 8 -b 127.0.0.1:8080 \\
        supportctl.server.wsgi:app
"""

from __future__ import annotations

import os
from pathlib import Path

from supportctl.config import default_store_path
from supportctl.server.app import create_app

app = create_app(Path(os.environ.get("SUPPORTCTL_STORE") or default_store_path()))
