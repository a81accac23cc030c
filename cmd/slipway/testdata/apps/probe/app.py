# A hostile tenant's probe: each route tries something an app should or
# should not be able to do inside its container, and reports what happened.
import json
import os
import socket
import subprocess
from urllib.parse import parse_qs


def q(environ, name, default=""):
    return parse_qs(environ.get("QUERY_STRING", "")).get(name, [default])[0]


def route(environ):
    path = environ["PATH_INFO"]
    if path == "/connect":
        host, port = q(environ, "addr").rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return "CONNECTED"
        except OSError as e:
            return f"FAILED {type(e).__name__} {e}"
    if path == "/bind":
        s = socket.socket()
        try:
            s.bind((q(environ, "host", "0.0.0.0"), int(q(environ, "port"))))
            s.listen()
            return "BOUND"
        except OSError as e:
            return f"FAILED {e.strerror}"
        finally:
            s.close()
    if path == "/myaddr":
        # The container's own address: the source of a route to the gateway.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("169.254.0.1", 9))
        return s.getsockname()[0]
    if path == "/listening":
        # Every listening TCP socket this container can see.
        ports = []
        for name in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = open(name).read().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                f = line.split()
                if f[3] == "0A":
                    ports.append(int(f[1].rsplit(":", 1)[1], 16))
        return json.dumps(sorted(set(ports)))
    if path == "/headers":
        return json.dumps({k: v for k, v in environ.items() if k.startswith("HTTP_")})
    if path == "/env":
        return json.dumps(dict(os.environ))
    if path == "/alloc":
        blocks = []
        for _ in range(int(q(environ, "mb"))):
            blocks.append(b"x" * (1 << 20))
        return f"ALLOCATED {len(blocks)}"
    if path == "/fork":
        procs, failed = [], 0
        for _ in range(int(q(environ, "n"))):
            try:
                procs.append(subprocess.Popen(["sleep", "20"]))
            except OSError:
                failed += 1
        for p in procs:
            p.kill()
            p.wait()
        return f"STARTED {len(procs)} FAILED {failed}"
    if path == "/fill":
        target = q(environ, "path", "/home/data/fill.bin")
        written, chunk = 0, b"\0" * (1 << 20)
        try:
            with open(target, "wb") as f:
                for _ in range(int(q(environ, "mb"))):
                    f.write(chunk)
                    f.flush()
                    written += 1
                os.fsync(f.fileno())
            return f"WROTE {written}"
        except OSError as e:
            return f"WROTE {written} ERROR {e.errno}"
        finally:
            if q(environ, "keep") != "1":
                try:
                    os.remove(target)
                except OSError:
                    pass
    if path == "/symlink":
        link = q(environ, "link")
        try:
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(q(environ, "target"), link)
            return "LINKED"
        except OSError as e:
            return f"FAILED {e}"
    if path == "/print":
        # A line into the app's log (stdout), which the platform writes to /home/LogFiles.
        print(q(environ, "text"), flush=True)
        return "PRINTED"
    if path == "/spam":
        # Many log lines: the platform keeps the log files under their quota.
        line = "x" * 1023
        for _ in range(int(q(environ, "mb")) * 1024):
            print(line)
        return "SPAMMED"
    if path == "/import":
        try:
            mod = __import__(q(environ, "mod"))
            return f"IMPORTED {getattr(mod, 'VALUE', '')} {mod.__file__}"
        except ImportError as e:
            return f"FAILED {e}"
    if path == "/file":
        return os.path.abspath(__file__)
    if path == "/exit":
        os._exit(3)
    # Health-check routes (issue 12): /health answers 200, or 500 once
    # /sick was called on this instance (until /well); /instance names it.
    if path == "/health":
        return None if SICK["on"] else "HEALTHY"
    if path == "/sick":
        SICK["on"] = True
        return "SICK"
    if path == "/well":
        SICK["on"] = False
        return "WELL"
    if path == "/instance":
        return os.environ.get("WEBSITE_INSTANCE_ID", "")
    return f"probe {os.environ.get('WEBSITE_SITE_NAME')}"


SICK = {"on": False}


def app(environ, start_response):
    body = route(environ)
    if body is None:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"SICK"]
    body = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
