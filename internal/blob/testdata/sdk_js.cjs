// Drives the Slipway blob service with the real @azure/storage-blob client.
// Run by TestJSSDK (sdk_js_test.go), which starts the service on a loopback
// port and passes SLIPWAY_BLOB_CONNECTION_STRING. Prints one line per check
// and exits non-zero if any failed.
"use strict";
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const {
  BlobServiceClient, BlobClient, StorageSharedKeyCredential,
  generateBlobSASQueryParameters, BlobSASPermissions,
  generateAccountSASQueryParameters, AccountSASPermissions, AccountSASResourceTypes, AccountSASServices,
} = require("@azure/storage-blob");

const conn = process.env.SLIPWAY_BLOB_CONNECTION_STRING;
const parts = Object.fromEntries(conn.replace(/;$/, "").split(";").map((p) => { const i = p.indexOf("="); return [p.slice(0, i), p.slice(i + 1)]; }));
const endpoint = parts.BlobEndpoint;
const cred = new StorageSharedKeyCredential(parts.AccountName, parts.AccountKey);
const svc = BlobServiceClient.fromConnectionString(conn);

async function expectError(code, status, fn) {
  try {
    await fn();
  } catch (e) {
    const got = e.code || (e.details && e.details.errorCode);
    assert.equal(got, code, `error code ${got}, want ${code}`);
    assert.equal(e.statusCode, status);
    return;
  }
  assert.fail(`no error, want ${code}`);
}

