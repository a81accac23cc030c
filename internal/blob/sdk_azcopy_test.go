package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/pem"
	"maps"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/google/go-cmp/cmp"
)

// azcopyBinary returns the AzCopy v10 to run: $SLIPWAY_AZCOPY, or azcopy
// on PATH. AzCopy is opt-in, even in CI: .ci/run does not build it (see
// docs/conformance.md, "AzCopy", for how to), so the test skips without it.
func azcopyBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SLIPWAY_AZCOPY")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("azcopy"); err != nil {
			t.Skip("azcopy not available (opt-in: build it as docs/conformance.md says and set SLIPWAY_AZCOPY)")
		}
	}
	return bin
}

// azcopyRunner runs AzCopy with its logs and job plans in a temporary
// directory, no version check (it would ask Azure's servers) and only the
// proxy settings the test gives it.
type azcopyRunner struct {
	t   *testing.T
	bin string
	env []string
}

func newAzcopyRunner(t *testing.T, extraEnv ...string) *azcopyRunner {
	dir := t.TempDir()
	env := []string{"HOME=" + dir, "AZCOPY_LOG_LOCATION=" + filepath.Join(dir, "logs"),
		"AZCOPY_JOB_PLAN_LOCATION=" + filepath.Join(dir, "plans"), "AZCOPY_DISABLE_SYSLOG=true",
		"AZCOPY_CONCURRENCY_VALUE=16"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || strings.HasPrefix(k, "AZCOPY_") || strings.HasSuffix(strings.ToUpper(k), "_PROXY") || k == "SSL_CERT_FILE" {
			continue
		}
		env = append(env, kv)
	}
	return &azcopyRunner{t: t, bin: azcopyBinary(t), env: append(env, extraEnv...)}
}

// run runs one azcopy command and returns its output, failing the test if
// it fails or, for a job, if the job does not complete.
func (a *azcopyRunner) run(args ...string) string {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.bin, append(args, "--skip-version-check")...)
	cmd.Env = a.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	a.t.Logf("azcopy %s: %s", args[0], time.Since(start).Round(time.Millisecond))
	if err != nil || strings.Contains(string(out), "Final Job Status:") && !strings.Contains(string(out), "Final Job Status: Completed\n") {
		a.t.Fatalf("azcopy %s: %v\n%s%s", args[0], err, out, a.failedRequests())
	}
	return string(out)
}

// failedRequests returns the lines of AzCopy's logs that report failures.
func (a *azcopyRunner) failedRequests() string {
	dir := ""
	for _, kv := range a.env {
		if v, ok := strings.CutPrefix(kv, "AZCOPY_LOG_LOCATION="); ok {
			dir = v
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		for line := range strings.Lines(string(data)) {
			if strings.Contains(line, "ERR:") || strings.Contains(line, "RESPONSE Status: 4") || strings.Contains(line, "RESPONSE Status: 5") {
				b.WriteString(line)
			}
		}
	}
	return b.String()
}

// writeTree writes files (relative path → content) under dir, modified at
// mtime: azcopy sync copies a file modified after its blob's Last Modified
// (whole seconds), so a test dates its files clear of the uploads.
func writeTree(t *testing.T, dir string, files map[string][]byte, mtime time.Time) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// blobSums returns every blob of a container with the MD5 of its content.
func blobSums(t *testing.T, c *azblob.Client, cont string) map[string]string {
	t.Helper()
	ctx := context.Background()
	got := map[string]string{}
	pager := c.NewListBlobsFlatPager(cont, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("listing %s: %v", cont, err)
		}
		for _, b := range page.Segment.BlobItems {
			got[*b.Name] = md5Hex(download(t, ctx, c, cont, *b.Name, nil))
		}
	}
	return got
}

