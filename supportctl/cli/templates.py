"""`supportctl templates`: the reply templates of SPEC §13 (files, not store data)."""

from __future__ import annotations

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import output_option
from supportctl.render import dumps_json


@click.group("templates")
def templates_group() -> None:
    """Reply templates: Markdown files with placeholders, shared like code.

    A template is NAME.md in the templates directory (`templates path`): optional TOML
    front matter between +++ lines (description, subject, internal, and the actions
    status, priority, assignee, group, add_tags, remove_tags), then the message with
    {{ placeholders }}: ticket.id, ticket.subject, ticket.priority, ticket.status,
    requester.name, requester.username, requester.email, org.name, me.name, me.username,
    me.email, assignee.name, or any --var NAME. Nothing else is evaluated.

    \b
    Example:
      supportctl --user sam tickets reply 1004 --template export-known-issue --preview
    """


@templates_group.command("path")
@pass_app
def path(app: AppContext) -> None:
    """Print the templates directory (profile `templates_dir`, else next to the config)."""
    settings = app.settings()
    app.out(f"{settings.config.templates_dir(settings.profile)}\n")


@templates_group.command("list")
@output_option("table", "json")
@pass_app
def list_templates(app: AppContext, fmt: str) -> None:
    """List the templates: name, description, and what each does besides replying."""
    from supportctl import templates
    from supportctl.render import format_table

    settings = app.settings()
    directory = settings.config.templates_dir(settings.profile)
    found = templates.load_all(directory)
    if fmt == "json":
        app.out(dumps_json([t.to_dict() for t in found]) + "\n")
        return
    if not found:
        app.note(f"no templates in {directory}")
        return
    rows = [
        [
            t.name,
            t.description,
            "note" if t.internal else "reply",
            templates.actions_text(t.actions),
        ]
        for t in found
    ]
    app.out(format_table(rows, ["NAME", "DESCRIPTION", "KIND", "ACTIONS"]) + "\n")


@templates_group.command("show")
@click.argument("name")
@click.option("--ticket", "ticket_id", metavar="ID", help="Render it for this ticket.")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@pass_app
def show(app: AppContext, name: str, ticket_id: str | None, variables: tuple[str, ...]) -> None:
    """Print a template as it is, or rendered for a ticket (--ticket ID)."""
    from supportctl import templates
    from supportctl.cli.templating import Drafts, load_template

    template = load_template(app, name)
    if ticket_id is None:
        app.out(template.path.read_text(encoding="utf-8"))
        return
    values = templates.parse_vars(variables)
    templates.check_known(template, values)
    service = app.service("tickets show")
    (draft,) = Drafts(app, service, template, values).prepare(
        [ticket_id], "", internal=True, preview=True, allow_banned=True
    )
    app.out(draft.body + "\n")