const checks = {
  async containers() {
    for (const n of ["js-a", "js-b1", "js-b2", "js-b3"]) await svc.getContainerClient(n).create({ metadata: { origin: n } });
    await expectError("ContainerAlreadyExists", 409, () => svc.getContainerClient("js-a").create());
    const pages = [];
    for await (const page of svc.listContainers({ prefix: "js-b", includeMetadata: true }).byPage({ maxPageSize: 2 })) {
      pages.push(page.containerItems.map((c) => `${c.name}=${c.metadata.origin}`));
    }
    assert.deepEqual(pages, [["js-b1=js-b1", "js-b2=js-b2"], ["js-b3=js-b3"]]);
  },
  async chunkedUploadAndRangedDownload() {
    const data = crypto.randomBytes(50000);
    const bb = svc.getContainerClient("js-a").getBlockBlobClient("chunked.bin");
    await bb.uploadData(data, { blockSize: 4096, maxSingleShotSize: 4096, concurrency: 3 });
    const bl = await bb.getBlockList("committed");
    assert.equal(bl.committedBlocks.length, 13);
    assert.ok((await bb.downloadToBuffer()).equals(data));
    assert.ok((await bb.downloadToBuffer(1000, 2000)).equals(data.subarray(1000, 3000)));
  },
  async listingHierarchy() {
    const cc = svc.getContainerClient("js-list");
    await cc.create();
    for (const n of ["a.txt", "dir/x.txt", "dir/sub/z.txt", "e.txt"]) await cc.getBlockBlobClient(n).upload(n, n.length);
    const got = [];
    for await (const item of cc.listBlobsByHierarchy("/")) got.push(item.kind === "prefix" ? `P:${item.name}` : item.name);
    assert.deepEqual(got.sort(), ["P:dir/", "a.txt", "e.txt"]);
    const flat = [];
    for await (const page of cc.listBlobsFlat().byPage({ maxPageSize: 3 })) flat.push(page.segment.blobItems.length);
    assert.deepEqual(flat, [3, 1]);
  },
  async conditionsAndErrors() {
    const bb = svc.getContainerClient("js-a").getBlockBlobClient("cond.txt");
    const first = await bb.upload("one", 3);
    await bb.upload("two", 3);
    await expectError("ConditionNotMet", 412, () => bb.upload("three", 5, { conditions: { ifMatch: first.etag } }));
    await expectError("BlobNotFound", 404, () => svc.getContainerClient("js-a").getBlobClient("missing").download());
    const bad = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(parts.AccountName, Buffer.from("wrong key wrong key").toString("base64")));
    await expectError("AuthenticationFailed", 403, () => bad.getContainerClient("js-a").getProperties());
  },
  async sas() {
    const bc = svc.getContainerClient("js-a").getBlobClient("cond.txt");
    const q = generateBlobSASQueryParameters({ containerName: "js-a", blobName: "cond.txt", permissions: BlobSASPermissions.parse("r"), expiresOn: new Date(Date.now() + 3600e3) }, cred);
    assert.equal((await new BlobClient(`${bc.url}?${q}`).downloadToBuffer()).toString(), "two");
    const old = generateBlobSASQueryParameters({ containerName: "js-a", blobName: "cond.txt", permissions: BlobSASPermissions.parse("r"), expiresOn: new Date(Date.now() - 60e3) }, cred);
    await expectError("AuthenticationFailed", 403, () => new BlobClient(`${bc.url}?${old}`).download());
    const aq = generateAccountSASQueryParameters({ services: AccountSASServices.parse("b").toString(), resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
      permissions: AccountSASPermissions.parse("rl"), expiresOn: new Date(Date.now() + 3600e3) }, cred);
    const asvc = new BlobServiceClient(`${endpoint}?${aq}`);
    const names = [];
    for await (const c of asvc.listContainers()) names.push(c.name);
    assert.ok(names.includes("js-a"));
  },
  async leasesSnapshotsCopy() {
    const cc = svc.getContainerClient("js-a");
    const bb = cc.getBlockBlobClient("snap.txt");
    await bb.upload("first", 5);
    const { snapshot } = await bb.createSnapshot();
    await bb.upload("second", 6);
    assert.equal((await bb.withSnapshot(snapshot).downloadToBuffer()).toString(), "first");
    const lease = bb.getBlobLeaseClient();
    await lease.acquireLease(15);
    await expectError("LeaseIdMissing", 412, () => bb.upload("third", 5));
    await lease.releaseLease();
    const dst = cc.getBlobClient("copy.txt");
    const r = await dst.syncCopyFromURL(bb.url);
    assert.equal(r.copyStatus, "success");
    assert.equal((await dst.downloadToBuffer()).toString(), "second");
  },
  async publicAccessAndAppend() {
    const cc = svc.getContainerClient("js-pub");
    await cc.create({ access: "blob" });
    const ab = cc.getAppendBlobClient("log.txt");
    await ab.create();
    await ab.appendBlock("a\n", 2);
    await ab.appendBlock("b\n", 2);
    assert.equal((await new BlobClient(ab.url).downloadToBuffer()).toString(), "a\nb\n");
  },
  async blobIndexTags() {
    const cc = svc.getContainerClient("js-tags");
    await cc.create();
    const tags = { project: "contoso", "stage 1": "raw+data" };
    const bb = cc.getBlockBlobClient("t.txt");
    await bb.upload("x", 1, { tags });
    assert.deepEqual((await bb.getTags()).tags, tags);
    assert.equal((await bb.getProperties()).tagCount, 2);
    await expectError("ConditionNotMet", 412, () => bb.getProperties({ conditions: { tagConditions: `project <> 'contoso'` } }));
    const copy = cc.getBlockBlobClient("copy.txt");
    await copy.syncCopyFromURL(bb.url, { copySourceTags: "COPY" });
    assert.deepEqual((await copy.getTags()).tags, tags);
    const found = [];
    for await (const b of svc.findBlobsByTags(`"stage 1" = 'raw+data' AND @container = 'js-tags'`)) {
      found.push([b.name, b.tags]);
    }
    assert.deepEqual(found, [["copy.txt", { "stage 1": "raw+data" }], ["t.txt", { "stage 1": "raw+data" }]]);
  },
};

(async () => {
  let failed = 0;
  for (const [name, fn] of Object.entries(checks)) {
    try {
      await fn();
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}\n${e.stack || e}`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
