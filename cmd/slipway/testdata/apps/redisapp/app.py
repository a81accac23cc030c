# An app that keeps a counter in Azure Cache for Redis, as the Django
# tutorial's app keeps its cache there: redis-py with the connection string
# Service Connector writes (rediss://:<key>@<cache>.redis.cache.windows.net:6380/0),
# verifying the server's certificate with the system's trust store.
import os

import redis

_client = None


def client():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ["AZURE_REDIS_CONNECTIONSTRING"], socket_timeout=10)
    return _client


def app(environ, start_response):
    if environ.get("PATH_INFO") != "/":  # the platform's warmup ping counts nothing
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    try:
        body = str(client().incr("hits")).encode()
        status = "200 OK"
    except Exception as e:  # the test reads why
        body = f"{type(e).__name__}: {e}".encode()
        status = "500 Internal Server Error"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
