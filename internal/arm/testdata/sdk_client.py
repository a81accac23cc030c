"""Drives Slipway's ARM endpoint with the real Azure SDK for Python.

Usage: sdk_client.py <base_url> <subscription_id> <token>
       sdk_client.py <base_url> <subscription_id> <token> deployments
The second form reads the deployments of site "app" in group "rg", which
the Go test seeds with one successful, active deployment.

azure-mgmt-web and azure-mgmt-resource are the clients the az CLI uses for
`az group`, `az appservice plan` and `az webapp` (docs/arm.md §0). The SDK checks
status codes per operation (a 201 on a site PUT raises) and deserializes
every body into its models, so this proves wire compatibility beyond what
golden files can. Plain http on loopback works as armclient.py says. Exits non-zero with a traceback on the first failure.
"""

import sys

import xmltodict
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import (
    AppServicePlan,
    ConnectionStringDictionary,
    ConnStringValueTypePair,
    FileSystemHttpLogsConfig,
    HttpLogsConfig,
    SiteLogsConfig,
    CsmPublishingProfileOptions,
    NameValuePair,
    ResourceNameAvailabilityRequest,
    Site,
    SiteConfig,
    SkuDescription,
    StringDictionary,
)

from armclient import ResourceManagementClient, UnusedCredential, check, client_kwargs


def main():
    base, sub, token = sys.argv[1:4]
    kw = client_kwargs(base, token)
    res = ResourceManagementClient(UnusedCredential(), sub, **kw)
    web = WebSiteManagementClient(UnusedCredential(), sub, **kw)
    if sys.argv[4:] == ["deployments"]:
        check_deployments(web)
    else:
        check_lifecycle(res, web)
    print("OK")


def check_deployments(web):
    deployments = list(web.web_apps.list_deployments("rg", "app"))
    check(len(deployments) == 1 and deployments[0].status == 4 and deployments[0].active, f"deployments {deployments}")
    d = web.web_apps.get_deployment("rg", "app", deployments[0].name)
    check(d.deployer == "slipway-test" and d.end_time is not None, f"deployment {d}")
    st = web.web_apps.begin_get_production_site_deployment_status("rg", "app", d.name).result()
    check(st.status == "RuntimeSuccessful" and st.number_of_instances_successful == 2, f"deployment status {st}")


