"""Sends telemetry as an app on App Service does: the Azure Monitor
OpenTelemetry distro, configured by the connection string (argv[1]).

A server span (a request), a client span inside it (a dependency), a
warning log (a trace) and a logged exception, then flushes and prints OK.
"""
import logging
import os
import sys

os.environ["APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL"] = "true"

from azure.monitor.opentelemetry import configure_azure_monitor
from opentelemetry import trace
from opentelemetry._logs import get_logger_provider

configure_azure_monitor(connection_string=sys.argv[1], logger_name="todo",
                        disable_offline_storage=True, enable_live_metrics=False,
                        sampling_ratio=1.0)  # the default rate-limited sampler may drop the one request
tracer = trace.get_tracer("todo")
log = logging.getLogger("todo")
log.setLevel(logging.INFO)

with tracer.start_as_current_span("GET /todos/", kind=trace.SpanKind.SERVER, attributes={
        "http.method": "GET", "http.route": "/todos/", "http.url": "http://todo.localhost/todos/",
        "http.status_code": 500}) as span:
    with tracer.start_as_current_span("SELECT todos", kind=trace.SpanKind.CLIENT, attributes={
            "db.system": "sqlite", "db.name": "db.sqlite3", "db.statement": "SELECT * FROM todos"}):
        pass
    log.warning("slow page: %d todos", 42)
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("the page failed")
    span.set_status(trace.Status(trace.StatusCode.ERROR))

trace.get_tracer_provider().force_flush()
get_logger_provider().force_flush()
print("OK")
