"""Tests of the pages app: about page and /healthz."""

from unittest import mock

from django.db import DatabaseError
from django.test import TestCase

from todos.models import Todo


class AboutTests(TestCase):
    def test_about_extends_base_and_counts(self):
        Todo.objects.create(title="a")
        Todo.objects.create(title="b", done=True)
        response = self.client.get("/about/")
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "base.html")
        self.assertEqual((response.context["open_count"], response.context["done_count"]), (1, 1))
        self.assertContains(response, response["X-Todo-Request-Id"])


class HealthzTests(TestCase):
    def test_ok(self):
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertIn("no-cache", response["Cache-Control"])

    def test_database_failure_is_503(self):
        with mock.patch("todos.models.Todo.objects.exists", side_effect=DatabaseError("gone")):
            with self.assertLogs("pages.views", level="ERROR"):
                response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json(), {"status": "error", "error": "database unavailable"})

    def test_no_trailing_slash_redirect(self):
        # A health check must not be redirected (docs/appservice.md §9: 3xx = unhealthy).
        self.assertEqual(self.client.get("/healthz/").status_code, 404)
        self.assertEqual(self.client.head("/healthz").status_code, 200)
        self.assertEqual(self.client.post("/healthz").status_code, 405)
