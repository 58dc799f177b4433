"""Pages work under the strict CSP: no inline script or style in any page; security headers on every answer."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from checkin.web.headers import CSP

STATIC = Path(__file__).resolve().parent.parent.parent / "static"
PAGES = sorted(p.name for p in STATIC.glob("*.html"))
EVENT_ATTRIBUTES = ("onclick", "onload", "onerror", "onsubmit", "onchange", "oninput", "onkeydown", "onmouseover")


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> block at line {self.getpos()[0]}")
        if "style" in names:
            self.found.append(f"style= on <{tag}> at line {self.getpos()[0]}")
        self.found += [f"{n}= on <{tag}> at line {self.getpos()[0]}" for n in names if n in EVENT_ATTRIBUTES]
        for name, value in attrs:
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}> at line {self.getpos()[0]}")


def test_there_are_pages_to_check() -> None:
    assert "index.html" in PAGES and len(PAGES) > 3


@pytest.mark.parametrize("page", PAGES)
async def test_a_page_has_no_inline_script_or_style(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(f"/{page}")
    assert response.status_code == 200
    finder = _InlineFinder()
    finder.feed(response.text)
    assert finder.found == []


@pytest.mark.parametrize("page", PAGES)
async def test_a_page_is_served_with_the_security_headers(client: httpx.AsyncClient, page: str) -> None:
    headers = (await client.get(f"/{page}")).headers
    assert headers["content-security-policy"] == CSP
    assert (headers["x-frame-options"], headers["referrer-policy"], headers["x-content-type-options"]) == (
        "DENY", "no-referrer", "nosniff")


def test_the_csp_allows_no_inline_script_or_style_and_no_framing() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in CSP


@pytest.mark.parametrize("path", ["/api/auth/me", "/api/no-such-route", "/healthz", "/api/openapi.json"])
async def test_api_answers_and_errors_carry_the_security_headers_too(client: httpx.AsyncClient, path: str) -> None:
    headers = (await client.get(path)).headers
    assert headers["content-security-policy"] == CSP and headers["x-frame-options"] == "DENY"
