"""Drives Slipway's ARM endpoint with the Azure SDK for Python management
clients other than azure-mgmt-web: azure-mgmt-keyvault, azure-mgmt-msi,
azure-mgmt-authorization and azure-mgmt-monitor (what `az keyvault`,
`az identity`, `az role` and `az monitor autoscale` are built on).

Usage: sdk_mgmt_client.py <base_url> <subscription_id> <token> <section>
with section one of keyvault, msi, authorization, autoscale, insights
(azure-mgmt-applicationinsights, imported there only), absent (what
Slipway refuses, README "Not there yet": the SDK must get ARM's error JSON
with a code and a message, never a success that did nothing).

Each SDK checks status codes per operation, polls long-running operations
with its own poller, follows nextLink to the end of every pager and
deserializes every body into its models; the checks below read the fields
Azure fills. Plain http on loopback works as armclient.py says. Exits non-zero with a traceback on the first
failure; prints OK at the end.
"""

import sys
import uuid

from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.keyvault.models import VaultCheckNameAvailabilityParameters
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient

from armclient import ResourceManagementClient, UnusedCredential, check, client_kwargs, run


def expect_error(code, fn, *args, **kwargs):
    """Calls fn and checks that it raises ARM's error JSON with code."""
    try:
        fn(*args, **kwargs)
    except HttpResponseError as e:
        check(e.error is not None and e.error.code == code, f"want error {code}, got {e.status_code} {e.error and e.error.code}: {e.message}")
        check(e.error.message, f"error {code} has no message")
        return e
    raise AssertionError(f"want error {code}, the call succeeded")


RG = "sdk-rg"
LOC = "westeurope"


