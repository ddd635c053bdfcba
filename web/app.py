"""The web app: the API, the Atom feeds and the pages, on one database, read
only.

``create_app`` wires what every request goes through, outermost first:
- only GET and HEAD (anything else is 405; HEAD is GET without the body);
- the bearer token when one is configured (feeds also take the feed token
  as ``?token=``), compared in constant time;
- an ``ETag`` made of the request and :func:`db.history.last_change` (the
  newest run and event), so repeating a request before anything changed is a
  ``304`` that costs one small query;
- one error shape for the API and the feeds, ``{"error": {"code",
  "message"}}``; the pages render their errors as pages.
Static assets (CSS, JavaScript, the vendored Swagger UI) are served by the
app itself: nothing is loaded from another host.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.engine import session_factory
from db.history import last_change
from web import api, feeds, pages
from web.params import BadRequest

STATIC = Path(__file__).resolve().parent / "static"
_ETAG_PREFIXES = ("/api/v1/", "/feeds/")


@dataclass(frozen=True)
class WebSettings:
    database_url: str
    token: str | None = None  # every request needs `Authorization: Bearer <token>`
    feed_token: str | None = None  # feeds also accept `?token=<feed_token>`


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(("/api/", "/feeds/", "/openapi.json"))


def _refusal(scope: Scope, status: int, code: str, message: str,
             headers: dict[str, str]) -> Any:
    """A refusal in the shape the client reads: JSON for the API and the
    feeds, a page for a browser."""
    request = Request(scope)
    if _wants_html(request):
        response = pages.error_page(request, status, message)
        response.headers.update(headers)
        return response
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


class ReadOnly:
    """GET and HEAD only; HEAD is answered as GET with the body dropped."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            response = _refusal(scope, 405, "method_not_allowed",
                                f"{method} is not allowed: this app is read-only", {"Allow": "GET, HEAD"})
            await response(scope, receive, send)
            return
        if method == "GET":
            await self.app(scope, receive, send)
            return

        async def send_head(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body"):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app(dict(scope, method="GET"), receive, send_head)


class Auth:
    """The bearer token (and, for feeds, the feed token in the query)."""

    def __init__(self, app: ASGIApp, token: str | None, feed_token: str | None):
        self.app, self.token, self.feed_token = app, token, feed_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None or self._allowed(Request(scope)):
            await self.app(scope, receive, send)
            return
        response = _refusal(scope, 401, "unauthorized",
                            "this server needs a token: send `Authorization: Bearer <token>`",
                            {"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    def _allowed(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              self.token.encode()):
            return True
        if self.feed_token and request.url.path.startswith("/feeds/"):
            return hmac.compare_digest(request.query_params.get("token", "").encode(),
                                       self.feed_token.encode())
        return False


class ETags:
    """A weak ETag from the request and the store's last change; a matching
    ``If-None-Match`` is answered 304 before any query of the endpoint runs."""

    def __init__(self, app: ASGIApp, sessions: Any):
        self.app, self.sessions = app, sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.startswith(_ETAG_PREFIXES) or _is_page(path)):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        with self.sessions() as s:
            token = last_change(s)
        accept = request.headers.get("accept", "")[:200]
        digest = hashlib.sha256(f"{token}\n{request.url.path}?{request.url.query}\n{accept}"
                                .encode()).hexdigest()[:32]
        etag = f'W/"{digest}"'
        given = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
        if etag in given or "*" in given:
            await send({"type": "http.response.start", "status": 304,
                        "headers": [(b"etag", etag.encode()), (b"cache-control", b"no-cache")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = list(message.get("headers", []))
                headers += [(b"etag", etag.encode()), (b"cache-control", b"no-cache")]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_tagged)


def _is_page(path: str) -> bool:
    return not path.startswith(("/static/", "/api/docs", "/openapi.json"))


_ERROR_SCHEMA = {
    "title": "Error", "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "examples": ["unknown_parameter", "bad_value", "not_found"]},
        "message": {"type": "string"}}}}}


def _openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema with the errors this app really answers: 400, 401,
    404 and 304 in one error shape, not FastAPI's 422."""
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Error"] = _ERROR_SCHEMA
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses["304"] = {"description": "Not modified: nothing changed since the ETag given "
                                               "in If-None-Match"}
            responses["400"] = {"description": "A bad value, or a parameter this endpoint does not "
                                               "take", **error}
            responses["401"] = {"description": "A token is configured and was not sent", **error}
            if "{" in path:
                responses["404"] = {"description": "No such posting, company or source", **error}
    return schema


def create_app(settings: WebSettings) -> FastAPI:
    app = FastAPI(title="jobdelta", version="1",
                  summary="What job boards posted, changed and closed, with every version kept.",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.sessions = session_factory(settings.database_url)
    app.state.settings = settings
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="jobdelta API",
                                   swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")

    @app.exception_handler(BadRequest)
    def _bad_request(request: Request, exc: BadRequest) -> Any:
        if _wants_html(request):
            return pages.error_page(request, exc.status, exc.message)
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> Any:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ())[1:]) or "request"
        message = f"{where}: {first.get('msg', 'invalid')}"
        if _wants_html(request):
            return pages.error_page(request, 400, message)
        return JSONResponse(error_body("bad_value", message), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Any:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        if _wants_html(request):
            return pages.error_page(request, exc.status_code, message)
        return JSONResponse(error_body(code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi_schema(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(ETags, sessions=app.state.sessions)
    app.add_middleware(Auth, token=settings.token, feed_token=settings.feed_token)
    app.add_middleware(ReadOnly)
    return app
