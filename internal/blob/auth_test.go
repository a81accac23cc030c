package blob

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/google/go-cmp/cmp"
)

// The string-to-sign shapes below are written out by hand from Azure's
// "Authorize with Shared Key" documentation (version 2009-09-19 and later),
// not computed by the code under test.
func TestSharedKeyStringToSign(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		path    string
		query   string
		want    string
	}{
		{
			name:   "put blob with content-length and x-ms headers sorted",
			method: "PUT",
			headers: map[string]string{
				"Content-Length": "11", "Content-Type": "text/plain", "x-ms-version": "2025-11-05",
				"x-ms-date": "Tue, 25 Nov 2026 04:00:00 GMT", "x-ms-blob-type": "BlockBlob", "X-Ms-Meta-Color": "blue",
			},
			path: "/devstoreaccount1/c/b.txt",
			want: "PUT\n\n\n11\n\ntext/plain\n\n\n\n\n\n\n" +
				"x-ms-blob-type:BlockBlob\nx-ms-date:Tue, 25 Nov 2026 04:00:00 GMT\nx-ms-meta-color:blue\nx-ms-version:2025-11-05\n" +
				"/devstoreaccount1/devstoreaccount1/c/b.txt",
		},
		{
			name:    "zero content-length is empty; query params sorted and lower-cased",
			method:  "GET",
			headers: map[string]string{"Content-Length": "0", "x-ms-date": "D", "If-Match": `"0x1"`, "Range": "bytes=0-9"},
			path:    "/acct/c",
			query:   "restype=container&comp=list&Prefix=a%2Fb&include=snapshots&include=metadata",
			want: "GET\n\n\n\n\n\n\n\n\"0x1\"\n\n\nbytes=0-9\nx-ms-date:D\n" +
				"/devstoreaccount1/acct/c\ncomp:list\ninclude:metadata,snapshots\nprefix:a/b\nrestype:container",
		},
		{
			name:    "header whitespace folded",
			method:  "DELETE",
			headers: map[string]string{"x-ms-meta-a": "  one   two  "},
			path:    "/",
			want:    "DELETE\n\n\n\n\n\n\n\n\n\n\n\nx-ms-meta-a:one two\n/devstoreaccount1/",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h[k] = []string{v}
			}
			q, _ := url.ParseQuery(tt.query)
			got := sharedKeyStringToSign(tt.method, h, DevelopmentAccountName, tt.path, q)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("string to sign (-want +got):\n%s", diff)
			}
		})
	}
}

