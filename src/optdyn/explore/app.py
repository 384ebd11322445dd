"""The explorer's web application (Starlette): one page, its scripts, and a JSON API.

Routes::

    GET    /                    the page
    GET    /static/NAME         the page's script and style, and plotly.js (from the plotly wheel)
    GET    /api/schema          the controls (optdyn.explore.view.SCHEMA), bounds, default view
    POST   /api/curves          view -> theory curves, limit risks, critical rates, messages
    POST   /api/simulate        view -> a background simulation's id
    GET    /api/simulate/ID     its progress and the bands of the seeds done
    DELETE /api/simulate/ID     cancel it
    POST   /api/save            view -> a spec (TOML) and a figure (PNG) in the output folder

Requests carry a view (:mod:`optdyn.explore.view`), never code; a body over 64 kB is refused.
Bad input answers 400 with ``{"error": "FIELD: message", "field": FIELD}``; anything else that
goes wrong answers 500 with a one-line message, the trace going to the server's log only.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from optdyn._core.errors import ConfigError
from optdyn._version import __version__
from optdyn.explore import jobs
from optdyn.explore.curves import theory_payload
from optdyn.explore.save import save_view
from optdyn.explore.view import DEFAULT_VIEW, LIMITS, SCHEMA, check_view

__all__ = ["make_app", "MAX_BODY"]

MAX_BODY = 64 * 1024
_log = logging.getLogger("optdyn.explore")
_STATIC = resources.files("optdyn.explore") / "static"


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


_FILES: dict[str, tuple[Callable[[], Any], str]] = {
    "explore.js": (lambda: _STATIC / "explore.js", "text/javascript"),
    "explore.css": (lambda: _STATIC / "explore.css", "text/css"),
    "plotly.min.js": (_plotly_js, "text/javascript"),
}


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ConfigError("request", f"at most {MAX_BODY // 1024} kB, got {len(raw)} bytes")
    try:
        return json.loads(raw or b"{}")
    except json.JSONDecodeError as e:
        raise ConfigError("request", f"not JSON ({e.msg})") from None


def _guarded(fn: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    """Answer the handler's result as JSON; bad input as 400 with the field, a failure as 500
    with one line (the trace in the log)."""

    async def handler(request: Request) -> Response:
        try:
            return JSONResponse(await fn(request))
        except ConfigError as e:
            return JSONResponse({"error": str(e), "field": e.field}, status_code=400)
        except Exception as e:
            _log.exception("%s %s failed", request.method, request.url.path)
            return JSONResponse({"error": f"internal error: {type(e).__name__}: {e}"},
                                status_code=500)

    return handler


def make_app(out_dir: str | Path = "explore_output") -> Starlette:
    """The explorer's ASGI application; saved views go to ``out_dir``."""
    out = Path(out_dir)

    async def page(request: Request) -> Response:
        html = (_STATIC / "index.html").read_text().replace("{{version}}", __version__)
        return HTMLResponse(html)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _FILES:
            return JSONResponse({"error": f"no file {name!r}"}, status_code=404)
        path, media = _FILES[name]
        return FileResponse(str(path()), media_type=media)

    async def schema(request: Request) -> Any:
        return {"schema": SCHEMA, "limits": LIMITS, "default": DEFAULT_VIEW,
                "version": __version__}

    async def curves(request: Request) -> Any:
        view = check_view(await _body(request))
        t0 = time.perf_counter()
        out_ = await run_in_threadpool(theory_payload, view)
        out_["elapsed_ms"] = round(1e3 * (time.perf_counter() - t0), 1)
        return out_

    async def simulate(request: Request) -> Any:
        view = check_view(await _body(request))
        job = await run_in_threadpool(jobs.start, view)
        return job.status()

    async def progress(request: Request) -> Any:
        job = jobs.get(request.path_params["job"])
        return await run_in_threadpool(job.status)

    async def cancel(request: Request) -> Any:
        return jobs.cancel(request.path_params["job"]).status()

    async def save(request: Request) -> Any:
        body = await _body(request)
        if not isinstance(body, dict):
            raise ConfigError("request", "expected a table with a view")
        view = check_view(body.get("view"))
        sim = None
        job_id = body.get("job")
        if job_id:
            job = jobs.get(str(job_id))
            if job.view == view and job.result is not None:
                sim = job.result
        return await run_in_threadpool(save_view, view, out, sim)

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/schema", _guarded(schema)),
        Route("/api/curves", _guarded(curves), methods=["POST"]),
        Route("/api/simulate", _guarded(simulate), methods=["POST"]),
        Route("/api/simulate/{job}", _guarded(progress), methods=["GET"]),
        Route("/api/simulate/{job}", _guarded(cancel), methods=["DELETE"]),
        Route("/api/save", _guarded(save), methods=["POST"]),
    ]
    return Starlette(routes=routes)
