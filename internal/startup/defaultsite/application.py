"""Slipway default site.

Served when a deployed app has no startup command and no recognisable
entry point (docs/appservice.md §4, "default site"). Plain WSGI, standard library
only, so it runs under any gunicorn without the app's virtual environment.
"""

PAGE = b"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Slipway - your app is up</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f6fa; color: #1d2433; }
main { max-width: 42rem; margin: 10vh auto; padding: 2rem; background: #fff; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0,0,0,.08); }
h1 { margin-top: 0; font-size: 1.6rem; }
code { background: #eef1f6; padding: .1rem .3rem; border-radius: 3px; }
</style>
</head>
<body>
<main>
<h1>Hey, Python developers!</h1>
<p>Your app service is up and running on Slipway.
Time to take the next step and deploy your code.</p>
<p>This page is shown because no startup command is configured and no
<code>wsgi.py</code> in a sub-folder, nor an <code>application.py</code>,
<code>app.py</code>, <code>run.py</code>, <code>index.py</code>,
<code>server.py</code> or <code>wsgi.py</code> file, was found in your app.</p>
</main>
</body>
</html>
"""


def app(environ, start_response):
    """WSGI entry point: the default page for GET/HEAD, 405 otherwise."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method not in ("GET", "HEAD"):
        start_response("405 Method Not Allowed", [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")])
        return [b"method not allowed\n"]
    start_response("200 OK", [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(PAGE))),
    ])
    return [] if method == "HEAD" else [PAGE]