def check_keyvault(ctx):
    kv = KeyVaultManagementClient(UnusedCredential(), ctx.sub, **ctx.kw)
    tenant = ctx.tenant
    name = "sdkkv" + uuid.uuid4().hex[:8]

    # The model fills type, a constant the REST API requires.
    avail = kv.vaults.check_name_availability(VaultCheckNameAvailabilityParameters(name=name))
    check(avail.name_available, f"name available {avail}")

    params = {
        "location": LOC,
        "tags": {"app": "sdk"},
        "properties": {
            "tenantId": tenant,
            "sku": {"family": "A", "name": "standard"},
            "accessPolicies": [],
            "enableRbacAuthorization": False,
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": 7,
        },
    }
    vault = kv.vaults.begin_create_or_update(RG, name, params).result()
    check(vault.name == name and vault.type == "Microsoft.KeyVault/vaults", f"vault {vault}")
    check(vault.location == LOC and vault.tags == {"app": "sdk"}, f"vault location/tags {vault}")
    check(vault.properties.tenant_id == tenant, f"tenant {vault.properties.tenant_id}")
    check(vault.properties.sku.name == "standard" and vault.properties.sku.family == "A", f"sku {vault.properties.sku}")
    check(vault.properties.vault_uri and vault.properties.vault_uri.endswith("/"), f"vaultUri {vault.properties.vault_uri}")
    check(vault.properties.provisioning_state == "Succeeded", f"state {vault.properties.provisioning_state}")
    check(vault.id.endswith("/resourceGroups/" + RG + "/providers/Microsoft.KeyVault/vaults/" + name), f"id {vault.id}")

    taken = kv.vaults.check_name_availability(VaultCheckNameAvailabilityParameters(name=name))
    check(not taken.name_available and taken.reason == "AlreadyExists", f"name taken {taken}")

    got = kv.vaults.get(RG, name)
    check(got.id == vault.id and got.properties.vault_uri == vault.properties.vault_uri, f"get {got}")

    check(name in [v.name for v in kv.vaults.list_by_resource_group(RG)], "list by group")
    check(name in [v.name for v in kv.vaults.list_by_subscription()], "list by subscription")
    # vaults.list is the generic resources list filtered to vaults
    # (GET /subscriptions/{s}/resources?$filter=resourceType eq 'Microsoft.KeyVault/vaults').
    listed = [(r.name, r.type) for r in kv.vaults.list()]
    check((name, "Microsoft.KeyVault/vaults") in listed, f"vaults.list {listed}")

    upd = kv.vaults.update(RG, name, {"tags": {"app": "sdk", "env": "test"}, "properties": {"enabledForDeployment": True}})
    check(upd.tags == {"app": "sdk", "env": "test"}, f"update tags {upd.tags}")
    check(upd.properties.enabled_for_deployment, f"update properties {upd.properties}")

    oid = str(uuid.uuid4())
    pol = kv.vaults.update_access_policy(RG, name, "add", {"properties": {"accessPolicies": [
        {"tenantId": tenant, "objectId": oid, "permissions": {"secrets": ["get", "list"]}}]}})
    check(pol.properties.access_policies[0].object_id == oid, f"access policy {pol}")
    pols = kv.vaults.get(RG, name).properties.access_policies
    check([(p.object_id, sorted(p.permissions.secrets)) for p in pols] == [(oid, ["get", "list"])], f"policies {pols}")
    kv.vaults.update_access_policy(RG, name, "remove", {"properties": {"accessPolicies": [
        {"tenantId": tenant, "objectId": oid, "permissions": {"secrets": []}}]}})
    check(not kv.vaults.get(RG, name).properties.access_policies, "policy removed")

    # Secrets through the management plane (az keyvault secret on ARM).
    sec = kv.secrets.create_or_update(RG, name, "greeting", {"properties": {"value": "hello", "contentType": "text/plain"}})
    check(sec.name == "greeting" and sec.properties.content_type == "text/plain", f"secret {sec}")
    check(sec.properties.value is None, "the management plane does not return secret values")
    check(sec.properties.secret_uri and sec.properties.secret_uri.startswith(vault.properties.vault_uri), f"secretUri {sec.properties.secret_uri}")
    got = kv.secrets.get(RG, name, "greeting")
    check(got.id == sec.id and got.properties.value is None, f"secret get {got}")
    plain = kv.secrets.create_or_update(RG, name, "plain", {"properties": {"value": "v"}})
    check(plain.properties.content_type is None and plain.properties.attributes.not_before is None
          and plain.properties.attributes.expires is None, f"unset properties are None {plain.properties}")
    listed = [s.name for s in kv.secrets.list(RG, name, top=1)]
    check(listed == ["greeting", "plain"], f"secrets list {listed}")

    kv.vaults.delete(RG, name)
    expect_error("ResourceNotFound", kv.vaults.get, RG, name)
    deleted = kv.vaults.get_deleted(name, LOC)
    check(deleted.name == name and deleted.properties.vault_id == vault.id, f"deleted {deleted}")
    check(deleted.properties.location == LOC and deleted.properties.scheduled_purge_date is not None, f"deleted props {deleted.properties}")
    check(name in [d.name for d in kv.vaults.list_deleted()], "list deleted")
    kv.vaults.begin_purge_deleted(name, LOC).result()
    expect_error("DeletedVaultNotFound", kv.vaults.get_deleted, name, LOC)
    check(name not in [d.name for d in kv.vaults.list_deleted()], "purged vault not listed")


def check_msi(ctx):
    msi = ManagedServiceIdentityClient(UnusedCredential(), ctx.sub, **ctx.kw)
    name = "sdk-id"
    ident = msi.user_assigned_identities.create_or_update(RG, name, {"location": LOC, "tags": {"a": "b"}})
    check(ident.name == name and ident.type == "Microsoft.ManagedIdentity/userAssignedIdentities", f"identity {ident}")
    check(ident.location == LOC and ident.tags == {"a": "b"}, f"identity location/tags {ident}")
    for f in ("tenant_id", "principal_id", "client_id"):
        check(uuid.UUID(getattr(ident, f)), f"identity {f}")
    check(ident.tenant_id == ctx.tenant, f"tenant {ident.tenant_id}")

    again = msi.user_assigned_identities.create_or_update(RG, name, {"location": LOC})
    check(again.principal_id == ident.principal_id and again.client_id == ident.client_id, "a second PUT keeps the ids")

    got = msi.user_assigned_identities.get(RG, name)
    check(got.id == ident.id and got.principal_id == ident.principal_id, f"get {got}")
    check([i.name for i in msi.user_assigned_identities.list_by_resource_group(RG)] == [name], "list by group")
    check(name in [i.name for i in msi.user_assigned_identities.list_by_subscription()], "list by subscription")

    upd = msi.user_assigned_identities.update(RG, name, {"tags": {"a": "c"}})
    check(upd.tags == {"a": "c"} and upd.principal_id == ident.principal_id, f"update {upd}")

    creds = list(msi.federated_identity_credentials.list(RG, name))
    check(creds == [], f"federated credentials {creds}")

    # A site's system-assigned identity read by its scope
    # (GET {scope}/providers/Microsoft.ManagedIdentity/identities/default).
    site_id = f"subscriptions/{ctx.sub}/resourceGroups/rg/providers/Microsoft.Web/sites/app"
    sa = msi.system_assigned_identities.get_by_scope(site_id)
    check(sa.principal_id == ctx.site_principal and sa.tenant_id == ctx.tenant, f"system-assigned {sa}")
    check(sa.name == "default" and sa.type == "Microsoft.ManagedIdentity/identities", f"system-assigned name/type {sa}")

    msi.user_assigned_identities.delete(RG, name)
    expect_error("ResourceNotFound", msi.user_assigned_identities.get, RG, name)
    msi.user_assigned_identities.delete(RG, name)  # 204: deleting a missing identity is not an error


