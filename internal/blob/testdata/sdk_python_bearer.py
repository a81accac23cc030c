"""Reads a blob with azure-storage-blob authorized by an Entra ID token.

Driven by oauth_test.go: SLIPWAY_BLOB_URL is the account's HTTPS endpoint,
SLIPWAY_TOKEN an access token the service accepts (a Storage Blob Data
Reader's), REQUESTS_CA_BUNDLE the test server's certificate.
"""

import os
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient


class StaticToken:
    """A TokenCredential returning one token, as azure-identity's would."""

    def __init__(self, token):
        self.token = token
        self.scopes = []

    def get_token(self, *scopes, **kwargs):
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


cred = StaticToken(os.environ["SLIPWAY_TOKEN"])
svc = BlobServiceClient(os.environ["SLIPWAY_BLOB_URL"], credential=cred)
media = svc.get_container_client("media")
assert [b.name for b in media.list_blobs()] == ["a.txt"]
assert media.download_blob("a.txt").readall() == b"hello media"
assert cred.scopes[0] == ("https://storage.azure.com/.default",), cred.scopes
try:
    media.upload_blob("b.txt", b"reader cannot write")
    raise AssertionError("a reader wrote a blob")
except HttpResponseError as e:
    assert e.status_code == 403 and e.error_code == "AuthorizationPermissionMismatch", e
print("ok")
