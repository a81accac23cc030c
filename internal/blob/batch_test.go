package blob

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/google/go-cmp/cmp"
)

// errCode is the Azure error code of err ("" for nil, "?" for an error
// that is not a storageError).
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var se *storageError
	if errors.As(err, &se) {
		return se.Code
	}
	return "?"
}

func TestBatchBoundary(t *testing.T) {
	for _, tt := range []struct {
		contentType, want, code string
	}{
		{"multipart/mixed; boundary=batch_1", "batch_1", ""},
		{"multipart/mixed;boundary=batch_1", "batch_1", ""},
		{"Multipart/Mixed; BOUNDARY=batch_1", "batch_1", ""},
		{"multipart/mixed; Boundary=batch_1", "batch_1", ""},
		{"multipart/mixed; boundary= batch_1", "batch_1", ""},
		{"multipart/mixed; boundary = batch_1 ", "batch_1", ""},
		{"multipart/mixed; boundary=batch_1==", "batch_1==", ""},
		{`multipart/mixed; boundary="batch:1"`, "batch:1", ""},
		{`multipart/mixed; charset="x;boundary=y"; boundary=b`, "b", ""},          // ';' quoted is no separator
		{`multipart/mixed; boundary="a;b"`, "", "InvalidHeaderValue"},             // ';' is not a bchar
		{`multipart/mixed; boundary="a\"b"; charset=x`, ``, "InvalidHeaderValue"}, // '"' is not a bchar
		{`multipart/mixed; boundary="batch 1"`, "batch 1", ""},
		{"multipart/mixed; charset=utf-8; boundary=b", "b", ""},
		{"multipart/mixed; flag; boundary=b", "b", ""},
		{"multipart/mixed", "", "InvalidHeaderValue"},
		{"multipart/mixed;", "", "InvalidHeaderValue"},
		{"multipart/mixed; boundary=", "", "InvalidHeaderValue"},
		{`multipart/mixed; boundary=""`, "", "InvalidHeaderValue"},
		{"multipart/mixed; boundary=a; boundary=b", "", "InvalidInput"},
		{"multipart/mixed; boundary=a; BOUNDARY=a", "", "InvalidInput"},
		{"multipart/mixed; boundary=; boundary=", "", "InvalidInput"},
		{"application/json; boundary=a", "", "InvalidHeaderValue"},
		{"multipart/form-data; boundary=a", "", "InvalidHeaderValue"},
		{`multipart/mixed; boundary="unterminated`, "", "InvalidHeaderValue"},
		{`multipart/mixed; boundary="a"b`, "", "InvalidHeaderValue"},
		{"multipart/mixed; boundary=" + strings.Repeat("x", 70), strings.Repeat("x", 70), ""},
		{"multipart/mixed; boundary=" + strings.Repeat("x", 71), "", "InvalidHeaderValue"},
		{"multipart/mixed; boundary=a\tb", "", "InvalidHeaderValue"},
		{`multipart/mixed; boundary="trailing "`, "", "InvalidHeaderValue"},
	} {
		t.Run(tt.contentType, func(t *testing.T) {
			got, err := batchBoundary(tt.contentType)
			if code := errCode(err); code != tt.code {
				t.Fatalf("error %v, want code %q", err, tt.code)
			}
			if got != tt.want {
				t.Errorf("boundary %q, want %q", got, tt.want)
			}
		})
	}
}

