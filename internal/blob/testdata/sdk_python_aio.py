"""Drives the Slipway blob service with azure-storage-blob's asyncio client
(azure.storage.blob.aio over aiohttp).

Run by TestPythonAsyncSDK (sdk_python_test.go), which starts the service on
a loopback port and passes SLIPWAY_BLOB_CONNECTION_STRING. Plain Python (no
pytest): each check is a coroutine; the script prints one line per check and
exits non-zero if any failed. Every check runs under a timeout.
"""

import asyncio
import datetime
import gzip
import hashlib
import io
import os
import sys
import traceback

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import ContainerSasPermissions, ContentSettings, generate_container_sas
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

CONN = os.environ["SLIPWAY_BLOB_CONNECTION_STRING"]
PARTS = dict(p.split("=", 1) for p in CONN.strip(";").split(";"))
ACCOUNT, KEY, ENDPOINT = PARTS["AccountName"], PARTS["AccountKey"], PARTS["BlobEndpoint"]

# Small thresholds force chunked uploads (concurrent Put Blocks, then Put
# Block List) and chunked downloads (concurrent ranged Get Blobs).
OPTS = dict(max_single_put_size=64 * 1024, max_block_size=256 * 1024,
            max_single_get_size=64 * 1024, max_chunk_get_size=256 * 1024)

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


async def expect_error(code, status, coro):
    try:
        await coro
    except HttpResponseError as e:
        assert e.error_code == code, f"error_code {e.error_code!r}, want {code!r}"
        assert e.status_code == status, f"status {e.status_code}, want {status}"
        return e
    raise AssertionError(f"no error, want {code}")


