"""Request-id and timing middleware for the todo example.

This module owns the two headers every response of the app carries:

``X-Todo-Request-Id``
    A request id. An incoming ``X-Request-Id`` made of 1-64 letters, digits,
    ``-`` or ``_`` is reused (so a front door's id flows through); otherwise a
    random 32-hex-digit id is generated. The id is also put on
    ``request.request_id`` for views and logs.
``Server-Timing``
    ``app;dur=<milliseconds>``, the time spent in Django below this
    middleware, readable in browser dev tools.
"""

import re
import time
import uuid

REQUEST_ID_HEADER = "X-Todo-Request-Id"

_VALID_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RequestIdMiddleware:
    """Add X-Todo-Request-Id and Server-Timing headers to every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        start = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - start) * 1000
        response[REQUEST_ID_HEADER] = request_id
        response["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
        return response
