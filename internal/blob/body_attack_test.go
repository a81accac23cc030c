package blob

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
)

// signedUpload is a request for target (path and query) whose body of
// length bytes comes from body, signed with the development account's key.
func signedUpload(t *testing.T, base, method, target string, length int, hdr map[string]string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, base+target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(length)
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2021-08-06")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	signSharedKey(req, length, DevelopmentAccountName, DevelopmentAccount().Keys[0])
	return req
}

// sendHead opens a connection to ts and sends the head of a signed
// request with a body of length bytes; everything on the connection must
// be done within limit.
func sendHead(t *testing.T, ts *testServer, method, target string, length int, hdr map[string]string, limit time.Duration) (net.Conn, *bufio.Reader) {
	t.Helper()
	req := signedUpload(t, ts.srv.URL, method, target, length, hdr, nil)
	conn, err := net.Dial("tcp", ts.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(limit))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, target, req.Host, length)
	if err := req.Header.Write(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

// TestAttackStalledBodyHeldForever: a client that sent a request's head
// and then stopped sending its body held the request, its goroutine and
// its connection for as long as it liked: nothing bounded a body read, so
// a few thousand such connections pinned the server. A body that sends
// nothing for Config.BodyIdleTimeout now ends its request with Azure's
// 500 OperationTimedOut and the connection is closed, whatever the
// operation, and nothing of the partial body is kept. A slow upload that
// keeps sending is not cut, however long it takes.
func TestAttackStalledBodyHeldForever(t *testing.T) {
	const idle = time.Second
	ts := startService(t, Config{BodyIdleTimeout: idle})
	ctx := context.Background()
	c := newClient(t, ts)
	mustCreateContainer(t, c, "uploads")
	cc := c.ServiceClient().NewContainerClient("uploads")
	if _, err := cc.NewAppendBlobClient("log").Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.NewPageBlobClient("disk").Create(ctx, 1<<20, &pageblob.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	blockID := base64.StdEncoding.EncodeToString([]byte("block-0001"))
	acct := "/" + DevelopmentAccountName
	t.Run("uploads", func(t *testing.T) { // returns once its parallel subtests have
		for _, tc := range []struct {
			name, method, target string
			length               int
			hdr                  map[string]string
		}{
			{"Put Blob", "PUT", acct + "/uploads/stalled", 1 << 20, map[string]string{"x-ms-blob-type": "BlockBlob"}},
			{"Put Block", "PUT", acct + "/uploads/staged?blockid=" + url.QueryEscape(blockID) + "&comp=block", 1 << 20, nil},
			{"Append Block", "PUT", acct + "/uploads/log?comp=appendblock", 1 << 20, nil},
			{"Put Page", "PUT", acct + "/uploads/disk?comp=page", 1 << 20, map[string]string{"x-ms-range": "bytes=0-1048575", "x-ms-page-write": "update"}},
			// Small bodies, which net/http's server would try to drain
			// after the handler returns.
			{"Set Blob Tags", "PUT", acct + "/uploads/log?comp=tags", 2048, nil},
			{"Set Container ACL", "PUT", acct + "/uploads?comp=acl&restype=container", 2048, nil},
			{"Blob Batch", "POST", acct + "/?comp=batch", 4096, map[string]string{"Content-Type": "multipart/mixed; boundary=batch_b"}},
		} {
			t.Run("stalled "+tc.name, func(t *testing.T) {
				t.Parallel()
				conn, br := sendHead(t, ts, tc.method, tc.target, tc.length, tc.hdr, 10*time.Second)
				if _, err := io.WriteString(conn, "<?xml version=\"1.0\" encoding=\"utf-8\"?><"); err != nil {
					t.Fatal(err)
				}
				stalled := time.Now()
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("no answer %s after the body stalled (idle timeout %s): %v", time.Since(stalled).Round(time.Millisecond), idle, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				took := time.Since(stalled)
				if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("x-ms-error-code") != "OperationTimedOut" ||
					!strings.Contains(string(b), "<Code>OperationTimedOut</Code>") {
					t.Errorf("got %d %q %s; want 500 OperationTimedOut", resp.StatusCode, resp.Header.Get("x-ms-error-code"), b)
				}
				if took < idle/2 {
					t.Errorf("answered %s after the body stalled, before the idle timeout %s", took, idle)
				}
				// The rest of the body never came: the connection is closed,
				// not kept for a next request that would start mid-body.
				if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
					t.Errorf("after the answer, the connection: %v; want it closed", err)
				}
			})
		}
		t.Run("stalled Put Blob over HTTP/2", func(t *testing.T) {
			t.Parallel()
			h2 := httptest.NewUnstartedServer(ts.svc)
			h2.EnableHTTP2 = true
			h2.StartTLS()
			t.Cleanup(h2.Close)
			pr, pw := io.Pipe()
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				pw.Write([]byte("the first bytes of a megabyte"))
			}()
			t.Cleanup(func() { pw.Close(); <-sent })
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			req := signedUpload(t, h2.URL, "PUT", acct+"/uploads/stalled-h2", 1<<20, map[string]string{"x-ms-blob-type": "BlockBlob"}, pr)
			start := time.Now()
			resp, err := h2.Client().Do(req.WithContext(ctx))
			if err != nil {
				t.Fatalf("no answer %s after the request started (idle timeout %s): %v", time.Since(start).Round(time.Millisecond), idle, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("x-ms-error-code") != "OperationTimedOut" {
				t.Errorf("got %s %d %q %s; want HTTP/2 500 OperationTimedOut", resp.Proto, resp.StatusCode, resp.Header.Get("x-ms-error-code"), b)
			}
		})
		for _, tc := range []struct{ name, target string }{
			{"Put Blob", acct + "/uploads/slow"},
			{"Put Block", acct + "/uploads/slow-block?blockid=" + url.QueryEscape(blockID) + "&comp=block"},
		} {
			t.Run("slow but steady "+tc.name, func(t *testing.T) {
				t.Parallel()
				const sends, every = 15, 200 * time.Millisecond // 3 s, three times the idle timeout
				chunk := bytes.Repeat([]byte("s"), 100)
				conn, br := sendHead(t, ts, "PUT", tc.target, sends*len(chunk), map[string]string{"x-ms-blob-type": "BlockBlob"}, 15*time.Second)
				for i := range sends {
					if i > 0 {
						time.Sleep(every)
					}
					if _, err := conn.Write(chunk); err != nil {
						t.Fatalf("send %d: %v", i, err)
					}
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("a steady upload: %d %s; want 201", resp.StatusCode, b)
				}
			})
		}
	})
	// The stalled Put Blob left no blob, and the slow one is whole.
	if _, err := cc.NewBlobClient("stalled").GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Errorf("the stalled Put Blob: %v; want BlobNotFound", err)
	}
	resp, err := cc.NewBlobClient("slow").DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != strings.Repeat("s", 1500) {
		t.Errorf("the slow Put Blob holds %d bytes, want 1500 's'", len(b))
	}
}
