"""Django settings for the todo example.

Everything that differs between a laptop, Slipway and Azure App Service comes
from environment variables (App Service "app settings"); the decisions live in
``todoproject/envsettings.py`` as pure, tested functions. Variables read:

DJANGO_SECRET_KEY   secret key (insecure public fallback + warning if unset)
DEBUG               true/false, default false
WEBSITE_HOSTNAME    set by the platform; switches on platform mode
ALLOWED_HOSTS       extra host names, comma-separated (custom domains)
HOME                persistent home on the platform ($HOME/data/todo)
DATABASE_URL        any dj-database-url URL; else POSTGRESQLCONNSTR_*; else SQLite
MEDIA_ROOT          where uploads go (file system storage)
AZURE_CONTAINER + AZURE_STORAGE_CONNECTION_STRING (or AZURE_ACCOUNT_NAME +
AZURE_ACCOUNT_KEY)  put uploads in Azure Blob storage via django-storages
DJANGO_LOG_LEVEL    console log level, default INFO
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from todoproject import envsettings

# BASE_DIR is the project root (where manage.py is). On App Service this is an
# ephemeral /tmp/<hash> copy of the build output (docs/appservice.md §1): code and
# collected static files only, never data.
BASE_DIR = Path(__file__).resolve().parent.parent

_env = os.environ

try:
    DEBUG = envsettings.env_bool(_env, "DEBUG", default=False)

    SECRET_KEY, _secret_warning = envsettings.secret_key(_env)
    if _secret_warning and not DEBUG:
        # Printed, not logged: logging is not configured yet at this point.
        # Quiet with DEBUG on, where an insecure key is normal local practice.
        print(_secret_warning, file=sys.stderr)

    ALLOWED_HOSTS = envsettings.allowed_hosts(_env)
    # An HTTPS-only deployment (App Service's httpsOnly, docs/appservice.md
    # §12): Django redirects plain requests itself and marks its cookies
    # secure. Behind the front end, is_secure() comes from X-Forwarded-Proto.
    SECURE_SSL_REDIRECT = envsettings.env_bool(_env, "SECURE_SSL_REDIRECT", default=False)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT
    CSRF_TRUSTED_ORIGINS = envsettings.csrf_trusted_origins(_env)

    # DATA_DIR holds the SQLite database and uploaded media: $HOME/data/todo
    # on the platform (persistent), BASE_DIR locally.
    DATA_DIR = envsettings.data_dir(_env, BASE_DIR)
    MEDIA_ROOT = envsettings.media_root(_env, DATA_DIR)
    _db_kind, _db_value = envsettings.database_source(_env, DATA_DIR)
    _azure_media = envsettings.azure_media_storage(_env)
except envsettings.SettingsError as err:
    raise ImproperlyConfigured(f"todo example settings: {err}") from err

if envsettings.on_platform(_env):
    # The front end terminates TLS and sets X-Forwarded-Proto (docs/appservice.md
    # §0, §9); the app is only reachable through it, so trusting it is safe.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Create the persistent data directory before SQLite tries to open a file
    # in it (a fresh App Service /home has no data/todo yet). A failure is
    # reported but not fatal: build steps such as collectstatic import these
    # settings too and need no data directory; at run time the database
    # error (and a 503 from /healthz) follows on the first query.
    try:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        print(f"WARNING: cannot create data directory {DATA_DIR}: {err}", file=sys.stderr)

INSTALLED_APPS = [
    "todos.apps.TodosConfig",
    "pages.apps.PagesConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: runserver then leaves static files to WhiteNoise,
    # exactly as under gunicorn.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    # First, so its header and timing cover everything below it.
    "todoproject.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # gunicorn does not serve static files; WhiteNoise does (docs/appservice.md §14).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "todoproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "todoproject.wsgi.application"
ASGI_APPLICATION = "todoproject.asgi.application"

if _db_kind == "url":
    DATABASES = {
        "default": dj_database_url.parse(_db_value, conn_max_age=600, conn_health_checks=True)
    }
else:
    DATABASES = {"default": _db_value}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files: the Oryx build runs `manage.py collectstatic --noinput` into
# STATIC_ROOT (docs/appservice.md §3 step 5), WhiteNoise serves them with gzip
# variants. CompressedStaticFilesStorage (no manifest) is chosen on purpose:
# if collectstatic did not run, pages still render (the files 404) instead of
# every page failing with "Missing staticfiles manifest entry".
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Uploaded files: on the file system under MEDIA_ROOT (served by
# todos.views.media, also when DEBUG is off), or in Azure Blob storage when
# AZURE_CONTAINER and credentials are set (then file URLs point at the blob).
MEDIA_URL = "media/"

STORAGES = {
    "default": _azure_media or {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

_log_level = os.environ.get("DJANGO_LOG_LEVEL", "INFO").upper()

# Log to the console: App Service and Slipway collect the container's stdout
# and stderr into the log stream (docs/appservice.md §10).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{levelname} {name} {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": _log_level},
    # Replace Django's own "django" handlers (console only when DEBUG, mail to
    # admins) so every record is printed exactly once.
    "loggers": {"django": {"handlers": ["console"], "level": _log_level, "propagate": False}},
}

# Upload limits: keep request bodies small for an example app.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
TODO_MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
