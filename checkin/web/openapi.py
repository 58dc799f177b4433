"""The OpenAPI document, generated from the declared endpoints."""

from __future__ import annotations

import re
from typing import Any

from checkin.web.endpoint import Endpoint

_ERROR = {"$ref": "#/components/schemas/Error"}


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", ep.path)
        op: dict[str, Any] = {
            "summary": ep.summary,
            "tags": [ep.tag],
            "operationId": f"{ep.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
            "responses": {
                str(ep.status): {"description": "Success", "content": {"application/json": {"schema": {}}}},
                "default": {"description": "A coded error", "content": {"application/json": {"schema": _ERROR}}},
            },
        }
        params = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer" if conv == ":int" else "string"}}
                  for name, conv in re.findall(r"\{(\w+)(:\w+)?\}", ep.path)]
        if ep.query is not None:
            params += [{"name": name, "in": "query", "required": f.required, "schema": f.openapi()}
                       for name, f in ep.query.fields.items()]
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": ep.body.openapi()}}}
        elif ep.raw_body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {ep.raw_body: {"schema": {"type": "string", "format": "binary"}}}}
        if ep.roles is not None:
            op["security"] = [{"cookie": []}, {"bearer": []}]
            op["x-roles"] = sorted(r.value for r in ep.roles)
        paths.setdefault(path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "checkin", "version": "1", "description": "Session check-in and safeguarding alerts"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "checkin_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {"Error": {"type": "object", "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "field": {"type": "string", "nullable": True}}}}}},
        },
    }