// batchBody joins sub-requests into a batch body the way the SDKs do:
// part headers, a blank line, the sub-request; sep ends each sub-request
// before the next delimiter.
func batchBody(boundary, sep string, subs ...string) string {
	var b strings.Builder
	for i, s := range subs {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n%s%s", boundary, i, s, sep)
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.String()
}

func TestParseBatch(t *testing.T) {
	del := "DELETE /devstoreaccount1/c/b HTTP/1.1\r\nx-ms-date: Mon, 01 Jan 2024 00:00:00 GMT\r\nAuthorization: SharedKey devstoreaccount1:sig\r\n"
	tier := "PUT /devstoreaccount1/c/b%20x?comp=tier HTTP/1.1\r\nx-ms-access-tier: Cool\r\nContent-Length: 0\r\n"
	many := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = del
		}
		return s
	}
	type part struct{ ID, Method, Target, Date string }
	for _, tt := range []struct {
		name, body string
		want       []part
		code       string
	}{
		{
			name: "JS: no blank line before the next delimiter",
			body: batchBody("batch_1", "\r\n", del, tier),
			want: []part{{"0", "DELETE", "/devstoreaccount1/c/b", "Mon, 01 Jan 2024 00:00:00 GMT"}, {"1", "PUT", "/devstoreaccount1/c/b%20x?comp=tier", ""}},
		},
		{
			name: "Python: blank line and CRLF",
			body: batchBody("batch_1", "\r\n\r\n", del),
			want: []part{{"0", "DELETE", "/devstoreaccount1/c/b", "Mon, 01 Jan 2024 00:00:00 GMT"}},
		},
		{
			name: "preamble and epilogue are ignored",
			body: "preamble\r\n" + batchBody("batch_1", "\r\n", del) + "epilogue",
			want: []part{{"0", "DELETE", "/devstoreaccount1/c/b", "Mon, 01 Jan 2024 00:00:00 GMT"}},
		},
		{
			name: "absolute-form target",
			body: batchBody("batch_1", "\r\n", "DELETE http://h/devstoreaccount1/c/b HTTP/1.1\r\n"),
			want: []part{{"0", "DELETE", "http://h/devstoreaccount1/c/b", ""}},
		},
		{name: "256 sub-requests", body: batchBody("batch_1", "\r\n", many(256)...)},
		{name: "257 sub-requests", body: batchBody("batch_1", "\r\n", many(257)...), code: "ExceedsMaxBatchRequestCount"},
		{name: "no parts", body: "--batch_1--\r\n", code: "InvalidInput"},
		{name: "empty body", body: "", code: "InvalidInput"},
		{name: "other boundary", body: batchBody("batch_2", "\r\n", del), code: "InvalidInput"},
		{name: "no closing delimiter", body: strings.TrimSuffix(batchBody("batch_1", "\r\n", del), "--batch_1--\r\n"), code: "InvalidInput"},
		{name: "truncated part", body: "--batch_1\r\nContent-Type: application/http\r\n\r\nDELETE /a/b", code: "InvalidInput"},
		{name: "request line without version", body: batchBody("batch_1", "\r\n", "DELETE /devstoreaccount1/c/b\r\n"), code: "InvalidInput"},
		{name: "not HTTP/1.x", body: batchBody("batch_1", "\r\n", "DELETE /a/b SPDY/3\r\n"), code: "InvalidInput"},
		{name: "lower-case method", body: batchBody("batch_1", "\r\n", "delete /a/b HTTP/1.1\r\n"), code: "InvalidInput"},
		{name: "empty part", body: batchBody("batch_1", "", ""), code: "InvalidInput"},
		{name: "malformed header", body: batchBody("batch_1", "\r\n", "DELETE /a/b HTTP/1.1\r\nno colon here\r\n"), code: "InvalidInput"},
		{
			name: "part that is not application/http",
			body: "--batch_1\r\nContent-Type: text/plain\r\n\r\n" + del + "\r\n--batch_1--\r\n",
			code: "InvalidInput",
		},
		{
			name: "body over 4 MiB",
			body: batchBody("batch_1", "\r\n", del+"x-pad: "+strings.Repeat("p", maxBatchBytes)+"\r\n"),
			code: "RequestBodyTooLarge",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := parseBatch(strings.NewReader(tt.body), "batch_1")
			if code := errCode(err); code != tt.code {
				t.Fatalf("error %v, want code %q", err, tt.code)
			}
			if tt.want == nil {
				return
			}
			var got []part
			for _, p := range parts {
				got = append(got, part{p.contentID, p.method, p.target, p.header.Get("x-ms-date")})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseBatch feeds arbitrary Content-Type values and bodies to the
// batch parser: it must not panic, must fail only with Azure's errors, and
// what it accepts must be 1 to 256 well-formed sub-requests.
func FuzzParseBatch(f *testing.F) {
	del := "DELETE /devstoreaccount1/c/b HTTP/1.1\r\nx-ms-date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
	f.Add("multipart/mixed; boundary=batch_1", batchBody("batch_1", "\r\n", del, del))
	f.Add(`multipart/mixed; Boundary="batch_1=="`, batchBody("batch_1==", "\r\n\r\n", "PUT /a/b?comp=tier HTTP/1.1\r\nx-ms-access-tier: Hot\r\n"))
	f.Add("multipart/mixed; boundary=b; boundary=c", "--b--")
	f.Add("multipart/mixed; boundary=b", "--b\r\n\r\nGET / HTTP/1.0\r\n\r\n--b--")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		boundary, err := batchBoundary(contentType)
		if err != nil {
			if c := errCode(err); c != "InvalidHeaderValue" && c != "InvalidInput" {
				t.Fatalf("batchBoundary(%q): %v", contentType, err)
			}
			return
		}
		parts, err := parseBatch(strings.NewReader(body), boundary)
		if err != nil {
			switch errCode(err) {
			case "InvalidInput", "ExceedsMaxBatchRequestCount", "RequestBodyTooLarge":
			default:
				t.Fatalf("parseBatch: %v", err)
			}
			return
		}
		if len(body) > maxBatchBytes {
			t.Fatalf("accepted a body of %d bytes", len(body))
		}
		if len(parts) < 1 || len(parts) > maxBatchSubRequests {
			t.Fatalf("accepted %d sub-requests", len(parts))
		}
		for _, p := range parts {
			if !validMethod(p.method) || p.target == "" || p.header == nil {
				t.Fatalf("accepted a malformed sub-request %+v", p)
			}
		}
	})
}

// rawBatch sends a batch with the body and Content-Type given, signed with
// the development account's key.
func rawBatch(t *testing.T, ts *testServer, path, contentType, body string) *http.Response {
	t.Helper()
	return postBatch(t, ts, path, contentType, body, true)
}

// postBatch sends a batch, signed with SharedKey if signed (else it is
// authorised, if at all, by a SAS in path).
func postBatch(t *testing.T, ts *testServer, path, contentType, body string, signed bool) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", ts.endpoint()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2021-08-06") // not the default: sub-responses must echo it
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if signed {
		h := req.Header.Clone()
		h.Set("Content-Length", strconv.Itoa(len(body)))
		sts := sharedKeyStringToSign("POST", h, DevelopmentAccountName, req.URL.EscapedPath(), req.URL.Query())
		req.Header.Set("Authorization", "SharedKey "+DevelopmentAccountName+":"+sign(DevelopmentAccount().Keys[0], sts))
	}
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// signedSub is a sub-request signed with SharedKey as the SDKs sign them
// (no x-ms-version).
func signedSub(method, target string, hdr map[string]string) string {
	u, _ := url.Parse(target)
	h := http.Header{}
	h.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	for k, v := range hdr {
		h.Set(k, v)
	}
	sts := sharedKeyStringToSign(method, h, DevelopmentAccountName, u.EscapedPath(), u.Query())
	h.Set("Authorization", "SharedKey "+DevelopmentAccountName+":"+sign(DevelopmentAccount().Keys[0], sts))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	for k := range h {
		fmt.Fprintf(&b, "%s: %s\r\n", k, h.Get(k))
	}
	return b.String()
}

