"""ASGI entry point: ``todoproject.asgi:application``.

For ASGI servers (uvicorn, daphne, ``gunicorn -k uvicorn_worker.UvicornWorker``
as a custom startup command). The default App Service and Slipway startup uses
the WSGI entry point in ``wsgi.py``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todoproject.settings")

application = get_asgi_application()
