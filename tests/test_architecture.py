"""The layers of docs/architecture.md, as import-linter contracts (pyproject.toml).

A wrong arrow — storage importing the rules, a command touching a store, a remote service
built on the local one — fails here, so it fails CI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "supportctl"


class _WithExtraImport:
    """A graph builder that adds one import the code does not have (a deliberate mistake)."""

    def __init__(self, inner: object, importer: str, imported: str) -> None:
        self.inner, self.importer, self.imported = inner, importer, imported

    def build(self, **kwargs: object):  # noqa: ANN201 - grimp's graph
        graph = self.inner.build(**kwargs)  # type: ignore[attr-defined]
        graph.add_import(
            importer=self.importer,
            imported=self.imported,
            line_number=1,
            line_contents=f"import {self.imported}",
        )
        return graph


def _broken_contracts(extra: tuple[str, str] | None = None) -> list[str]:
    from importlinter import configuration
    from importlinter.application import use_cases
    from importlinter.application.app_config import settings

    configuration.configure()
    if extra is not None:
        settings.configure(GRAPH_BUILDER=_WithExtraImport(settings.GRAPH_BUILDER, *extra))
    try:
        options = use_cases.read_user_options(str(ROOT / "pyproject.toml"))
        use_cases._register_built_in_contract_types()
        report = use_cases.create_report(options, cache_dir=None)
    finally:
        configuration.configure()
    return [
        contract.name for contract, check in report.get_contracts_and_checks() if not check.kept
    ]


def test_the_code_keeps_every_contract():
    assert _broken_contracts() == []


@pytest.mark.parametrize(
    ("importer", "imported", "contract"),
    [
        ("supportctl.storage.base", "supportctl.service", "Imports go down"),
        ("supportctl.storage.jsonstore", "supportctl.api", "Storage applies no rules"),
        ("supportctl.cli.tickets", "supportctl.storage.jsonstore", "Commands reach tickets"),
        ("supportctl.cli.tickets", "requests", "Commands reach tickets"),
        ("supportctl.remote.http", "supportctl.service", "Remote services implement"),
        ("supportctl.service", "supportctl.storage.jsonstore", "The local service knows"),
        ("supportctl.render", "supportctl.backends", "Rendering turns results"),
        ("supportctl.models", "supportctl.api", "Imports go down"),
        ("supportctl.service", "supportctl.render", "The local service knows"),
        ("supportctl.api", "supportctl.render", "The service interface knows no screen"),
        ("supportctl.remote.http", "supportctl.render", "Remote services implement"),
        ("supportctl.storage.jsonstore", "supportctl.report", "Storage applies no rules"),
        ("supportctl.render", "socket", "Rendering turns results"),
        ("supportctl.render", "supportctl.fsutil", "Rendering turns results"),
        ("supportctl.server.app", "supportctl.remote.http", "The server runs the local"),
        ("supportctl.storage.postgres", "supportctl.api", "Storage applies no rules"),
        ("supportctl.storage.postgres", "supportctl.config", "Storage applies no rules"),
        ("supportctl.service", "psycopg", "Only the postgres store speaks SQL"),
        ("supportctl.cli.store", "psycopg", "Only the postgres store speaks SQL"),
        ("supportctl.storage.jsonstore", "psycopg_pool", "Only the postgres store speaks SQL"),
    ],
)
def test_a_wrong_arrow_breaks_a_contract(importer, imported, contract):
    broken = _broken_contracts((importer, imported))
    assert any(name.startswith(contract) for name in broken), broken


def test_no_module_imports_inside_functions_what_it_already_has():
    """A function-level import of a module the file imports at its top is noise."""
    repeated = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                top |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                top |= {f"{node.module}.{a.name}" for a in node.names}
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    names = {a.asname or a.name for a in node.names}
                elif isinstance(node, ast.ImportFrom):
                    names = {f"{node.module}.{a.name}" for a in node.names}
                else:
                    continue
                repeated += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names & top]
    assert repeated == []


# -- the registry: one capability check, before anything is built, sent or written ----------------
UNSUPPORTED = [
    ("rt", ["tickets", "feedback", "7", "--rating", "5"], "tickets feedback"),
    ("rt", ["escalations", "list"], "escalations list"),
    ("rt", ["escalations", "track", "CP-1"], "escalations track"),
    ("rt", ["escalations", "create", "7", "--description", "x"], "escalations create"),
    ("rt", ["escalations", "advance", "CP-1", "--to", "resolved"], "escalations advance"),
    ("rt", ["proxy-access", "show", "7"], "proxy-access show"),
    ("rt", ["proxy-access", "toggle", "7", "--on"], "proxy-access toggle"),
    ("rt", ["org", "view"], "org view"),
    ("rt", ["report"], "report"),
    ("rt", ["store", "check"], "store check"),
    ("http", ["store", "init"], "store init"),
    ("http", ["store", "import", "-"], "store import"),
    ("http", ["store", "export"], "store export"),
    ("http", ["store", "check"], "store check"),
    ("http", ["store", "token", "list"], "store token"),
    ("http", ["store", "token", "create", "bob"], "store token"),
]


@pytest.mark.parametrize(("backend", "args", "command"), UNSUPPORTED)
def test_unsupported_commands_exit_2_before_anything_is_sent(backend, args, command, monkeypatch):
    import requests

    from tests.conftest import run

    def no_network(*args, **kwargs):
        raise AssertionError("a request was sent")

    monkeypatch.setattr(requests.Session, "request", no_network)
    monkeypatch.setenv("SUPPORTCTL_TOKEN", "root:password")
    result = run("--backend", backend, "--url", "https://rt.example.com", *args, input="")
    assert result.exit_code == 2, result.stderr
    assert result.stderr == (
        f"supportctl: error: `{command}` is not supported by the `{backend}` backend\n"
    )


def test_the_registry_example_in_the_architecture_doc_runs_as_written():
    import re
    import shlex

    from tests.conftest import run

    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    line = re.search(r"`(supportctl --backend rt [^`]+)` exits 2", text).group(1)
    result = run(*shlex.split(line)[1:])
    assert result.exit_code == 2
    assert "`tickets feedback` is not supported by the `rt` backend" in result.stderr


def test_every_backend_is_one_registry_entry_and_no_remote_builds_on_the_local_service():
    from supportctl import backends
    from supportctl.api import TicketService
    from supportctl.remote.http import HttpService
    from supportctl.remote.rt import RtService
    from supportctl.service import LocalService

    assert backends.backend_names() == ["http", "json", "postgres", "rt"]
    for cls in (LocalService, HttpService, RtService):
        assert issubclass(cls, TicketService)
        others = {LocalService, HttpService, RtService} - {cls}
        assert not any(issubclass(cls, other) for other in others), cls
        assert not getattr(cls, "__abstractmethods__", None), cls
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "backend=None" not in text and "super().__init__(None" not in text, path
