"""Tests of the project package: the pure env->settings functions in
envsettings.py, and settings.py / wsgi.py / asgi.py loaded for real in a
child Python process with a platform-like environment (override_settings
cannot show what settings.py computes from the environment)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase

from todoproject import envsettings
from todoproject.envsettings import SettingsError

BASE = Path("/srv/app")


class EnvBoolTests(SimpleTestCase):
    def test_values(self):
        cases = [
            ({}, False, False),
            ({}, True, True),
            ({"DEBUG": "true"}, False, True),
            ({"DEBUG": "True"}, False, True),
            ({"DEBUG": " 1 "}, False, True),
            ({"DEBUG": "on"}, False, True),
            ({"DEBUG": "false"}, True, False),
            ({"DEBUG": "0"}, True, False),
            ({"DEBUG": ""}, True, False),
        ]
        for env, default, want in cases:
            with self.subTest(env=env, default=default):
                self.assertEqual(envsettings.env_bool(env, "DEBUG", default), want)

    def test_garbage_is_an_error_naming_the_variable(self):
        with self.assertRaisesMessage(SettingsError, "DEBUG='maybe'"):
            envsettings.env_bool({"DEBUG": "maybe"}, "DEBUG")


class SecretKeyTests(SimpleTestCase):
    def test_from_env(self):
        self.assertEqual(envsettings.secret_key({"DJANGO_SECRET_KEY": "s3cr3t"}), ("s3cr3t", None))

    def test_fallback_is_insecure_and_warns(self):
        for env in ({}, {"DJANGO_SECRET_KEY": "  "}):
            with self.subTest(env=env):
                key, warning = envsettings.secret_key(env)
                self.assertEqual(key, envsettings.INSECURE_SECRET_KEY)
                # Django's check --deploy flags keys with this prefix (W009).
                self.assertTrue(key.startswith("django-insecure-"))
                self.assertIn("DJANGO_SECRET_KEY", warning)


class HostTests(SimpleTestCase):
    """ALLOWED_HOSTS / CSRF_TRUSTED_ORIGINS (docs/appservice.md §14: DisallowedHost
    400 and CSRF "Origin checking failed" 403)."""

    def test_allowed_hosts(self):
        cases = [
            ("local", {}, ["localhost", "127.0.0.1", "[::1]"]),
            (
                "local extras",
                {"ALLOWED_HOSTS": "todo.lan, ,localhost"},
                ["localhost", "127.0.0.1", "[::1]", "todo.lan"],
            ),
            (
                "platform",
                {"WEBSITE_HOSTNAME": "myapp.azurewebsites.net"},
                ["myapp.azurewebsites.net"],
            ),
            (
                "platform upper case",
                {"WEBSITE_HOSTNAME": "MyApp.AzureWebsites.net "},
                ["myapp.azurewebsites.net"],
            ),
            (
                "platform + custom domains",
                {
                    "WEBSITE_HOSTNAME": "myapp-staging.azurewebsites.net",
                    "ALLOWED_HOSTS": "www.example.com,.example.org",
                },
                ["myapp-staging.azurewebsites.net", "www.example.com", ".example.org"],
            ),
            ("slipway", {"WEBSITE_HOSTNAME": "todo.localhost"}, ["todo.localhost"]),
            ("slipway on port 8080", {"WEBSITE_HOSTNAME": "todo.localhost:8080"}, ["todo.localhost"]),
        ]
        for name, env, want in cases:
            with self.subTest(name):
                self.assertEqual(envsettings.allowed_hosts(env), want)

    def test_csrf_trusted_origins(self):
        cases = [
            ("local", {}, []),
            (
                "platform",
                {"WEBSITE_HOSTNAME": "myapp.azurewebsites.net"},
                ["https://myapp.azurewebsites.net", "http://myapp.azurewebsites.net"],
            ),
            (
                "extras",
                {
                    "WEBSITE_HOSTNAME": "a.localhost",
                    "ALLOWED_HOSTS": "*,.example.org,b.example.com",
                },
                [
                    "https://a.localhost",
                    "http://a.localhost",
                    "https://*.example.org",
                    "http://*.example.org",
                    "https://b.example.com",
                    "http://b.example.com",
                ],
            ),
        ]
        for name, env, want in cases:
            with self.subTest(name):
                self.assertEqual(envsettings.csrf_trusted_origins(env), want)


class StorageLocationTests(SimpleTestCase):
    """Data on the persistent $HOME, never the ephemeral app dir (docs/appservice.md §1)."""

    def test_data_dir_and_media_root(self):
        cases = [
            ("local", {"HOME": "/root"}, BASE, BASE / "media"),
            (
                "platform",
                {"WEBSITE_HOSTNAME": "x.azurewebsites.net", "HOME": "/home"},
                Path("/home/data/todo"),
                Path("/home/data/todo/media"),
            ),
            ("platform without HOME", {"WEBSITE_HOSTNAME": "x.localhost"}, BASE, BASE / "media"),
            (
                "MEDIA_ROOT override",
                {"WEBSITE_HOSTNAME": "x.localhost", "HOME": "/h", "MEDIA_ROOT": "/mnt/media"},
                Path("/h/data/todo"),
                Path("/mnt/media"),
            ),
        ]
        for name, env, want_data, want_media in cases:
            with self.subTest(name):
                data = envsettings.data_dir(env, BASE)
                self.assertEqual(data, want_data)
                self.assertEqual(envsettings.media_root(env, data), want_media)

    def test_database_source(self):
        data = Path("/home/data/todo")
        cases = [
            ("default sqlite", {}, ("url", "sqlite:////home/data/todo/db.sqlite3")),
            (
                "DATABASE_URL wins",
                {
                    "DATABASE_URL": "postgres://u:p@db/todo",
                    "POSTGRESQLCONNSTR_x": "Server=h;Database=d",
                },
                ("url", "postgres://u:p@db/todo"),
            ),
            (
                "App Service connection string",
                {
                    "POSTGRESQLCONNSTR_b": "Server=second;Database=d2",
                    "POSTGRESQLCONNSTR_a": "Server=db.example.com;Database=todo;User Id=me;Password=p=w;Port=5433;Ssl Mode=Require",
                },
                (
                    "dict",
                    {
                        "ENGINE": "django.db.backends.postgresql",
                        "HOST": "db.example.com",
                        "NAME": "todo",
                        "USER": "me",
                        "PASSWORD": "p=w",
                        "PORT": "5433",
                        "OPTIONS": {"sslmode": "require"},
                    },
                ),
            ),
            (
                "libpq form",
                {"POSTGRESQLCONNSTR_db": "dbname=todo host=pg user=u password=x sslmode=require"},
                (
                    "dict",
                    {
                        "ENGINE": "django.db.backends.postgresql",
                        "HOST": "pg",
                        "NAME": "todo",
                        "USER": "u",
                        "PASSWORD": "x",
                        "OPTIONS": {"sslmode": "require"},
                    },
                ),
            ),
        ]
        for name, env, want in cases:
            with self.subTest(name):
                self.assertEqual(envsettings.database_source(env, data), want)

    def test_sqlite_url_with_space_round_trips(self):
        import dj_database_url

        path = Path("/home/my data/db.sqlite3")
        self.assertEqual(dj_database_url.parse(envsettings.sqlite_url(path))["NAME"], str(path))

    def test_bad_postgres_connection_string(self):
        for value in ("Server=h", "Server=h;oops;Database=d"):
            with self.subTest(value=value):
                with self.assertRaises(SettingsError):
                    envsettings.database_source({"POSTGRESQLCONNSTR_x": value}, BASE)


class AzureMediaStorageTests(SimpleTestCase):
    CONN = (
        "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:10000/acct;"
    )

    def test_config(self):
        backend = "storages.backends.azure_storage.AzureStorage"
        cases = [
            ("absent", {}, None),
            (
                "connection string",
                {"AZURE_STORAGE_CONNECTION_STRING": self.CONN, "AZURE_CONTAINER": "media"},
                {
                    "BACKEND": backend,
                    "OPTIONS": {
                        "azure_container": "media",
                        "overwrite_files": False,
                        "connection_string": self.CONN,
                        "expiration_secs": 3600,
                    },
                },
            ),
            (
                "SAS connection string: plain URLs",
                {
                    "AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=x",
                    "AZURE_CONTAINER": "media",
                },
                {
                    "BACKEND": backend,
                    "OPTIONS": {
                        "azure_container": "media",
                        "overwrite_files": False,
                        "connection_string": "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=x",
                    },
                },
            ),
            (
                "account name and key",
                {
                    "AZURE_ACCOUNT_NAME": "acct",
                    "AZURE_ACCOUNT_KEY": "a2V5",
                    "AZURE_CONTAINER": "up",
                    "AZURE_ENDPOINT_SUFFIX": "blob.localhost",
                    "AZURE_URL_EXPIRATION_SECS": "60",
                },
                {
                    "BACKEND": backend,
                    "OPTIONS": {
                        "azure_container": "up",
                        "overwrite_files": False,
                        "account_name": "acct",
                        "account_key": "a2V5",
                        "endpoint_suffix": "blob.localhost",
                        "expiration_secs": 60,
                    },
                },
            ),
            (
                "expiration 0 = public container URLs",
                {
                    "AZURE_ACCOUNT_NAME": "acct",
                    "AZURE_ACCOUNT_KEY": "a2V5",
                    "AZURE_CONTAINER": "up",
                    "AZURE_URL_EXPIRATION_SECS": "0",
                },
                {
                    "BACKEND": backend,
                    "OPTIONS": {
                        "azure_container": "up",
                        "overwrite_files": False,
                        "account_name": "acct",
                        "account_key": "a2V5",
                    },
                },
            ),
        ]
        for name, env, want in cases:
            with self.subTest(name):
                self.assertEqual(envsettings.azure_media_storage(env), want)

    def test_half_configured_is_an_error(self):
        cases = [
            ({"AZURE_STORAGE_CONNECTION_STRING": self.CONN}, "AZURE_CONTAINER is not"),
            ({"AZURE_CONTAINER": "media"}, "no credentials"),
            ({"AZURE_CONTAINER": "media", "AZURE_ACCOUNT_NAME": "acct"}, "no credentials"),
            (
                {
                    "AZURE_CONTAINER": "m",
                    "AZURE_STORAGE_CONNECTION_STRING": self.CONN,
                    "AZURE_URL_EXPIRATION_SECS": "1h",
                },
                "AZURE_URL_EXPIRATION_SECS",
            ),
        ]
        for env, message in cases:
            with self.subTest(env=env):
                with self.assertRaisesMessage(SettingsError, message):
                    envsettings.azure_media_storage(env)


# PROBE runs in a child process: it loads settings.py from the environment it
# was given, optionally migrates and sends requests through the WSGI app with
# Django's test Client, and prints what it saw as JSON.
PROBE = textwrap.dedent(
    """
    import json, os, sys
    import django
    from django.conf import settings
    django.setup()
    from django.core.files.storage import storages
    storage = storages["default"]
    out = {
        "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
        "CSRF_TRUSTED_ORIGINS": settings.CSRF_TRUSTED_ORIGINS,
        "SECURE_PROXY_SSL_HEADER": list(settings.SECURE_PROXY_SSL_HEADER or []),
        "DEBUG": settings.DEBUG,
        "DB_NAME": str(settings.DATABASES["default"]["NAME"]),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "STATIC_ROOT": str(settings.STATIC_ROOT),
        "storage": type(storage).__name__,
        "container": getattr(storage, "azure_container", None),
    }
    if "requests" in sys.argv:
        from django.core.management import call_command
        from django.test import Client
        call_command("migrate", verbosity=0)
        host = os.environ.get("WEBSITE_HOSTNAME", "localhost")
        c = Client(enforce_csrf_checks=True)
        res = {}
        res["healthz"] = c.get("/healthz", HTTP_HOST=host).status_code
        res["wrong_host"] = c.get("/healthz", HTTP_HOST="evil.example.com").status_code
        res["warmup_ping"] = c.get("/robots933456.txt", HTTP_HOST="169.254.130.4:8000").status_code
        page = c.get("/todos/new/", HTTP_HOST=host, HTTP_X_FORWARDED_PROTO="https")
        import re
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
        post = c.post(
            "/todos/new/",
            {"csrfmiddlewaretoken": token, "title": "from the probe"},
            HTTP_HOST=host,
            HTTP_X_FORWARDED_PROTO="https",
            HTTP_ORIGIN="https://" + host,
            HTTP_REFERER="https://" + host + "/todos/new/",
        )
        res["https_post"] = post.status_code
        res["https_post_location"] = post.get("Location")
        out["requests"] = res
    print("PROBE-JSON " + json.dumps(out))
    """
)

PROJECT_DIR = Path(settings.BASE_DIR)


def run_probe(env, *args, code=PROBE):
    """Run ``code`` in a child Python with exactly ``env`` (plus PATH and
    DJANGO_SETTINGS_MODULE), from the project directory."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "todoproject.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def probe_json(test, proc):
    """Return the PROBE-JSON object printed by a successful probe."""
    test.assertEqual(proc.returncode, 0, proc.stderr)
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE-JSON "):
            return json.loads(line[len("PROBE-JSON ") :])
    test.fail("probe printed no PROBE-JSON line:\n" + proc.stdout + proc.stderr)


