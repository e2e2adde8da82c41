"""RT's web login, begun before the rt backend's own modules are imported.

RT checks a password in 0.3–0.5 s, and a command logs in once for its session cookie
(``remote/rt.py``). Importing ``requests`` and the rt backend costs a Python process about
0.15 s more on top of the CLI's own start-up. This module needs only the standard library,
so ``open_service`` can send the login first, in a background thread, and let RT's password
check run while the rest of the backend loads; the first REST2 request waits for it and
takes over the cookie. Where the standard library would not reach RT the way ``requests``
does (a proxy from the environment), the login is left to ``requests`` as before.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from supportctl import __version__
from supportctl.api import CONNECT_TIMEOUT, check_url
from supportctl.errors import AuthenticationFailed

REST_PATH = "/REST/2.0"
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy"}


def credentials(settings: Any) -> tuple[tuple[str, str] | None, str | None, str | None]:
    """(basic auth, token, username) from the settings (docs/rt.md):

    - ``token`` of the form ``user:password`` → basic auth as that user;
    - ``user`` with ``SUPPORTCTL_RT_PASSWORD`` set → basic auth as that user;
    - any other ``token`` → an RT auth token (``Authorization: token …``); the acting user
      is ``user`` (REST2 does not say whose a token is).
    """
    token = settings.token
    user = settings.user
    password = os.environ.get("SUPPORTCTL_RT_PASSWORD")
    if token and ":" in token:
        name, _, secret = token.partition(":")
        return (name, secret), None, name
    if token:
        return None, token, user
    if user and password:
        return (user, password), None, user
    raise AuthenticationFailed(
        "the rt backend needs credentials",
        hint="set SUPPORTCTL_TOKEN to an RT auth token (with --user NAME) or to user:password, "
        "or --user NAME with SUPPORTCTL_RT_PASSWORD",
    )


def rest_url(url: str) -> str:
    """The REST2 base: ``https://rt.example.com`` → ``https://rt.example.com/REST/2.0``."""
    url = url.rstrip("/")
    return url if url.endswith(REST_PATH) else url + REST_PATH


class EarlyLogin:
    """One ``POST /NoAuth/Login.html`` in a background thread; ``wait`` gives its cookies
    and the line ``-v`` prints. Best effort: whatever goes wrong, the caller's requests
    carry the password instead."""

    def __init__(
        self,
        site: str,
        user: str,
        password: str,
        *,
        connect_timeout: float,
        timeout: float,
        ca_bundle: str | None = None,
    ) -> None:
        self.url = site + "/NoAuth/Login.html"
        self.host = (urlsplit(site).hostname or "").lower()
        self.cookies: list[dict[str, Any]] = []
        self.line = ""
        self._form = urlencode({"user": user, "pass": password})
        self._timeouts = (connect_timeout, timeout)
        self._ca_bundle = ca_bundle
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> EarlyLogin:
        self._thread.start()
        return self

    def wait(self) -> EarlyLogin:
        self._thread.join()
        return self

    def _run(self) -> None:
        started = time.monotonic()
        try:
            status, set_cookies = self._post()
        except Exception as exc:  # noqa: BLE001 - best effort: the password still goes along
            self.line = f"POST {self.url} (RT session) failed: {type(exc).__name__}"
            return
        self.cookies = [c for c in map(parse_set_cookie, set_cookies) if c is not None]
        ms = (time.monotonic() - started) * 1000
        kept = any(c["name"].startswith("RT_SID_") for c in self.cookies)
        self.line = (
            f"POST {self.url} {status} {ms:.0f} ms "
            f"({'RT session' if kept else 'no RT session: the password goes with every request'})"
        )

    def _post(self) -> tuple[int, list[str]]:
        import http.client

        parts = urlsplit(self.url)
        connect_timeout, timeout = self._timeouts
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=connect_timeout, context=self._tls()
            )
        else:
            conn = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=connect_timeout
            )
        try:
            conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(timeout)
            conn.request(
                "POST",
                parts.path + (f"?{parts.query}" if parts.query else ""),
                body=self._form,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "User-Agent": f"supportctl/{__version__}",
                    "Referer": self.url.removesuffix("/NoAuth/Login.html") + "/",
                },
            )
            answer = conn.getresponse()
            answer.read()
            return answer.status, answer.headers.get_all("Set-Cookie") or []
        finally:
            conn.close()

    def _tls(self) -> Any:
        """Trust what ``requests`` would: ``--ca-bundle``, then its environment variables,
        then certifi's bundle."""
        import ssl

        bundle = (
            self._ca_bundle
            or os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE")
        )
        if bundle is None:
            import certifi

            bundle = certifi.where()
        if os.path.isdir(bundle):
            return ssl.create_default_context(capath=bundle)
        return ssl.create_default_context(cafile=bundle)


def parse_set_cookie(header: str) -> dict[str, Any] | None:
    """``name=value; Path=/; Secure; HttpOnly`` → the fields a cookie jar needs."""
    first, *attributes = header.split(";")
    name, sep, value = first.partition("=")
    if not sep or not name.strip():
        return None
    cookie: dict[str, Any] = {"name": name.strip(), "value": value.strip(), "path": "/"}
    for attribute in attributes:
        key, _, val = attribute.strip().partition("=")
        if key.lower() == "path" and val.startswith("/"):
            cookie["path"] = val
        elif key.lower() == "secure":
            cookie["secure"] = True
    return cookie


def uses_proxy() -> bool:
    """Whether the environment names a proxy (``requests`` would use it; this module does
    not, so it stands aside)."""
    return any(key.lower() in PROXY_VARIABLES and value for key, value in os.environ.items())


def open_service(settings: Any, *, sla_policy: Any = None) -> Any:
    """Registry factory for `--backend rt`: start RT's login, then load the backend."""
    login = None
    if settings.url and not uses_proxy():
        check_url(settings.url, "--url https://rt.example.com")
        auth, token, _ = credentials(settings)
        if auth is not None and token is None:
            login = EarlyLogin(
                rest_url(settings.url).removesuffix(REST_PATH),
                *auth,
                connect_timeout=min(CONNECT_TIMEOUT, settings.timeout),
                timeout=settings.timeout,
                ca_bundle=settings.ca_bundle,
            ).start()
    from supportctl.remote import rt

    return rt.open_service(settings, sla_policy=sla_policy, login=login)
