"""Drives Slipway's Microsoft.Storage routes with the real Azure SDK for Python.

Usage: sdk_storage_client.py <base_url> <subscription_id> <token>

azure-mgmt-storage is the client `az storage account` is built on. It checks
status codes per operation, runs account creation as a long-running
operation (ARM polling), and deserializes every body into its models, so
this proves the wire shapes beyond the golden files. Plain http on loopback
works as armclient.py says. Exits non-zero with a traceback on the first
failure; prints OK at the end.
"""

import base64
import sys

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.mgmt.storage import StorageManagementClient

from armclient import ResourceManagementClient, UnusedCredential, check, client_kwargs, run


def main():
    base, sub, token = sys.argv[1:4]
    kw = client_kwargs(base, token)
    res = ResourceManagementClient(UnusedCredential(), sub, **kw)
    stg = StorageManagementClient(UnusedCredential(), sub, **kw)
    rg, name = "sdk-rg", "sdkstore1"

    res.resource_groups.create_or_update(rg, {"location": "westeurope"})
    res.resource_groups.create_or_update("sdk-rg2", {"location": "westeurope"})

    avail = stg.storage_accounts.check_name_availability({"name": name, "type": "Microsoft.Storage/storageAccounts"})
    check(avail.name_available, f"name should be free: {avail}")
    bad = stg.storage_accounts.check_name_availability({"name": "Not-Valid", "type": "Microsoft.Storage/storageAccounts"})
    check(not bad.name_available and bad.reason == "AccountNameInvalid", f"invalid name: {bad}")

    params = {"location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
              "properties": {"allowBlobPublicAccess": True, "minimumTlsVersion": "TLS1_2"}, "tags": {"app": "sdk"}}
    acct = stg.storage_accounts.begin_create(rg, name, params).result()
    check(acct.name == name and acct.kind == "StorageV2", f"created {acct}")
    check(acct.sku.name == "Standard_LRS", f"sku {acct.sku}")
    check(acct.properties.provisioning_state == "Succeeded", f"state {acct.properties.provisioning_state}")
    check(acct.properties.primary_endpoints.blob == "http://127.0.0.1:10000/" + name + "/", f"blob endpoint {acct.properties.primary_endpoints}")
    check(acct.tags == {"app": "sdk"}, f"tags {acct.tags}")

    taken = stg.storage_accounts.check_name_availability({"name": name, "type": "Microsoft.Storage/storageAccounts"})
    check(not taken.name_available and taken.reason == "AlreadyExists", f"taken: {taken}")
    try:
        stg.storage_accounts.begin_create("sdk-rg2", name, params).result()
        raise AssertionError("a taken name was accepted in another group")
    except ResourceExistsError as e:
        check(e.error.code == "StorageAccountAlreadyTaken", f"error code {e.error.code}")

    got = stg.storage_accounts.get_properties(rg, name)
    check(got.id.endswith("/resourceGroups/" + rg + "/providers/Microsoft.Storage/storageAccounts/" + name), f"id {got.id}")
    check(got.properties.creation_time is not None, "creation time")

    in_rg = [a.name for a in stg.storage_accounts.list_by_resource_group(rg)]
    check(in_rg == [name], f"list by group {in_rg}")
    in_sub = [a.name for a in stg.storage_accounts.list()]
    check(name in in_sub, f"list {in_sub}")

    # The result model is a MutableMapping whose .keys is the mapping method:
    # read the "keys" field by item, as azure-cli does with these models.
    keys = stg.storage_accounts.list_keys(rg, name)["keys"]
    check([k["keyName"] for k in keys] == ["key1", "key2"], f"keys {keys}")
    for k in keys:
        check(len(base64.b64decode(k["value"])) == 64, f"key {k['keyName']} is not 64 bytes of base64")
        check(k["permissions"].lower() == "full", f"permissions {k['permissions']}")
    regen = stg.storage_accounts.regenerate_key(rg, name, {"keyName": "key1"})["keys"]
    check(regen[0]["value"] != keys[0]["value"] and regen[1]["value"] == keys[1]["value"], "regenerate key1")

    updated = stg.storage_accounts.update(rg, name, {"tags": {"app": "sdk", "env": "test"}})
    check(updated.tags == {"app": "sdk", "env": "test"}, f"update tags {updated.tags}")

    check_containers(stg, rg, name)
    check_blob_service(stg, rg, name)

    stg.storage_accounts.delete(rg, name)
    try:
        stg.storage_accounts.get_properties(rg, name)
        raise AssertionError("account still there after delete")
    except ResourceNotFoundError:
        pass
    stg.storage_accounts.delete(rg, name)  # 204: deleting a missing account is not an error
    print("OK")


