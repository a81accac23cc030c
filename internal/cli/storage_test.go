package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/blob"
	"github.com/slipway-dev/slipway/internal/store"
)

// The storage commands are tested against REAL parts: the ARM handler
// (internal/arm) over a real store, and the blob service (internal/blob) on
// its own loopback listener, its accounts read from that same store. Only
// the app controller is a recorder, because these tests run no apps.

// storageController is arm.Controller for these tests: it records calls and
// wipes a deleted account's blob data through the real blob service.
type storageController struct {
	blobs     *blob.Service
	mu        sync.Mutex
	calls     []string
	instances []arm.Instance
}

var _ arm.Controller = (*storageController)(nil)

func (c *storageController) record(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, s)
}

func (c *storageController) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *storageController) SiteConfigChanged(_ context.Context, rg, site string) error {
	c.record("SiteConfigChanged " + rg + "/" + site)
	return nil
}
func (c *storageController) RestartSite(context.Context, string, string) error { return nil }
func (c *storageController) PlanChanged(context.Context, string, string) error { return nil }
func (c *storageController) LogsConfigChanged(context.Context, string, string) error {
	return nil
}
func (c *storageController) StopSite(context.Context, string, string) error    { return nil }
func (c *storageController) StartSite(context.Context, string, string) error   { return nil }
func (c *storageController) SiteDeleted(context.Context, string, string) error { return nil }
func (c *storageController) Instances(context.Context, string, string) ([]arm.Instance, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]arm.Instance(nil), c.instances...), nil
}
func (c *storageController) SiteStatus(context.Context, string, string) ([]arm.InstanceStatus, error) {
	return nil, nil
}
func (c *storageController) StorageAccountDeleted(ctx context.Context, rg, account string) error {
	c.record("StorageAccountDeleted " + rg + "/" + account)
	return c.blobs.DeleteAccountData(ctx, account)
}

// storeAccounts gives the blob service the store's accounts and keys.
type storeAccounts struct{ st *store.Store }

func (a storeAccounts) Account(ctx context.Context, name string) (blob.Account, error) {
	access, err := a.st.FindStorageAccountAccess(ctx, name)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return blob.Account{}, fmt.Errorf("account %q: %w", name, blob.ErrAccountNotFound)
	} else if err != nil {
		return blob.Account{}, err
	}
	acct := blob.Account{Name: name, SKU: access.SKU, Kind: access.Kind}
	for _, k := range []string{access.Key1, access.Key2} {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return blob.Account{}, fmt.Errorf("decoding key: %w", err)
		}
		acct.Keys = append(acct.Keys, b)
	}
	return acct, nil
}

// storageEnv is a running ARM endpoint and blob service, and a data folder
// whose server.json points the CLI at them.
type storageEnv struct {
	t       *testing.T
	store   *store.Store
	ctl     *storageController
	armSrv  *httptest.Server
	blobSrv *httptest.Server
	data    string
	sub     string
}

const storageToken = "storage-test-token"