def check_authorization(ctx):
    authz = AuthorizationManagementClient(UnusedCredential(), ctx.sub, **ctx.kw)
    sub_scope = f"/subscriptions/{ctx.sub}"
    rg_scope = f"{sub_scope}/resourceGroups/{RG}"

    defs = list(authz.role_definitions.list(sub_scope))
    by_name = {d.role_name: d for d in defs}
    check("Reader" in by_name and "Contributor" in by_name and "Key Vault Secrets User" in by_name, f"role definitions {sorted(by_name)}")
    reader = by_name["Reader"]
    check(reader.role_type == "BuiltInRole" and reader.type == "Microsoft.Authorization/roleDefinitions", f"reader {reader}")
    check(reader.permissions and reader.permissions[0].actions == ["*/read"], f"reader permissions {reader.permissions}")
    check(reader.assignable_scopes == ["/"], f"reader scopes {reader.assignable_scopes}")
    filtered = [d.role_name for d in authz.role_definitions.list(sub_scope, filter="roleName eq 'Reader'")]
    check(filtered == ["Reader"], f"filter by roleName {filtered}")
    got = authz.role_definitions.get(sub_scope, reader.name)
    check(got.id == reader.id and got.role_name == "Reader", f"role definition get {got}")
    by_id = authz.role_definitions.get_by_id(reader.id)
    check(by_id.role_name == "Reader", f"get_by_id {by_id}")

    principal = ctx.site_principal
    name = str(uuid.uuid4())
    ra = authz.role_assignments.create(rg_scope, name, {"properties": {
        "roleDefinitionId": reader.id, "principalId": principal, "principalType": "ServicePrincipal"}})
    check(ra.name == name and ra.principal_id == principal and ra.role_definition_id == reader.id, f"assignment {ra}")
    check(ra.scope.lower() == rg_scope.lower() and ra.type == "Microsoft.Authorization/roleAssignments", f"assignment scope {ra}")
    check(ra.principal_type == "ServicePrincipal", f"principalType {ra.principal_type}")
    check(ra.created_on is not None, "createdOn")

    got = authz.role_assignments.get(rg_scope, name)
    check(got.id == ra.id, f"assignment get {got}")
    check(authz.role_assignments.get_by_id(ra.id).name == name, "assignment get_by_id")

    def names(it):
        return [a.name for a in it]

    check(name in names(authz.role_assignments.list_for_subscription()), "list for subscription")
    check(name in names(authz.role_assignments.list_for_resource_group(RG)), "list for group")
    check(name in names(authz.role_assignments.list_for_scope(rg_scope)), "list for scope")
    check(name in names(authz.role_assignments.list_for_scope(rg_scope, filter="atScope()")), "atScope() at its scope")
    check(name not in names(authz.role_assignments.list_for_scope(sub_scope, filter="atScope()")), "atScope() above its scope")
    check(names(authz.role_assignments.list_for_subscription(filter=f"principalId eq '{principal}'")) == [name], "principalId eq")
    check(names(authz.role_assignments.list_for_subscription(filter=f"assignedTo('{principal}')")) == [name], "assignedTo()")
    check(names(authz.role_assignments.list_for_subscription(filter=f"principalId eq '{uuid.uuid4()}'")) == [], "principalId eq nobody")

    dup = expect_error("RoleAssignmentExists", authz.role_assignments.create, rg_scope, str(uuid.uuid4()), {"properties": {
        "roleDefinitionId": reader.id, "principalId": principal}})
    check(dup.status_code == 409, f"duplicate status {dup.status_code}")

    deleted = authz.role_assignments.delete(rg_scope, name)
    check(deleted is not None and deleted.name == name, f"delete returns the assignment {deleted}")
    expect_error("RoleAssignmentNotFound", authz.role_assignments.get, rg_scope, name)
    check(authz.role_assignments.delete(rg_scope, name) is None, "deleting a missing assignment is 204")


