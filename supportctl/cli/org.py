"""`supportctl org view`: an organisation as its brand admins, users and agents see it (002)."""

from __future__ import annotations

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import output_option
from supportctl.render import dumps_json, render_org


@click.group()
def org() -> None:
    """Your organisation: account team, billing contacts, users, tickets."""


@org.command("view")
@click.option("--org", "org_id", metavar="ORG", help="Another org (agents only).")
@output_option("table", "json")
@pass_app
def view(app: AppContext, org_id: str | None, fmt: str) -> None:
    """Show your organisation.

    Brand admins and agents see its data centre, package, account team, billing contacts
    (with when they were last updated), users and roles, ticket counts by status and open
    escalations; users see its name and how to reach its brand admins.

    \b
    Example:
      supportctl org view -o json | jq .ticket_counts
    """
    result = app.service("org view").org_view(org_id)
    if fmt == "json":
        app.out(dumps_json(result.to_dict()) + "\n")
    else:
        app.out(render_org(result, app.style))
