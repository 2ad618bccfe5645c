"""/docs and /redoc load every asset from the server itself, so they work on a machine without network."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from modelbay.serve.app import create_app

#: every URL a page makes the browser fetch: src= and href= attributes, and Redoc's spec-url
ASSET_URL = re.compile(r'\b(?:src|href|spec-url)\s*=\s*"([^"]+)"')


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1:8000")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_every_asset_of_the_page_is_served_locally(client, page):
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    urls = ASSET_URL.findall(response.text)
    assert len(urls) >= 3, urls  # the script, the favicon, the schema (and Swagger UI's stylesheet)
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url} from another host"
        asset = client.get(url)
        assert asset.status_code == 200, f"{page}: {url} -> {asset.status_code}"
        assert len(asset.content) > 1000, url
    assert "googleapis" not in response.text and "cdn." not in response.text


def test_swagger_ui_does_not_send_the_schema_to_the_online_validator(client):
    assert '"validatorUrl": null' in client.get("/docs").text


def test_assets_follow_a_proxy_prefix():
    with TestClient(create_app(), base_url="http://127.0.0.1:8000", root_path="/modelbay") as prefixed:
        page = prefixed.get("/docs").text
    assert 'src="/modelbay/docs/swagger-ui-bundle.js"' in page and "'/modelbay/openapi.json'" in page


def test_the_docs_and_their_assets_need_no_api_key_where_keys_are_required(tmp_path):
    from modelbay.serve.config import AuthConfig, ServerConfig

    config = ServerConfig(host="0.0.0.0", auth=AuthConfig(keys_db=tmp_path / "keys.db"))
    client = TestClient(create_app(config), base_url="http://127.0.0.1:8000")
    assert client.post("/v1/tasks/sentiment", json={"inputs": ["x"]}).status_code == 401  # keys are required here
    for page in ("/docs", "/redoc"):
        for url in [page, *ASSET_URL.findall(client.get(page).text)]:
            assert client.get(url).status_code == 200, url
