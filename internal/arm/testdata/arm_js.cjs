// Drives Slipway's ARM endpoint with the real Azure SDK for JavaScript's
// management clients: @azure/arm-appservice (WebSiteManagementClient),
// @azure/arm-resources (ResourceManagementClient) and
// @azure/arm-resourcesdeployments (DeploymentsClient, where template
// deployments moved from @azure/arm-resources 8). All three are the
// generated "modular" clients on @azure-rest/core-client and
// @azure/core-lro 3, whose models flatten each resource's "properties"
// into the model itself (site.serverFarmId, not site.properties.serverFarmId).
//
// Usage: node arm_js.cjs <endpoint> <subscription> <token> [<appservice> <resources>]
//
// The last arguments name the packages to load: by default the current
// modular ones; "arm-appservice-classic" and "arm-resources-classic" (npm
// aliases of @azure/arm-appservice 18.0.0 and @azure/arm-resources 6.1.0,
// which still has deployments) are the previous generation, on
// @azure/core-client's ServiceClient, its operation specs (strict
// status-code mappers) and @azure/core-lro 2's LroEngine, which much
// deployed code still runs. Both generations shape the models alike (App
// Service's flattened, Resources' with "properties"), so one script serves.
//
// The endpoint is an https URL whose certificate NODE_EXTRA_CA_CERTS
// trusts. The credential hands out the test's token. Every pager is read
// to its end (for await) and every long-running operation is polled to
// completion by the SDK's own poller. Each step runs even when an earlier
// one failed, so one run names every discrepancy; the script exits 1 if
// any step failed and prints, as its last line, a JSON summary the Go test
// checks. With DEBUG_WIRE set it also prints every request and response.
"use strict";

const assert = require("node:assert/strict");
const [endpoint, sub, token, appservice = "@azure/arm-appservice", resources = "@azure/arm-resources"] = process.argv.slice(2);
const { WebSiteManagementClient } = require(appservice);
const { ResourceManagementClient } = require(resources);

const credential = {
  async getToken() {
    return { token, expiresOnTimestamp: Date.now() + 3600 * 1000 };
  },
};
// A failure is the server's answer, shown at once, not retried.
const common = {
  endpoint, credentials: { scopes: [endpoint + "/.default"] }, credentialScopes: [endpoint + "/.default"], // modular, classic
  retryOptions: { maxRetries: 0 },
};
const web = new WebSiteManagementClient(credential, sub, common);
const res = new ResourceManagementClient(credential, sub, common);
// Template deployments left @azure/arm-resources in 8, for
// @azure/arm-resourcesdeployments.
const deployments = res.deployments ? res : new (require("@azure/arm-resourcesdeployments").DeploymentsClient)(credential, sub, common);

if (process.env.DEBUG_WIRE) {
  for (const c of [web, res, deployments]) {
    c.pipeline.addPolicy({ name: "dump", async sendRequest(req, next) {
      const r = await next(req);
      console.log(">>", req.method, req.url, req.body ?? "", "<<", r.status, r.bodyAsText ?? "");
      return r;
    } });
  }
}

const rg = "rg-js", planName = "plan-js", app = "app-js";
const rgID = `/subscriptions/${sub}/resourceGroups/${rg}`;
const planID = `${rgID}/providers/Microsoft.Web/serverfarms/${planName}`;
const siteID = `${rgID}/providers/Microsoft.Web/sites/${app}`;
const poll = { updateIntervalInMs: 200 };

const failures = [];
const summary = {};

// step runs fn and records its failure, with what the server said.
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    const detail = e.response ? ` [${e.statusCode ?? e.response.status}] ${e.response.bodyAsText ?? JSON.stringify(e.response.body ?? "")}` : "";
    console.log(`FAIL ${name}: ${e.stack || e}${detail}`);
    failures.push(name);
  }
}

// ask prints a question for the Go test and waits for its one-line answer.
const answers = require("node:readline").createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(question) {
  console.log(question);
  const { value, done } = await answers.next();
  assert.ok(!done && value === "ok", `answer to ${question}: ${value}`);
}