// batchPartResult is one part of a batch response, as the SDKs read it.
type batchPartResult struct {
	ContentID string
	Status    int
	Code      string
}

// readBatchResponse checks the batch response's framing and returns its
// parts and their raw text.
func readBatchResponse(t *testing.T, resp *http.Response) ([]batchPartResult, string) {
	t.Helper()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("batch status %d (%s), want 202", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	ct := resp.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/mixed" || !strings.HasPrefix(params["boundary"], "batchresponse_") {
		t.Fatalf("batch Content-Type %q", ct)
	}
	if strings.Count(ct, "=") != 1 {
		t.Fatalf("the JS SDK reads the boundary as what follows the only '=': %q", ct)
	}
	var out []batchPartResult
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	for i := 0; i < 300; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, string(raw)
		}
		if err != nil {
			t.Fatalf("reading part: %v\n%s", err, raw)
		}
		b, _ := io.ReadAll(p)
		sub, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(append(b, '\n'))), nil)
		if err != nil {
			t.Fatalf("reading sub-response: %v\n%s", err, b)
		}
		body, err := io.ReadAll(sub.Body)
		if err != nil {
			t.Fatalf("reading sub-response body (Content-Length %d): %v", sub.ContentLength, err)
		}
		if int64(len(body)) != max(sub.ContentLength, 0) {
			t.Errorf("sub-response body %d bytes, Content-Length %d", len(body), sub.ContentLength)
		}
		if sub.Header.Get("x-ms-request-id") == "" || sub.Header.Get("x-ms-version") == "" {
			t.Errorf("sub-response lacks x-ms-request-id or x-ms-version: %v", sub.Header)
		}
		out = append(out, batchPartResult{p.Header.Get("Content-ID"), sub.StatusCode, sub.Header.Get("x-ms-error-code")})
	}
	t.Fatal("too many parts")
	return nil, ""
}

