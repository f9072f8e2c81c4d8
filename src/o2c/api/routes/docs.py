"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with no network: their scripts,
style sheet and icon are vendored in the package (``o2c/api/static``, pinned versions and
licences in docs/architecture.md) and served from ``/docs/assets/``. Not in the spec."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
#: Every file ``/docs/assets/{name}`` serves: its place in the package and media type.
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (STATIC / "swagger-ui" / "swagger-ui-bundle.js",
                             "text/javascript; charset=utf-8"),
    "swagger-ui.css": (STATIC / "swagger-ui" / "swagger-ui.css", "text/css; charset=utf-8"),
    "favicon-32x32.png": (STATIC / "swagger-ui" / "favicon-32x32.png", "image/png"),
    "redoc.standalone.js": (STATIC / "redoc" / "redoc.standalone.js",
                            "text/javascript; charset=utf-8"),
}
ASSETS_URL = "/docs/assets"
#: Assets never change under one name within a release: browsers may keep them a day.
CACHE = "public, max-age=86400"

router = APIRouter(include_in_schema=False)


def _title(request: Request) -> str:
    return f"{request.app.title} {request.app.version}"


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """The API's interactive reference (Swagger UI)."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url, title=f"{_title(request)} - Swagger UI",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        # No badge fetched from the online validator: nothing leaves the machine.
        swagger_ui_parameters={"validatorUrl": None})


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """The API's reference (ReDoc)."""
    return get_redoc_html(
        openapi_url=request.app.openapi_url, title=f"{_title(request)} - ReDoc",
        redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_URL}/favicon-32x32.png", with_google_fonts=False)


@router.get(ASSETS_URL + "/{name}")
def asset(name: Annotated[str, PathParam(max_length=100)]) -> FileResponse:
    """One vendored file, by name (only those ``ASSETS`` lists)."""
    found = ASSETS.get(name)
    if found is None:
        raise HTTPException(404, f"no such asset: {name}")
    path, media_type = found
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": CACHE})
