"""Tests of the todos app: ORM, views, CSRF-protected forms, uploads, admin,
media serving and the request-id middleware."""

import re
import shutil
import tempfile
from io import StringIO
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from todos.models import Todo, TodoList

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

FILE_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}


def csrf_token_from(response):
    """Return the CSRF token of the first form in an HTML response."""
    match = CSRF_INPUT.search(response.content.decode())
    if match is None:
        raise AssertionError("no csrfmiddlewaretoken input in the page")
    return match.group(1)


class MediaRootMixin:
    """Run each test with file-system storage in a fresh temporary MEDIA_ROOT."""

    def setUp(self):
        super().setUp()
        self.media_root = Path(tempfile.mkdtemp(prefix="todo-media-"))
        self.addCleanup(shutil.rmtree, self.media_root, ignore_errors=True)
        override = override_settings(MEDIA_ROOT=self.media_root, STORAGES=FILE_STORAGES)
        override.enable()
        self.addCleanup(override.disable)


class TodoQueryTests(TestCase):
    def test_open_and_finished_querysets(self):
        groceries = TodoList.objects.create(name="Groceries")
        milk = Todo.objects.create(title="milk", list=groceries)
        Todo.objects.create(title="bread", done=True, list=groceries)
        tea = Todo.objects.create(title="tea")
        self.assertQuerySetEqual(Todo.objects.filter(done=False).order_by("title"), [milk, tea])
        self.assertQuerySetEqual(Todo.objects.open().order_by("title"), [milk, tea])
        self.assertEqual([t.title for t in Todo.objects.finished()], ["bread"])
        self.assertEqual(groceries.todos.count(), 2)

    def test_deleting_a_list_keeps_its_todos(self):
        chores = TodoList.objects.create(name="Chores")
        todo = Todo.objects.create(title="dishes", list=chores)
        chores.delete()
        todo.refresh_from_db()
        self.assertIsNone(todo.list)


class ListViewTests(TestCase):
    def test_list_page_shows_open_and_done_todos(self):
        Todo.objects.create(title="write tests")
        Todo.objects.create(title="ship it", done=True)
        response = self.client.get(reverse("todos:list"))
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "base.html")
        self.assertTemplateUsed(response, "todos/todo_list.html")
        self.assertEqual([t.title for t in response.context["open_todos"]], ["write tests"])
        self.assertEqual(response.context["done_count"], 1)
        self.assertContains(response, "write tests")
        self.assertContains(response, "ship it")
        # Static files are referenced by their plain (unhashed) paths.
        self.assertContains(response, 'href="/static/todos/todos.css"')
        self.assertContains(response, 'src="/static/todos/todos.js"')

    def test_list_filter(self):
        work = TodoList.objects.create(name="Work")
        Todo.objects.create(title="report", list=work)
        Todo.objects.create(title="holiday")
        response = self.client.get(reverse("todos:list"), {"list": work.pk})
        self.assertEqual([t.title for t in response.context["open_todos"]], ["report"])
        self.assertEqual(self.client.get("/?list=999").status_code, 404)

    def test_empty_list(self):
        response = self.client.get("/")
        self.assertContains(response, "Nothing to do.")


class CreateWithCsrfTests(MediaRootMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.client = Client(enforce_csrf_checks=True)

    def test_create_via_form_post_with_csrf_token(self):
        page = self.client.get("/todos/new/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, 'enctype="multipart/form-data"')
        for field in ("title", "list", "attachment"):
            self.assertContains(page, f'name="{field}"')
        token = csrf_token_from(page)

        response = self.client.post(
            "/todos/new/", {"csrfmiddlewaretoken": token, "title": "buy milk"}
        )
        # Don't follow the redirect here: that would consume the flash message.
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        todo = Todo.objects.get()
        self.assertEqual((todo.title, todo.done, todo.list), ("buy milk", False, None))
        self.assertFalse(todo.attachment)
        self.assertContains(self.client.get("/"), "Added “buy milk”.")

    def test_post_without_csrf_token_is_refused(self):
        self.client.get("/todos/new/")  # sets the CSRF cookie, but no token sent
        response = self.client.post("/todos/new/", {"title": "sneaky"})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Todo.objects.exists())

    def test_invalid_form_rerenders_with_errors(self):
        token = csrf_token_from(self.client.get("/todos/new/"))
        response = self.client.post("/todos/new/", {"csrfmiddlewaretoken": token, "title": ""})
        self.assertEqual(response.status_code, 200)
        self.assertFormError(response.context["form"], "title", "This field is required.")

    def test_upload_is_stored_in_media_root_and_served(self):
        token = csrf_token_from(self.client.get("/todos/new/"))
        notes = SimpleUploadedFile("notes.txt", b"remember the milk\n", content_type="text/plain")
        response = self.client.post(
            "/todos/new/",
            {"csrfmiddlewaretoken": token, "title": "with file", "attachment": notes},
        )
        self.assertRedirects(response, "/")
        todo = Todo.objects.get()
        self.assertEqual(todo.attachment.name, "attachments/notes.txt")
        stored = self.media_root / "attachments" / "notes.txt"
        self.assertEqual(stored.read_bytes(), b"remember the milk\n")
        self.assertEqual(todo.attachment.url, "/media/attachments/notes.txt")
        self.assertContains(self.client.get("/"), 'href="/media/attachments/notes.txt"')

        served = self.client.get("/media/attachments/notes.txt")
        self.assertEqual(served.status_code, 200)
        self.assertEqual(b"".join(served.streaming_content), b"remember the milk\n")
        self.assertEqual(served["Content-Type"], "text/plain")
        self.assertEqual(served["Content-Security-Policy"], "sandbox")
        self.assertTrue(served["Content-Disposition"].startswith("inline"))

    def test_too_large_upload_is_refused(self):
        token = csrf_token_from(self.client.get("/todos/new/"))
        big = SimpleUploadedFile("big.bin", b"x" * 2048)
        with self.settings(TODO_MAX_ATTACHMENT_BYTES=1024):
            response = self.client.post(
                "/todos/new/",
                {"csrfmiddlewaretoken": token, "title": "big", "attachment": big},
            )
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response.context["form"].errors)
        self.assertFalse(Todo.objects.exists())
        self.assertFalse((self.media_root / "attachments").exists())


