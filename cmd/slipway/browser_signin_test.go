package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// callback is what arrived at an app's redirect URI.
type callback struct {
	method string
	form   url.Values
}

// redirectTarget serves http://localhost:<port>/cb (http is allowed for
// localhost redirect URIs) and reports each request's parameters, from
// the query or from a form_post body.
func redirectTarget(t *testing.T) (string, <-chan callback) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan callback, 8)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cb" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		select {
		case got <- callback{r.Method, r.Form}:
		default:
		}
		fmt.Fprint(w, "<!doctype html><title>signed in</title><p id=done>signed in</p>")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://localhost:%d/cb", ln.Addr().(*net.TCPAddr).Port), got
}

// await waits for the next callback, or fails naming where the browser is.
func await(t *testing.T, ctx context.Context, got <-chan callback) (callback, bool) {
	t.Helper()
	deadline := time.After(30 * time.Second) // argon2id on a loaded machine
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case cb := <-got:
			return cb, true
		case <-tick.C:
			// Chromium shows its own error page when it dropped the
			// request: it does so (ERR_NETWORK_CHANGED) whenever the
			// host's interfaces change, as they do when a test elsewhere
			// gives an instance its network. The step is tried again.
			lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			loc, _ := chromedp.Run(lctx, chromedp.Evaluate[string]("location.href"))
			cancel()
			if strings.HasPrefix(loc, "chrome-error:") {
				return callback{}, false
			}
		case <-deadline:
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			loc, _ := chromedp.Run(lctx, chromedp.Evaluate[string]("location.href"))
			body, _ := chromedp.Run(lctx, chromedp.Evaluate[string]("document.documentElement.outerHTML"))
			t.Fatalf("nothing reached the redirect URI; the browser is at %s:\n%.2000s", loc, body)
		}
	}
}

// maxBrowserTries bounds the tries of a browser step that chromium's own
// error page interrupted (await).
const maxBrowserTries = 4

// TestBrowserSignIn signs a user in with headless chromium: the sign-in
// page's form is typed into and submitted, and the browser must reach
// the app's redirect URI with a code — by the 302 (response_mode query)
// and by the auto-submitted form (form_post), both of which the pages'
// CSP (form-action) must allow — and the code must redeem. A second
// authorize in the same browser signs in by the SSO cookie, without the
// form.
func TestBrowserSignIn(t *testing.T) {
	chromium := chromiumPath(t)
	s := startServer(t)
	si := newSignInClient(t, s)
	const upn, pw = "ada@slipway.localhost", "Corr3ct-Horse!"
	si.createUser(t, upn, pw)
	redirect, got := redirectTarget(t)
	app := si.registerApp(t, redirect)

	for _, mode := range []string{"query", "form_post"} {
		t.Run(mode, func(t *testing.T) {
			// The platform's certificates are its own CA's, which this
			// browser has no store to add to: it is told to accept them.
			actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), append(chromedp.DefaultExecAllocatorOptions[:],
				chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
				chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("ignore-certificate-errors", true))...)
			defer cancelAlloc()
			ctx, cancel := chromedp.NewContext(actx)
			defer cancel()
			ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
			defer cancelTimeout()
			authURL := si.authorizeURL(app, url.Values{"response_mode": {mode}, "state": {"st-" + mode}})
			var cb callback
			for try := 1; ; try++ {
				if err := chromedp.Do(ctx,
					chromedp.Navigate(authURL),
					chromedp.WaitVisible("#i0116"),
					chromedp.SendKeys("#i0116", upn),
					chromedp.SendKeys("#i0118", pw),
					chromedp.Click("#idSIButton9"),
				); err != nil && (try == maxBrowserTries || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED")) {
					t.Fatalf("sign-in page: %v", err)
				} else if err == nil {
					var ok bool
					if cb, ok = await(t, ctx, got); ok {
						break
					}
				}
				if try == maxBrowserTries {
					t.Fatalf("chromium dropped the sign-in %d times", try)
				}
				t.Logf("try %d: chromium dropped the request (its error page); again", try)
				// The dropped answer may have come after the sign-in
				// took: the form is asked for again.
				authURL = si.authorizeURL(app, url.Values{"response_mode": {mode}, "state": {"st-" + mode}, "prompt": {"login"}})
			}
			want := map[string]string{"query": "GET", "form_post": "POST"}[mode]
			if cb.method != want || cb.form.Get("code") == "" || cb.form.Get("state") != "st-"+mode {
				t.Fatalf("the redirect URI got %s %v, want %s with a code and the state", cb.method, cb.form, want)
			}
			if code, m := si.redeem(t, app, redirect, cb.form.Get("code")); code != 200 || m["id_token"] == nil || m["access_token"] == nil {
				t.Fatalf("redeeming the browser's code: %d %v", code, m)
			}

			// SSO: the same browser comes back without seeing the form.
			for try := 1; ; try++ {
				err := chromedp.Do(ctx, chromedp.Navigate(si.authorizeURL(app, url.Values{"response_mode": {mode}, "state": {"sso"}})))
				if err != nil && (try == maxBrowserTries || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED")) {
					t.Fatal(err)
				} else if err == nil {
					var ok bool
					if cb, ok = await(t, ctx, got); ok {
						break
					}
				}
				if try == maxBrowserTries {
					t.Fatalf("chromium dropped the SSO sign-in %d times", try)
				}
			}
			if cb.method != want || cb.form.Get("code") == "" || cb.form.Get("state") != "sso" {
				t.Fatalf("SSO: the redirect URI got %s %v", cb.method, cb.form)
			}
		})
	}
}