// all reads a paged iterator to its end.
async function all(iter) {
  const out = [];
  for await (const x of iter) {
    out.push(x);
    if (out.length > 1000) throw new Error("pager does not end");
  }
  return out;
}

// armError asserts that p rejects with an ARM error of status and returns its code.
async function armError(p, status) {
  try {
    await p;
  } catch (e) {
    assert.equal(e.statusCode, status, `status of ${e}`);
    const code = e.code ?? e.details?.error?.code;
    assert.ok(code, `error code in ${JSON.stringify(e.details ?? e.response?.bodyAsText)}`);
    assert.ok(e.message, "error message");
    return code;
  }
  assert.fail(`want an ARM error ${status}`);
}

// armRefusal asserts that p rejects with an ARM error of status whose
// message says what Slipway does not do, and returns the error.
async function armRefusal(p, status) {
  try {
    await p;
  } catch (e) {
    assert.equal(e.statusCode, status, `status of ${e}`);
    assert.ok(e.code, `error code of ${e}`);
    assert.match(e.message, /Slipway|not (available|supported)/i, `message of ${e.code}`);
    return e;
  }
  assert.fail(`want an ARM error ${status}`);
}

async function main() {
  await step("resource groups", async () => {
    const g = await res.resourceGroups.createOrUpdate(rg, { location: "westeurope", tags: { env: "test" } });
    assert.equal(g.id, rgID);
    assert.equal(g.name, rg);
    assert.equal(g.properties?.provisioningState, "Succeeded");
    assert.deepEqual(g.tags, { env: "test" });
    const got = await res.resourceGroups.get(rg);
    assert.equal(got.location, "westeurope");
    const groups = await all(res.resourceGroups.list());
    assert.ok(groups.some((x) => x.name === rg), JSON.stringify(groups));
    assert.equal((await res.resourceGroups.checkExistence(rg)).body, true);
    assert.equal((await res.resourceGroups.checkExistence("rg-none")).body, false);
    assert.equal(await armError(res.resourceGroups.get("rg-none"), 404), "ResourceGroupNotFound");
  });

  await step("plans", async () => {
    const p = await web.appServicePlans.beginCreateOrUpdateAndWait(rg, planName, {
      location: "westeurope", kind: "linux",
      sku: { name: "B1", tier: "Basic", capacity: 1 },
      reserved: true,
    }, poll);
    assert.equal(p.id, planID);
    assert.equal(p.sku?.name, "B1");
    assert.equal(p.reserved, true);
    assert.equal(p.provisioningState, "Succeeded");
    assert.equal(p.status, "Ready");
    const got = await web.appServicePlans.get(rg, planName);
    assert.equal(got.kind, "linux");
    assert.equal(got.sku?.tier, "Basic");
    assert.equal(got.resourceGroup, rg);
    assert.ok(got.maximumNumberOfWorkers > 0, "maximumNumberOfWorkers");
    assert.equal(typeof got.numberOfSites, "number");
    const inRG = await all(web.appServicePlans.listByResourceGroup(rg));
    const inSub = await all(web.appServicePlans.list({ detailed: true }));
    assert.deepEqual(inRG.map((x) => x.id), [planID]);
    assert.deepEqual(inSub.map((x) => x.id), [planID]);
    // Scale to Standard (slots need it) with a PUT of the plan as read.
    const scaled = await web.appServicePlans.beginCreateOrUpdateAndWait(rg, planName, { ...got, sku: { name: "S1", tier: "Standard", capacity: 1 } }, poll);
    assert.equal(scaled.sku?.name, "S1");
    const u = await web.appServicePlans.update(rg, planName, { perSiteScaling: false });
    assert.equal(u.sku?.name, "S1");
    assert.equal(u.reserved, true);
    assert.equal(await armError(web.appServicePlans.get(rg, "plan-none"), 404), "ResourceNotFound");
  });

  let created;
  await step("web apps", async () => {
    created = await web.webApps.beginCreateOrUpdateAndWait(rg, app, {
      location: "westeurope", kind: "app,linux", tags: { tier: "web" },
      identity: { type: "SystemAssigned" },
      serverFarmId: planID, httpsOnly: true,
      siteConfig: { linuxFxVersion: "PYTHON|3.12", appSettings: [{ name: "SCM_DO_BUILD_DURING_DEPLOYMENT", value: "true" }] },
    }, poll);
    const s = created;
    assert.equal(s.id, siteID);
    assert.equal(s.kind, "app,linux");
    assert.equal(s.defaultHostName, `${app}.localhost:8080`);
    assert.equal(s.state, "Running");
    assert.equal(s.httpsOnly, true);
    assert.equal(s.serverFarmId, planID);
    assert.equal(s.enabled, true);
    assert.equal(s.resourceGroup, rg);
    assert.equal(s.hostNameSslStates?.length, 2);
    assert.ok(s.lastModifiedTimeUtc instanceof Date && !isNaN(s.lastModifiedTimeUtc), `lastModifiedTimeUtc ${s.lastModifiedTimeUtc}`);
    assert.equal(s.identity?.type, "SystemAssigned");
    assert.ok(s.identity?.principalId, "principalId");
    const got = await web.webApps.get(rg, app);
    assert.equal(got.siteConfig?.linuxFxVersion, "PYTHON|3.12");
    assert.deepEqual(got.tags, { tier: "web" });
    const inSub = await all(web.webApps.list());
    const inRG = await all(web.webApps.listByResourceGroup(rg));
    assert.deepEqual(inSub.map((x) => x.id), [siteID]);
    assert.deepEqual(inRG.map((x) => x.name), [app]);
    const u = await web.webApps.update(rg, app, { clientAffinityEnabled: false });
    assert.equal(u.clientAffinityEnabled, false);
    assert.equal(u.httpsOnly, true);
    assert.equal(await armError(web.webApps.get(rg, "app-none"), 404), "ResourceNotFound");
  });

  await step("settings", async () => {
    const s = await web.webApps.updateApplicationSettings(rg, app, { properties: { A: "1", B: "2" } });
    assert.equal(s.properties?.A, "1");
    const l = await web.webApps.listApplicationSettings(rg, app);
    assert.deepEqual(l.properties, { A: "1", B: "2" });
    assert.equal(l.name, "appsettings");
    const cs = await web.webApps.updateConnectionStrings(rg, app, { properties: { DB: { value: "postgres://db", type: "PostgreSQL" } } });
    assert.deepEqual(cs.properties?.DB, { value: "postgres://db", type: "PostgreSQL" });
    const lc = await web.webApps.listConnectionStrings(rg, app);
    assert.equal(lc.properties?.DB?.value, "postgres://db");
  });

  await step("site config", async () => {
    const c = await web.webApps.getConfiguration(rg, app);
    assert.equal(c.linuxFxVersion, "PYTHON|3.12");
    assert.equal(c.numberOfWorkers, 1);
    const u = await web.webApps.updateConfiguration(rg, app, { appCommandLine: "gunicorn app:app" });
    assert.equal(u.appCommandLine, "gunicorn app:app");
    assert.equal(u.linuxFxVersion, "PYTHON|3.12");
    // PUT of the whole config as read back, one field changed.
    const w = await web.webApps.createOrUpdateConfiguration(rg, app, { ...c, healthCheckPath: "/health" });
    assert.equal(w.healthCheckPath, "/health");
  });

  await step("slots", async () => {
    const s = await web.webApps.beginCreateOrUpdateSlotAndWait(rg, app, "staging", { location: "westeurope", serverFarmId: planID }, poll);
    assert.equal(s.name, `${app}/staging`);
    assert.equal(s.type, "Microsoft.Web/sites/slots");
    assert.equal(s.defaultHostName, `${app}-staging.localhost:8080`);
    const slots = await all(web.webApps.listSlots(rg, app));
    assert.deepEqual(slots.map((x) => x.name), [`${app}/staging`]);
    await web.webApps.updateApplicationSettingsSlot(rg, app, "staging", { properties: { S: "staging" } });
    assert.equal((await web.webApps.listApplicationSettingsSlot(rg, app, "staging")).properties?.S, "staging");
    await web.webApps.beginSwapSlotWithProductionAndWait(rg, app, { targetSlot: "staging", preserveVnet: true }, poll);
    await web.webApps.deleteSlot(rg, app, "staging");
    assert.equal(await armError(web.webApps.getSlot(rg, app, "staging"), 404), "ResourceNotFound");
  });

  await step("publishing", async () => {
    const c = await web.webApps.beginListPublishingCredentialsAndWait(rg, app, poll);
    assert.equal(c.type, "Microsoft.Web/sites/publishingcredentials");
    assert.equal(c.publishingUserName, "$" + app);
    assert.ok(c.publishingPassword, "publishingPassword");
    assert.match(c.scmUri ?? "", new RegExp(`@${app}\\.scm\\.localhost`));
    const x = await web.webApps.listPublishingProfileXmlWithSecrets(rg, app, { format: "WebDeploy" });
    assert.ok(x.readableStreamBody, "readableStreamBody");
    const chunks = [];
    for await (const chunk of x.readableStreamBody) chunks.push(chunk);
    const xml = Buffer.concat(chunks).toString("utf8");
    assert.match(xml, /<publishData>/);
    assert.match(xml, new RegExp(`publishMethod="MSDeploy"[^>]*userName="\\$${app}"`));
  });

  await step("actions", async () => {
    await web.webApps.restart(rg, app);
    await web.webApps.stop(rg, app);
    assert.equal((await web.webApps.get(rg, app)).state, "Stopped");
    await web.webApps.start(rg, app);
    const ids = await all(web.webApps.listInstanceIdentifiers(rg, app));
    assert.equal(ids.length, 2);
    assert.ok(ids.every((x) => x.name && x.id), JSON.stringify(ids));
  });

  await step("host names", async () => {
    const s = await web.webApps.get(rg, app);
    assert.ok(s.customDomainVerificationId, "customDomainVerificationId");
    await ask(`dns? ${s.customDomainVerificationId}`);
    const b = await web.webApps.createOrUpdateHostNameBinding(rg, app, "www.contoso.com", { siteName: app });
    assert.equal(b.name, `${app}/www.contoso.com`);
    assert.equal(b.hostNameType, "Verified");
    assert.equal(b.customHostNameDnsRecordType, "CName");
    const bs = await all(web.webApps.listHostNameBindings(rg, app));
    assert.ok(bs.some((x) => x.name === `${app}/www.contoso.com`), JSON.stringify(bs));
    await web.webApps.deleteHostNameBinding(rg, app, "www.contoso.com");
    assert.equal(await armError(web.webApps.getHostNameBinding(rg, app, "www.contoso.com"), 404), "ResourceNotFound");
  });

  await step("provisioner reads", async () => {
    // What a provisioner reads back after creating an app, and the writes
    // it makes for an app that uses none of the features.
    assert.equal((await web.webApps.getAuthSettingsV2(rg, app)).platform?.enabled, false);
    const n = await web.webApps.updateSlotConfigurationNames(rg, app, { appSettingNames: ["A"], connectionStringNames: ["DB"] });
    assert.deepEqual(n.appSettingNames, ["A"]);
    assert.deepEqual((await web.webApps.listSlotConfigurationNames(rg, app)).connectionStringNames, ["DB"]);
    const logs = await web.webApps.updateDiagnosticLogsConfig(rg, app, {
      httpLogs: { fileSystem: { enabled: true, retentionInMb: 35, retentionInDays: 3 } },
    });
    assert.equal(logs.httpLogs?.fileSystem?.enabled, true);
    assert.equal((await web.webApps.getDiagnosticLogsConfiguration(rg, app)).httpLogs?.fileSystem?.retentionInDays, 3);
    await web.webApps.updateScmAllowed(rg, app, { allow: true });
    assert.equal((await web.webApps.getScmAllowed(rg, app)).allow, true);
    assert.equal((await all(web.webApps.listBasicPublishingCredentialsPolicies(rg, app))).length, 2);
    await web.webApps.getSourceControl(rg, app);
    const cfgs = await all(web.webApps.listConfigurations(rg, app));
    assert.deepEqual(cfgs.map((c) => c.id), [siteID + "/config/web"]);
    assert.equal(cfgs[0].healthCheckPath, "/health");
    assert.ok(Array.isArray(await all(web.webApps.listDeployments(rg, app))));
    assert.deepEqual((await all(web.appServicePlans.listWebApps(rg, planName))).map((x) => x.id), [siteID]);
    const name = await web.checkNameAvailability(app, "Site");
    assert.equal(name.nameAvailable, false);
    assert.equal(name.reason, "AlreadyExists");
    assert.ok((await all(web.listGeoRegions())).length > 0, "geo regions");
    assert.ok((await all(web.provider.listWebAppStacks())).length > 0, "web app stacks");
    // No backup is configured: App Service answers 404.
    await armError(web.webApps.getBackupConfiguration(rg, app), 404);
  });

  await step("resources and tags", async () => {
    const sites = await all(res.resources.list({ filter: "resourceType eq 'Microsoft.Web/sites'" }));
    assert.deepEqual(sites.map((x) => [x.id, x.type]), [[siteID, "Microsoft.Web/sites"]]);
    const inRG = await all(res.resources.listByResourceGroup(rg));
    assert.ok(inRG.length >= 2, JSON.stringify(inRG));
    const t = await res.tagsOperations.beginCreateOrUpdateAtScopeAndWait(siteID, { properties: { tags: { owner: "js" } } }, poll);
    assert.deepEqual(t.properties?.tags, { owner: "js" });
    const m = await res.tagsOperations.beginUpdateAtScopeAndWait(siteID, { operation: "Merge", properties: { tags: { cost: "1" } } }, poll);
    assert.deepEqual(m.properties?.tags, { owner: "js", cost: "1" });
    const g = await res.tagsOperations.getAtScope(siteID);
    assert.equal(g.name, "default");
    assert.equal(g.type, "Microsoft.Resources/tags");
    assert.equal((await web.webApps.get(rg, app)).tags?.owner, "js");
    await res.tagsOperations.beginDeleteAtScopeAndWait(siteID, poll);
    assert.deepEqual((await res.tagsOperations.getAtScope(siteID)).properties?.tags ?? {}, {});
    await res.tagsOperations.beginCreateOrUpdateAtScopeAndWait(siteID, { properties: { tags: { owner: "js" } } }, poll);
  });

  await step("template deployment", async () => {
    const template = {
      $schema: "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
      contentVersion: "1.0.0.0",
      parameters: { name: { type: "string" } },
      resources: [{
        type: "Microsoft.Web/sites/config", apiVersion: "2024-11-01", name: "[concat(parameters('name'), '/appsettings')]",
        properties: { FROM_TEMPLATE: "yes" },
      }],
      outputs: { site: { type: "string", value: "[parameters('name')]" } },
    };
    const d = await deployments.deployments.beginCreateOrUpdateAndWait(rg, "dep-js", {
      properties: { mode: "Incremental", template, parameters: { name: { value: app } } },
    }, poll);
    assert.equal(d.properties?.provisioningState, "Succeeded");
    assert.ok(d.properties?.timestamp instanceof Date && !isNaN(d.properties.timestamp), `timestamp ${d.properties?.timestamp}`);
    assert.deepEqual(d.properties?.outputs?.site, { type: "String", value: app });
    const got = await deployments.deployments.get(rg, "dep-js");
    assert.equal(got.name, "dep-js");
    assert.ok(got.properties?.correlationId, "correlationId");
    const deps = await all(deployments.deployments.listByResourceGroup(rg));
    assert.deepEqual(deps.map((x) => x.name), ["dep-js"]);
    const ops = await all(deployments.deploymentOperations.list(rg, "dep-js"));
    assert.ok(ops.length >= 1, JSON.stringify(ops));
    for (const op of ops) {
      assert.ok(op.operationId, "operationId");
      assert.equal(op.properties?.provisioningState, "Succeeded");
      assert.ok(op.properties?.timestamp instanceof Date, `operation timestamp ${op.properties?.timestamp}`);
      assert.match(op.properties?.targetResource?.resourceType ?? "", /^Microsoft\.Web\//);
    }
    assert.equal((await web.webApps.listApplicationSettings(rg, app)).properties?.FROM_TEMPLATE, "yes");
    await deployments.deployments.beginDeleteAndWait(rg, "dep-js", poll);
    assert.equal(await armError(deployments.deployments.get(rg, "dep-js"), 404), "DeploymentNotFound");
  });

  await step("failed template deployment", async () => {
    // A deployment that fails ends its poller with the deployment's error.
    const template = {
      contentVersion: "1.0.0.0",
      resources: [{
        type: "Microsoft.Web/sites", apiVersion: "2024-11-01", name: "s1", location: "westeurope",
        properties: { serverFarmId: "[resourceId('Microsoft.Web/serverfarms', 'nosuchplan')]" },
      }],
    };
    try {
      await deployments.deployments.beginCreateOrUpdateAndWait(rg, "bad", { properties: { mode: "Incremental", template } }, poll);
    } catch (e) {
      // core-lro's error names the top-level code and message only, as
      // for Azure, whose details (the failed resources) follow in
      // error.details of the deployment.
      assert.match(String(e.message), /^The long-running operation has failed\. DeploymentFailed\. /, `poller error ${e}`);
      const d = await deployments.deployments.get(rg, "bad");
      assert.equal(d.properties?.provisioningState, "Failed");
      assert.equal(d.properties?.error?.code, "DeploymentFailed");
      assert.match(JSON.stringify(d.properties?.error?.details), /nosuchplan/);
      return;
    }
    assert.fail("a failed deployment's poller succeeded");
  });

  await step("absent features", async () => {
    // What Slipway does not do is refused with ARM's error shape.
    summary.absent = [];
    const refused = async (what, p) => {
      const e = await armRefusal(p, 400);
      summary.absent.push(`${what}: ${e.code}: ${e.message}`);
    };
    // Sign-in is Slipway's own Microsoft identity platform: another
    // provider is refused, in either form of the settings.
    await refused("auth with Google", web.webApps.updateAuthSettings(rg, app, { enabled: true, defaultProvider: "Google", googleClientId: "x" }));
    await refused("auth V2 with Google", web.webApps.updateAuthSettingsV2(rg, app, {
      platform: { enabled: true }, identityProviders: { google: { enabled: true, registration: { clientId: "x" } } },
    }));
    await refused("backup", web.webApps.backup(rg, app, { storageAccountUrl: "https://x.blob.core.windows.net/b?sig=x" }));
    await refused("storage mount", web.webApps.updateAzureStorageAccounts(rg, app, {
      properties: { media: { type: "AzureBlob", accountName: "acct", shareName: "media", accessKey: "key", mountPath: "/media" } },
    }));
    await refused("private networking", web.webApps.update(rg, app, { publicNetworkAccess: "Disabled" }));
    await refused("service tag rule", web.webApps.updateConfiguration(rg, app, {
      ipSecurityRestrictions: [{ name: "fd", ipAddress: "AzureFrontDoor.Backend", tag: "ServiceTag", action: "Allow", priority: 100 }],
    }));
    // Nothing refused was changed.
    assert.equal((await web.webApps.getAuthSettingsV2(rg, app)).platform?.enabled, false);
    assert.equal((await web.webApps.get(rg, app)).publicNetworkAccess === "Disabled", false);
    assert.equal((await web.webApps.listAzureStorageAccounts(rg, app)).properties?.media, undefined);
  });

  await step("delete", async () => {
    await web.webApps.delete(rg, app, { deleteEmptyServerFarm: false });
    assert.equal(await armError(web.webApps.get(rg, app), 404), "ResourceNotFound");
    await web.appServicePlans.delete(rg, planName);
    await res.resourceGroups.beginDeleteAndWait(rg, poll);
    assert.equal((await res.resourceGroups.checkExistence(rg)).body, false);
  });

  summary.failures = failures;
  console.log(JSON.stringify(summary));
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL main: ${e.stack || e}`);
  process.exit(1);
});
