"""`supportctl me`: your profile, your organisation and who to talk to (SPEC §14; seed 002)."""

from __future__ import annotations

import click

from supportctl.api import FEDRAMP_CONTACTS
from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import output_option
from supportctl.cli.proxy import OFF_NOTE
from supportctl.render import dumps_json, render_me


@click.group(invoke_without_command=True)
@output_option("table", "json")
@pass_app
@click.pass_context
def me(ctx: click.Context, app: AppContext, fmt: str) -> None:
    """Your profile: name, email, username, org, user type, data centre, FedRAMP and your
    account-level proxy login default; then your account team (brand admins and agents) or
    your brand admins (users). FedRAMP users see no admin contact details.

    \b
    Examples:
      supportctl me
      supportctl me -o json | jq .account_team
    """
    if ctx.invoked_subcommand is not None:
        return
    view = app.service("me").me()
    if fmt == "json":
        app.out(dumps_json(view.to_dict()) + "\n")
    else:
        app.out(render_me(view, app.style, FEDRAMP_CONTACTS))


@me.command("support-access")
@click.argument("state", type=click.Choice(["on", "off"]), metavar="on|off")
@pass_app
def support_access(app: AppContext, state: str) -> None:
    """Turn your account-level proxy login access on or off: whether support may log in to
    your account to troubleshoot your tickets, on every ticket that has no setting of its own
    (`proxy-access toggle` sets one ticket). Prints the new state.

    \b
    Example:
      supportctl me support-access on
    """
    user, changed = app.service("me support-access").set_support_access(state == "on")
    if not changed:
        app.note(f"proxy login access for your account is already {state}; nothing changed")
    elif user.support_access:
        app.note(
            "Proxy login access for your account is now on: support may log in to your "
            "account to troubleshoot any of your tickets that has no setting of its own."
        )
    else:
        app.note(f"Proxy login access for your account is now off. {OFF_NOTE}")
    app.out(f"{state}\n")