def check_lifecycle(res, web):
    rg, plan_name, app = "sdk-rg", "sdk-plan", "sdk-app"

    group = res.resource_groups.create_or_update(rg, {"location": "westeurope"})
    check(group.name == rg and group.location == "westeurope", f"group {group}")
    check(res.resource_groups.check_existence(rg), "group exists")
    check(not res.resource_groups.check_existence("nope"), "missing group does not exist")

    plan = web.app_service_plans.begin_create_or_update(
        rg, plan_name,
        AppServicePlan(location="westeurope", sku=SkuDescription(name="B1", tier="BASIC"), reserved=True),
    ).result()
    check(plan.sku.tier == "Basic" and plan.reserved and plan.kind == "linux", f"plan {plan}")

    avail = web.check_name_availability(ResourceNameAvailabilityRequest(name=app, type="Site"))
    check(avail.name_available, f"name available {avail}")

    site = web.web_apps.begin_create_or_update(
        rg, app,
        Site(location=plan.location, server_farm_id=plan.id, https_only=True,
             site_config=SiteConfig(linux_fx_version="PYTHON|3.12",
                                    app_settings=[NameValuePair(name="SCM_DO_BUILD_DURING_DEPLOYMENT", value="True")])),
    ).result()
    check(site.kind == "app,linux" and site.server_farm_id == plan.id, f"site {site}")
    check([s.host_type for s in site.host_name_ssl_states] == ["Standard", "Repository"], "host name ssl states")
    check(site.enabled_host_names[0] == site.default_host_name, "enabledHostNames[0] is the app")
    check(site.possible_outbound_ip_addresses.split(","), "possibleOutboundIpAddresses")

    got = web.web_apps.get(rg, app)
    check(got.name == app and got.state == "Running" and got.resource_group == rg, f"get {got}")
    check(any(s.name == app for s in web.web_apps.list()), "subscription list has the site")
    check(any(s.name == app for s in web.web_apps.list_by_resource_group(rg)), "group list has the site")
    check(any(p.name == plan_name for p in web.app_service_plans.list(detailed=True)), "plan list")

    # az resource list: GET /subscriptions/{s}/resources with a $filter.
    listed = [(r.type, r.name, r.kind) for r in res.resources.list(filter="resourceType eq 'Microsoft.Web/sites'")]
    check(listed == [("Microsoft.Web/sites", app, "app,linux")], f"resources {listed}")
    in_group = sorted((r.type, r.sku.name if r.sku else None) for r in res.resources.list_by_resource_group(rg))
    check(in_group == [("Microsoft.Web/serverFarms", "B1"), ("Microsoft.Web/sites", None)], f"group resources {in_group}")

    settings = web.web_apps.list_application_settings(rg, app)
    check(settings.properties == {"SCM_DO_BUILD_DURING_DEPLOYMENT": "True"}, f"settings {settings.properties}")
    web.web_apps.update_application_settings(rg, app, StringDictionary(properties={"B": "2"}))
    check(web.web_apps.list_application_settings(rg, app).properties == {"B": "2"}, "settings replaced in full")

    web.web_apps.update_connection_strings(rg, app, ConnectionStringDictionary(
        properties={"DB": ConnStringValueTypePair(value="postgres://u:p@h/db", type="PostgreSQL")}))
    cs = web.web_apps.list_connection_strings(rg, app).properties
    check(cs["DB"].value == "postgres://u:p@h/db" and cs["DB"].type == "PostgreSQL", f"connection strings {cs}")

    logs = web.web_apps.update_diagnostic_logs_config(rg, app, SiteLogsConfig(
        http_logs=HttpLogsConfig(file_system=FileSystemHttpLogsConfig(retention_in_mb=100, retention_in_days=3, enabled=True))))
    check(logs.http_logs.file_system.retention_in_mb == 100, f"logs {logs}")
    check(web.web_apps.get_diagnostic_logs_configuration(rg, app).http_logs.file_system.enabled, "logs stored")

    instances = [i.name for i in web.web_apps.list_instance_identifiers(rg, app)]
    check(instances == ["a1b2", "b2c3"], f"instances {instances}")

    names = web.web_apps.list_slot_configuration_names(rg, app)
    check(names.app_setting_names == [], f"slot config names {names}")

    cfg = web.web_apps.get_configuration(rg, app)
    check(cfg.linux_fx_version == "PYTHON|3.12", f"config {cfg}")
    cfg.app_command_line = "gunicorn --bind=0.0.0.0 app:app"
    cfg = web.web_apps.update_configuration(rg, app, cfg)
    check(cfg.app_command_line == "gunicorn --bind=0.0.0.0 app:app", "config updated")

    creds = web.web_apps.begin_list_publishing_credentials(rg, app).result()
    check(creds.publishing_user_name == "$" + app and len(creds.publishing_password) == 60, f"creds {creds}")
    check(web.web_apps.get_scm_allowed(rg, app).allow, "scm basic auth allowed")

    xml = b"".join(web.web_apps.list_publishing_profile_xml_with_secrets(
        rg, app, CsmPublishingProfileOptions(format="WebDeploy")))
    profiles = xmltodict.parse(xml)["publishData"]["publishProfile"]
    check(len(profiles) == 3, f"profiles {profiles}")
    for p in profiles:
        check(p["@publishMethod"] and p["@publishUrl"], f"profile attributes {p}")
    check(any(p["@publishMethod"] == "FTP" for p in profiles), "an FTP profile")

    web.web_apps.restart(rg, app)
    web.web_apps.stop(rg, app)
    check(web.web_apps.get(rg, app).state == "Stopped", "stopped")
    web.web_apps.start(rg, app)

    web.web_apps.delete(rg, app, delete_empty_server_farm=False)
    try:
        web.web_apps.get(rg, app)
        raise AssertionError("site still there after delete")
    except ResourceNotFoundError:
        pass
    web.app_service_plans.delete(rg, plan_name)
    res.resource_groups.begin_delete(rg).result()
    check(not res.resource_groups.check_existence(rg), "group deleted")

    # A conflict surfaces as the SDK's error with ARM's code.
    try:
        res.resource_groups.create_or_update("x", {})
        raise AssertionError("a group without location was accepted")
    except HttpResponseError as e:
        check(e.error.code == "LocationRequired", f"error code {e.error.code}")


if __name__ == "__main__":
    main()
