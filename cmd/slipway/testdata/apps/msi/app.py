# Reads a Key Vault secret and a blob with the app's managed identity, as a Django app
# on App Service does: azure-identity's credentials find IDENTITY_ENDPOINT
# and IDENTITY_HEADER in the environment; no key, no secret in settings.
import json
import os
import subprocess
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode

from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient
from azure.storage.blob import BlobServiceClient


def q(environ, name, default=""):
    return parse_qs(environ.get("QUERY_STRING", "")).get(name, [default])[0]


def secret(environ):
    client_id = q(environ, "client_id") or None
    if q(environ, "cred") == "default":
        cred = DefaultAzureCredential(managed_identity_client_id=client_id)
    else:
        cred = ManagedIdentityCredential(client_id=client_id)
    client = SecretClient(vault_url=q(environ, "vault"), credential=cred)
    try:
        return client.get_secret(q(environ, "name")).value
    except HttpResponseError as e:
        if e.status_code == 403:
            return "FORBIDDEN " + str(e.message)[:200]
        return f"ERROR {e.status_code} {str(e.message)[:300]}"
    except Exception as e:  # the credential failed: no identity
        return f"ERROR {type(e).__name__} {str(e)[:300]}"


def blob(environ):
    # A blob read with the same credential and no account key:
    # https://<account>.blob.core.windows.net resolves to the platform.
    cred = ManagedIdentityCredential(client_id=q(environ, "client_id") or None)
    client = BlobServiceClient(q(environ, "account_url"), credential=cred)
    try:
        data = client.get_blob_client(q(environ, "container"), q(environ, "name")).download_blob().readall()
        return data.decode()
    except HttpResponseError as e:
        return f"ERROR {e.status_code} {e.error_code} {str(e.message)[:200]}"
    except Exception as e:
        return f"ERROR {type(e).__name__} {str(e)[:300]}"


def token(environ):
    # A raw request to the managed-identity endpoint with the given header.
    params = urlencode({"api-version": "2019-08-01", "resource": "https://vault.azure.net"})
    req = urllib.request.Request(os.environ["IDENTITY_ENDPOINT"] + "?" + params,
                                 headers={"X-IDENTITY-HEADER": q(environ, "header")})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return f"{r.status} {r.read()[:100].decode()}"
    except urllib.error.HTTPError as e:
        return f"{e.code} {e.read()[:300].decode()}"


def mgmt(environ):
    # A management call with the app's identity, over the scheme asked for
    # (management.azure.com resolves to the platform): the status and body.
    cred = ManagedIdentityCredential()
    try:
        tok = cred.get_token("https://management.azure.com/.default").token
    except Exception as e:
        return f"ERROR {type(e).__name__} {str(e)[:300]}"
    req = urllib.request.Request(q(environ, "scheme", "https") + "://management.azure.com/subscriptions?api-version=2022-12-01",
                                 headers={"Authorization": "Bearer " + tok})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return f"{r.status} {r.read()[:300].decode()}"
    except urllib.error.HTTPError as e:
        return f"{e.code} {e.read()[:500].decode()}"


def go(environ):
    # The Go SDK (azidentity, azsecrets) in the same instance.
    exe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "msicheck")
    os.chmod(exe, 0o755)
    r = subprocess.run([exe, q(environ, "vault"), q(environ, "name"), q(environ, "client_id")],
                       capture_output=True, text=True, timeout=60)
    return r.stdout if r.returncode == 0 else f"ERROR {r.returncode} {r.stderr[-500:]}"


def route(environ):
    path = environ["PATH_INFO"]
    if path == "/secret":
        return secret(environ)
    if path == "/blob":
        return blob(environ)
    if path == "/token":
        return token(environ)
    if path == "/go":
        return go(environ)
    if path == "/mgmt":
        return mgmt(environ)
    if path == "/env":
        return os.environ.get(q(environ, "name"), "")
    return "msi " + os.environ.get("WEBSITE_SITE_NAME", "")


def app(environ, start_response):
    body = route(environ).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
