"""docs/api.md and docs/openapi.json must not drift from the server and the models.

Dependency-free on purpose: only the standard library and the project itself.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from supportctl import api, models
from supportctl.server.app import API_PREFIX, ROUTES

DOCS = Path(__file__).resolve().parent.parent / "docs"
# Fields the server adds to a document's JSON that the stored document does not have.
COMPUTED = {"Ticket": {"sla"}, "TicketSummary": {"sla"}}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads((DOCS / "openapi.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def api_md() -> str:
    return (DOCS / "api.md").read_text(encoding="utf-8")


def _operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def _schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return spec["components"]["schemas"][name]


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = _pointer(spec, node["$ref"])
    return node


def _pointer(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are used: {ref}"
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _properties(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """Properties of a component schema, following allOf."""
    schema = _resolve(spec, _schema(spec, name))
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        part = _resolve(spec, part)
        props.update(part.get("properties", {}))
        for sub in part.get("allOf", []):
            props.update(_resolve(spec, sub).get("properties", {}))
    return props


def _enum_of(spec: dict[str, Any], node: dict[str, Any]) -> list[Any]:
    return _resolve(spec, node)["enum"]


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# -- the document ---------------------------------------------------------------------------


def test_openapi_is_json_of_version_3_1_0(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["servers"][0]["url"] == "http://127.0.0.1:8080" + API_PREFIX


def test_bearer_security_applies_to_every_operation(spec: dict[str, Any]) -> None:
    """Every operation needs a token, but the health check (for load balancers)."""
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"bearer": []}]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                expected = [] if path == "/health" else [{"bearer": []}]
                assert operation.get("security", spec["security"]) == expected, (
                    method,
                    path,
                )
                if expected:
                    assert "401" in operation["responses"], (method, path)


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    for node in _walk(spec):
        if "$ref" in node:
            assert _pointer(spec, node["$ref"]) is not None, node["$ref"]


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]
    assert len(ids) == len(set(ids))


# -- routes ---------------------------------------------------------------------------------


def test_every_route_is_in_openapi_and_nothing_else(spec: dict[str, Any]) -> None:
    routes = {(method, path) for method, path, _ in ROUTES}
    documented = _operations(spec)
    assert routes - documented == set(), "routes missing from docs/openapi.json"
    assert documented - routes == set(), "docs/openapi.json documents routes the server lacks"


def test_path_parameters_are_declared(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        wanted = set(re.findall(r"\{(\w+)\}", path))
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            params = [_resolve(spec, p) for p in item.get("parameters", [])]
            params += [_resolve(spec, p) for p in operation.get("parameters", [])]
            declared = {p["name"] for p in params if p["in"] == "path"}
            assert declared == wanted, (method, path)


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in ROUTES])
def test_every_route_is_in_api_md(api_md: str, method: str, path: str) -> None:
    assert f"`{method} {path}`" in api_md


def test_api_md_documents_no_route_the_server_lacks(api_md: str) -> None:
    routes = {f"{method} {path}" for method, path, _ in ROUTES}
    headings = re.findall(r"^### `([A-Z]+ /\S*)`$", api_md, flags=re.MULTILINE)
    assert set(headings) == routes


def test_posts_take_an_idempotency_key_and_patch_if_match(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            names = {_resolve(spec, p)["name"] for p in operation.get("parameters", [])}
            if method == "post":
                assert "Idempotency-Key" in names, path
                assert "422" in operation["responses"], path
            if method == "patch":
                assert "If-Match" in names, path
                assert "412" in operation["responses"], path


def test_ticket_responses_carry_an_etag(spec: dict[str, Any]) -> None:
    ticket = "#/components/schemas/Ticket"
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for code, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema == {"$ref": ticket}:
                    assert "ETag" in response.get("headers", {}), (method, path, code)


def test_errors_are_problem_documents(spec: dict[str, Any]) -> None:
    required = set(_schema(spec, "Problem")["required"])
    assert {"type", "title", "status", "detail"} <= required
    for name, response in spec["components"]["responses"].items():
        assert "application/problem+json" in response["content"], name
    unauthorized = spec["components"]["responses"]["Unauthorized"]
    assert "WWW-Authenticate" in unauthorized["headers"]


def test_custom_headers_are_components(spec: dict[str, Any]) -> None:
    headers = spec["components"]["headers"]
    for name in ("ETag", "Supportctl-Changed", "Idempotent-Replayed"):
        assert name in headers
    params = {p["name"] for p in spec["components"]["parameters"].values()}
    assert {"If-Match", "Idempotency-Key", "limit", "cursor"} <= params


def test_multipart_uploads_are_binary_files(spec: dict[str, Any]) -> None:
    for path in ("/tickets", "/tickets/{id}/messages"):
        content = spec["paths"][path]["post"]["requestBody"]["content"]
        assert "application/json" in content
        form = _resolve(spec, content["multipart/form-data"]["schema"])
        attach = form["properties"]["attach"]
        assert attach["type"] == "array"
        assert attach["items"]["format"] == "binary"


# -- schemas against the models -------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "values"),
    [
        ("TicketType", models.TICKET_TYPES),
        ("Category", models.CATEGORIES),
        ("Status", models.STATUSES),
        ("Priority", models.PRIORITIES),
        ("Resolution", models.RESOLUTIONS),
        ("Stage", models.STAGES),
        ("MessageKind", models.MESSAGE_KINDS),
        ("EventAction", models.EVENT_ACTIONS),
        ("Role", models.ROLES),
        ("CallStatus", models.CALL_STATUSES),
    ],
)
def test_enum_schemas_equal_the_models(
    spec: dict[str, Any], schema: str, values: tuple[str, ...]
) -> None:
    assert tuple(_schema(spec, schema)["enum"]) == values


def test_document_fields_use_the_enums(spec: dict[str, Any]) -> None:
    ticket = _properties(spec, "Ticket")
    assert tuple(_enum_of(spec, ticket["type"])) == models.TICKET_TYPES
    assert tuple(_enum_of(spec, ticket["category"])) == models.CATEGORIES
    assert tuple(_enum_of(spec, ticket["status"])) == models.STATUSES
    assert tuple(_enum_of(spec, ticket["priority"])) == models.PRIORITIES
    assert ticket["resolution"]["type"] == ["string", "null"]
    assert tuple(ticket["resolution"]["enum"]) == (*models.RESOLUTIONS, None)
    call = ticket["call"]["properties"]
    assert tuple(_enum_of(spec, call["status"])) == models.CALL_STATUSES
    message = _properties(spec, "Message")
    assert tuple(_enum_of(spec, message["kind"])) == models.MESSAGE_KINDS
    event = _properties(spec, "Event")
    assert tuple(_enum_of(spec, event["action"])) == models.EVENT_ACTIONS
    escalation = _properties(spec, "Escalation")
    assert tuple(_enum_of(spec, escalation["stage"])) == models.STAGES
    step = _properties(spec, "TimelineStep")
    assert tuple(_enum_of(spec, step["stage"])) == models.STAGES
    user = _properties(spec, "User")
    assert tuple(_enum_of(spec, user["role"])) == models.ROLES
    close = _properties(spec, "CloseRequest")
    assert tuple(close["reason"]["enum"]) == (*models.RESOLUTIONS, None)
    counts = _properties(spec, "OrgViewFull")["ticket_counts"]
    assert tuple(counts["properties"]) == models.STATUSES
    rule = _properties(spec, "SweepRule")
    assert tuple(rule["action"]["enum"]) == api.SWEEP_ACTIONS


@pytest.mark.parametrize(
    ("schema", "cls"),
    [
        ("Ticket", models.Ticket),
        ("Message", models.Message),
        ("Attachment", models.Attachment),
        ("Event", models.Event),
        ("Escalation", models.Escalation),
        ("User", models.User),
        ("Org", models.Org),
        ("ProxyEntry", api.ProxyEntry),
    ],
)
def test_document_fields_equal_the_dataclasses(
    spec: dict[str, Any], schema: str, cls: type
) -> None:
    fields = {f.name for f in dataclasses.fields(cls)}
    computed = COMPUTED.get(schema, set())
    assert set(_properties(spec, schema)) - computed == fields


def test_ticket_summary_is_the_ticket_without_thread_and_trail(spec: dict[str, Any]) -> None:
    summary = [f for f in _properties(spec, "TicketSummary") if f not in COMPUTED["Ticket"]]
    fields = [f.name for f in dataclasses.fields(models.Ticket)]
    assert summary == [f for f in fields if f not in models.SUMMARY_EXCLUDED]


def test_sla_object_and_filter(spec: dict[str, Any]) -> None:
    from supportctl import sla

    ticket = _properties(spec, "Ticket")
    assert ticket["sla"]["$ref"] == "#/components/schemas/Sla"
    assert "sla" not in _schema(spec, "TicketSummary")["required"]
    params = spec["paths"]["/tickets"]["get"]["parameters"]
    (param,) = [p for p in params if p.get("name") == "sla"]
    assert tuple(param["schema"]["enum"]) == sla.SLA_FILTERS


def test_nullable_fields_are_type_lists(spec: dict[str, Any]) -> None:
    ticket = _properties(spec, "Ticket")
    for name in ("resolution", "assignee", "group", "closed_at", "call", "escalation_id"):
        assert "null" in ticket[name]["type"], name
    assert "null" in ticket["feedback"]["type"]
    assert "null" in _properties(spec, "Escalation")["expected_resolution"]["type"]
    for node in _walk(spec):
        assert node.get("nullable") is None, "OpenAPI 3.0 `nullable` is not 3.1"


def test_org_view_has_both_shapes(spec: dict[str, Any]) -> None:
    shapes = [_resolve(spec, s) for s in _schema(spec, "OrgView")["oneOf"]]
    keys = [set(s["required"]) for s in shapes]
    assert {"org", "users", "ticket_counts", "open_escalations", "confirm_due"} in keys
    assert {"org", "admins"} in keys


def test_pages_have_the_envelope(spec: dict[str, Any]) -> None:
    for name in ("TicketPage", "EscalationPage"):
        assert set(_schema(spec, name)["required"]) == {"items", "next_cursor", "total"}
        assert _schema(spec, name)["properties"]["next_cursor"]["type"] == ["string", "null"]
    limit = _resolve(spec, spec["components"]["parameters"]["Limit"])["schema"]
    from supportctl.server import app

    assert (limit["minimum"], limit["maximum"], limit["default"]) == (
        1,
        app.MAX_PAGE,
        app.DEFAULT_PAGE,
    )


# -- api.md promises that scripts rely on ---------------------------------------------------


def test_api_md_states_the_numbers(api_md: str) -> None:
    from supportctl.remote import http
    from supportctl.server import app

    assert f"{app.MAX_BODY_BYTES:,} bytes" in api_md
    assert app.IDEMPOTENCY_TTL == 24 * 3600 and "24 hours" in api_md
    assert http.MAX_RETRIES == 3 and "at most 3 retries" in api_md
    assert http.MAX_TOTAL_BACKOFF == 10.0 and "at most 10 s" in api_md
    assert http.CONNECT_TIMEOUT == 5.0 and "connect 5 s, read 30 s" in api_md
    assert set(http.RETRY_STATUSES) == {429, 502, 503, 504}
    assert "429, 502, 503, 504" in api_md
    assert "Idempotent-Replayed: true" in api_md
    assert "Supportctl-Changed" in api_md
    assert "## Deviations" in api_md
