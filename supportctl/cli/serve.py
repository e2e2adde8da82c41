"""`supportctl serve`: the REST API of SPEC §7 over the local store."""

from __future__ import annotations

import click

from supportctl.cli.context import AppContext, pass_app


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--store",
    "store_path",
    metavar="DIR|URL",
    help="The store to serve: a json store directory or a postgresql:// URL "
    "(default: as for every command).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="The server's config: its [triggers] route the tickets created through it and its "
    "[sla] targets apply (default: the config every command reads).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Requests served at once (worker threads).",
)
@click.option(
    "--trusted-proxy",
    metavar="ADDR",
    help="The IP address of the reverse proxy in front: its requests take the client's address "
    "from X-Forwarded-For (for the access log and the limit on failed authentications); "
    "anyone else's X-Forwarded-For is ignored.",
)
@pass_app
def serve(
    app: AppContext,
    host: str,
    port: int,
    store_path: str | None,
    config_file: str | None,
    threads: int,
    trusted_proxy: str | None,
) -> None:
    """Serve the REST API over a local store (json or PostgreSQL), so a team can share it.

    Clients authenticate with tokens from `supportctl store token create USER` and use
    `--backend http --url http://HOST:PORT/api/v1`. One access-log line per request goes to
    stderr (never a token). SIGINT or SIGTERM stop accepting, let the requests in flight
    finish (up to 30 s), then stop. Runs on waitress; the same app is
    `supportctl.server.wsgi:app` for any other WSGI server. Over PostgreSQL the server
    keeps a pool of up to --threads connections; several `serve` processes may share one
    database. GET /api/v1/health answers 200 while the store answers, else 503.

    \b
    Example:
      supportctl serve --port 8080 &
      SUPPORTCTL_TOKEN=sct_… supportctl --backend http --url http://127.0.0.1:8080/api/v1 tickets list
    """
    from pathlib import Path

    from supportctl.server.app import API_PREFIX, create_app
    from supportctl.server.serving import make_server, serve_until_signalled

    if trusted_proxy is not None:
        trusted_proxy = _proxy_address(trusted_proxy)
    target: str | Path  # a directory, or a postgresql:// URL (the server tells them apart)
    if store_path:
        target = store_path
    else:
        settings = app.settings()
        target = settings.store_url or settings.store_path
    api = create_app(target, config_path=config_file, threads=threads)
    if api.triggers:
        app.note(f"{len(api.triggers)} trigger(s) from {api.config_path} route new tickets")
    try:
        server = make_server(host, port, api, threads=threads, trusted_proxy=trusted_proxy)
    except OSError as exc:
        from supportctl.errors import Unavailable

        api.close()
        raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound_host, bound_port = server.server_address[:2]

    def announce() -> None:
        app.note(
            f"serving {api.location} on http://{bound_host}:{bound_port}{API_PREFIX} "
            "(Ctrl-C or SIGTERM stops)"
        )

    try:
        serve_until_signalled(server, announce)
    finally:
        api.close()
    app.note("stopped")


def _proxy_address(value: str) -> str:
    """`--trusted-proxy`: one IP address, as the server compares it with a peer's. A host
    name (``localhost``), a network or ``*`` would never match, or would match everyone and
    let any client name its own address in X-Forwarded-For: exit 2."""
    import ipaddress

    from supportctl.errors import UsageError

    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        raise UsageError(
            f"--trusted-proxy {value!r} is not an IP address; give the address the proxy "
            "connects from, such as 127.0.0.1 or ::1"
        ) from None
    # as given: the server compares it with the peer's address as the socket writes it
    # (an IPv4-mapped ::ffff:127.0.0.1 would not survive ipaddress's own spelling)
    return value.strip()
