"""gunicorn settings of the demo (``scripts/run.sh``; the end-to-end tests serve with them too).

gunicorn's ``asgi`` worker with Django's ASGI handler: a request's body is read by the event
loop before a view runs, so clients that send headers and part of a body and then stall hold
a coroutine each, not a thread — with the threaded ``sync``/``gthread`` workers, a few dozen of
them would stop the server from answering anybody. Views still run on a thread; a client
that stalls longer than ``timeout`` (below) is dropped.
"""

import os

wsgi_app = "rcimport.asgi:application"
worker_class = "asgi"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = 1000
timeout = 120  # a worker silent this long is restarted
keepalive = 5
