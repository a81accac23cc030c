import six


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [six.b("hello from simple\n")]
