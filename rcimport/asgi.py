"""The demo's ASGI application (served by gunicorn's asgi worker, see gunicorn.conf.py).

Django's ASGI handler reads a whole request body (to a temporary file) before any view runs,
so the views' own size checks would come after the bytes were taken. ``BodyCeiling`` refuses,
from the headers alone, a body larger than any importops endpoint accepts (413) and a chunked
body (411, as the API answers it), before Django reads a byte of it.
"""

import json
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rcimport.settings")
django_application = get_asgi_application()

from importops.api.base import largest_body  # noqa: E402  (needs the configured settings)
from importops.errors import LengthRequired, PayloadTooLarge  # noqa: E402


class BodyCeiling:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            length = headers.get(b"content-length", b"")
            refusal = None
            if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
                refusal = LengthRequired()
            elif length.isdigit() and int(length) > largest_body():
                refusal = PayloadTooLarge(largest_body())
            if refusal is not None:
                body = json.dumps(refusal.body(), separators=(",", ":")).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": refusal.status_code,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"cache-control", b"no-store"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


application = BodyCeiling(django_application)
