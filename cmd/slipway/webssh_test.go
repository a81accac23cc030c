package main

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestWebSSHInBrowser: Microsoft's documentation opens an SSH session in a
// browser at https://<app>.scm.azurewebsites.net/webssh/host. Here the
// page is reached as a user reaches it — Kudu's home page (App Service's
// Advanced Tools) signed in with the app's publishing credentials, then its
// SSH link — by a real browser (headless chromium, driven over the
// DevTools protocol): its
// terminal opens a shell inside the app's running instance, as the app's
// user in the app's folder, takes what is typed and shows the output, and
// says so when the session ends.
func TestWebSSHInBrowser(t *testing.T) {
	needSandbox(t, "SSH sessions need")
	chromium := chromiumPath(t)
	s := startServer(t)
	s.createApp("webssh")
	var instances []struct {
		Name string `json:"name"`
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out := s.mustCLI("", "webapp", "list-instances", "-g", "rg-webssh", "-n", "webssh", "-o", "json")
		if json.Unmarshal([]byte(out), &instances) == nil && len(instances) == 1 && strings.Contains(out, "READY") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app's instance never became ready: %s", out)
		}
	}
	user, pass := s.credentials("webssh")
	scm := strings.Replace(s.host("webssh"), ".localhost", ".scm.localhost", 1)

	bctx := headlessBrowser(t, chromium, 1280, 800)

	// The terminal's text, as the page shows it (xterm.js's DOM rows).
	screen := func() string {
		text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector(".xterm-rows").innerText`))
		if err != nil {
			t.Fatalf("reading the terminal: %v", err)
		}
		return text
	}
	waitScreen := func(want string) string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if text := screen(); strings.Contains(text, want) {
				return text
			} else if time.Now().After(deadline) {
				t.Fatalf("the terminal never showed %q:\n%s", want, text)
			}
		}
	}

	// As a user goes there: Kudu's home page (App Service's Advanced
	// Tools), signed in, then its SSH link.
	home := "http://" + url.UserPassword(user, pass).String() + "@" + scm + "/"
	if err := browserNavigate(t, bctx, home, `a[href="/webssh/host"]`); err != nil {
		t.Fatalf("Kudu's home page: %v", err)
	}
	if site, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("site").textContent`)); site != "webssh" {
		t.Errorf("Kudu's home page names the site %q", site)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`a[href="/webssh/host"]`)), chromedp.WaitVisible(chromedp.CSS(`body[data-state], #main-frame-error`))); err != nil {
		t.Fatalf("the SSH page never connected: %v", err)
	}
	state, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.dataset.state`))
	// Chromium drops a load, or the page's WebSocket, with
	// ERR_NETWORK_CHANGED when the host's interfaces change (instances'
	// veths come and go): the page is loaded again, at most twice, and
	// must then connect.
	for try := 1; state != "connected" && try <= 2; try++ {
		at, _ := chromedp.Run(bctx, chromedp.Location())
		t.Logf("try %d: the SSH page at %s did not connect (state %q); loading it again", try, at, state)
		if err := browserNavigate(t, bctx, strings.TrimSuffix(home, "/")+"/webssh/host", `body[data-state]`); err != nil {
			t.Fatalf("the SSH page: %v", err)
		}
		state, _ = chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.dataset.state`))
	}
	if state != "connected" {
		t.Fatalf("the page did not connect (%s):\n%s", state, screen())
	}
	title, _ := chromedp.Run(bctx, chromedp.Title())
	if title != "SSH: webssh" {
		t.Errorf("the page's title is %q", title)
	}
	// Typed into the terminal as a person types, Enter included. Each key
	// is one keyDown that carries its text, as a keyboard's is (and as
	// Puppeteer types): chromedp's own SendKeys sends the text in a
	// separate char event, which the page's keydown handler cannot cancel,
	// so xterm.js took every character twice.
	type_ := func(keys string) {
		t.Helper()
		err := chromedp.Do(bctx, chromedp.Focus(chromedp.CSS(`.xterm-helper-textarea`)),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				for _, r := range keys {
					var down *input.DispatchKeyEventParams
					for _, k := range kb.Encode(r) {
						switch k.Type {
						case kb.KeyDown:
							down = k
						case kb.KeyChar:
							down.Text, down.UnmodifiedText = k.Text, k.UnmodifiedText
							continue
						}
						if k.Type == kb.KeyUp {
							if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, *down); err != nil {
								return err
							}
							if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, *k); err != nil {
								return err
							}
						}
					}
				}
				return nil
			}))
		if err != nil {
			t.Fatalf("typing %q: %v", keys, err)
		}
	}
	// The answers are short, so that no line wraps in the terminal.
	type_(`echo web$((6*7)) inst=$([ "$WEBSITE_INSTANCE_ID" = ` + instances[0].Name + ` ] && echo ok) ` +
		`user=$(id -un) cwd=$([ -n "$APP_PATH" ] && [ "$PWD" = "$APP_PATH" ] && echo ok) cols=$(tput cols)` + "\r")
	m := regexp.MustCompile(`web42 inst=(\S*) user=(\S*) cwd=(\S*) cols=(\d+)`).FindStringSubmatch(waitScreen("web42 "))
	if m == nil {
		t.Fatalf("the answer is not on the screen:\n%s", screen())
	}
	if m[1] != "ok" {
		t.Errorf("the session is not inside the app's instance %s: %q", instances[0].Name, m[0])
	}
	if m[2] == "root" || m[2] == "" {
		t.Errorf("the session does not run as the app's user: %q", m[0])
	}
	// In the app's folder, as on App Service (where it is the build's
	// output under /tmp, or /home/site/wwwroot).
	if m[3] != "ok" {
		t.Errorf("the shell did not start in the app's folder: %q", m[0])
	}
	// The page fits the terminal to its window (1280 pixels wide: more
	// than xterm.js's and the server's default 80 columns), and the size
	// reached the shell's terminal.
	if m[4] == "80" || m[4] == "0" {
		t.Errorf("the shell's terminal was not sized to the page: %q", m[0])
	}

	type_("exit\r")
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`body[data-state="closed"]`))); err != nil {
		t.Fatalf("the page never saw the session end: %v", err)
	}
	waitScreen("The session ended")
}
