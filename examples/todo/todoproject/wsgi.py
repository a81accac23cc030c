"""WSGI entry point: ``todoproject.wsgi:application``.

App Service's startup script finds this file as the first immediate
sub-directory of the app containing ``wsgi.py`` and runs
``gunicorn ... todoproject.wsgi`` (docs/appservice.md §4); Slipway does the same.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todoproject.settings")

application = get_wsgi_application()
