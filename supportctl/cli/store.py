"""`supportctl store …`: init, import, export, check and API tokens of the local store.

Each command calls the store administration API (``supportctl.storage.admin``) on the
configured local backend's storage; other backends exit 2 before anything is done.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.errors import Unavailable, UsageError
from supportctl.storage import admin


@click.group()
def store() -> None:
    """Create, import, export and check the local store (json or PostgreSQL)."""


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(
        f"{n} {kind}{'' if n == 1 else 's'}"
        for kind, n in counts.items()
        if n or kind != "attachment"
    )


@store.command("init")
@click.option("--demo", is_flag=True, help="Fill the new store with a small realistic demo.")
@pass_app
def init(app: AppContext, demo: bool) -> None:
    """Create the store (the directory of --store, or the default one).

    With --demo it holds an org with an admin and users, a FedRAMP user, agents, 30
    hand-written tickets of every type and status, escalations at every stage, three
    reports of one problem to merge (1184–1186), and four months of history (about 150 more tickets with replies and resolutions, for `report`);
    if no user is configured, the profile's user becomes the demo admin.
    """
    result = admin.init_store(app.storage_class("store init"), app.settings(), demo=demo)
    where = result.storage.location
    if not demo:
        app.note(
            f"store already exists at {where}"
            if result.existed
            else f"created an empty store at {where}"
        )
        return
    if result.counts is None:
        app.note(f"the demo store already exists at {where}")
    else:
        app.note(f"created a demo store at {where}: {_summary(result.counts)}")
    from supportctl import templates
    from supportctl.demo import DEMO_ADMIN, DEMO_TEMPLATES, DEMO_TRIGGERS

    settings = app.settings()
    directory = settings.config.templates_dir(settings.profile)
    if templates.write_examples(directory, DEMO_TEMPLATES):
        app.note(f"wrote {len(DEMO_TEMPLATES)} example reply templates to {directory}")
    config = settings.config
    if not settings.user:
        config.set(settings.profile, "user", DEMO_ADMIN)
        config.save()
        app.note(
            f"profile {settings.profile!r} now acts as {DEMO_ADMIN!r}, the demo's brand admin "
            f"(change it with `supportctl config set user NAME`)"
        )
    if result.counts is not None and "triggers" not in config.data:
        config.data["triggers"] = {name: dict(t) for name, t in DEMO_TRIGGERS.items()}
        config.save()
        app.note(
            f"wrote example triggers ({', '.join(DEMO_TRIGGERS)}) into {config.path}: they "
            "route the tickets you create; try `supportctl --user sam triggers test 1025 1030` "
            "(delete the [triggers.*] tables to stop them)"
        )


@store.command("import")
@click.argument("source", metavar="FILE|-")
@pass_app
def import_(app: AppContext, source: str) -> None:
    """Add documents from JSON Lines (the `store export` format), all or nothing.

    One object per line with "kind": org, user, ticket or escalation. Every line is
    checked first; a bad line (or an id that already exists) imports nothing and the
    error names the lines. Creates the store if there is none.
    """
    import gc

    storage_cls = app.storage_class("store import")
    # Parsing 100,000 tickets makes ~10 million objects, all alive until the import is done
    # and none of them garbage: each collection of the cycle collector would walk them all.
    # It is off until _import has returned and its documents are freed.
    collecting = gc.isenabled()
    gc.disable()
    try:
        storage, counts = admin.import_into(storage_cls, app.settings(), _read_lines(source))
    finally:
        if collecting:
            gc.enable()
    app.note(f"imported {_summary(counts)} into {storage.location}")


def _read_lines(source: str) -> list[bytes]:
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from None
    return data.split(b"\n")  # `data` is freed on return (~270 MB at 100,000 tickets)


@store.command("export")
@click.argument("target", metavar="[FILE|-]", default="-")
@click.option(
    "--with-tokens",
    is_flag=True,
    help="Also the API tokens (their hashes), so clients keep working after a move.",
)
@pass_app
def export(app: AppContext, target: str, with_tokens: bool) -> None:
    """Write every document as JSON Lines (stdout by default), for `store import`.

    With --with-tokens the API tokens go too, as stored (hashes, never a token): `store
    import` on another store (json or PostgreSQL) then accepts the same tokens.

    \b
    Example:
      supportctl store export --with-tokens | supportctl --store postgresql://db/support store import -
    """
    from supportctl.fsutil import atomic_write
    from supportctl.render import dumps_jsonl

    docs = admin.export_documents(app.storage("store export"), with_tokens=with_tokens)
    if with_tokens:
        app.note("the export holds the API tokens' hashes: keep it as safe as the store")
    if target == "-":
        out = sys.stdout
        for doc in docs:
            out.write(dumps_jsonl(doc) + "\n")
        out.flush()
        return
    data = "".join(dumps_jsonl(doc) + "\n" for doc in docs).encode("utf-8")
    try:
        atomic_write(Path(target), data)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    app.note(f"exported to {target}")


@store.command("check")
@click.option("--repair", is_flag=True, help="Rebuild what is derivable (the index, counters).")
@pass_app
def check(app: AppContext, repair: bool) -> None:
    """Verify every file of the store; exit 0 when healthy, 6 when damaged.

    --repair rebuilds what can be derived (the listing index, id counters, an
    interrupted write, temp files) and says what it did; damaged tickets, users or
    orgs are reported, never overwritten.
    """
    storage = app.storage_class("store check").open(app.settings(), checking=True)
    report = admin.check_store(storage, repair=repair)
    for line in report.repaired:
        app.out(f"repaired: {line}\n")
    for line in report.problems:
        app.out(f"problem: {line}\n")
    for line in report.info:
        app.out(f"{line}\n")
    if not report.healthy:
        raise Unavailable(
            f"the store at {storage.location} is damaged: {len(report.problems)} problem(s)",
            hint=None if repair else "`supportctl store check --repair` fixes what is derivable",
        )
    app.note(f"store at {storage.location} is healthy")


@store.group("token")
def token() -> None:
    """API tokens for `supportctl serve` (shown once, stored hashed)."""


@token.command("create")
@click.argument("user")
@click.option(
    "--expires",
    metavar="DURATION",
    help="Valid for DURATION (90m, 36h, 7d, 2w); default: until revoked.",
)
@pass_app
def token_create(app: AppContext, user: str, expires: str | None) -> None:
    """Make a token for USER; printed once, alone on the last line of stdout."""
    from supportctl.timeutil import parse_duration

    lifetime = parse_duration(expires) if expires is not None else None
    if lifetime is not None and not lifetime:
        raise UsageError("--expires must be longer than 0")
    record, secret = admin.create_token(app.storage("store token"), user, expires=lifetime)
    until = f", valid until {record.expires_at}" if record.expires_at else ""
    app.note(f"created token {record.id} for {user}{until}; it is shown once, store it now")
    app.out(f"{secret}\n")


@token.command("list")
@click.option(
    "-o",
    "--output",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
)
@pass_app
def token_list(app: AppContext, fmt: str) -> None:
    """List tokens: id, user and creation time (never the token)."""
    from supportctl.render import dumps_json, render_rows

    rows = [r.public() for r in app.storage("store token").list_tokens()]
    if fmt == "json":
        app.out(dumps_json(rows) + "\n")
    else:
        app.out(
            render_rows(
                rows, ["id", "user", "created_at", "expires_at"], "table", project_json=False
            )
        )
        if not rows:
            app.note("no tokens")


@token.command("revoke")
@click.argument("token_id", metavar="TOKEN_ID")
@pass_app
def token_revoke(app: AppContext, token_id: str) -> None:
    """Revoke a token by its id; a running server refuses it from the next request on."""
    record = admin.revoke_token(app.storage("store token"), token_id)
    app.note(f"revoked token {record.id} of {record.user}")
