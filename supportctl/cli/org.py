"""`supportctl org view`: an organisation as its brand admins, users and agents see it (002)."""

from __future__ import annotations

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import output_option
from supportctl.render import dumps_json, render_billing, render_org, renewal_notice


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
    escalations; users see its name and how to reach its brand admins (FedRAMP users: not
    their contact details). Within 150 days of the renewal, brand admins are asked on
    stderr to confirm the billing contacts (JSON: "confirm_due": true).

    \b
    Example:
      supportctl org view -o json | jq .ticket_counts
    """
    result = app.service("org view").org_view(org_id)
    if result.confirm_due:
        app.note(renewal_notice(result.org))
    if fmt == "json":
        app.out(dumps_json(result.to_dict()) + "\n")
    else:
        app.out(render_org(result, app.style))


@org.group("billing")
def billing() -> None:
    """Your organisation's billing contacts (brand admins only)."""


def _show(app: AppContext, view: object, fmt: str) -> None:
    if view.confirm_due:  # type: ignore[attr-defined]
        app.note(renewal_notice(view.org))  # type: ignore[attr-defined]
    if fmt == "json":
        app.out(dumps_json(view.to_dict()) + "\n")  # type: ignore[attr-defined]
    else:
        app.out(render_billing(view, app.style))


@billing.command("show")
@output_option("table", "json")
@pass_app
def billing_show(app: AppContext, fmt: str) -> None:
    """Show the primary contact (the contract's business owner: renewal notices, quotes) and
    the billing contact (where invoices go), each with when it was last updated, when they
    were last confirmed, and the renewal date.

    \b
    Example:
      supportctl org billing show -o json | jq .confirm_due
    """
    _show(app, app.service("org billing show").billing(), fmt)


@billing.command("set")
@click.argument("kind", type=click.Choice(["primary", "billing"]), metavar="primary|billing")
@click.option("--name", required=True, help="The contact's name (a team name will do).")
@click.option("--email", required=True, metavar="ADDRESS", help="The contact's email address.")
@output_option("table", "json")
@pass_app
def billing_set(app: AppContext, kind: str, name: str, email: str, fmt: str) -> None:
    """Set the primary or the billing contact; records when it was updated.

    \b
    Example:
      supportctl org billing set billing --name "Accounts Payable" --email ap@example.com
    """
    view, changed = app.service("org billing set").set_billing_contact(kind, name, email)
    label = "primary contact" if kind == "primary" else "billing contact"
    if changed:
        app.note(f"The {label} is now {name} <{email}>.")
    else:
        app.note(f"The {label} is already {name} <{email}>; nothing changed.")
    _show(app, view, fmt)


@billing.command("confirm")
@output_option("table", "json")
@pass_app
def billing_confirm(app: AppContext, fmt: str) -> None:
    """Confirm that the billing contacts are right (once per renewal); records when.

    \b
    Example:
      supportctl org billing confirm
    """
    view = app.service("org billing confirm").confirm_billing()
    app.note("Thank you: the billing contacts are confirmed.")
    _show(app, view, fmt)
