"""Pure functions that turn environment variables into Django settings.

This module owns every decision about how the process environment maps to
settings, so that ``settings.py`` stays a short list of assignments and the
decisions can be unit-tested without reloading Django (see
``todoproject/tests.py``). Every function takes the environment as a mapping
argument and never reads ``os.environ`` itself, never touches the file system
and never imports Django settings.

The same code runs unchanged on Azure App Service (Linux, Oryx build,
gunicorn) and on Slipway. The platform facts it relies on are in
docs/appservice.md:

* §2: the platform sets ``WEBSITE_HOSTNAME`` (the default host name, e.g.
  ``myapp.azurewebsites.net``; a slot gets ``myapp-staging...``) and
  ``HOME`` (``/home``, the persistent share); connection strings arrive as
  ``POSTGRESQLCONNSTR_<name>`` and so on.
* §1: only ``$HOME`` survives restarts, redeploys and scale-out; the app runs
  from an ephemeral ``/tmp/<hash>`` copy, so ``BASE_DIR`` is NOT a place for a
  database or uploads.
* §0/§9 and §14: TLS ends at the front end, the app sees plain HTTP plus
  ``X-Forwarded-Proto: https``; a Host missing from ``ALLOWED_HOSTS`` is a 400,
  a missing trusted origin is a CSRF 403.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional
from urllib.parse import quote

# INSECURE_SECRET_KEY is used when DJANGO_SECRET_KEY is not set. It is public
# (it is in this file), so anyone can forge sessions and password-reset tokens
# for a site that runs with it. We still fall back to it instead of refusing to
# start, because a missing app setting is the most common first-deploy mistake
# on App Service and a site that does not start only shows "didn't respond to
# HTTP pings" (docs/appservice.md §14). settings.py prints a loud warning and
# `manage.py check --deploy` reports security.W009 for it.
INSECURE_SECRET_KEY = "django-insecure-todo-example-set-DJANGO_SECRET_KEY-in-app-settings"

# LOCAL_HOSTS are the hosts accepted when not running on a platform.
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """An environment variable has a value the app cannot use.

    The message names the variable and says what to change.
    """


def env_bool(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    """Return the boolean value of ``environ[name]``.

    Accepts 1/0, true/false, yes/no, on/off in any case; a missing variable
    gives ``default``. Anything else raises SettingsError rather than
    guessing.
    """
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


def _split_list(raw: Optional[str]) -> list[str]:
    """Split a comma-separated setting, dropping blanks and whitespace."""
    if not raw:
        return []
    return [item.strip() for item in raw.split(",") if item.strip()]


def website_hostname(environ: Mapping[str, str]) -> str:
    """Return the platform's default host name, or "" when not on a platform.

    ``WEBSITE_HOSTNAME`` is set by App Service and by Slipway (docs/appservice.md
    §2). It is our only signal that we run on the platform.
    """
    return environ.get("WEBSITE_HOSTNAME", "").strip().lower()


def on_platform(environ: Mapping[str, str]) -> bool:
    """Report whether the app runs on App Service (or Slipway)."""
    return website_hostname(environ) != ""


def secret_key(environ: Mapping[str, str]) -> tuple[str, Optional[str]]:
    """Return the SECRET_KEY and, when it is the insecure default, a warning.

    The key comes from ``DJANGO_SECRET_KEY``. Without it we deliberately fall
    back to INSECURE_SECRET_KEY (see its comment for why) and return a warning
    text the caller must print.
    """
    key = environ.get("DJANGO_SECRET_KEY", "").strip()
    if key:
        return key, None
    return INSECURE_SECRET_KEY, (
        "WARNING: DJANGO_SECRET_KEY is not set; using a PUBLIC insecure "
        "secret key. Anyone can forge sessions on this site. Set the app "
        "setting DJANGO_SECRET_KEY to a long random value."
    )


def allowed_hosts(environ: Mapping[str, str]) -> list[str]:
    """Return ALLOWED_HOSTS.

    On the platform: ``WEBSITE_HOSTNAME`` (docs/appservice.md §14, the DisallowedHost
    400) plus the comma-separated extra hosts in ``ALLOWED_HOSTS`` (custom
    domains). Locally: localhost, 127.0.0.1, [::1] plus the same extras.
    Duplicates are dropped, order is kept.
    """
    host = website_hostname(environ)
    # Django matches ALLOWED_HOSTS against the host without its port. Azure's
    # WEBSITE_HOSTNAME never has one; a self-hosted front door on another
    # port than 80 (Slipway's default 8080) gives "todo.localhost:8080".
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    hosts = [host] if host else list(LOCAL_HOSTS)
    for extra in _split_list(environ.get("ALLOWED_HOSTS")):
        if extra not in hosts:
            hosts.append(extra)
    return hosts


def csrf_trusted_origins(environ: Mapping[str, str]) -> list[str]:
    """Return CSRF_TRUSTED_ORIGINS for the platform host and extra hosts.

    TLS ends at the front end, so the browser's Origin is https while Django
    sees http; without a trusted origin every POST is a 403 "Origin checking
    failed" (docs/appservice.md §14). Both schemes are trusted because an App
    Service app answers http too unless HTTPS-only is on. Extra hosts from
    ``ALLOWED_HOSTS`` are trusted the same way; a leading-dot domain
    ``.example.com`` becomes the wildcard ``*.example.com``; "*" is skipped.
    Locally nothing is needed: same-origin requests pass Django's check.
    """
    names = []
    host = website_hostname(environ)
    if host:
        names.append(host)
    for extra in _split_list(environ.get("ALLOWED_HOSTS")):
        if extra == "*":
            continue
        if extra.startswith("."):
            extra = "*" + extra
        if extra not in names:
            names.append(extra)
    origins = []
    for name in names:
        origins.append("https://" + name)
        origins.append("http://" + name)
    return origins


def data_dir(environ: Mapping[str, str], base_dir: Path) -> Path:
    """Return the directory for the SQLite database and uploaded media.

    On the platform this is ``$HOME/data/todo``: ``$HOME`` is the persistent
    share, while ``BASE_DIR`` is re-extracted into ``/tmp/<hash>`` at every
    start (docs/appservice.md §1, §14 "Media uploads vanish"). Locally, or when
    HOME is unset, it is ``base_dir``. The caller creates the directory.
    """
    home = environ.get("HOME", "").strip()
    if on_platform(environ) and home:
        return Path(home) / "data" / "todo"
    return base_dir


def media_root(environ: Mapping[str, str], data: Path) -> Path:
    """Return MEDIA_ROOT: the ``MEDIA_ROOT`` variable, else ``<data>/media``."""
    override = environ.get("MEDIA_ROOT", "").strip()
    if override:
        return Path(override)
    return data / "media"


def sqlite_url(path: Path) -> str:
    """Return a dj-database-url URL for the SQLite file at absolute ``path``."""
    # sqlite:////abs/path -> NAME=/abs/path. Quote so spaces etc. survive the
    # URL parser (dj-database-url unquotes the path).
    return "sqlite:///" + quote(str(path))


# Keys of an App Service / ADO.NET / libpq style PostgreSQL connection string,
# lower-cased, mapped to the Django DATABASES key they fill.
_PG_KEYS = {
    "server": "HOST",
    "host": "HOST",
    "database": "NAME",
    "dbname": "NAME",
    "user id": "USER",
    "userid": "USER",
    "user": "USER",
    "username": "USER",
    "password": "PASSWORD",
    "port": "PORT",
}


def postgres_from_connection_string(value: str) -> dict:
    """Parse a PostgreSQL connection string into a Django DATABASES entry.

    App Service passes connection strings of type PostgreSQL as
    ``POSTGRESQLCONNSTR_<name>`` (docs/appservice.md §2). Both the
    ``Server=h;Database=d;User Id=u;Password=p`` form (``;``-separated) and
    the libpq ``host=h dbname=d user=u password=p sslmode=require`` form
    (space-separated) are accepted. ``sslmode``/``Ssl Mode`` goes to OPTIONS.
    Using it needs a PostgreSQL driver (``psycopg[binary]``), which this
    example does not install.
    """
    sep = ";" if ";" in value else " "
    db = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {}}
    for part in value.split(sep):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise SettingsError(f"PostgreSQL connection string part {part.split()[0]!r} has no '='")
        key, _, val = part.partition("=")
        key = key.strip().lower()
        val = val.strip()
        if key in ("sslmode", "ssl mode"):
            db["OPTIONS"]["sslmode"] = val.lower()
        elif key in _PG_KEYS:
            db[_PG_KEYS[key]] = val
    if "NAME" not in db or "HOST" not in db:
        raise SettingsError(
            "PostgreSQL connection string needs at least a host (Server=/host=) "
            "and a database (Database=/dbname=)"
        )
    return db


def database_source(environ: Mapping[str, str], data: Path) -> tuple[str, object]:
    """Decide where the default database comes from.

    Returns ``("url", url)`` for a dj-database-url URL, or ``("dict", db)``
    for a ready DATABASES entry. In order: ``DATABASE_URL``; the first (by
    name) ``POSTGRESQLCONNSTR_*`` connection string; else SQLite at
    ``<data>/db.sqlite3``. SQLite on the App Service share can report
    "database is locked" under load (docs/appservice.md §14); it is fine for this
    example.
    """
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        return "url", url
    for name in sorted(environ):
        if name.startswith("POSTGRESQLCONNSTR_") and environ[name].strip():
            return "dict", postgres_from_connection_string(environ[name])
    return "url", sqlite_url(data / "db.sqlite3")


def azure_media_storage(environ: Mapping[str, str]) -> Optional[dict]:
    """Return the STORAGES["default"] entry for Azure Blob media, or None.

    Blob storage is used when ``AZURE_CONTAINER`` is set together with
    ``AZURE_STORAGE_CONNECTION_STRING`` or ``AZURE_ACCOUNT_NAME`` +
    ``AZURE_ACCOUNT_KEY``. With none of them set, media stay on the file
    system (None is returned). A half-done configuration (a container without
    credentials or credentials without a container) raises SettingsError: a
    silent fall back to local disk would lose uploads on the next restart.

    Optional: ``AZURE_URL_EXPIRATION_SECS`` (SAS lifetime of generated file
    URLs; default 3600 when an account key is known, so private containers
    work; 0 gives plain URLs for public containers) and ``AZURE_ENDPOINT_SUFFIX``
    (account name + key form only).
    """
    container = environ.get("AZURE_CONTAINER", "").strip()
    conn = environ.get("AZURE_STORAGE_CONNECTION_STRING", "").strip()
    account = environ.get("AZURE_ACCOUNT_NAME", "").strip()
    key = environ.get("AZURE_ACCOUNT_KEY", "").strip()
    if not (container or conn or account or key):
        return None
    if not container:
        raise SettingsError(
            "Azure Blob credentials are set but AZURE_CONTAINER is not; "
            "set AZURE_CONTAINER to the blob container for uploaded media"
        )
    options: dict = {"azure_container": container, "overwrite_files": False}
    if conn:
        options["connection_string"] = conn
        has_key = "accountkey=" in conn.lower()
    elif account and key:
        options["account_name"] = account
        options["account_key"] = key
        suffix = environ.get("AZURE_ENDPOINT_SUFFIX", "").strip()
        if suffix:
            options["endpoint_suffix"] = suffix
        has_key = True
    else:
        raise SettingsError(
            "AZURE_CONTAINER is set but no credentials are: set "
            "AZURE_STORAGE_CONNECTION_STRING, or AZURE_ACCOUNT_NAME and "
            "AZURE_ACCOUNT_KEY"
        )
    raw_exp = environ.get("AZURE_URL_EXPIRATION_SECS", "").strip()
    if raw_exp:
        try:
            expiration = int(raw_exp)
        except ValueError:
            raise SettingsError(
                f"AZURE_URL_EXPIRATION_SECS={raw_exp!r} is not a whole number of seconds"
            ) from None
    else:
        expiration = 3600 if has_key else 0
    if expiration > 0:
        options["expiration_secs"] = expiration
    return {"BACKEND": "storages.backends.azure_storage.AzureStorage", "OPTIONS": options}
