"""The todoproject Django project package: settings, URLs, WSGI/ASGI entry points."""
