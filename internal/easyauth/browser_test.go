package easyauth

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/slipway-dev/slipway/internal/frontdoor"
)

// formPost is the login host's answer by response_mode form_post: a page
// that posts the code, ID token and state to the app's callback.
var formPost = template.Must(template.New("p").Parse(`<!DOCTYPE html><html><body onload="document.forms[0].submit()">
<form method="post" action="{{.Action}}">{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}</form></body></html>`))

// TestBrowserSignIn signs a real browser (headless chromium) in through
// the front door: the login host, a site of its own, answers by
// form_post, so the callback is a cross-site POST that must still carry
// the browser's Nonce cookie (SameSite=None; Secure), and the session
// cookie must come back on the app's next request.
func TestBrowserSignIn(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is missing; CI installs it (scripts/setup)")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	h := newHarness(t)
	h.now = time.Now().Truncate(time.Second)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<html><body><p id=user>%s</p></body></html>", template.HTMLEscapeString(r.Header.Get("X-Ms-Client-Principal-Name")))
	}))
	t.Cleanup(app.Close)
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		idt := h.p.sign(h.p.userClaims(q.Get("nonce")))
		formPost.Execute(w, map[string]any{"Action": q.Get("redirect_uri"), "Fields": map[string]string{
			"state": q.Get("state"), "id_token": idt, "code": h.p.issueCode(q.Get("redirect_uri"), idt)}})
	})
	s := settings()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	h.m.cfg.LoginBase = "https://login.localhost:" + port
	fd := frontdoor.New(frontdoor.Config{Domain: "localhost", Sites: oneSite{s}, Backends: oneBackend(app.URL), Auth: h.m, Login: login})
	srv := httptest.NewUnstartedServer(fd)
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)

	for _, preserve := range []bool{false, true} {
		t.Run(fmt.Sprintf("preserveUrlFragmentsForLogins=%v", preserve), func(t *testing.T) {
			s.Login.PreserveURLFragmentsForLogins = preserve
			// The fragment is a single-page app's route: it comes back
			// only when the setting is on.
			want := "https://todo.localhost:" + port + "/page?x=1"
			if preserve {
				want += "#/orders/7?tab=a%20b"
			}
			where, user := browserSignIn(t, chromium, "https://todo.localhost:"+port+"/page?x=1#/orders/7?tab=a%20b")
			if user != "ada@contoso.test" || where != want {
				t.Fatalf("the browser ended at %s as %q, want %s", where, user, want)
			}
		})
	}
}

// browserSignIn opens start in a fresh headless chromium and returns
// where it ends (the app's page, or a refusal) and the user the app
// named.
func browserSignIn(t *testing.T, chromium, start string) (where, user string) {
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("ignore-certificate-errors", true))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// Chromium shows its own error page (#main-frame-error) when it drops
	// a request because the host's interfaces changed
	// (ERR_NETWORK_CHANGED), as they do when a test elsewhere gives an
	// instance its network: then the sign-in is tried again, at most
	// three times more.
	var err error
	for try := 1; ; try++ {
		err = chromedp.Do(bctx, chromedp.Navigate(start), chromedp.WaitVisible(chromedp.CSS(`#user, h1, #main-frame-error`)))
		where, _ = chromedp.Run(bctx, chromedp.Location())
		dropped := strings.HasPrefix(where, "chrome-error:") || (err != nil && strings.Contains(err.Error(), "ERR_NETWORK_CHANGED"))
		if !dropped || try == 4 {
			break
		}
		t.Logf("try %d: chromium dropped a request; again", try)
	}
	if err != nil {
		body, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS(`html`)))
		t.Fatalf("browser: %v; at %s: %s", err, where, body)
	}
	user, _ = chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("user")?.textContent ?? document.body.innerText`))
	return where, user
}
