"""`supportctl views …`: the triage views `tickets list --view NAME` starts from (SPEC §16).

Built-in views are seed 001's ticket menus; saved views are the ``[views.NAME]`` tables of
your config file.  Listing them reads the config only: no store, no server.
"""

from __future__ import annotations

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import output_option
from supportctl.render import dumps_json, render_rows


@click.group()
def views() -> None:
    """Named ticket lists: built-in triage menus and your saved views."""


@views.command("list")
@output_option("table", "json")
@pass_app
def list_views(app: AppContext, fmt: str) -> None:
    """List the views `tickets list --view NAME` takes: the built-in ones, then those
    saved as [views.NAME] tables in your config file, with what each selects.

    \b
    Example:
      supportctl views list
      supportctl --user sam tickets list --view mine-open --sort due
    """
    from supportctl.views import all_views

    found = all_views(app.settings().config.views())
    if fmt == "json":
        app.out(dumps_json([v.to_dict() for v in found.values()]) + "\n")
        return
    rows = [
        {
            "name": v.name,
            "kind": v.kind,
            "selects": v.selects(),
            "description": v.description or "-",
        }
        for v in found.values()
    ]
    app.out(
        render_rows(rows, ["name", "kind", "selects", "description"], "table", project_json=False)
    )