def check_autoscale(ctx):
    mon = MonitorManagementClient(UnusedCredential(), ctx.sub, **ctx.kw)
    plan_id = f"/subscriptions/{ctx.sub}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan"
    name = "sdk-autoscale"
    rule = {
        "metricTrigger": {
            "metricName": "CpuPercentage", "metricResourceUri": plan_id, "timeGrain": "PT1M",
            "statistic": "Average", "timeWindow": "PT10M", "timeAggregation": "Average",
            "operator": "GreaterThan", "threshold": 70,
        },
        "scaleAction": {"direction": "Increase", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"},
    }
    params = {
        "location": LOC,
        "tags": {"a": "b"},
        "profiles": [{"name": "default", "capacity": {"minimum": "1", "maximum": "3", "default": "1"}, "rules": [rule]}],
        "enabled": True,
        "targetResourceUri": plan_id,
    }
    s = mon.autoscale_settings.create_or_update("rg", name, params)
    check(s.name == name and s.type == "Microsoft.Insights/autoscaleSettings", f"setting {s}")
    check(s.target_resource_uri.lower() == plan_id.lower() and s.enabled, f"setting target {s}")
    p = s.profiles[0]
    check(p.capacity.minimum == "1" and p.capacity.maximum == "3" and p.capacity.default == "1", f"capacity {p.capacity}")
    r = p.rules[0]
    check(r.metric_trigger.metric_name == "CpuPercentage" and r.metric_trigger.threshold == 70, f"trigger {r.metric_trigger}")
    check(str(r.metric_trigger.time_window) in ("0:10:00", "PT10M"), f"timeWindow {r.metric_trigger.time_window}")
    check(r.scale_action.direction == "Increase" and r.scale_action.value == "1", f"action {r.scale_action}")

    got = mon.autoscale_settings.get("rg", name)
    check(got.id == s.id and got.profiles[0].rules[0].metric_trigger.operator == "GreaterThan", f"get {got}")
    check(name in [x.name for x in mon.autoscale_settings.list_by_resource_group("rg")], "list by group")
    check(name in [x.name for x in mon.autoscale_settings.list_by_subscription()], "list by subscription")

    upd = mon.autoscale_settings.update("rg", name, {"tags": {"a": "c"}, "enabled": False})
    check(upd.tags == {"a": "c"} and not upd.enabled and upd.profiles[0].capacity.maximum == "3", f"update {upd}")

    mon.autoscale_settings.delete("rg", name)
    expect_error("ResourceNotFound", mon.autoscale_settings.get, "rg", name)


def check_insights(ctx):
    """azure-mgmt-applicationinsights (2020-02-02): a component's keys are
    made once, its connection string names Slipway's ingestion endpoint."""
    from azure.mgmt.applicationinsights import ApplicationInsightsManagementClient
    from azure.mgmt.applicationinsights.v2020_02_02.models import ApplicationInsightsComponent, TagsResource

    ai = ApplicationInsightsManagementClient(UnusedCredential(), ctx.sub, **ctx.kw)
    c = ai.components.create_or_update(RG, "sdk-ai", ApplicationInsightsComponent(location=LOC, kind="web", application_type="web"))
    check(c.name == "sdk-ai" and c.type == "microsoft.insights/components" and c.kind == "web", f"component {c}")
    check(len(c.instrumentation_key) == 36 and len(c.app_id) == 36 and c.provisioning_state == "Succeeded", f"keys {c}")
    check(c.connection_string == f"InstrumentationKey={c.instrumentation_key};IngestionEndpoint={ctx.insights};ApplicationId={c.app_id}",
          f"connection string {c.connection_string}")
    check(c.application_id == "sdk-ai" and c.retention_in_days == 90 and c.tenant_id == ctx.tenant and c.creation_date is not None, f"properties {c}")

    again = ai.components.create_or_update(RG, "sdk-ai", ApplicationInsightsComponent(location=LOC, kind="other", application_type="other", retention_in_days=30))
    check(again.instrumentation_key == c.instrumentation_key and again.app_id == c.app_id and again.retention_in_days == 30, f"update kept keys {again}")
    got = ai.components.get(RG, "sdk-ai")
    check(got.id == c.id and got.connection_string == c.connection_string and got.kind == "other", f"get {got}")
    check("sdk-ai" in [x.name for x in ai.components.list_by_resource_group(RG)], "list by group")
    check("sdk-ai" in [x.name for x in ai.components.list()], "list by subscription")
    upd = ai.components.update_tags(RG, "sdk-ai", TagsResource(tags={"env": "sdk"}))
    check(upd.tags == {"env": "sdk"} and upd.instrumentation_key == c.instrumentation_key, f"update tags {upd}")

    e = expect_error("LocationRequired", ai.components.create_or_update, RG, "sdk-ai2", {"kind": "web", "properties": {"Application_Type": "web"}})
    check(e.status_code == 400, f"no location: {e.status_code}")
    ai.components.delete(RG, "sdk-ai")
    expect_error("ResourceNotFound", ai.components.get, RG, "sdk-ai")


def check_absent(ctx):
    msi = ManagedServiceIdentityClient(UnusedCredential(), ctx.sub, **ctx.kw)
    msi.user_assigned_identities.create_or_update(RG, "fic-id", {"location": LOC})
    e = expect_error("BadRequest", msi.federated_identity_credentials.create_or_update, RG, "fic-id", "github", {
        "properties": {"issuer": "https://token.actions.githubusercontent.com",
                       "subject": "repo:o/r:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]}})
    check(e.status_code == 400 and "Federated identity credentials are not available" in e.error.message, f"federated: {e.message}")
    check(list(msi.federated_identity_credentials.list(RG, "fic-id")) == [], "nothing was added")
    expect_error("ResourceNotFound", msi.federated_identity_credentials.get, RG, "fic-id", "github")

    kv = KeyVaultManagementClient(UnusedCredential(), ctx.sub, **ctx.kw)
    base = {"location": LOC, "properties": {"tenantId": ctx.tenant, "sku": {"family": "A", "name": "standard"}, "accessPolicies": []}}
    for props in ({"publicNetworkAccess": "Disabled"}, {"networkAcls": {"defaultAction": "Deny"}}):
        body = {**base, "properties": {**base["properties"], **props}}
        e = expect_error("BadRequest", lambda: kv.vaults.begin_create_or_update(RG, "sdkkvprivate", body).result())
        check(e.status_code == 400, f"private vault {props}: {e.status_code}")
    expect_error("ResourceNotFound", kv.vaults.get, RG, "sdkkvprivate")

    # Custom roles: only the built-in role definitions are served.
    authz = AuthorizationManagementClient(UnusedCredential(), ctx.sub, **ctx.kw)
    scope = f"/subscriptions/{ctx.sub}"
    rd = str(uuid.uuid4())
    e = expect_error("BadRequest", authz.role_definitions.create_or_update, scope, rd, {"properties": {
        "roleName": "Custom", "type": "CustomRole", "permissions": [{"actions": ["*/read"]}], "assignableScopes": [scope]}})
    check(e.status_code == 400 and "built-in roles" in str(e), f"custom role: {e.status_code} {e}")
    check(rd not in [d.name for d in authz.role_definitions.list(scope)], "no custom role was added")


class Ctx:
    pass


def main():
    base, sub, token, section = sys.argv[1:5]
    ctx = Ctx()
    ctx.sub = sub
    ctx.tenant = sys.argv[5] if len(sys.argv) > 5 else ""
    ctx.site_principal = sys.argv[6] if len(sys.argv) > 6 else ""
    ctx.insights = sys.argv[7] if len(sys.argv) > 7 else ""
    ctx.kw = client_kwargs(base, token)
    res = ResourceManagementClient(UnusedCredential(), sub, **ctx.kw)
    res.resource_groups.create_or_update(RG, {"location": LOC})
    {
        "keyvault": check_keyvault,
        "msi": check_msi,
        "authorization": check_authorization,
        "autoscale": check_autoscale,
        "absent": check_absent,
        "insights": check_insights,
    }[section](ctx)
    print("OK")


if __name__ == "__main__":
    run(main)
