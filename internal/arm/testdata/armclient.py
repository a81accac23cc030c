"""What the SDK client scripts of this directory share.

The Go tests run them against a test ARM handler on plain http over
loopback. Bearer tokens normally need https, so a fixed Authorization
header policy replaces the SDK's token policy (UnusedCredential only
satisfies the clients' constructors), and polling_interval=0 lets
long-running operations poll without waiting.
"""

import sys

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import HeadersPolicy
try:  # azure-mgmt-resource >= 24 keeps the client in a subpackage
    from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: F401
except ImportError:
    from azure.mgmt.resource import ResourceManagementClient  # noqa: F401


class UnusedCredential:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("unused", 2**31)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def client_kwargs(base, token):
    """The keyword arguments of every management client here."""
    return dict(base_url=base, authentication_policy=HeadersPolicy({"Authorization": "Bearer " + token}), polling_interval=0)


def run(main):
    """Runs main, printing an HTTP error's status and message before its traceback."""
    try:
        main()
    except HttpResponseError as e:
        print("HTTP error:", e.status_code, e.message, file=sys.stderr)
        raise
