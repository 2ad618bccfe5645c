"""``/docs`` (Swagger UI) and ``/redoc`` served from files installed with the server: no CDN, works offline.

FastAPI's own pages load Swagger UI and Redoc from jsDelivr (and Redoc's fonts from
Google), so on a machine without network they are blank. The same JavaScript and CSS
ship in the ``fastapi-offline`` wheel (a pinned dependency); we use only its files and
FastAPI's documented page builders, so the app stays a plain ``FastAPI``. The asset
paths are exact (no mount) so that the API-key middleware can list them as open, like
the pages themselves.

>>> app = FastAPI(docs_url=None, redoc_url=None)   # doctest: +SKIP
>>> install_docs(app)                              # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from ..core.errors import ModelbayError

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
#: served path -> file name in fastapi-offline's static folder
ASSETS = {
    "/docs/swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "/docs/swagger-ui.css": "swagger-ui.css",
    "/docs/redoc.standalone.js": "redoc.standalone.js",
    "/docs/favicon.png": "favicon.png",
}
ASSET_PATHS = frozenset(ASSETS)
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def assets_dir() -> Path:
    """The folder of Swagger UI / Redoc files inside the installed ``fastapi-offline`` package."""
    spec = importlib.util.find_spec("fastapi_offline")  # locates the files without importing the package
    folder = Path(spec.origin).parent / "static" if spec is not None and spec.origin else None
    if folder is None or not all((folder / name).is_file() for name in ASSETS.values()):
        raise ModelbayError("the API docs' assets are not installed (package fastapi-offline)",
                               hint="pip install fastapi-offline==1.7.7, or reinstall modelbay")
    return folder


def install_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their assets to an app created with ``docs_url=None, redoc_url=None``."""
    folder = assets_dir()

    def url(request: Request, path: str) -> str:
        return request.scope.get("root_path", "").rstrip("/") + path  # behind a proxy that strips a prefix

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=url(request, app.openapi_url), title=f"{app.title} - Swagger UI",
            swagger_js_url=url(request, "/docs/swagger-ui-bundle.js"),
            swagger_css_url=url(request, "/docs/swagger-ui.css"),
            swagger_favicon_url=url(request, "/docs/favicon.png"),
            # Swagger UI would otherwise send the schema to validator.swagger.io for its badge
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=url(request, app.openapi_url), title=f"{app.title} - ReDoc",
            redoc_js_url=url(request, "/docs/redoc.standalone.js"),
            redoc_favicon_url=url(request, "/docs/favicon.png"), with_google_fonts=False,
        )

    for path, name in ASSETS.items():
        _add_asset_route(app, path, folder / name)


def _add_asset_route(app: FastAPI, path: str, file: Path) -> None:
    media_type = _MEDIA_TYPES[file.suffix]

    async def asset() -> FileResponse:
        return FileResponse(file, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    asset.__name__ = f"docs_asset_{file.stem.replace('-', '_').replace('.', '_')}"
    app.add_api_route(path, asset, methods=["GET"], include_in_schema=False)