class MediaViewTests(MediaRootMixin, TestCase):
    def test_media_view(self):
        (self.media_root / "attachments").mkdir()
        (self.media_root / "attachments" / "page.html").write_text("<script>alert(1)</script>")
        (self.media_root / "secret.txt").write_text("outside")
        cases = [
            # (path, status, disposition prefix)
            ("/media/attachments/page.html", 200, "attachment"),
            ("/media/attachments/missing.txt", 404, None),
            ("/media/attachments/", 404, None),
            ("/media/attachments/../../etc/passwd", 404, None),
        ]
        for path, status, disposition in cases:
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertEqual(response.status_code, status)
                if disposition:
                    self.assertTrue(response["Content-Disposition"].startswith(disposition))
                    self.assertEqual(response["Content-Security-Policy"], "sandbox")

    def test_media_view_refuses_post(self):
        self.assertEqual(self.client.post("/media/x.txt").status_code, 405)


class UpdateAndToggleTests(MediaRootMixin, TestCase):
    def test_update_view_marks_done_and_keeps_attachment(self):
        todo = Todo.objects.create(title="draft")
        response = self.client.get(f"/todos/{todo.pk}/edit/")
        self.assertContains(response, 'name="done"')
        response = self.client.post(f"/todos/{todo.pk}/edit/", {"title": "final", "done": "on"})
        self.assertRedirects(response, "/")
        todo.refresh_from_db()
        self.assertEqual((todo.title, todo.done), ("final", True))

    def test_toggle_function_view(self):
        todo = Todo.objects.create(title="flip")
        url = reverse("todos:toggle", args=[todo.pk])
        self.assertEqual(url, f"/todos/{todo.pk}/toggle/")
        self.assertEqual(self.client.get(url).status_code, 405)
        self.assertRedirects(self.client.post(url), "/")
        todo.refresh_from_db()
        self.assertTrue(todo.done)
        self.client.post(url)
        todo.refresh_from_db()
        self.assertFalse(todo.done)
        self.assertEqual(self.client.post("/todos/999/toggle/").status_code, 404)

    def test_create_list_then_use_it(self):
        response = self.client.post("/lists/new/", {"name": "Garden"})
        self.assertRedirects(response, "/")
        garden = TodoList.objects.get(name="Garden")
        self.client.post("/todos/new/", {"title": "weed", "list": garden.pk})
        self.assertEqual(Todo.objects.get().list, garden)


class AdminTests(TestCase):
    def test_admin_login_page(self):
        response = self.client.get("/admin/login/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'name="username"')

    def test_admin_requires_login(self):
        response = self.client.get("/admin/todos/todo/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/admin/login/", response["Location"])

    def test_models_registered_and_usable_by_superuser(self):
        user = get_user_model().objects.create_superuser("admin", "a@example.com", "pw-123-long")
        self.client.force_login(user)
        todo = Todo.objects.create(title="admin me", list=TodoList.objects.create(name="L"))
        for url in [
            "/admin/",
            "/admin/todos/todo/",
            "/admin/todos/todo/?done__exact=0",
            f"/admin/todos/todo/{todo.pk}/change/",
            "/admin/todos/todolist/",
            f"/admin/todos/todolist/{todo.list.pk}/change/",
        ]:
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 200)


class MiddlewareTests(TestCase):
    def test_request_id_and_timing_headers(self):
        cases = [
            # (incoming X-Request-Id, expected id or None for "generated")
            (None, None),
            ("abc-123_DEF", "abc-123_DEF"),
            ("bad id with spaces", None),
            ("x" * 65, None),
        ]
        for incoming, want in cases:
            with self.subTest(incoming=incoming):
                headers = {"X-Request-Id": incoming} if incoming else {}
                response = self.client.get("/healthz", headers=headers)
                got = response["X-Todo-Request-Id"]
                if want is None:
                    self.assertRegex(got, r"^[0-9a-f]{32}$")
                else:
                    self.assertEqual(got, want)
                self.assertRegex(response["Server-Timing"], r"^app;dur=\d+\.\d$")

    def test_header_on_error_responses_too(self):
        response = self.client.get("/no/such/page/")
        self.assertEqual(response.status_code, 404)
        self.assertIn("X-Todo-Request-Id", response)


class MigrationTests(TestCase):
    def test_migrations_are_up_to_date(self):
        out = StringIO()
        try:
            call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
        except SystemExit:
            self.fail("models changed without a migration:\n" + out.getvalue())
