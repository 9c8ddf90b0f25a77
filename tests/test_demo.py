"""The demo project's own pages."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_landing_page_links():
    page = Client().get("/").content.decode()
    assert 'href="/admin/"' in page and "/readme/#api-reference" in page and "/api/v1/login" in page


def test_readme_has_the_api_section_anchor():
    page = Client().get("/readme/").content.decode()
    assert 'id="api-reference"' in page and "import.addUsers" in page


def test_favicon():
    response = Client().get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
