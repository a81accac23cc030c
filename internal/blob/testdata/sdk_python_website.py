"""Enables a static website with the real azure-storage-blob client
(BlobServiceClient.set_service_properties(static_website=StaticWebsite(...)),
as the SDK's documentation shows), uploads the site with its content types,
and reads it back at the web endpoint, as a browser would.

Environment: SLIPWAY_BLOB_CONNECTION_STRING, SLIPWAY_WEB_URL (the web
endpoint's listener) and SLIPWAY_WEB_HOST (the Host it answers to)."""

import http.client
import os
import urllib.parse

from azure.storage.blob import BlobServiceClient, ContentSettings, StaticWebsite

svc = BlobServiceClient.from_connection_string(os.environ["SLIPWAY_BLOB_CONNECTION_STRING"])
web = urllib.parse.urlsplit(os.environ["SLIPWAY_WEB_URL"])
host = os.environ["SLIPWAY_WEB_HOST"]


def get(path):
    conn = http.client.HTTPConnection(web.hostname, web.port, timeout=30)
    conn.request("GET", path, headers={"Host": host})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, resp.getheader("Content-Type"), body


props = svc.get_service_properties()
assert not props["static_website"].enabled, props["static_website"]

svc.set_service_properties(static_website=StaticWebsite(
    enabled=True, index_document="index.html", error_document404_path="errors/404.html"))
sw = svc.get_service_properties()["static_website"]
assert sw.enabled and sw.index_document == "index.html" and sw.error_document404_path == "errors/404.html", sw

web_container = svc.get_container_client("$web")
assert web_container.exists(), "enabling did not create $web"
for name, body, ctype in [
    ("index.html", "<h1>home</h1>", "text/html"),
    ("blog/index.html", "<h1>blog</h1>", "text/html"),
    ("css/site.css", "h1{color:red}", "text/css"),
    ("errors/404.html", "<h1>not here</h1>", "text/html"),
]:
    web_container.upload_blob(name, body, overwrite=True, content_settings=ContentSettings(content_type=ctype))

for path, want in [
    ("/", (200, "text/html", "<h1>home</h1>")),
    ("/blog/", (200, "text/html", "<h1>blog</h1>")),
    ("/blog", (200, "text/html", "<h1>blog</h1>")),
    ("/css/site.css", (200, "text/css", "h1{color:red}")),
    ("/nope.html", (404, "text/html", "<h1>not here</h1>")),
]:
    got = get(path)
    assert got == want, (path, got, want)

# The SDK's own default for an absent error document: Azure's 404 page.
svc.set_service_properties(static_website=StaticWebsite(enabled=True, default_index_document_path="index.html"))
sw = svc.get_service_properties()["static_website"]
assert sw.default_index_document_path == "index.html" and not sw.index_document, sw
status, _, body = get("/blog/")
assert status == 200 and body == "<h1>home</h1>", (status, body)
status, _, body = get("/nope.html")
assert status == 404 and "WebContentNotFound" in body, (status, body)

svc.set_service_properties(static_website=StaticWebsite(enabled=False))
status, _, body = get("/")
assert status == 404 and "WebsiteDisabled" in body, (status, body)
assert web_container.exists(), "disabling removed $web"
print("static website: ok")
