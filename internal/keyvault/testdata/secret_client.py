"""Drives Slipway's Key Vault secrets data plane with the real Azure SDK
for Python's SecretClient (azure-keyvault-secrets), what Python apps and
`az keyvault secret` use.

Usage: secret_client.py <vault_url> <ca_pem> <token>

The vault URL's host (<vault>.vault.localhost:<port>) is resolved to
127.0.0.1 here, and the test server's CA is trusted through
connection_verify. The credential is a static token that records the
scopes the client asks for after Key Vault's 401 challenge (the challenge
and its resource are checked by the SDK itself). Pagers are read to the
end; begin_delete_secret and begin_recover_deleted_secret are polled by the
SDK's own pollers. Exits non-zero with a traceback on the first failure;
prints OK at the end.
"""

import socket
import sys

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

_getaddrinfo = socket.getaddrinfo


def _resolve_vault_hosts(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".vault.localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve_vault_hosts


class StaticToken:
    def __init__(self, token):
        self.token = token
        self.scopes = []

    def get_token(self, *scopes, **kwargs):
        self.scopes.extend(scopes)
        return AccessToken(self.token, 2**31)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    vault_url, ca, token = sys.argv[1:4]
    cred = StaticToken(token)
    c = SecretClient(vault_url, cred, connection_verify=ca)
    want_scope = "https://vault.localhost:" + vault_url.rsplit(":", 1)[1].rstrip("/") + "/.default"

    s1 = c.set_secret("db-password", "first", content_type="text/plain", tags={"env": "test"})
    check(cred.scopes and set(cred.scopes) == {want_scope}, f"scopes {cred.scopes}, want {want_scope}")
    check(s1.value == "first" and s1.name == "db-password" and s1.properties.version, f"set {s1}")
    check(s1.properties.content_type == "text/plain" and s1.properties.tags == {"env": "test"}, f"set properties {s1.properties}")
    check(s1.properties.enabled and s1.properties.created_on and s1.properties.updated_on, f"set attributes {s1.properties}")
    check(s1.properties.recovery_level, f"recoveryLevel {s1.properties.recovery_level}")
    check(s1.properties.vault_url.rstrip("/") == vault_url.rstrip("/"), f"vault_url {s1.properties.vault_url}")
    s2 = c.set_secret("db-password", "second")
    check(s2.properties.version != s1.properties.version, "a second set makes a new version")

    check(c.get_secret("db-password").value == "second", "get latest")
    check(c.get_secret("db-password", s1.properties.version).value == "first", "get by version")

    versions = [p.version for p in c.list_properties_of_secret_versions("db-password", max_page_size=1)]
    check(sorted(versions) == sorted([s1.properties.version, s2.properties.version]), f"versions {versions}")

    for i in range(5):
        c.set_secret(f"s-{i}", "x")
    names = [p.name for p in c.list_properties_of_secrets(max_page_size=2)]
    check(sorted(names) == ["db-password", "s-0", "s-1", "s-2", "s-3", "s-4"], f"list {names}")

    up = c.update_secret_properties("db-password", s1.properties.version, enabled=False, tags={"env": "old"})
    check(not up.enabled and up.tags == {"env": "old"} and up.version == s1.properties.version, f"update {up}")
    try:
        c.get_secret("db-password", s1.properties.version)
        raise AssertionError("a disabled version was returned")
    except HttpResponseError as e:
        check(e.status_code == 403, f"disabled version: {e.status_code} {e.message}")

    deleted = c.begin_delete_secret("db-password").result()
    check(deleted.name == "db-password" and deleted.deleted_date and deleted.scheduled_purge_date, f"delete {deleted}")
    check(deleted.recovery_id and deleted.recovery_id.endswith("/deletedsecrets/db-password"), f"recoveryId {deleted.recovery_id}")
    try:
        c.get_secret("db-password")
        raise AssertionError("a deleted secret was returned")
    except ResourceNotFoundError:
        pass
    got = c.get_deleted_secret("db-password")
    check(got.name == "db-password" and got.properties.version == s2.properties.version, f"get deleted {got}")
    check("db-password" in [d.name for d in c.list_deleted_secrets(max_page_size=1)], "list deleted")
    try:
        c.set_secret("db-password", "while deleted")
        raise AssertionError("set on a deleted secret was accepted")
    except ResourceExistsError as e:
        check(e.error.code == "Conflict", f"set while deleted: {e.error.code}")

    rec = c.begin_recover_deleted_secret("db-password").result()
    check(rec.name == "db-password" and rec.version == s2.properties.version, f"recover {rec}")
    check(c.get_secret("db-password").value == "second", "recovered value")

    c.begin_delete_secret("s-0").result()
    c.purge_deleted_secret("s-0")
    try:
        c.get_deleted_secret("s-0")
        raise AssertionError("a purged secret is still deleted")
    except ResourceNotFoundError:
        pass
    c.set_secret("s-0", "again")  # the name is free after a purge

    backup = c.backup_secret("s-1")
    c.begin_delete_secret("s-1").result()
    c.purge_deleted_secret("s-1")
    restored = c.restore_secret_backup(backup)
    check(restored.name == "s-1", f"restore {restored}")

    try:
        c.get_secret("nope")
        raise AssertionError("a missing secret was returned")
    except ResourceNotFoundError as e:
        check(e.error.code == "SecretNotFound", f"missing: {e.error.code}")
    print("OK")


if __name__ == "__main__":
    try:
        main()
    except HttpResponseError as e:
        print("HTTP error:", e.status_code, e.message, file=sys.stderr)
        raise