// signedRequest builds a request signed with SharedKey or SharedKeyLite
// using a literal string-to-sign from the documentation's layout.
func TestSharedKeyLiteAndHostStyle(t *testing.T) {
	ts := startService(t, Config{BaseDomain: "blob.test"})
	key := DevelopmentAccount().Keys[0]
	date := time.Now().UTC().Format(http.TimeFormat)
	do := func(t *testing.T, method, url, host, auth string, hdr map[string]string, body []byte) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		if host != "" {
			req.Host = host
		}
		req.Header.Set("x-ms-date", date)
		req.Header.Set("x-ms-version", "2025-11-05")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		req.Header.Set("Authorization", auth)
		resp, err := ts.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// SharedKeyLite: VERB, Content-MD5, Content-Type, Date, headers, resource (+ ?comp).
	sts := "PUT\n\n\n\nx-ms-date:" + date + "\nx-ms-version:2025-11-05\n/devstoreaccount1/devstoreaccount1/lite"
	resp := do(t, "PUT", ts.endpoint()+"/lite?restype=container", "", "SharedKeyLite devstoreaccount1:"+sign(key, sts), nil, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("SharedKeyLite create container: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// Host-style: <account>.blob.<domain>, resource is /<account>/<container>/<blob>.
	host := "devstoreaccount1.blob.blob.test"
	sts = "PUT\n\n\n5\n\n\n\n\n\n\n\n\nx-ms-blob-type:BlockBlob\nx-ms-date:" + date + "\nx-ms-version:2025-11-05\n/devstoreaccount1/lite/hello.txt"
	resp = do(t, "PUT", ts.srv.URL+"/lite/hello.txt", host, "SharedKey devstoreaccount1:"+sign(key, sts), map[string]string{"x-ms-blob-type": "BlockBlob"}, []byte("hello"))
	if resp.StatusCode != 201 {
		t.Fatalf("host-style put: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	resp = do(t, "PUT", ts.srv.URL+"/lite/hello.txt", host, "SharedKey devstoreaccount1:"+sign([]byte("wrong"), sts), map[string]string{"x-ms-blob-type": "BlockBlob"}, []byte("hello"))
	if resp.StatusCode != 403 || resp.Header.Get("x-ms-error-code") != "AuthenticationFailed" {
		t.Fatalf("bad signature: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// A correctly signed request dated an hour ago is refused (replay).
	date = time.Now().UTC().Add(-time.Hour).Format(http.TimeFormat)
	sts = "PUT\n\n\n5\n\n\n\n\n\n\n\n\nx-ms-blob-type:BlockBlob\nx-ms-date:" + date + "\nx-ms-version:2025-11-05\n/devstoreaccount1/lite/hello.txt"
	resp = do(t, "PUT", ts.srv.URL+"/lite/hello.txt", host, "SharedKey devstoreaccount1:"+sign(key, sts), map[string]string{"x-ms-blob-type": "BlockBlob"}, []byte("hello"))
	if resp.StatusCode != 403 || resp.Header.Get("x-ms-error-code") != "AuthenticationFailed" {
		t.Fatalf("stale date: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}

// TestErrorShape checks Azure's XML error body and headers.
func TestErrorShape(t *testing.T) {
	ts := startService(t, Config{})
	resp, err := ts.srv.Client().Get(ts.endpoint() + "/nosuch/blob.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	reqID := resp.Header.Get("x-ms-request-id")
	got := []string{fmt.Sprint(resp.StatusCode), resp.Header.Get("x-ms-error-code"), body.Code, fmt.Sprint(reqID != ""), resp.Header.Get("x-ms-version")}
	want := []string{"404", "ResourceNotFound", "ResourceNotFound", "true", defaultVersion}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	lines := strings.Split(body.Message, "\n")
	if len(lines) != 3 || lines[1] != "RequestId:"+reqID || !strings.HasPrefix(lines[2], "Time:") {
		t.Errorf("message %q", body.Message)
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in         string
		start, end int64
		ok         bool
	}{
		{"bytes=0-9", 0, 9, true},
		{"bytes=5-", 5, -1, true},
		{"bytes= 5 - 7", 5, 7, true},
		{"bytes=9-3", 0, 0, false},
		{"bytes=-5", 0, 0, false},
		{"bytes=0-1,3-4", 0, 0, false},
		{"items=0-1", 0, 0, false},
		{"bytes=a-b", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, e, ok := parseRange(tt.in)
			if diff := cmp.Diff([]any{tt.start, tt.end, tt.ok}, []any{s, e, ok}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestContainerNames(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, "a-b-c": true, "123": true, strings.Repeat("a", 63): true, "$root": true,
		"ab": false, strings.Repeat("a", 64): false, "a--b": false, "-abc": false, "abc-": false, "aBc": false, "a.b": false, "": false,
	} {
		if got := validContainerName(name); got != want {
			t.Errorf("validContainerName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestBlobNameTooLong(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	ctx := context.Background()
	if _, err := c.CreateContainer(ctx, "names", nil); err != nil {
		t.Fatal(err)
	}
	_, err := c.UploadBuffer(ctx, "names", strings.Repeat("n", 1025), []byte("x"), nil)
	wantCode(t, err, "InvalidResourceName", 400)
	if _, err := c.UploadBuffer(ctx, "names", strings.Repeat("n", 1024), []byte("x"), nil); err != nil {
		t.Fatalf("1024-char name: %v", err)
	}
}

// --- fuzz tests (seed corpus only in normal runs) ---

func FuzzSharedKeyStringToSign(f *testing.F) {
	f.Add("PUT", "x-ms-meta-a", " v  w ", "/a/b%20c", "comp=list&restype=container", "11")
	f.Add("GET", "X-MS-DATE", "", "", "a=1&A=2&b", "0")
	f.Fuzz(func(t *testing.T, method, hname, hval, path, rawQuery, length string) {
		if strings.ContainsAny(method, "\r\n") {
			return // not a valid HTTP method
		}
		h := http.Header{}
		h[hname] = []string{hval}
		h.Set("Content-Length", length)
		q, _ := url.ParseQuery(rawQuery)
		got := sharedKeyStringToSign(method, h, "acct", path, q)
		if !strings.HasPrefix(got, method+"\n") {
			t.Fatalf("does not start with the verb: %q", got)
		}
		if got != sharedKeyStringToSign(method, h.Clone(), "acct", path, q) {
			t.Fatal("not deterministic")
		}
		if !strings.Contains(got, "/acct") {
			t.Fatalf("no canonical resource: %q", got)
		}
		if length == "0" && strings.Split(got, "\n")[3] != "" {
			t.Fatal("Content-Length 0 must sign as empty")
		}
	})
}

// FuzzSASQuery sends arbitrary SAS query strings through the whole
// handler: nothing may panic or produce a 5xx, and nothing unsigned may
// succeed.
func FuzzSASQuery(f *testing.F) {
	f.Add("sv=2025-11-05&sr=b&sp=r&se=2030-01-01T00:00:00Z&sig=abc")
	f.Add("sv=2025-11-05&ss=b&srt=sco&sp=rl&se=2030-01-01&sip=127.0.0.1-127.0.0.2&spr=https&sig=%3D%3D")
	f.Add("si=pol&sr=c&sig=AAAA&sv=2015-04-05")
	f.Add("sig=&sp=&se=notatime")
	dir := f.TempDir()
	svc, err := Open(context.Background(), Config{Dir: dir, Accounts: testAccounts()})
	if err != nil {
		f.Fatal(err)
	}
	defer svc.Close()
	f.Fuzz(func(t *testing.T, rawQuery string) {
		for _, path := range []string{"/devstoreaccount1/c/b", "/devstoreaccount1/c", "/devstoreaccount1/"} {
			req := (&http.Request{Method: "GET", Host: "127.0.0.1", URL: &url.URL{Path: path, RawQuery: rawQuery},
				Header: http.Header{}, RequestURI: path + "?" + rawQuery, RemoteAddr: "127.0.0.1:1234"}).WithContext(context.Background())
			rec := httptest.NewRecorder()
			svc.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s?%s: status %d: %s", path, rawQuery, rec.Code, rec.Body)
			}
			if rec.Code < 300 {
				t.Fatalf("%s?%s: unsigned request succeeded with %d", path, rawQuery, rec.Code)
			}
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=5-", "bytes=-1", "bytes=1-0", "bytes=99999999999999999999-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		start, end, ok := parseRange(v)
		if !ok {
			return
		}
		if start < 0 || (end != -1 && end < start) {
			t.Fatalf("parseRange(%q) = %d, %d", v, start, end)
		}
		if end == -1 {
			return
		}
		s2, e2, ok2 := parseRange(fmt.Sprintf("bytes=%d-%d", start, end))
		if !ok2 || s2 != start || e2 != end {
			t.Fatalf("round trip of %q failed", v)
		}
	})
}

func FuzzParseBlockList(f *testing.F) {
	f.Add(`<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>AAA=</Latest><Committed>BBB=</Committed><Uncommitted>CCC=</Uncommitted></BlockList>`)
	f.Add(`<BlockList></BlockList>`)
	f.Add(`<BlockList><Latest><x/></Latest></BlockList>`)
	f.Add(`<Other/>`)
	f.Fuzz(func(t *testing.T, body string) {
		entries, err := parseBlockList(strings.NewReader(body))
		if err != nil {
			return
		}
		var b strings.Builder
		b.WriteString("<BlockList>")
		for _, e := range entries {
			switch e.Kind {
			case "Committed", "Uncommitted", "Latest":
			default:
				t.Fatalf("kind %q", e.Kind)
			}
			b.WriteString("<" + e.Kind + ">")
			xml.EscapeText(&b, []byte(e.ID))
			b.WriteString("</" + e.Kind + ">")
		}
		b.WriteString("</BlockList>")
		again, err := parseBlockList(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(entries, again); diff != "" && len(entries) > 0 {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// TestBlobSASReadsSnapshots: a blob SAS (sr=b) and a container SAS (sr=c)
// sign no snapshot time, and read the blob's snapshots too, as on Azure
// (azure-cli's test_storage_blob_copy_with_sas_and_snapshot copies a
// snapshot with its base blob's SAS). Slipway put the request's snapshot
// into the string-to-sign, so every such read failed authentication.
func TestBlobSASReadsSnapshots(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "snaps")
	if _, err := c.UploadBuffer(ctx, "snaps", "b", []byte("original"), nil); err != nil {
		t.Fatal(err)
	}
	bc := c.ServiceClient().NewContainerClient("snaps").NewBlobClient("b")
	snap, err := bc.CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "snaps", "b", []byte("second"), nil); err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, blobName := range []string{"b", ""} {
		qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
			ContainerName: "snaps", BlobName: blobName, Permissions: (&sas.BlobPermissions{Read: true}).String()}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		u := "/devstoreaccount1/snaps/b?snapshot=" + url.QueryEscape(*snap.Snapshot) + "&" + qp.Encode()
		if st, got := attackDo(t, ts, "GET", u, nil, "", "", nil); st != 200 || got != "original" {
			t.Errorf("reading the snapshot with an sr=%s SAS: %d %q, want 200 \"original\"", qp.Resource(), st, got)
		}
	}
}
