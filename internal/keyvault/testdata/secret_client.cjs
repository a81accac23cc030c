// Drives Slipway's Key Vault secrets data plane with the real Azure SDK
// for JavaScript's SecretClient (@azure/keyvault-secrets), what Node apps
// use.
//
// Usage: node secret_client.cjs <vault_url> <token> [<package>]
//
// The package defaults to @azure/keyvault-secrets; "keyvault-secrets-classic"
// (an npm alias of 4.8.0) is the generation before @azure/keyvault-common,
// on @azure/core-client, with a challenge policy of its own.
//
// The vault URL's host (<vault>.vault.localhost:<port>) is resolved to
// 127.0.0.1 here, and NODE_EXTRA_CA_CERTS trusts the test server. The
// credential hands out the test's token and records what the client asks
// for: @azure/keyvault-common's challenge policy first sends the request
// without a token, reads the 401's WWW-Authenticate challenge, checks that
// its resource belongs to the vault's host (disableChallengeResourceVerification
// is left off) and asks for a token for that resource in the challenge's
// tenant. Pagers are read to the end; beginDeleteSecret and
// beginRecoverDeletedSecret are polled by the SDK's own pollers. Prints OK
// at the end; exits 1 on the first failure, with what the server said.
"use strict";

const assert = require("node:assert/strict");
const dns = require("node:dns");
const [vaultURL, token, pkg = "@azure/keyvault-secrets"] = process.argv.slice(2);
const { SecretClient } = require(pkg);

// Every vault host is the test server.
const lookup = dns.lookup;
dns.lookup = function (host, options, cb) {
  if (typeof host === "string" && host.endsWith(".vault.localhost")) host = "127.0.0.1";
  return lookup.call(this, host, options, cb);
};

const asked = [];
const credential = {
  async getToken(scopes, options) {
    asked.push({ scopes: [].concat(scopes), tenantId: options?.tenantId });
    return { token, expiresOnTimestamp: Date.now() + 3600 * 1000 };
  },
};
const client = new SecretClient(vaultURL, credential, { retryOptions: { maxRetries: 0 } });
const poll = { intervalInMs: 100 };

// all reads a paged iterator to its end, a page of at most size at a time.
async function all(iter, size) {
  const out = [];
  for await (const page of iter.byPage({ maxPageSize: size })) {
    out.push(...page);
    if (out.length > 1000) throw new Error("pager does not end");
  }
  return out;
}

// rejects asserts that p fails with status and error code.
async function rejects(p, status, code) {
  try {
    await p;
  } catch (e) {
    assert.equal(e.statusCode, status, `status of ${e}`);
    if (code) assert.equal(e.code, code, `code of ${e}`);
    return e;
  }
  assert.fail(`want an error ${status} ${code ?? ""}`);
}