func TestSubmitBatchWire(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	uploadBlobs(t, c, "wire", "a", "b", "c")
	uploadBlobs(t, c, "other", "x")
	const ct = "multipart/mixed; boundary=batch_7"
	del := func(name string) string { return signedSub("DELETE", "/devstoreaccount1/"+name, nil) }

	t.Run("response format", func(t *testing.T) {
		resp := rawBatch(t, ts, "/?comp=batch", ct, batchBody("batch_7", "\r\n", del("wire/a"), del("wire/missing")))
		parts, raw := readBatchResponse(t, resp)
		want := []batchPartResult{{"0", 202, ""}, {"1", 404, "BlobNotFound"}}
		if diff := cmp.Diff(want, parts); diff != "" {
			t.Errorf("parts (-want +got):\n%s", diff)
		}
		// Spelled as Azure (and the JS SDK's parser) expect.
		for _, s := range []string{
			"\r\nContent-Type: application/http\r\nContent-ID: 0\r\n\r\nHTTP/1.1 202 Accepted\r\n",
			"\r\nHTTP/1.1 404 The specified blob does not exist.\r\n",
			"\r\nx-ms-error-code: BlobNotFound\r\n",
			"\r\nx-ms-delete-type-permanent: true\r\n",
			"\r\nx-ms-version: 2021-08-06\r\n", // the batch's version
		} {
			if !strings.Contains(raw, s) {
				t.Errorf("response lacks %q:\n%s", s, raw)
			}
		}
		if strings.Contains(raw, resp.Header.Get("x-ms-request-id")) {
			t.Error("a sub-response reuses the batch's request id")
		}
	})

	// Faults of the batch itself: nothing runs, and Azure answers 202
	// with a single error part without Content-ID.
	for _, tt := range []struct {
		name, path, contentType, body, code string
	}{
		{"no boundary", "/?comp=batch", "multipart/mixed", batchBody("batch_7", "\r\n", del("wire/b")), "InvalidHeaderValue"},
		{"empty boundary", "/?comp=batch", "multipart/mixed; boundary=", batchBody("batch_7", "\r\n", del("wire/b")), "InvalidHeaderValue"},
		{"two boundaries", "/?comp=batch", "multipart/mixed; boundary=batch_7; boundary=b", batchBody("batch_7", "\r\n", del("wire/b")), "InvalidInput"},
		{"a malformed part after a good one", "/?comp=batch", ct, batchBody("batch_7", "\r\n", del("wire/b"), "DELETE\r\n"), "InvalidInput"},
		{"a truncated body", "/?comp=batch", ct, strings.TrimSuffix(batchBody("batch_7", "\r\n", del("wire/b")), "--batch_7--\r\n"), "InvalidInput"},
		{"mixed operations", "/?comp=batch", ct, batchBody("batch_7", "\r\n", del("wire/b"),
			signedSub("PUT", "/devstoreaccount1/wire/c?comp=tier", map[string]string{"x-ms-access-tier": "Cool"})), "AllBatchSubRequestsShouldBeSameApi"},
		{"an operation a batch cannot hold", "/?comp=batch", ct, batchBody("batch_7", "\r\n", del("wire/b"), signedSub("GET", "/devstoreaccount1/wire/c", nil)), "InvalidInput"},
		{"a nested batch", "/?comp=batch", ct, batchBody("batch_7", "\r\n", signedSub("POST", "/devstoreaccount1/?comp=batch", nil)), "InvalidInput"},
		{"another account", "/?comp=batch", ct, batchBody("batch_7", "\r\n", del("wire/b"), strings.Replace(del("wire/c"), "/devstoreaccount1/", "/otheraccount/", 1)), "InvalidInput"},
		{"another container at container scope", "/wire?restype=container&comp=batch", ct, batchBody("batch_7", "\r\n", del("wire/b"), del("other/x")), "InvalidInput"},
		{"257 sub-requests", "/?comp=batch", ct, batchBody("batch_7", "\r\n", func() []string {
			s := make([]string, 257)
			for i := range s {
				s[i] = del("wire/b")
			}
			return s
		}()...), "ExceedsMaxBatchRequestCount"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts, _ := readBatchResponse(t, rawBatch(t, ts, tt.path, tt.contentType, tt.body))
			if diff := cmp.Diff([]batchPartResult{{"", 400, tt.code}}, parts); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"b", "c"}, listNames(t, c, "wire")); diff != "" {
				t.Errorf("blobs after a refused batch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"x"}, listNames(t, c, "other")); diff != "" {
				t.Errorf("other container after a refused batch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("missing Content-Type is a plain 400", func(t *testing.T) {
		resp := rawBatch(t, ts, "/?comp=batch", "", batchBody("batch_7", "\r\n", del("wire/b")))
		if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "MissingRequiredHeader" {
			t.Errorf("got %d %s, want 400 MissingRequiredHeader", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	})

	t.Run("a body over 4 MiB is RequestBodyTooLarge", func(t *testing.T) {
		body := batchBody("batch_7", "\r\n", del("wire/b")+"x-pad: "+strings.Repeat("p", maxBatchBytes)+"\r\n")
		resp := rawBatch(t, ts, "/?comp=batch", ct, body)
		if resp.StatusCode != 413 || resp.Header.Get("x-ms-error-code") != "RequestBodyTooLarge" {
			t.Errorf("got %d %s, want 413 RequestBodyTooLarge", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
		if diff := cmp.Diff([]string{"b", "c"}, listNames(t, c, "wire")); diff != "" {
			t.Errorf("blobs (-want +got):\n%s", diff)
		}
	})

	t.Run("sub-requests are authorised on their own", func(t *testing.T) {
		forged := strings.Replace(del("wire/b"), "SharedKey devstoreaccount1:", "SharedKey devstoreaccount1:AAAA", 1)
		unsigned := "DELETE /devstoreaccount1/wire/c HTTP/1.1\r\nx-ms-date: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n"
		parts, _ := readBatchResponse(t, rawBatch(t, ts, "/?comp=batch", ct, batchBody("batch_7", "\r\n", forged, unsigned)))
		want := []batchPartResult{{"0", 403, "AuthenticationFailed"}, {"1", 404, "ResourceNotFound"}}
		if diff := cmp.Diff(want, parts); diff != "" {
			t.Errorf("parts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"b", "c"}, listNames(t, c, "wire")); diff != "" {
			t.Errorf("blobs (-want +got):\n%s", diff)
		}
	})

	t.Run("an unsigned batch is refused", func(t *testing.T) {
		resp := postBatch(t, ts, "/?comp=batch", ct, batchBody("batch_7", "\r\n", del("wire/b")), false)
		if resp.StatusCode != 401 {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
	})

	// As Azurite's sas suite: a blob SAS submits no batch, at either scope.
	t.Run("a blob SAS cannot submit a batch", func(t *testing.T) {
		cred, err := azblob.NewSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey)
		if err != nil {
			t.Fatal(err)
		}
		qp, err := sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().UTC().Add(time.Hour), ContainerName: "wire", BlobName: "b",
			Permissions: to.Ptr(sas.BlobPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true}).String(),
		}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/?comp=batch&", "/wire?restype=container&comp=batch&"} {
			resp := postBatch(t, ts, path+qp.Encode(), ct, batchBody("batch_7", "\r\n", del("wire/b")), false)
			if resp.StatusCode != 403 {
				t.Errorf("%s: status %d, want 403", path, resp.StatusCode)
			}
		}
		if diff := cmp.Diff([]string{"b", "c"}, listNames(t, c, "wire")); diff != "" {
			t.Errorf("blobs (-want +got):\n%s", diff)
		}
	})

	t.Run("a sub-request without credentials takes the batch's SAS", func(t *testing.T) {
		unsigned := func(name string) string { return "DELETE /devstoreaccount1/" + name + " HTTP/1.1\r\n" }
		post := func(sasQuery, body string) *http.Response {
			return postBatch(t, ts, "/?comp=batch&"+sasQuery, ct, body, false)
		}
		parts, _ := readBatchResponse(t, post(accountSAS(t, sas.AccountPermissions{Read: true}), batchBody("batch_7", "\r\n", unsigned("wire/b"))))
		if diff := cmp.Diff([]batchPartResult{{"0", 403, "AuthorizationPermissionMismatch"}}, parts); diff != "" {
			t.Errorf("read-only SAS: parts (-want +got):\n%s", diff)
		}
		parts, _ = readBatchResponse(t, post(accountSAS(t, sas.AccountPermissions{Delete: true}), batchBody("batch_7", "\r\n", unsigned("wire/b"))))
		if diff := cmp.Diff([]batchPartResult{{"0", 202, ""}}, parts); diff != "" {
			t.Errorf("delete SAS: parts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"c"}, listNames(t, c, "wire")); diff != "" {
			t.Errorf("blobs (-want +got):\n%s", diff)
		}
	})
}
