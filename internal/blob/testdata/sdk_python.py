"""Drives the Slipway blob service with the real azure-storage-blob client.

Run by TestPythonSDK (sdk_python_test.go), which starts the service on a
loopback port and passes SLIPWAY_BLOB_CONNECTION_STRING. Plain Python (no
pytest): each check is a function; the script prints one line per check and
exits non-zero if any failed.
"""

import datetime
import hashlib
import os
import sys
import traceback

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError
from azure.storage.blob import (
    AccountSasPermissions,
    BlobClient,
    BlobSasPermissions,
    BlobServiceClient,
    BlobType,
    ContainerClient,
    ContainerSasPermissions,
    ContentSettings,
    ResourceTypes,
    generate_account_sas,
    generate_blob_sas,
    generate_container_sas,
)

CONN = os.environ["SLIPWAY_BLOB_CONNECTION_STRING"]
PARTS = dict(p.split("=", 1) for p in CONN.strip(";").split(";"))
ACCOUNT, KEY, ENDPOINT = PARTS["AccountName"], PARTS["AccountKey"], PARTS["BlobEndpoint"]

# Small thresholds force chunked uploads (Put Block + Put Block List) and
# chunked downloads (ranged Get Blob).
svc = BlobServiceClient.from_connection_string(
    CONN, max_single_put_size=4 * 1024, max_block_size=4 * 1024,
    max_single_get_size=4 * 1024, max_chunk_get_size=4 * 1024)

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def expect_error(code, status, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except HttpResponseError as e:
        assert e.error_code == code, f"error_code {e.error_code!r}, want {code!r}"
        assert e.status_code == status, f"status {e.status_code}, want {status}"
        return e
    raise AssertionError(f"no error, want {code}")


def now():
    return datetime.datetime.now(datetime.timezone.utc)


@check
def containers():
    for name in ["py-a", "py-b1", "py-b2", "py-b3"]:
        svc.create_container(name, metadata={"origin": name})
    expect_error("ContainerAlreadyExists", 409, svc.create_container, "py-a")
    expect_error("InvalidResourceName", 400, svc.create_container, "Bad_Name")
    pages = svc.list_containers(name_starts_with="py-b", include_metadata=True, results_per_page=2).by_page()
    seen = []
    npages = 0
    for page in pages:
        npages += 1
        for c in page:
            seen.append((c.name, c.metadata["origin"]))
    assert seen == [("py-b1", "py-b1"), ("py-b2", "py-b2"), ("py-b3", "py-b3")], seen
    assert npages == 2, npages
    cc = svc.get_container_client("py-a")
    cc.set_container_metadata({"k": "v"})
    assert cc.get_container_properties().metadata == {"k": "v"}
    assert cc.exists()
    svc.delete_container("py-b3")
    assert not svc.get_container_client("py-b3").exists()
    expect_error("ContainerNotFound", 404, svc.delete_container, "py-b3")


@check
def chunked_upload_and_ranged_download():
    cc = svc.get_container_client("py-a")
    data = os.urandom(50_000)
    cc.upload_blob("chunked.bin", data, content_settings=ContentSettings(content_type="application/x-slipway"))
    bc = cc.get_blob_client("chunked.bin")
    blocks = bc.get_block_list("committed")[0]
    assert len(blocks) == 13, f"{len(blocks)} committed blocks, want 13"
    assert bc.download_blob().readall() == data
    assert bc.download_blob(offset=1000, length=2000).readall() == data[1000:3000]
    props = bc.get_blob_properties()
    assert props.size == len(data) and props.content_settings.content_type == "application/x-slipway"
    expect_error("InvalidRange", 416, lambda: bc.download_blob(offset=len(data) + 5, length=10).readall())


@check
def listing_prefix_delimiter_paging():
    cc = svc.create_container("py-list")
    names = ["a.txt", "dir/x.txt", "dir/y.txt", "dir/sub/z.txt", "e.txt"]
    for n in names:
        cc.upload_blob(n, n.encode(), metadata={"n": n.replace("/", "_")})
    flat = [b.name for b in cc.list_blobs(include=["metadata"])]
    assert flat == sorted(names), flat
    # walk_blobs yields a page's prefixes before its blobs.
    top = sorted(b.name for b in cc.walk_blobs(delimiter="/"))
    assert top == ["a.txt", "dir/", "e.txt"], top
    inner = sorted(b.name for b in cc.walk_blobs(name_starts_with="dir/", delimiter="/"))
    assert inner == ["dir/sub/", "dir/x.txt", "dir/y.txt"], inner
    pages = [[b.name for b in p] for p in cc.list_blobs(results_per_page=2).by_page()]
    assert pages == [sorted(names)[0:2], sorted(names)[2:4], sorted(names)[4:]], pages
    md = {b.name: b.metadata for b in cc.list_blobs(name_starts_with="dir/", include=["metadata"])}
    assert md["dir/x.txt"] == {"n": "dir_x.txt"}, md


@check
def empty_blob():
    bc = svc.get_blob_client("py-a", "empty.txt")
    bc.upload_blob(b"")
    assert bc.download_blob().readall() == b""
    assert bc.get_blob_properties().size == 0


@check
def awkward_names():
    cc = svc.create_container("py-names")
    names = ["spaced name.txt", "plus+and%percent.txt", "q?mark&amp=1.txt", "hash#tag.txt",
             "ünïcødé/文件.txt", "a//double/slash", "semi;colon,comma'quote"]
    for n in names:
        cc.upload_blob(n, n.encode())
        assert cc.download_blob(n).readall() == n.encode(), n
    assert sorted(b.name for b in cc.list_blobs()) == sorted(names)


@check
def metadata_and_properties():
    bc = svc.get_blob_client("py-a", "props.txt")
    bc.upload_blob(b"hello", metadata={"a": "1"})
    bc.set_blob_metadata({"b": "2"})
    bc.set_http_headers(ContentSettings(content_type="text/plain", cache_control="no-cache", content_disposition="inline"))
    p = bc.get_blob_properties()
    assert p.metadata == {"b": "2"}, p.metadata
    assert p.content_settings.content_type == "text/plain"
    assert p.content_settings.cache_control == "no-cache"
    assert p.content_settings.content_disposition == "inline"
    expect_error("BlobNotFound", 404, svc.get_blob_client("py-a", "missing").get_blob_properties)
    expect_error("BlobNotFound", 404, lambda: svc.get_blob_client("py-a", "missing").download_blob().readall())


@check
def conditional_requests():
    bc = svc.get_blob_client("py-a", "cond.txt")
    r = bc.upload_blob(b"one")
    old = r["etag"]
    bc.upload_blob(b"two", overwrite=True)
    try:
        bc.upload_blob(b"three", overwrite=True, etag=old, match_condition=MatchConditions.IfNotModified)
        raise AssertionError("stale etag accepted")
    except ResourceModifiedError as e:
        assert e.error_code == "ConditionNotMet", e.error_code
        assert e.status_code == 412
    expect_error("BlobAlreadyExists", 409, bc.upload_blob, b"four")  # overwrite=False sends If-None-Match: *
    assert bc.download_blob().readall() == b"two"


@check
def content_md5():
    bc = svc.get_blob_client("py-a", "md5.txt")
    data = b"md5 me"
    bc.upload_blob(data, validate_content=True)
    assert bytes(bc.get_blob_properties().content_settings.content_md5) == hashlib.md5(data).digest()
    assert bc.download_blob(validate_content=True).readall() == data


@check
def sas_urls():
    cc = svc.get_container_client("py-a")
    cc.upload_blob("sas.txt", b"sas data", overwrite=True)
    tok = generate_blob_sas(ACCOUNT, "py-a", "sas.txt", account_key=KEY, permission=BlobSasPermissions(read=True),
                            expiry=now() + datetime.timedelta(hours=1))
    bc = BlobClient.from_blob_url(f"{ENDPOINT}/py-a/sas.txt?{tok}")
    assert bc.download_blob().readall() == b"sas data"
    expect_error("AuthorizationPermissionMismatch", 403, bc.upload_blob, b"x", overwrite=True)

    expired = generate_blob_sas(ACCOUNT, "py-a", "sas.txt", account_key=KEY, permission=BlobSasPermissions(read=True),
                                expiry=now() - datetime.timedelta(minutes=5))
    expect_error("AuthenticationFailed", 403,
                 lambda: BlobClient.from_blob_url(f"{ENDPOINT}/py-a/sas.txt?{expired}").download_blob().readall())

    ctok = generate_container_sas(ACCOUNT, "py-a", account_key=KEY,
                                  permission=ContainerSasPermissions(read=True, list=True, write=True, create=True),
                                  expiry=now() + datetime.timedelta(hours=1))
    ccs = ContainerClient.from_container_url(f"{ENDPOINT}/py-a?{ctok}")
    ccs.upload_blob("via-container-sas.txt", b"cs")
    assert "via-container-sas.txt" in [b.name for b in ccs.list_blobs()]

    atok = generate_account_sas(ACCOUNT, KEY, resource_types=ResourceTypes(service=True, container=True, object=True),
                                permission=AccountSasPermissions(read=True, list=True), expiry=now() + datetime.timedelta(hours=1))
    asvc = BlobServiceClient(account_url=ENDPOINT, credential=atok)
    assert "py-a" in [c.name for c in asvc.list_containers()]
    expect_error("AuthorizationPermissionMismatch", 403, asvc.create_container, "py-denied")

    cc.set_container_access_policy(signed_identifiers={"pol": __import__("azure.storage.blob", fromlist=["AccessPolicy"]).AccessPolicy(
        permission=BlobSasPermissions(read=True), expiry=now() + datetime.timedelta(hours=1))})
    ptok = generate_blob_sas(ACCOUNT, "py-a", "sas.txt", account_key=KEY, policy_id="pol")
    assert BlobClient.from_blob_url(f"{ENDPOINT}/py-a/sas.txt?{ptok}").download_blob().readall() == b"sas data"


@check
def wrong_key():
    bad = CONN.replace(KEY, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5")
    c = BlobServiceClient.from_connection_string(bad)
    expect_error("AuthenticationFailed", 403, lambda: list(c.list_containers()))


@check
def leases():
    bc = svc.get_blob_client("py-a", "leased.txt")
    bc.upload_blob(b"v1")
    lease = bc.acquire_lease(lease_duration=15)
    expect_error("LeaseIdMissing", 412, bc.upload_blob, b"v2", overwrite=True)
    bc.upload_blob(b"v2", overwrite=True, lease=lease)
    expect_error("LeaseAlreadyPresent", 409, bc.acquire_lease, lease_duration=15)
    lease.renew()
    assert bc.get_blob_properties().lease.state == "leased"
    lease.release()
    bc.upload_blob(b"v3", overwrite=True)
    cl = svc.get_container_client("py-a").acquire_lease(lease_duration=-1)
    expect_error("LeaseIdMissing", 412, svc.delete_container, "py-a")
    cl.break_lease(lease_break_period=0)
    assert svc.get_container_client("py-a").get_container_properties().lease.state == "broken"


@check
def snapshots_and_copy():
    bc = svc.get_blob_client("py-a", "snap.txt")
    bc.upload_blob(b"first")
    snap = bc.create_snapshot()
    bc.upload_blob(b"second", overwrite=True)
    sc = svc.get_blob_client("py-a", "snap.txt", snapshot=snap["snapshot"])
    assert sc.download_blob().readall() == b"first"
    names = [(b.name, bool(b.snapshot)) for b in svc.get_container_client("py-a").list_blobs(name_starts_with="snap", include=["snapshots"])]
    assert sorted(names) == [("snap.txt", False), ("snap.txt", True)], names
    expect_error("SnapshotsPresent", 409, bc.delete_blob)
    dst = svc.get_blob_client("py-a", "copied.txt")
    r = dst.start_copy_from_url(bc.url)
    assert r["copy_status"] == "success", r
    assert dst.download_blob().readall() == b"second"
    bc.delete_blob(delete_snapshots="include")
    expect_error("BlobNotFound", 404, sc.get_blob_properties)


@check
def public_access():
    cc = svc.create_container("py-public", public_access="blob")
    cc.upload_blob("pub.txt", b"public")
    anon = BlobClient.from_blob_url(f"{ENDPOINT}/py-public/pub.txt")
    assert anon.download_blob().readall() == b"public"
    svc.create_container("py-private").upload_blob("p.txt", b"private")
    expect_error("ResourceNotFound", 404,
                 lambda: BlobClient.from_blob_url(f"{ENDPOINT}/py-private/p.txt").download_blob().readall())


@check
def append_blob():
    bc = svc.get_blob_client("py-a", "log.txt")
    bc.create_append_blob()
    for i in range(5):
        bc.append_block(f"line {i}\n".encode())
    assert bc.download_blob().readall() == b"".join(f"line {i}\n".encode() for i in range(5))
    assert bc.get_blob_properties().blob_type == "AppendBlob"


@check
def page_blob():
    bc = svc.get_blob_client("py-a", "disk.vhd")
    bc.create_page_blob(8 * 512, sequence_number=3)
    bc.upload_page(b"a" * 1024, offset=0, length=1024)
    bc.upload_page(b"b" * 512, offset=512, length=512)  # splits the first write
    bc.upload_page(b"c" * 512, offset=3072, length=512)
    bc.clear_page(offset=0, length=512)
    ranges, cleared = bc.get_page_ranges()
    assert ranges == [{"start": 512, "end": 1023}, {"start": 3072, "end": 3583}] and cleared == [], (ranges, cleared)
    paged = [(r.start, r.end) for r in bc.list_page_ranges(results_per_page=1)]
    assert paged == [(512, 1023), (3072, 3583)], paged
    assert bc.download_blob().readall() == b"\0" * 512 + b"b" * 512 + b"\0" * 2048 + b"c" * 512 + b"\0" * 512
    snap = bc.create_snapshot()
    bc.upload_page(b"d" * 512, offset=0, length=512)
    bc.clear_page(offset=3072, length=512)
    diff = sorted((r.start, r.end, r.cleared) for r in bc.list_page_ranges(previous_snapshot=snap))
    assert diff == [(0, 511, False), (3072, 3583, True)], diff
    bc.set_sequence_number("increment")
    props = bc.get_blob_properties()
    assert props.blob_type == "PageBlob" and props.page_blob_sequence_number == 4, props
    expect_error("SequenceNumberConditionNotMet", 412, bc.upload_page, b"e" * 512, offset=0, length=512,
                 if_sequence_number_lt=4)
    expect_error("InvalidPageRange", 416, bc.upload_page, b"e" * 512, offset=4096, length=512)
    bc.resize_blob(1024)
    assert bc.download_blob().readall() == b"d" * 512 + b"b" * 512
    # upload_blob of a page blob: create, then Put Page per non-zero chunk.
    up = svc.get_blob_client("py-a", "uploaded.vhd")
    payload = b"x" * 512 + bytes(4 * 1024 * 1024) + b"y" * 512
    up.upload_blob(payload, blob_type=BlobType.PAGEBLOB)
    assert up.download_blob().readall() == payload
    listed = {b.name: b.blob_type for b in svc.get_container_client("py-a").list_blobs(name_starts_with="uploaded")}
    assert listed == {"uploaded.vhd": "PageBlob"}, listed
    bc.delete_blob(delete_snapshots="include")


@check
def account_info_and_service_properties():
    info = svc.get_account_information()
    assert info["account_kind"] == "StorageV2", info
    from azure.storage.blob import CorsRule
    svc.set_service_properties(cors=[CorsRule(["https://x.example"], ["GET"])])
    props = svc.get_service_properties()
    assert [r.allowed_origins for r in props["cors"]] == ["https://x.example"], props["cors"]


@check
def batch_delete_and_set_tier():
    from azure.storage.blob import PartialBatchErrorException, StandardBlobTier
    cc = svc.create_container("py-batch")
    for n in ["a", "b", "c", "d e", "f"]:
        cc.upload_blob(n, n.encode())
    parts = list(cc.set_standard_blob_tier_blobs(StandardBlobTier.COOL, "a", "b"))
    assert [p.status_code for p in parts] == [200, 200], [p.status_code for p in parts]
    assert cc.get_blob_client("a").get_blob_properties().blob_tier == "Cool"
    parts = list(cc.delete_blobs("a", "missing", "d e", raise_on_any_failure=False))
    assert [p.status_code for p in parts] == [202, 404, 202], [p.status_code for p in parts]
    assert parts[1].headers["x-ms-error-code"] == "BlobNotFound", parts[1].headers
    try:
        cc.delete_blobs("b", "missing")
        raise AssertionError("no PartialBatchErrorException")
    except PartialBatchErrorException as e:
        assert [p.status_code for p in e.parts] == [202, 404], [p.status_code for p in e.parts]
    tok = generate_container_sas(ACCOUNT, "py-batch", account_key=KEY, permission=ContainerSasPermissions(delete=True),
                                 expiry=now() + datetime.timedelta(hours=1))
    sas_cc = ContainerClient.from_container_url(f"{ENDPOINT}/py-batch?{tok}")
    assert [p.status_code for p in sas_cc.delete_blobs("c")] == [202]
    assert sorted(b.name for b in cc.list_blobs()) == ["f"], sorted(b.name for b in cc.list_blobs())


def blob_index_tags():
    cc = svc.create_container("py-tags")
    tags = {"project": "contoso", "stage": "raw data/2026:01"}
    bc = cc.upload_blob("tagged.txt", b"x", tags=tags)
    assert bc.get_blob_tags() == tags, bc.get_blob_tags()
    assert bc.get_blob_properties().tag_count == 2
    cc.upload_blob("other.txt", b"y", tags={"project": "fabrikam"})
    bc.set_blob_tags({"project": "contoso", "stage": "clean"})
    assert bc.get_blob_tags() == {"project": "contoso", "stage": "clean"}
    expect_error("ConditionNotMet", 412, bc.get_blob_properties, if_tags_match_condition="\"stage\" = 'raw'")
    expect_error("InvalidTag", 400, bc.set_blob_tags, {"bad": "a%b"})
    found = [(b.container_name, b.name, b.tags) for b in svc.find_blobs_by_tags("project = 'contoso'")]
    assert found == [("py-tags", "tagged.txt", {"project": "contoso"})], found
    pages = list(cc.find_blobs_by_tags("project >= 'a'", results_per_page=1).by_page())
    names = [b.name for page in pages for b in page]
    assert names == ["other.txt", "tagged.txt"], names
    assert len(pages) == 2, len(pages)
    expect_error("InvalidQueryParameterValue", 400, lambda: list(svc.find_blobs_by_tags("project <> 'x'")))
    bc.delete_blob(if_tags_match_condition="project = 'contoso' AND stage >= 'c'")
    assert list(svc.find_blobs_by_tags("project = 'contoso'")) == []


failed = 0
for fn in CHECKS:
    try:
        fn()
        print(f"ok   {fn.__name__}")
    except Exception:
        failed += 1
        print(f"FAIL {fn.__name__}")
        traceback.print_exc()
sys.exit(1 if failed else 0)
