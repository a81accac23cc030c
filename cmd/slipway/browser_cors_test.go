package main

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which CI installs (scripts/setup), or
// a skip outside CI.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing; CI installs it (scripts/setup)")
	}
	t.Skip("chromium is not installed (apt-get install chromium; CI installs it)")
	return ""
}

// headlessBrowser starts headless chromium for a test driven over the
// DevTools protocol (chromedp), for at most two minutes, with a window of
// width×height; it ends with the test.
func headlessBrowser(t *testing.T, chromium string, width, height int) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(width, height))...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	return bctx
}

// browserNavigate loads u in the browser and waits for sel. When chromium
// shows its own error page because it dropped the request as the host's
// interfaces changed (ERR_NETWORK_CHANGED, as when a test elsewhere gives
// an instance its network), the load is tried again, at most three times
// more; any other failure is returned.
func browserNavigate(t *testing.T, bctx context.Context, u, sel string) error {
	t.Helper()
	for try := 1; ; try++ {
		err := chromedp.Do(bctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(sel+", #main-frame-error")))
		at, _ := chromedp.Run(bctx, chromedp.Location())
		dropped := strings.HasPrefix(at, "chrome-error:") || (err != nil && strings.Contains(err.Error(), "ERR_NETWORK_CHANGED"))
		if !dropped {
			return err
		}
		if try == 4 {
			return fmt.Errorf("chromium dropped the request to %s %d times (its error page)", u, try)
		}
		t.Logf("try %d: chromium dropped the request; again", try)
	}
}

// browserFetch loads page in headless chromium and returns the text the
// page's script left in #result once the page settled.
func browserFetch(t *testing.T, chromium, page string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=20000", "--dump-dom", page)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", page, err, tail(stderr.String(), 20))
	}
	m := resultRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("the page %s left no result:\n%s\nchromium said:\n%s", page, out, tail(stderr.String(), 20))
	}
	return html.UnescapeString(m[1])
}

// browserFetchOK is browserFetch for a fetch that should succeed: a
// failed one is tried again, at most twice more, since chromium also fails
// a fetch it dropped because the host's interfaces changed
// (ERR_NETWORK_CHANGED, as when a test elsewhere gives an instance its
// network), which the page cannot tell from a refusal. A fetch that
// should fail is never retried, so no refusal is hidden.
func browserFetchOK(t *testing.T, chromium, page, want string) string {
	t.Helper()
	got := browserFetch(t, chromium, page)
	for try := 2; try <= 3 && got != want && strings.HasPrefix(got, "FAILED"); try++ {
		t.Logf("try %d: the fetch gave %q; again", try, got)
		got = browserFetch(t, chromium, page)
	}
	return got
}

var resultRE = regexp.MustCompile(`<div id="result">([^<]*)</div>`)

// corsPage serves, from its own origin (http://127.0.0.1:<port>), a page
// whose script fetch()es target with a custom header — a request a browser
// sends only after a preflight — and writes what happened in #result.
func corsPage(t *testing.T, target string, credentials bool) (origin string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	creds := "same-origin"
	if credentials {
		creds = "include"
	}
	page := fmt.Sprintf(`<!DOCTYPE html><html><body><div id="result">pending</div><script>
fetch(%q, {method: "PUT", headers: {"X-Custom": "1"}, credentials: %q})
  .then(r => { document.getElementById("result").textContent = "OK " + r.status; })
  .catch(e => { document.getElementById("result").textContent = "FAILED " + e; });
</script></body></html>`, target, creds)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestBrowserCORS: CORS is a browser's rule, so a real browser checks it.
// Headless chromium loads a page from one origin whose script sends a PUT
// with a custom header to an app on Slipway (http://<app>.localhost:<port>),
// which the browser preflights. Without platform CORS it fails; with the
// page's origin added by `webapp cors add` it succeeds and the app answers;
// a page from another origin still fails; a credentialed fetch needs
// supportCredentials; and after `webapp cors remove` it fails again.
func TestBrowserCORS(t *testing.T) {
	chromium := chromiumPath(t)
	s := startServer(t)
	s.createApp("browsercors")
	g, app := []string{"-g", "rg-browsercors", "-n", "browsercors"}, "browsercors"
	target := "http://" + s.host(app) + "/api/todo"
	eventually(t, time.Minute, "the new app serves", func() bool {
		code, _ := s.get(s.host(app), "/")
		return code == 200
	})
	page := corsPage(t, target, false)
	other := corsPage(t, target, false)
	credentialed := corsPage(t, target, true)

	if got := browserFetch(t, chromium, page); !strings.HasPrefix(got, "FAILED") {
		t.Fatalf("without CORS the cross-origin fetch gave %q; want it refused by the browser", got)
	}

	s.mustCLI("", append([]string{"webapp", "cors", "add", "--allowed-origins", page, credentialed}, g...)...)
	// The default page's app answers a PUT 405: the request reached it.
	if got := browserFetchOK(t, chromium, page, "OK 405"); got != "OK 405" {
		t.Errorf("with the page's origin allowed the fetch gave %q; want the app's answer, OK 405", got)
	}
	if got := browserFetch(t, chromium, other); !strings.HasPrefix(got, "FAILED") {
		t.Errorf("a page from another origin (%s) gave %q; want it refused", other, got)
	}
	if got := browserFetch(t, chromium, credentialed); !strings.HasPrefix(got, "FAILED") {
		t.Errorf("a credentialed fetch without supportCredentials gave %q; want it refused", got)
	}
	s.mustCLI("", append([]string{"webapp", "config", "set", "--generic-configurations", `{"cors": {"supportCredentials": true}}`}, g...)...)
	if got := browserFetchOK(t, chromium, credentialed, "OK 405"); got != "OK 405" {
		t.Errorf("a credentialed fetch with supportCredentials gave %q; want OK 405", got)
	}

	s.mustCLI("", append([]string{"webapp", "cors", "remove", "--allowed-origins", page}, g...)...)
	if got := browserFetch(t, chromium, page); !strings.HasPrefix(got, "FAILED") {
		t.Errorf("after the origin's removal the fetch gave %q; want it refused", got)
	}
}