class SettingsModuleTests(SimpleTestCase):
    """settings.py loaded for real from platform-like environments."""

    def setUp(self):
        self.home = Path(tempfile.mkdtemp(prefix="todo-home-"))
        self.addCleanup(shutil.rmtree, self.home, ignore_errors=True)

    def test_platform_environment(self):
        """App Service / Slipway: WEBSITE_HOSTNAME + HOME (docs/appservice.md §1, §2, §14)."""
        proc = run_probe(
            {
                "WEBSITE_HOSTNAME": "todo.localhost",
                "HOME": str(self.home),
                "DJANGO_SECRET_KEY": "test-only-" + "k" * 50,
            },
            "requests",
        )
        got = probe_json(self, proc)
        data = self.home / "data" / "todo"
        self.assertTrue(data.is_dir(), "settings.py must create $HOME/data/todo")
        self.assertTrue((data / "db.sqlite3").is_file())
        self.assertEqual(got["ALLOWED_HOSTS"], ["todo.localhost"])
        self.assertEqual(
            got["CSRF_TRUSTED_ORIGINS"], ["https://todo.localhost", "http://todo.localhost"]
        )
        self.assertEqual(got["SECURE_PROXY_SSL_HEADER"], ["HTTP_X_FORWARDED_PROTO", "https"])
        self.assertFalse(got["DEBUG"])
        self.assertEqual(got["DB_NAME"], str(data / "db.sqlite3"))
        self.assertEqual(got["MEDIA_ROOT"], str(data / "media"))
        self.assertEqual(got["STATIC_ROOT"], str(PROJECT_DIR / "staticfiles"))
        self.assertEqual(got["storage"], "FileSystemStorage")
        self.assertEqual(
            got["requests"],
            {
                "healthz": 200,
                "wrong_host": 400,
                # The platform's warm-up ping uses the container IP as Host:
                # a 400, which still counts as "ready" (docs/appservice.md §4, §14).
                "warmup_ping": 400,
                # Behind the TLS-terminating front end a POST with an https
                # Origin passes CSRF (docs/appservice.md §14).
                "https_post": 302,
                "https_post_location": "/",
            },
        )
        self.assertNotIn("DJANGO_SECRET_KEY is not set", proc.stderr)

    def test_missing_secret_key_warns_when_debug_is_off(self):
        proc = run_probe({"HOME": str(self.home)})
        probe_json(self, proc)
        self.assertIn("DJANGO_SECRET_KEY is not set", proc.stderr)

    def test_azure_blob_media(self):
        proc = run_probe(
            {
                "WEBSITE_HOSTNAME": "todo.localhost",
                "HOME": str(self.home),
                "AZURE_STORAGE_CONNECTION_STRING": AzureMediaStorageTests.CONN,
                "AZURE_CONTAINER": "media",
            }
        )
        got = probe_json(self, proc)
        self.assertEqual((got["storage"], got["container"]), ("AzureStorage", "media"))

    def test_unwritable_home_does_not_stop_settings_loading(self):
        """Build steps (collectstatic) import settings where $HOME may not be writable."""
        not_a_dir = self.home / "file"
        not_a_dir.write_text("")
        proc = run_probe({"WEBSITE_HOSTNAME": "todo.localhost", "HOME": str(not_a_dir)})
        got = probe_json(self, proc)
        self.assertEqual(got["MEDIA_ROOT"], str(not_a_dir / "data" / "todo" / "media"))
        self.assertIn("cannot create data directory", proc.stderr)

    def test_bad_setting_fails_with_a_clear_message(self):
        proc = run_probe({"HOME": str(self.home), "DEBUG": "maybe"})
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(
            "ImproperlyConfigured: todo example settings: DEBUG='maybe' is not a boolean",
            proc.stderr,
        )

    def test_entry_points_import(self):
        """gunicorn loads todoproject.wsgi (docs/appservice.md §4); ASGI servers todoproject.asgi."""
        code = textwrap.dedent(
            """
            import todoproject.wsgi, todoproject.asgi
            print("PROBE-JSON " + __import__("json").dumps([
                callable(todoproject.wsgi.application),
                type(todoproject.asgi.application).__name__,
            ]))
            """
        )
        got = probe_json(self, run_probe({"HOME": str(self.home)}, code=code))
        self.assertEqual(got, [True, "ASGIHandler"])
