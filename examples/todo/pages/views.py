"""Views of the pages app: the about page and the health endpoint."""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from todos.models import Todo

logger = logging.getLogger(__name__)


@require_safe
def about(request):
    """What this example is, with a few numbers from the database."""
    context = {
        "open_count": Todo.objects.filter(done=False).count(),
        "done_count": Todo.objects.filter(done=True).count(),
        "request_id": getattr(request, "request_id", ""),
    }
    return render(request, "pages/about.html", context)


@never_cache
@require_safe
def healthz(request):
    """``/healthz``: 200 ``{"status": "ok"}`` when the database answers.

    Meant as the App Service health-check path (docs/appservice.md §9: 200-299 is
    healthy, redirects are not). It runs ``SELECT 1`` and a query on the todo
    table, so it also fails when migrations have not been applied. On failure
    it answers 503 ``{"status": "error", "error": "database unavailable"}``
    and logs the cause; details are not sent to the client.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        Todo.objects.exists()
    except DatabaseError:
        logger.exception("health check: database query failed")
        return JsonResponse({"status": "error", "error": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