// md5Hex is the MD5 of data in hex; tests compare these rather than
// contents, which cmp diffs slowly.
func md5Hex(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// sums returns the MD5 of each file's content.
func sums(files map[string][]byte) map[string]string {
	out := map[string]string{}
	for name, data := range files {
		out[name] = md5Hex(data)
	}
	return out
}

// TestAzCopy drives the service with AzCopy v10 as deploy scripts use it
// against Azure: make, a recursive upload of a static directory, list,
// sync with deletions, a large file in many blocks with MD5s, append and
// page blobs, downloads checked against those MD5s, a service-to-service
// copy between containers (Put Blob, Put Block, Append Block and Put Page
// From URL) and a recursive remove, by the account's host name
// (<account>.blob.<domain>, plain HTTP from loopback), then path-style
// over HTTPS with the server's certificate trusted through SSL_CERT_FILE.
//
// The test has no DNS for <account>.blob.localhost, so AzCopy reaches the
// host name through an HTTP proxy: the service itself, which serves a
// proxy's absolute-form request by its host name as it serves any other.
func TestAzCopy(t *testing.T) {
	bin := azcopyBinary(t)
	ts := startService(t, Config{BaseDomain: "localhost"})
	ctx := context.Background()
	c := newClient(t, ts)
	u, _ := url.Parse(ts.srv.URL)
	endpoint := "http://" + DevelopmentAccountName + ".blob.localhost:" + u.Port()
	az := newAzcopyRunner(t, "HTTP_PROXY="+ts.srv.URL, "NO_PROXY=")
	az.bin = bin

	// An account SAS creates containers (make, and the copy's destination);
	// a container SAS, as deploy scripts are given, does the rest.
	acctSAS, err := c.ServiceClient().GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true},
		sas.AccountPermissions{Read: true, Write: true, Delete: true, List: true, Add: true, Create: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	acctQuery := acctSAS[strings.Index(acctSAS, "?")+1:]
	containerURL := func(name string) string {
		sasURL, err := c.ServiceClient().NewContainerClient(name).GetSASURL(
			sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}, time.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		return endpoint + "/" + name + sasURL[strings.Index(sasURL, "?"):]
	}

	az.run("make", endpoint+"/site?"+acctQuery)
	if _, err := c.ServiceClient().NewContainerClient("site").GetProperties(ctx, nil); err != nil {
		t.Fatalf("azcopy make made no container: %v", err)
	}

	src := t.TempDir()
	files := map[string][]byte{
		"index.html":       []byte("<h1>hello</h1>"),
		"css/site.css":     []byte("body{}"),
		"js/app.js":        []byte("console.log(1)"),
		"img/logo.bin":     randomBytes(t, 300<<10),
		"with space/a.txt": []byte("spaced"),
		// Characters a URL, a SAS's signed path or a listing's XML treat
		// specially.
		"odd/100%+c#;&=[1]'~^.txt": []byte("odd"),
		"odd/ü/ß.txt":              []byte("unicode"),
	}
	writeTree(t, src, files, time.Now().Add(-time.Hour))
	site := containerURL("site")
	az.run("copy", src+"/*", site, "--recursive", "--put-md5")
	if diff := cmp.Diff(sums(files), blobSums(t, c, "site")); diff != "" {
		t.Fatalf("after azcopy copy (-local +blobs):\n%s", diff)
	}
	props, err := c.ServiceClient().NewContainerClient("site").NewBlobClient("css/site.css").GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum := md5.Sum(files["css/site.css"]); *props.ContentType != "text/css" || !bytes.Equal(props.ContentMD5, sum[:]) {
		t.Errorf("css/site.css: Content-Type %q, Content-MD5 %x; want text/css, %x", *props.ContentType, props.ContentMD5, sum)
	}

	out := az.run("list", site, "--properties", "ContentMD5;BlobType")
	for name := range files {
		if !strings.Contains(out, name+"; ") {
			t.Errorf("azcopy list does not show %s:\n%s", name, out)
		}
	}

	// A redeploy: one file changed, one added, one gone.
	files["index.html"] = []byte("<h1>hello again</h1>")
	files["js/new.js"] = []byte("new")
	delete(files, "js/app.js")
	if err := os.Remove(filepath.Join(src, "js", "app.js")); err != nil {
		t.Fatal(err)
	}
	writeTree(t, src, map[string][]byte{"index.html": files["index.html"], "js/new.js": files["js/new.js"]}, time.Now().Add(time.Hour))
	out = az.run("sync", src, site, "--delete-destination=true", "--put-md5")
	if !strings.Contains(out, "Number of Deletions at Destination: 1") || !strings.Contains(out, "Total Number of Copy Transfers: 2") {
		t.Errorf("azcopy sync did not copy two files and delete one:\n%s", out)
	}
	if diff := cmp.Diff(sums(files), blobSums(t, c, "site")); diff != "" {
		t.Fatalf("after azcopy sync (-local +blobs):\n%s", diff)
	}

	// A large file in ten 4 MiB blocks, its MD5 set from the client's.
	big := randomBytes(t, 40<<20)
	bigPath := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(bigPath, big, 0o644); err != nil {
		t.Fatal(err)
	}
	az.run("copy", bigPath, endpoint+"/site/big.bin?"+acctQuery, "--block-size-mb", "4", "--put-md5")
	bl, err := c.ServiceClient().NewContainerClient("site").NewBlockBlobClient("big.bin").GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bl.CommittedBlocks) != 10 {
		t.Errorf("big.bin has %d committed blocks, want 10", len(bl.CommittedBlocks))
	}
	files["big.bin"] = big

	// An append blob, which the copy below appends from its URL.
	logPath := filepath.Join(t.TempDir(), "app.log")
	files["app.log"] = randomBytes(t, 1<<20)
	if err := os.WriteFile(logPath, files["app.log"], 0o644); err != nil {
		t.Fatal(err)
	}
	az.run("copy", logPath, endpoint+"/site/app.log?"+acctQuery, "--blob-type", "AppendBlob", "--put-md5")

	// A page blob (a disk image), which the copy below writes from its URL
	// range by range.
	vhdPath := filepath.Join(t.TempDir(), "disk.vhd")
	files["disk.vhd"] = append(randomBytes(t, 64<<10), make([]byte, 1<<20)...)
	if err := os.WriteFile(vhdPath, files["disk.vhd"], 0o644); err != nil {
		t.Fatal(err)
	}
	az.run("copy", vhdPath, endpoint+"/site/disk.vhd?"+acctQuery, "--blob-type", "PageBlob", "--put-md5")

	// Downloads, checked against the MD5s stored at upload.
	dl := t.TempDir()
	az.run("copy", endpoint+"/site/big.bin?"+acctQuery, filepath.Join(dl, "big.bin"), "--check-md5", "FailIfDifferent")
	if got, _ := os.ReadFile(filepath.Join(dl, "big.bin")); !bytes.Equal(got, big) {
		t.Errorf("downloaded big.bin differs (%d bytes)", len(got))
	}

	// Service to service: the destination container is created by AzCopy;
	// small blobs go by Put Blob From URL, big.bin by Put Block From URL,
	// app.log by Append Block From URL, disk.vhd by Put Page From URL.
	az.run("copy", endpoint+"/site?"+acctQuery, endpoint+"/backup?"+acctQuery, "--recursive")
	if diff := cmp.Diff(sums(files), blobSums(t, c, "backup")); diff != "" {
		t.Fatalf("after the service-to-service copy (-site +backup):\n%s", diff)
	}
	az.run("copy", endpoint+"/backup?"+acctQuery, dl, "--recursive", "--check-md5", "FailIfDifferentOrMissing")
	for name, want := range files {
		if got, err := os.ReadFile(filepath.Join(dl, "backup", filepath.FromSlash(name))); err != nil || !bytes.Equal(got, want) {
			t.Errorf("downloaded backup/%s: %v, %d bytes, want %d", name, err, len(got), len(want))
		}
	}

	az.run("remove", site, "--recursive")
	if got := blobSums(t, c, "site"); len(got) != 0 {
		t.Errorf("after azcopy remove --recursive, site holds %v", slices.Sorted(maps.Keys(got)))
	}

	t.Run("path-style over HTTPS", func(t *testing.T) {
		tlsSrv := httptest.NewTLSServer(ts.svc)
		defer tlsSrv.Close()
		certFile := filepath.Join(t.TempDir(), "cert.pem")
		pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
		if err := os.WriteFile(certFile, pemCert, 0o644); err != nil {
			t.Fatal(err)
		}
		az := newAzcopyRunner(t, "SSL_CERT_FILE="+certFile)
		az.bin = bin
		cc := c.ServiceClient().NewContainerClient("site")
		sasURL, err := cc.GetSASURL(sas.ContainerPermissions{Read: true, Create: true, Write: true, List: true, Delete: true},
			time.Now().Add(time.Hour), &container.GetSASURLOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// AzCopy cannot tell a path-style URL's service: it is told.
		site := tlsSrv.URL + "/" + DevelopmentAccountName + "/site" + sasURL[strings.Index(sasURL, "?"):]
		az.run("copy", src+"/*", site, "--recursive", "--from-to", "LocalBlob")
		delete(files, "big.bin")
		delete(files, "app.log")
		delete(files, "disk.vhd")
		if diff := cmp.Diff(sums(files), blobSums(t, c, "site")); diff != "" {
			t.Fatalf("after azcopy copy over HTTPS (-local +blobs):\n%s", diff)
		}
		out := az.run("list", site, "--location", "Blob")
		if !strings.Contains(out, "index.html; ") {
			t.Errorf("azcopy list over HTTPS does not show index.html:\n%s", out)
		}
		az.run("remove", site, "--recursive", "--from-to", "BlobTrash")
		if got := blobSums(t, c, "site"); len(got) != 0 {
			t.Errorf("after azcopy remove over HTTPS, site holds %d blobs", len(got))
		}
	})
}
