# A minimal WSGI app: auto-detected as app:app (docs/appservice.md §4 rule 4).
import os

VERSION = open(os.path.join(os.path.dirname(__file__), "VERSION")).read().strip()


def app(environ, start_response):
    if environ["PATH_INFO"] == "/env":
        body = "\n".join(f"{k}={v}" for k, v in sorted(os.environ.items())).encode()
    elif environ["PATH_INFO"] == "/whoami":
        import json
        body = json.dumps({
            "uid": os.getuid(),
            "host": environ.get("HTTP_HOST"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "forwarded_proto": environ.get("HTTP_X_FORWARDED_PROTO"),
            "forwarded_host": environ.get("HTTP_X_FORWARDED_HOST"),
        }).encode()
    elif environ["PATH_INFO"] == "/read":
        # Tries to read a path given in the query string; reports what happened.
        from urllib.parse import parse_qs
        path = parse_qs(environ.get("QUERY_STRING", "")).get("path", [""])[0]
        try:
            with open(path, "rb") as f:
                body = b"READ " + f.read(64)
        except OSError as e:
            body = f"DENIED {type(e).__name__}".encode()
        try:
            names = os.listdir(path if os.path.isdir(path) else os.path.dirname(path))
            body += f" LIST {len(names)}".encode()
        except OSError as e:
            body += f" NOLIST {type(e).__name__}".encode()
    elif environ["PATH_INFO"] == "/touch":
        # Writes next to the code: allowed, and gone after a restart (docs/appservice.md §1).
        marker = os.path.join(os.path.dirname(__file__), "written.txt")
        body = b"existed" if os.path.exists(marker) else b"new"
        open(marker, "w").write("x")
    else:
        body = f"hello {VERSION}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