func newStorageEnv(t *testing.T) *storageEnv {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := blob.Open(ctx, blob.Config{Dir: t.TempDir(), Accounts: storeAccounts{st}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	blobSrv := httptest.NewServer(svc)
	t.Cleanup(blobSrv.Close)
	ctl := &storageController{blobs: svc}
	h := arm.New(arm.Config{
		Store: st, Controller: ctl, Domain: "localhost", Scheme: "http",
		BlobEndpoint: func(account string) string { return blobSrv.URL + "/" + account + "/" },
		Authorize: func(r *http.Request) error {
			if r.Header.Get("Authorization") != "Bearer "+storageToken {
				return slipway.Errorf(slipway.EUNAUTHORIZED, "The access token is missing or invalid.")
			}
			return nil
		},
	})
	armSrv := httptest.NewServer(h)
	t.Cleanup(armSrv.Close)
	sub, tenant, err := st.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	b, _ := json.Marshal(serverFile{URL: armSrv.URL, Domain: "localhost", SubscriptionID: sub, TenantID: tenant, AdminToken: storageToken})
	if err := os.WriteFile(filepath.Join(data, "server.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return &storageEnv{t: t, store: st, ctl: ctl, armSrv: armSrv, blobSrv: blobSrv, data: data, sub: sub}
}

// run runs the CLI with extra environment entries (KEY=value) before args
// until the first "--"-less word; use runEnv for that.
func (e *storageEnv) run(args ...string) (string, string, error) {
	e.t.Helper()
	return e.runEnv(nil, args...)
}

func (e *storageEnv) runEnv(env []string, args ...string) (string, string, error) {
	e.t.Helper()
	env = append([]string{"HOME=" + e.t.TempDir(), "SLIPWAY_DATA=" + e.data, "PWD=" + e.t.TempDir()}, env...)
	var out, errb bytes.Buffer
	r := defaultRunner(env, strings.NewReader(""), &out, &errb)
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	err := r.run(ctx, args)
	return out.String(), errb.String(), err
}

// must runs the CLI, fails the test on error and decodes JSON output.
func (e *storageEnv) must(args ...string) any {
	e.t.Helper()
	out, stderr, err := e.run(args...)
	if err != nil {
		e.t.Fatalf("%v: %v\nstderr: %s", args, err, stderr)
	}
	if strings.TrimSpace(out) == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		e.t.Fatalf("%v: output is not JSON: %v\n%s", args, err, out)
	}
	return v
}

// fails runs the CLI and returns the ExitError it must end with.
func (e *storageEnv) fails(args ...string) *ExitError {
	e.t.Helper()
	_, _, err := e.run(args...)
	var ee *ExitError
	if !errors.As(err, &ee) {
		e.t.Fatalf("%v: err = %v, want an *ExitError", args, err)
	}
	return ee
}

func (e *storageEnv) seedGroup() {
	e.t.Helper()
	if _, _, err := e.store.PutResourceGroup(e.t.Context(), slipway.ResourceGroup{Name: "rg1", Location: "westeurope"}); err != nil {
		e.t.Fatal(err)
	}
}

func m(v any) map[string]any { return v.(map[string]any) }

func TestStorageAccountCommands(t *testing.T) {
	e := newStorageEnv(t)
	e.seedGroup()

	acct := m(e.must("storage", "account", "create", "-g", "rg1", "-n", "media1", "--sku", "Standard_LRS", "--tags", "env=dev"))
	got := map[string]any{"name": acct["name"], "resourceGroup": acct["resourceGroup"], "location": acct["location"], "kind": acct["kind"],
		"sku": lookup(acct, "sku.name"), "state": acct["provisioningState"], "blob": lookup(acct, "primaryEndpoints.blob"), "tags": acct["tags"]}
	want := map[string]any{"name": "media1", "resourceGroup": "rg1", "location": "westeurope", "kind": "StorageV2",
		"sku": "Standard_LRS", "state": "Succeeded", "blob": e.blobSrv.URL + "/media1/", "tags": map[string]any{"env": "dev"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create output (-want +got):\n%s", diff)
	}
	// az's default SKU is Standard_RAGRS.
	if sku := lookup(m(e.must("storage", "account", "create", "-g", "rg1", "-n", "media2")), "sku.name"); sku != "Standard_RAGRS" {
		t.Errorf("default sku = %v", sku)
	}
	if ee := e.fails("storage", "account", "create", "-g", "rg1", "-n", "Bad_Name"); !strings.Contains(ee.Message, "not a valid storage account name") {
		t.Errorf("invalid name: %v", ee)
	}

	if n := m(e.must("storage", "account", "show", "-g", "rg1", "-n", "media1"))["name"]; n != "media1" {
		t.Errorf("show name = %v", n)
	}
	out, _, err := e.run("storage", "account", "list", "-g", "rg1", "-o", "tsv")
	if err != nil || out != "media1\trg1\twesteurope\tStorageV2\tStandard_LRS\tSucceeded\nmedia2\trg1\twesteurope\tStorageV2\tStandard_RAGRS\tSucceeded\n" {
		t.Errorf("list -o tsv = %q, %v", out, err)
	}
	if l := e.must("storage", "account", "list").([]any); len(l) != 2 {
		t.Errorf("list (subscription) = %d accounts", len(l))
	}

	k1, k2, err := e.store.StorageAccountKeys(t.Context(), "rg1", "media1")
	if err != nil {
		t.Fatal(err)
	}
	keys := e.must("storage", "account", "keys", "list", "-g", "rg1", "-n", "media1").([]any)
	if len(keys) != 2 || m(keys[0])["keyName"] != "key1" || m(keys[0])["value"] != k1 || m(keys[1])["value"] != k2 || m(keys[0])["permissions"] != "FULL" {
		t.Errorf("keys list = %v", keys)
	}
	renewed := e.must("storage", "account", "keys", "renew", "-g", "rg1", "--account-name", "media1", "--key", "secondary").([]any)
	if m(renewed[0])["value"] != k1 || m(renewed[1])["value"] == k2 {
		t.Errorf("renew secondary must keep key1 and change key2: %v", renewed)
	}
	if ee := e.fails("storage", "account", "keys", "renew", "-g", "rg1", "-n", "media1", "--key", "tertiary"); ee.Code != ExitUsage {
		t.Errorf("bad --key: %v", ee)
	}

	cs := m(e.must("storage", "account", "show-connection-string", "-g", "rg1", "-n", "media1"))["connectionString"]
	wantCS := "DefaultEndpointsProtocol=http;AccountName=media1;AccountKey=" + k1 + ";BlobEndpoint=" + e.blobSrv.URL + "/media1;"
	if cs != wantCS {
		t.Errorf("connection string = %q\nwant %q", cs, wantCS)
	}

	// The connection string works with the real SDK; then deleting the
	// account removes its data.
	client, err := azblob.NewClientFromConnectionString(wantCS, &azblob.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(t.Context(), "c01", nil); err != nil {
		t.Fatalf("creating a container with the printed connection string: %v", err)
	}
	if out := e.must("storage", "account", "delete", "-g", "rg1", "-n", "media1", "--yes"); out != nil {
		t.Errorf("delete printed %v", out)
	}
	if diff := cmp.Diff([]string{"StorageAccountDeleted rg1/media1"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
	if ee := e.fails("storage", "account", "show", "-g", "rg1", "-n", "media1"); ee.Code != ExitNotFound || !strings.Contains(ee.Message, "(ResourceNotFound)") {
		t.Errorf("show after delete: code %d, %q", ee.Code, ee.Message)
	}
}

// TestBlobCommands drives the data-plane verbs against the real blob
// service, with each way of giving credentials.
func TestBlobCommands(t *testing.T) {
	e := newStorageEnv(t)
	e.seedGroup()
	e.must("storage", "account", "create", "-g", "rg1", "-n", "files1")
	cs := m(e.must("storage", "account", "show-connection-string", "-g", "rg1", "-n", "files1"))["connectionString"].(string)
	withCS := func(args ...string) []string { return append(args, "--connection-string", cs) }

	if got := e.must(withCS("storage", "container", "create", "-n", "media", "--public-access", "blob")...); !cmp.Equal(got, map[string]any{"created": true}) {
		t.Errorf("container create = %v", got)
	}
	if got := e.must(withCS("storage", "container", "create", "-n", "media")...); !cmp.Equal(got, map[string]any{"created": false}) {
		t.Errorf("container create (exists) = %v", got)
	}
	if ee := e.fails(withCS("storage", "container", "create", "-n", "media", "--fail-on-exist")...); !strings.Contains(ee.Message, "ContainerAlreadyExists") {
		t.Errorf("--fail-on-exist: %v", ee)
	}
	if ee := e.fails(withCS("storage", "container", "create", "-n", "Bad_Name")...); !strings.Contains(ee.Message, "ErrorCode:InvalidResourceName") {
		t.Errorf("invalid container name: %q", ee.Message)
	}
	e.must(withCS("storage", "container", "create", "-n", "private")...)
	list := e.must(withCS("storage", "container", "list")...).([]any)
	if len(list) != 2 || m(list[0])["name"] != "media" || lookup(m(list[0]), "properties.publicAccess") != "blob" || lookup(m(list[1]), "properties.publicAccess") != nil {
		t.Errorf("container list = %v", list)
	}
	if got := lookup(m(e.must(withCS("storage", "container", "show", "-n", "media")...)), "properties.publicAccess"); got != "blob" {
		t.Errorf("container show publicAccess = %v", got)
	}

	dir := t.TempDir()
	src := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(src, []byte("hello, blob"), 0o644); err != nil {
		t.Fatal(err)
	}
	up := m(e.must(withCS("storage", "blob", "upload", "-c", "media", "-f", src, "-n", "docs/hello.txt")...))
	if up["etag"] == nil || up["last_modified"] == nil {
		t.Errorf("upload output = %v", up)
	}
	if ee := e.fails(withCS("storage", "blob", "upload", "-c", "media", "-f", src, "-n", "docs/hello.txt")...); !strings.Contains(ee.Message, "BlobAlreadyExists") {
		t.Errorf("upload over an existing blob without --overwrite: %v", ee)
	}
	e.must(withCS("storage", "blob", "upload", "-c", "media", "-f", src, "-n", "docs/hello.txt", "--overwrite")...)
	e.must(withCS("storage", "blob", "upload", "-c", "media", "-f", src, "-n", "other.bin", "--content-type", "application/x-test")...)

	// Anonymous read: the container's access level is blob.
	resp, err := http.Get(e.blobSrv.URL + "/files1/media/docs/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello, blob" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("anonymous GET = %d %q (Content-Type %q)", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}

	show := m(e.must(withCS("storage", "blob", "show", "-c", "media", "-n", "docs/hello.txt")...))
	if lookup(show, "properties.contentLength") != float64(11) || lookup(show, "properties.contentSettings.contentType") != "text/plain" || lookup(show, "properties.blobType") != "BlockBlob" {
		t.Errorf("blob show = %v", show)
	}
	names := func(v any) []string {
		var n []string
		for _, it := range v.([]any) {
			n = append(n, m(it)["name"].(string))
		}
		return n
	}
	if diff := cmp.Diff([]string{"docs/hello.txt", "other.bin"}, names(e.must(withCS("storage", "blob", "list", "-c", "media")...))); diff != "" {
		t.Errorf("blob list (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"docs/hello.txt"}, names(e.must(withCS("storage", "blob", "list", "-c", "media", "--prefix", "docs/")...))); diff != "" {
		t.Errorf("blob list --prefix (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"docs/", "other.bin"}, names(e.must(withCS("storage", "blob", "list", "-c", "media", "--delimiter", "/")...))); diff != "" {
		t.Errorf("blob list --delimiter (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"docs/hello.txt"}, names(e.must(withCS("storage", "blob", "list", "-c", "media", "--num-results", "1")...))); diff != "" {
		t.Errorf("blob list --num-results 1 (-want +got):\n%s", diff)
	}
	out, _, err := e.run(withCS("storage", "blob", "list", "-c", "media", "-o", "table")...)
	if err != nil || !strings.Contains(out, "Name            Blob Type    Blob Tier    Length    Content Type") || !strings.Contains(out, "application/x-test") {
		t.Errorf("blob list -o table = %v\n%s", err, out)
	}

	dst := filepath.Join(dir, "out.txt")
	e.must(withCS("storage", "blob", "download", "-c", "media", "-n", "docs/hello.txt", "-f", dst)...)
	if b, err := os.ReadFile(dst); err != nil || string(b) != "hello, blob" {
		t.Errorf("downloaded %q, %v", b, err)
	}
	if ee := e.fails(withCS("storage", "blob", "download", "-c", "media", "-n", "nope", "-f", filepath.Join(dir, "nope"))...); ee.Code != ExitNotFound || !strings.HasPrefix(ee.Message, "The specified blob does not exist.\nRequestId:") || !strings.HasSuffix(ee.Message, "\nErrorCode:BlobNotFound") {
		t.Errorf("download of a missing blob: %d %q", ee.Code, ee.Message)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("a failed download left files behind: %v", entries)
	}

	// --account-name alone: the key comes from the server, with az's warning.
	out, stderr, err := e.run("storage", "blob", "list", "-c", "media", "--account-name", "files1")
	if err != nil || !strings.Contains(out, "docs/hello.txt") || !strings.Contains(stderr, "we will query for account key") {
		t.Errorf("--account-name only: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	// AZURE_STORAGE_CONNECTION_STRING from the environment.
	out, _, err = e.runEnv([]string{"AZURE_STORAGE_CONNECTION_STRING=" + cs}, "storage", "blob", "show", "-c", "media", "-n", "other.bin")
	if err != nil || !strings.Contains(out, `"contentType": "application/x-test"`) {
		t.Errorf("env connection string: %v\n%s", err, out)
	}
	// A wrong key is refused by the service.
	bad := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 64))
	if ee := e.fails("storage", "container", "list", "--account-name", "files1", "--account-key", bad, "--blob-endpoint", e.blobSrv.URL+"/files1"); !strings.Contains(ee.Message, "ErrorCode:AuthenticationFailed") {
		t.Errorf("wrong key: %q", ee.Message)
	}
	if ee := e.fails("storage", "container", "list"); ee.Code != ExitUsage {
		t.Errorf("no credentials: %v", ee)
	}

	// set-permission off: anonymous reads are refused.
	e.must(withCS("storage", "container", "set-permission", "-n", "media", "--public-access", "off")...)
	resp, err = http.Get(e.blobSrv.URL + "/files1/media/docs/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Error("anonymous GET still allowed after set-permission off")
	}

	e.must(withCS("storage", "blob", "delete", "-c", "media", "-n", "docs/hello.txt")...)
	if ee := e.fails(withCS("storage", "blob", "show", "-c", "media", "-n", "docs/hello.txt")...); ee.Code != ExitNotFound {
		t.Errorf("show after delete: %v", ee)
	}
	if got := e.must(withCS("storage", "container", "delete", "-n", "media")...); !cmp.Equal(got, map[string]any{"deleted": true}) {
		t.Errorf("container delete = %v", got)
	}
	if got := e.must(withCS("storage", "container", "delete", "-n", "media")...); !cmp.Equal(got, map[string]any{"deleted": false}) {
		t.Errorf("container delete (missing) = %v", got)
	}
}

// TestWebappConnectionCreateStorageBlob: one step creates the container and
// sets the three app settings (keeping the others), which restarts the app.
func TestWebappConnectionCreateStorageBlob(t *testing.T) {
	e := newStorageEnv(t)
	ctx := t.Context()
	e.seedGroup()
	if _, _, err := e.store.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "data", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	sku, _ := slipway.ParseSKU("B1")
	if _, _, err := e.store.PutPlan(ctx, slipway.Plan{ResourceGroup: "rg1", Name: "plan1", Location: "westeurope", SKU: sku, Linux: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.PutSiteWithConfig(ctx, slipway.Site{ResourceGroup: "rg1", Name: "todo", Plan: "plan1", Enabled: true,
		Config: slipway.SiteConfig{LinuxFxVersion: "PYTHON|3.12"}}, map[string]string{"KEEP": "me"}, nil); err != nil {
		t.Fatal(err)
	}
	e.must("storage", "account", "create", "-g", "data", "-n", "todofiles")

	out, stderr, err := e.run("webapp", "connection", "create", "storage-blob", "-g", "rg1", "-n", "todo",
		"--target-resource-group", "data", "--account", "todofiles", "--secret", "--public-access", "blob")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	golden(t, "connection-create.json", []byte(strings.ReplaceAll(out, e.sub, "{s}")))
	if !strings.Contains(stderr, "Created container 'media'") {
		t.Errorf("stderr = %q", stderr)
	}

	settings, err := e.store.Settings(ctx, "rg1", "todo")
	if err != nil {
		t.Fatal(err)
	}
	k1, _, err := e.store.StorageAccountKeys(ctx, "data", "todofiles")
	if err != nil {
		t.Fatal(err)
	}
	cs := "DefaultEndpointsProtocol=http;AccountName=todofiles;AccountKey=" + k1 + ";BlobEndpoint=" + e.blobSrv.URL + "/todofiles;"
	want := map[string]string{"KEEP": "me", "AZURE_STORAGE_CONNECTION_STRING": cs, "AZURE_STORAGEBLOB_CONNECTIONSTRING": cs, "AZURE_CONTAINER": "media"}
	if diff := cmp.Diff(want, settings); diff != "" {
		t.Errorf("app settings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"SiteConfigChanged rg1/todo"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}

	// The container exists, with the access level asked for.
	client, err := azblob.NewClientFromConnectionString(cs, &azblob.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	props, err := client.ServiceClient().NewContainerClient("media").GetProperties(ctx, nil)
	if err != nil || props.BlobPublicAccess == nil || *props.BlobPublicAccess != "blob" {
		t.Errorf("container media: %+v, %v", props.BlobPublicAccess, err)
	}

	// Running it again (another container) keeps working: the container step is idempotent.
	if _, stderr, err := e.run("webapp", "connection", "create", "storage-blob", "-g", "rg1", "-n", "todo",
		"--tg", "data", "--account", "todofiles", "--container", "uploads"); err != nil {
		t.Fatalf("second connection: %v\n%s", err, stderr)
	}
	if settings, _ := e.store.Settings(ctx, "rg1", "todo"); settings["AZURE_CONTAINER"] != "uploads" {
		t.Errorf("AZURE_CONTAINER = %q", settings["AZURE_CONTAINER"])
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing account", []string{"--tg", "data", "--account", "nope1"}, ExitNotFound, "(ResourceNotFound)"},
		{"missing app", []string{"--tg", "data", "--account", "todofiles", "-n", "ghost"}, ExitNotFound, "ghost"},
		{"bad access level", []string{"--tg", "data", "--account", "todofiles", "--public-access", "everyone"}, ExitUsage, "invalid choice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"webapp", "connection", "create", "storage-blob", "-g", "rg1", "-n", "todo"}, tc.args...)
			ee := e.fails(args...)
			if ee.Code != tc.code || !strings.Contains(ee.Message, tc.msg) {
				t.Errorf("code %d, message %q; want %d and %q", ee.Code, ee.Message, tc.code, tc.msg)
			}
		})
	}
}

func TestParseConnectionString(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     storageCreds
		wantErr  bool
	}{
		{"slipway's", "DefaultEndpointsProtocol=http;AccountName=a1;AccountKey=k==;BlobEndpoint=http://127.0.0.1:10000/a1;",
			storageCreds{account: "a1", key: "k==", endpoint: "http://127.0.0.1:10000/a1"}, false},
		{"azure's, from protocol and suffix", "DefaultEndpointsProtocol=https;AccountName=a1;AccountKey=k;EndpointSuffix=core.windows.net",
			storageCreds{account: "a1", key: "k", endpoint: "https://a1.blob.core.windows.net"}, false},
		{"development storage", "UseDevelopmentStorage=true",
			storageCreds{account: "devstoreaccount1", key: "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==", endpoint: "http://127.0.0.1:10000/devstoreaccount1"}, false},
		{"no key", "AccountName=a1;BlobEndpoint=http://x/a1", storageCreds{}, true},
		{"garbage", "not a connection string", storageCreds{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConnectionString(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(storageCreds{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// A connection string built by show-connection-string parses back.
	cs := buildConnectionString("acct1", "a2V5", "http://127.0.0.1:10000/acct1/")
	if got, err := parseConnectionString(cs); err != nil || got.endpoint != "http://127.0.0.1:10000/acct1" || got.key != "a2V5" {
		t.Errorf("round trip of %q = %+v, %v", cs, got, err)
	}
}

// golden compares got with testdata/output/<name> (-update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "output", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}