def check_containers(stg, rg, name):
    """Blob containers on the management plane (az storage container-rm)."""
    c = stg.blob_containers.create(rg, name, "media", {"properties": {"publicAccess": "Blob", "metadata": {"app": "sdk"}}})
    check(c.name == "media" and c.type == "Microsoft.Storage/storageAccounts/blobServices/containers", f"container {c}")
    check(c.public_access == "Blob" and c.metadata == {"app": "sdk"}, f"container properties {c}")
    check(c.id.endswith("/storageAccounts/" + name + "/blobServices/default/containers/media"), f"container id {c.id}")
    got = stg.blob_containers.get(rg, name, "media")
    check(got.etag and got.last_modified_time and got.lease_state == "Available", f"container get {got}")
    for n in ("a-1", "a-2", "a-3"):
        stg.blob_containers.create(rg, name, n, {})
    listed = [x.name for x in stg.blob_containers.list(rg, name, maxpagesize="2")]
    check(listed == ["a-1", "a-2", "a-3", "media"], f"containers list {listed}")

    upd = stg.blob_containers.update(rg, name, "media", {"properties": {"metadata": {"app": "sdk", "env": "test"}}})
    check(upd.metadata == {"app": "sdk", "env": "test"} and upd.public_access == "Blob", f"update keeps publicAccess {upd}")

    stg.blob_containers.delete(rg, name, "a-1")
    try:
        stg.blob_containers.get(rg, name, "a-1")
        raise AssertionError("container still there after delete")
    except ResourceNotFoundError as e:
        check(e.error.code == "ContainerNotFound", f"deleted container: {e.error.code}")
    listed = [x.name for x in stg.blob_containers.list(rg, name)]
    check(listed == ["a-2", "a-3", "media"], f"containers after delete {listed}")
    stg.blob_containers.delete(rg, name, "a-1")  # 204: deleting a missing container is not an error



def check_blob_service(stg, rg, name):
    """The blob service's properties (az storage account blob-service-properties)."""
    from azure.core.exceptions import HttpResponseError

    p = stg.blob_services.get_service_properties(rg, name)
    check(p.name == "default" and p.type == "Microsoft.Storage/storageAccounts/blobServices", f"blob service {p}")
    check(p.sku.name == "Standard_LRS", f"blob service sku {p.sku}")
    check(p.delete_retention_policy.enabled is False and p.delete_retention_policy.days is None, f"retention {p.delete_retention_policy}")
    check(p.cors.cors_rules == [] and p.is_versioning_enabled is False, f"defaults {p}")
    # az's update: what it read, changed, sent back whole.
    p.delete_retention_policy = {"enabled": True, "days": 7}
    p.cors = {"corsRules": [{"allowedOrigins": ["https://shop.example"], "allowedMethods": ["GET"], "maxAgeInSeconds": 5,
                             "exposedHeaders": [], "allowedHeaders": []}]}
    got = stg.blob_services.set_service_properties(rg, name, p)
    check(got.delete_retention_policy.enabled and got.delete_retention_policy.days == 7, f"set retention {got.delete_retention_policy}")
    check(got.cors.cors_rules[0].allowed_origins == ["https://shop.example"], f"set cors {got.cors}")
    listed = list(stg.blob_services.list(rg, name))
    check(len(listed) == 1 and listed[0].delete_retention_policy.days == 7, f"blob services list {listed}")
    p.is_versioning_enabled = True
    try:
        stg.blob_services.set_service_properties(rg, name, p)
        raise AssertionError("versioning was accepted")
    except HttpResponseError as e:
        check(e.status_code == 400 and e.error.code == "FeatureNotSupported", f"versioning: {e.status_code} {e.error.code}")


if __name__ == "__main__":
    run(main)