class Stream(io.RawIOBase):
    """A non-seekable stream of n pseudo-random bytes, as an upload from a
    socket or a generator gives the client: it cannot know the length up
    front or seek back."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), len(self.data) - self.pos)
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


BIG = hashlib.sha256(b"slipway").digest() * (5 * 1024 * 1024 // 32 + 7)  # just over 5 MiB


@check
async def containers(svc):
    cc = await svc.create_container("aio-box", metadata={"owner": "aio"})
    await expect_error("ContainerAlreadyExists", 409, svc.create_container("aio-box"))
    props = await cc.get_container_properties()
    assert props.metadata == {"owner": "aio"}, props.metadata
    names = [c.name async for c in svc.list_containers(name_starts_with="aio-", include_metadata=True)]
    assert "aio-box" in names, names
    await svc.delete_container("aio-box")
    try:
        await cc.get_container_properties()
        raise AssertionError("deleted container still answers")
    except ResourceNotFoundError as e:
        assert e.error_code == "ContainerNotFound", e.error_code
    assert not await cc.exists()


@check
async def concurrent_upload_and_download(svc):
    cc = await svc.create_container("aio-big")
    bc = cc.get_blob_client("big.bin")
    # A stream of unknown length, uploaded in 256 KiB blocks, four at a time.
    await bc.upload_blob(Stream(BIG), max_concurrency=4)
    blocks = await bc.get_block_list("committed")
    assert len(blocks[0]) == -(-len(BIG) // (256 * 1024)), len(blocks[0])
    # A bytes body with a known length, and with its MD5 validated per block.
    await cc.upload_blob("big2.bin", BIG, max_concurrency=4, validate_content=True, overwrite=True)
    props = await bc.get_blob_properties()
    assert props.size == len(BIG), props.size

    data = await (await bc.download_blob(max_concurrency=4)).readall()
    assert data == BIG, f"readall: {len(data)} bytes"
    buf = io.BytesIO()
    n = await (await bc.download_blob(max_concurrency=4, validate_content=True)).readinto(buf)
    assert n == len(BIG) and buf.getvalue() == BIG, n
    part = await (await bc.download_blob(offset=1000, length=700 * 1024, max_concurrency=3)).readall()
    assert part == BIG[1000:1000 + 700 * 1024], len(part)
    chunks = [c async for c in (await bc.download_blob(max_concurrency=2)).chunks()]
    assert b"".join(chunks) == BIG, len(chunks)
    text = await (await cc.download_blob("big2.bin", encoding=None)).readall()
    assert text == BIG


@check
async def edge_sizes(svc):
    cc = await svc.create_container("aio-edges")
    # Empty, exactly one first-get, one byte over, and one block exactly.
    for size in [0, 1, 64 * 1024, 64 * 1024 + 1, 256 * 1024, 256 * 1024 + 1]:
        data = BIG[:size]
        bc = cc.get_blob_client(f"b{size}")
        await bc.upload_blob(data, max_concurrency=3)
        got = await (await bc.download_blob(max_concurrency=3)).readall()
        assert got == data, (size, len(got))
        buf = io.BytesIO()
        n = await (await bc.download_blob(max_concurrency=2, validate_content=True)).readinto(buf)
        assert n == size and buf.getvalue() == data, (size, n)
        assert (await bc.get_blob_properties()).size == size
    await expect_error("BlobAlreadyExists", 409, cc.upload_blob("b0", b"again"))
    try:
        await cc.get_blob_client("missing").get_blob_properties()
        raise AssertionError("no error for a missing blob")
    except ResourceNotFoundError as e:
        assert e.error_code == "BlobNotFound", e.error_code
    assert not await cc.get_blob_client("missing").exists()
    assert await cc.get_blob_client("b1").exists()
    # Snapshots go with their blob when asked.
    bc = cc.get_blob_client("b1")
    await bc.create_snapshot()
    await expect_error("SnapshotsPresent", 409, bc.delete_blob())
    statuses = [r.status_code async for r in await cc.delete_blobs("b1", delete_snapshots="include")]
    assert statuses == [202], statuses
    statuses = [r.status_code async for r in await cc.set_standard_blob_tier_blobs("Cool", "b0", f"b{64 * 1024}")]
    assert statuses == [200, 200], statuses
    assert (await cc.get_blob_client("b0").get_blob_properties()).blob_tier == "Cool"


@check
async def encoded_content_and_conditions(svc):
    cc = await svc.create_container("aio-gzip")
    raw = b"body{color:red}" * 1000
    packed = gzip.compress(raw)
    bc = cc.get_blob_client("site.css")
    await bc.upload_blob(packed, content_settings=ContentSettings(content_type="text/css", content_encoding="gzip"))
    # The client inflates what Content-Encoding names unless told not to.
    got = await (await bc.download_blob()).readall()
    assert got == raw, len(got)
    got = await (await bc.download_blob(decompress=False)).readall()
    assert got == packed, len(got)
    props = await bc.get_blob_properties()
    assert props.content_settings.content_encoding == "gzip", props.content_settings
    assert props.content_settings.content_md5 == hashlib.md5(packed).digest()
    await expect_error("ConditionNotMet", 412, bc.download_blob(etag='"0x1"', match_condition=MatchConditions.IfNotModified))
    # A 304 carries x-ms-error-code ConditionNotMet, as Azure's does.
    await expect_error("ConditionNotMet", 304, bc.get_blob_properties(etag=props.etag, match_condition=MatchConditions.IfModified))


@check
async def listing_with_prefix_and_metadata(svc):
    cc = await svc.create_container("aio-list")
    for name, md in [("static/css/a.css", {"kind": "css"}), ("static/js/b.js", {"kind": "js"}),
                     ("media/c.png", {}), ("staticky.txt", {"kind": "txt"})]:
        await cc.upload_blob(name, name.encode(), metadata=md)
    got = [(b.name, b.metadata) async for b in cc.list_blobs(name_starts_with="static/", include=["metadata"])]
    assert got == [("static/css/a.css", {"kind": "css"}), ("static/js/b.js", {"kind": "js"})], got
    pages = [[b.name async for b in page] async for page in cc.list_blobs(results_per_page=2).by_page()]
    assert pages == [["media/c.png", "static/css/a.css"], ["static/js/b.js", "staticky.txt"]], pages
    walked = [b.name async for b in cc.walk_blobs(name_starts_with="static", delimiter="/")]
    assert walked == ["static/", "staticky.txt"], walked


@check
async def batch_delete(svc):
    cc = await svc.create_container("aio-batch")
    for n in ["a", "b", "c", "keep"]:
        await cc.upload_blob(n, b"x")
    statuses = [r.status_code async for r in await cc.delete_blobs("a", "b", "c")]
    assert statuses == [202, 202, 202], statuses
    assert [b.name async for b in cc.list_blobs()] == ["keep"]
    # One missing blob fails the batch call (raise_on_any_failure) with each
    # part's own answer.
    try:
        await cc.delete_blobs("keep", "missing")
        raise AssertionError("no error for a batch with a missing blob")
    except Exception as e:  # PartialBatchErrorException
        parts = [r.status_code for r in e.parts]
        assert parts == [202, 404], parts
    statuses = [r.status_code async for r in await cc.delete_blobs("missing", raise_on_any_failure=False)]
    assert statuses == [404], statuses
    # A container SAS with delete permission submits a batch too.
    tok = generate_container_sas(ACCOUNT, "aio-batch", account_key=KEY,
                                 permission=ContainerSasPermissions(delete=True, write=True, list=True),
                                 expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    await cc.upload_blob("sas-a", b"x")
    async with ContainerClient.from_container_url(f"{ENDPOINT}/aio-batch?{tok}") as sas_cc:
        await sas_cc.delete_blobs("sas-a")
    assert [b.name async for b in cc.list_blobs()] == []


@check
async def leases(svc):
    cc = await svc.create_container("aio-lease")
    bc = cc.get_blob_client("leased.txt")
    await bc.upload_blob(b"v1")
    lease = await bc.acquire_lease(lease_duration=15)
    await expect_error("LeaseIdMissing", 412, bc.upload_blob(b"v2", overwrite=True))
    await bc.upload_blob(b"v2", overwrite=True, lease=lease)
    await expect_error("LeaseAlreadyPresent", 409, bc.acquire_lease(lease_duration=15))
    await lease.renew()
    await lease.change(proposed_lease_id="00000000-0000-0000-0000-000000000001")
    assert lease.id == "00000000-0000-0000-0000-000000000001"
    assert (await bc.get_blob_properties()).lease.state == "leased"
    await lease.release()
    assert (await bc.get_blob_properties()).lease.state == "available"

    cl = await cc.acquire_lease(lease_duration=-1)
    await expect_error("LeaseIdMissing", 412, cc.delete_container())
    await cl.break_lease(lease_break_period=0)
    assert (await cc.get_container_properties()).lease.state == "broken"
    await cc.delete_container()


async def main():
    failed = 0
    async with BlobServiceClient.from_connection_string(CONN, **OPTS) as svc:
        for fn in CHECKS:
            try:
                await asyncio.wait_for(fn(svc), timeout=60)
                print(f"ok   {fn.__name__}")
            except Exception:
                failed += 1
                print(f"FAIL {fn.__name__}")
                traceback.print_exc()
    return failed


sys.exit(1 if asyncio.run(main()) else 0)