async function main() {
  const port = new URL(vaultURL).port;
  const s1 = await client.setSecret("db-password", "first", { contentType: "text/plain", tags: { env: "test" } });
  // The challenge named the vault's tenant and a resource that follows
  // the host; the client asked for nothing else.
  assert.deepEqual(asked[0], { scopes: [`https://vault.localhost:${port}/.default`], tenantId: "tenant-1" });
  assert.ok(asked.every((a) => a.scopes[0] === asked[0].scopes[0]), JSON.stringify(asked));
  assert.equal(s1.value, "first");
  assert.equal(s1.name, "db-password");
  assert.match(s1.properties.version, /^[0-9a-f]{32}$/);
  assert.equal(s1.properties.contentType, "text/plain");
  assert.deepEqual(s1.properties.tags, { env: "test" });
  assert.equal(s1.properties.enabled, true);
  assert.ok(s1.properties.createdOn instanceof Date && !isNaN(s1.properties.createdOn), `createdOn ${s1.properties.createdOn}`);
  assert.ok(s1.properties.updatedOn instanceof Date && !isNaN(s1.properties.updatedOn), `updatedOn ${s1.properties.updatedOn}`);
  assert.equal(s1.properties.recoveryLevel, "Recoverable+Purgeable");
  assert.equal(s1.properties.recoverableDays, 90);
  assert.equal(s1.properties.vaultUrl.replace(/\/$/, ""), vaultURL.replace(/\/$/, ""));
  assert.equal(s1.properties.id, `${vaultURL}/secrets/db-password/${s1.properties.version}`);
  const s2 = await client.setSecret("db-password", "second");
  assert.notEqual(s2.properties.version, s1.properties.version);

  assert.equal((await client.getSecret("db-password")).value, "second");
  assert.equal((await client.getSecret("db-password", { version: s1.properties.version })).value, "first");

  const versions = await all(client.listPropertiesOfSecretVersions("db-password"), 1);
  assert.deepEqual(versions.map((p) => p.version).sort(), [s1.properties.version, s2.properties.version].sort());
  for (let i = 0; i < 5; i++) await client.setSecret(`s-${i}`, "x");
  const names = (await all(client.listPropertiesOfSecrets(), 2)).map((p) => p.name).sort();
  assert.deepEqual(names, ["db-password", "s-0", "s-1", "s-2", "s-3", "s-4"]);

  const expiresOn = new Date("2031-05-06T07:08:09Z");
  const up = await client.updateSecretProperties("db-password", s1.properties.version, { enabled: false, tags: { env: "old" }, expiresOn });
  assert.equal(up.enabled, false);
  assert.deepEqual(up.tags, { env: "old" });
  assert.equal(up.version, s1.properties.version);
  assert.equal(up.expiresOn?.getTime(), expiresOn.getTime());
  await rejects(client.getSecret("db-password", { version: s1.properties.version }), 403, "Forbidden");

  const delPoller = await client.beginDeleteSecret("db-password", poll);
  const deleted = await delPoller.pollUntilDone();
  assert.equal(deleted.name, "db-password");
  assert.ok(deleted.properties.deletedOn instanceof Date && !isNaN(deleted.properties.deletedOn), `deletedOn ${deleted.properties.deletedOn}`);
  assert.ok(deleted.properties.scheduledPurgeDate instanceof Date && !isNaN(deleted.properties.scheduledPurgeDate), "scheduledPurgeDate");
  assert.match(deleted.properties.recoveryId ?? "", /\/deletedsecrets\/db-password$/);
  await rejects(client.getSecret("db-password"), 404, "SecretNotFound");
  const got = await client.getDeletedSecret("db-password");
  assert.equal(got.name, "db-password");
  assert.equal(got.properties.version, s2.properties.version);
  assert.ok((await all(client.listDeletedSecrets(), 1)).some((d) => d.name === "db-password"), "list deleted");
  await rejects(client.setSecret("db-password", "while deleted"), 409, "Conflict");

  const recPoller = await client.beginRecoverDeletedSecret("db-password", poll);
  const rec = await recPoller.pollUntilDone();
  assert.equal(rec.name, "db-password");
  assert.equal(rec.version, s2.properties.version);
  assert.equal((await client.getSecret("db-password")).value, "second");

  await (await client.beginDeleteSecret("s-0", poll)).pollUntilDone();
  await client.purgeDeletedSecret("s-0");
  await rejects(client.getDeletedSecret("s-0"), 404);
  await client.setSecret("s-0", "again"); // the name is free after a purge

  const backup = await client.backupSecret("s-1");
  assert.ok(backup instanceof Uint8Array && backup.length > 0, "backup bytes");
  await (await client.beginDeleteSecret("s-1", poll)).pollUntilDone();
  await client.purgeDeletedSecret("s-1");
  const restored = await client.restoreSecretBackup(backup);
  assert.equal(restored.name, "s-1");
  assert.equal((await client.getSecret("s-1")).value, "x");

  await rejects(client.getSecret("nope"), 404, "SecretNotFound");

  // A token the vault refuses ends in Key Vault's 401, once: the client
  // answers the challenge a single time and does not loop.
  let sent = 0;
  const wrong = new SecretClient(vaultURL, { getToken: async () => ({ token: "not-" + token, expiresOnTimestamp: Date.now() + 3600 * 1000 }) }, {
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ position: "perRetry", policy: { name: "count", sendRequest: (req, next) => (sent++, next(req)) } }],
  });
  await rejects(wrong.getSecret("s-2"), 401, "Unauthorized");
  assert.equal(sent, 2, "requests sent with a refused token");
  console.log("OK");
}

main().catch((e) => {
  console.log(`FAIL: ${e.stack || e}`);
  if (e.response) console.log(`server said: ${e.statusCode} ${e.response.bodyAsText ?? ""}`);
  process.exit(1);
});
