# Signs in to an Azure Database for PostgreSQL flexible server with the
# app's managed identity and no password, as Microsoft's tutorial "Connect
# to Azure databases from App Service without secrets using a managed
# identity" does: the password is an access token for
# https://ossrdbms-aad.database.windows.net from azure-identity.
from urllib.parse import parse_qs

import psycopg
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

SCOPE = "https://ossrdbms-aad.database.windows.net/.default"


def q(environ, name, default=""):
    return parse_qs(environ.get("QUERY_STRING", "")).get(name, [default])[0]


def app(environ, start_response):
    cred = DefaultAzureCredential() if q(environ, "cred") == "default" else ManagedIdentityCredential()
    try:
        token = cred.get_token(SCOPE).token
        with psycopg.connect(host=q(environ, "host"), dbname="postgres", user=q(environ, "user"),
                             password=token, sslmode="require", connect_timeout=10) as conn:
            body = "OK " + conn.execute("SELECT current_user").fetchone()[0]
    except Exception as e:  # the refusal, as the client saw it
        body = f"ERROR {type(e).__name__} {str(e)[:500]}"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
