package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRealAzEasyAuthDjango follows Microsoft's "Configure your App Service
// or Azure Functions app to use Microsoft Entra sign-in" with the real az
// against Slipway, then a real browser signs a user in to a Django app:
//
//   - the directory gets a user (az ad user create) and an app
//     registration whose web redirect URI is the app's
//     /.auth/login/aad/callback, with ID tokens and a client secret (az ad
//     app create, az ad app credential reset);
//   - az webapp auth update names the registration and its secret and
//     turns sign-in on with the token store;
//   - headless chromium opens the app, is sent to the platform's sign-in
//     page, signs in, comes back through form_post, and the Django app —
//     which takes its user from X-MS-CLIENT-PRINCIPAL-NAME with Django's
//     RemoteUserMiddleware — greets the user; /.auth/me and the
//     X-MS-CLIENT-PRINCIPAL claims name the user's object id;
//   - a client without a session is redirected to sign in and cannot pose
//     as a user with the platform's headers;
//   - an access token for api://<client id> (client credentials) is taken
//     as a bearer token; one for another audience is not;
//   - /.auth/logout ends the session: the app sends the browser to sign
//     in again.
func TestRealAzEasyAuthDjango(t *testing.T) {
	needSandbox(t, "a Django app behind the platform's sign-in needs")
	chromium := chromiumPath(t)
	r := startRealAz(t, realAzPath(t))
	cli, web, port := r.cli, r.web, r.port
	rg, plan, app := "rg-realaz-auth", "plan-realaz-auth", "realaz-auth"
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	cli.must("appservice", "plan", "create", "-g", rg, "-n", plan, "--is-linux", "--sku", "B1", "-o", "none")
	cli.must("webapp", "create", "-g", rg, "-p", plan, "-n", app, "--runtime", "PYTHON:3.12", "-o", "none")
	cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "-o", "none")
	cli.must("webapp", "config", "set", "-g", rg, "-n", app, "--startup-file",
		"python manage.py migrate --noinput && gunicorn --bind=0.0.0.0 --timeout 600 authsite.wsgi", "-o", "none")
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-g", rg, "-n", app, "--src-path", zipDir(t, "testdata/apps/authapp", nil), "--type", "zip", "-o", "none")
	base := fmt.Sprintf("https://%s.localhost:%d", app, port)
	eventually(t, 2*time.Minute, "the app serves anonymously before sign-in is on", func() bool {
		code, body := web.get(t, base+"/")
		return code == 200 && strings.Contains(body, "Hello, anonymous")
	})

	// The directory: a user, and the app's registration with a secret.
	const upn, password = "alice@contoso.example", "Slipway-Test-Passw0rd!"
	oid := strings.TrimSpace(cli.must("ad", "user", "create", "--display-name", "Alice", "--user-principal-name", upn, "--password", password, "--query", "id", "-o", "tsv"))
	callback := base + "/.auth/login/aad/callback"
	clientID := strings.TrimSpace(cli.must("ad", "app", "create", "--display-name", app, "--web-redirect-uris", callback, "--enable-id-token-issuance", "true", "--query", "appId", "-o", "tsv"))
	cli.must("ad", "app", "update", "--id", clientID, "--identifier-uris", "api://"+clientID)
	secret := strings.TrimSpace(cli.must("ad", "app", "credential", "reset", "--id", clientID, "--query", "password", "-o", "tsv"))

	// Sign-in on, with az's built-in command (az 2.91; Microsoft's page
	// uses the authV2 extension's `az webapp auth microsoft update`, which
	// writes the same settings).
	cli.must("webapp", "auth", "update", "-g", rg, "-n", app, "--enabled", "true", "--action", "LoginWithAzureActiveDirectory",
		"--aad-client-id", clientID, "--aad-client-secret", secret, "--aad-token-issuer-url", "https://sts.windows.net/"+r.info.TenantID+"/v2.0",
		"--aad-allowed-token-audiences", "api://"+clientID, "--token-store", "true", "-o", "none")
	if out := cli.must("webapp", "auth", "show", "-g", rg, "-n", app, "-o", "json"); strings.Contains(out, secret) {
		t.Errorf("auth show printed the client secret:\n%s", out)
	}

	// A client without a session: sent to sign in, whatever it claims.
	noFollow := *web.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	eventually(t, 30*time.Second, "the app asks anonymous clients to sign in", func() bool {
		req, _ := http.NewRequest("GET", base+"/whoami", nil)
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-NAME", "admin")
		req.Header.Set("X-MS-CLIENT-PRINCIPAL-ID", oid)
		resp, err := noFollow.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return resp.StatusCode == http.StatusFound && loc != nil && loc.Path == "/.auth/login/aad"
	})

	// A real browser signs in.
	bctx := easyAuthBrowser(t, chromium)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	// The browser starts with the first action on its own context (one
	// on a context with a deadline would end it with that context).
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting the browser: %v", err)
	}
	// shows reports whether the page has an element matching sel.
	shows := func(ctx context.Context, sel string) bool {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("`+sel+`").length`))
		return n > 0
	}
	errNetwork := errors.New("the browser's request failed (chromium's error page)")
	signInOnce := func() error {
		// Back at the app: the sign-in page, or the app itself when an
		// earlier try signed in but its answer was lost.
		ctx, cancel := context.WithTimeout(bctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#i0116, #hello, #main-frame-error"))); err != nil {
			return fmt.Errorf("reaching the sign-in page: %w", err)
		}
		switch {
		case shows(ctx, "#hello"):
			return nil
		case shows(ctx, "#main-frame-error"):
			return errNetwork
		}
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(css("#i0116"), upn),
			chromedp.SendKeys(css("#i0118"), password),
			chromedp.Click(css("#idSIButton9")),
			chromedp.WaitVisible(css("#hello, #main-frame-error")),
		); err != nil {
			return err
		}
		if !shows(ctx, "#hello") {
			return errNetwork
		}
		return nil
	}
	// Chromium drops a request in flight with ERR_NETWORK_CHANGED when the
	// host's interfaces change, as they do whenever the platform gives an
	// instance its network (the settings' change restarts the app); such
	// a try is made again, at most three times more.
	for try := 1; ; try++ {
		err := signInOnce()
		if err == nil {
			break
		}
		at, _ := chromedp.Run(bctx, chromedp.Location())
		page, _ := chromedp.Run(bctx, chromedp.OuterHTML(css("html")))
		lost := strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") || strings.Contains(page, "ERR_NETWORK_CHANGED")
		if try < 4 && lost {
			t.Logf("try %d: the browser lost its request to a network change; again", try)
			continue
		}
		t.Fatalf("signing in: %v\nthe browser is at %s:\n%s", err, at, page)
	}
	if hello, _ := chromedp.Run(bctx, chromedp.Text(css("#hello"))); hello != "Hello, "+upn {
		t.Fatalf("the app greeted %q, want the signed-in user", hello)
	}
	// pageText loads path in the browser and returns the page's text.
	pageText := func(path string) string {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Navigate(base+path)); err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(bctx, chromedp.Text(css("body")))
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	whoami := pageText("/whoami")
	var who struct {
		User, Name, ID, IDP string
		IDToken             bool `json:"id_token"`
		Claims              map[string]string
		Env                 map[string]string
	}
	if err := json.Unmarshal([]byte(whoami), &who); err != nil {
		t.Fatalf("/whoami: %v\n%s", err, whoami)
	}
	// Microsoft's libraries tell an app behind the platform's sign-in by
	// these (Microsoft.Identity.Web compares the first to "True").
	if e := who.Env; e["WEBSITE_AUTH_ENABLED"] != "True" || e["WEBSITE_AUTH_DEFAULT_PROVIDER"] != "AzureActiveDirectory" ||
		e["WEBSITE_AUTH_CLIENT_ID"] != clientID || e["WEBSITE_AUTH_LOGOUT_PATH"] != "/.auth/logout" || e["WEBSITE_AUTH_TOKEN_STORE"] != "True" {
		t.Errorf("the app's WEBSITE_AUTH_* environment: %v", e)
	}
	if who.User != upn || who.Name != upn || who.ID != oid || who.IDP != "aad" || !who.IDToken || who.Claims["auth_typ"] != "aad" {
		t.Errorf("the app saw %+v, want %s (%s) signed in by aad with an ID token", who, upn, oid)
	}
	me := pageText("/.auth/me")
	var meDoc []struct {
		UserID       string `json:"user_id"`
		ProviderName string `json:"provider_name"`
		IDToken      string `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(me), &meDoc); err != nil || len(meDoc) != 1 || meDoc[0].UserID != upn || meDoc[0].ProviderName != "aad" || meDoc[0].IDToken == "" {
		t.Errorf("/.auth/me = %s (%v)", me, err)
	}

	// A bearer token for the app's API, and one for another audience.
	bearer := func(scope string) int {
		t.Helper()
		tok := clientCredentialsToken(t, web, port, r.info.TenantID, r.owner.AppID, r.owner.Password, scope)
		req, _ := http.NewRequest("GET", base+"/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && !strings.Contains(string(body), r.owner.AppID) && !strings.Contains(string(body), `"idp": "aad"`) {
			t.Errorf("a bearer call reached the app without its principal: %s", body)
		}
		return resp.StatusCode
	}
	if code := bearer("api://" + clientID + "/.default"); code != 200 {
		t.Errorf("a bearer token for api://%s = %d, want 200", clientID, code)
	}
	if code := bearer(fmt.Sprintf("https://management.localhost:%d/.default", port)); code != 401 {
		t.Errorf("a bearer token for the management API = %d, want 401", code)
	}

	// The client-directed sign-in: a client posts its access token and
	// then sends the session token it gets in X-ZUMO-AUTH.
	tok := clientCredentialsToken(t, web, port, r.info.TenantID, r.owner.AppID, r.owner.Password, "api://"+clientID+"/.default")
	resp, err := noFollow.Post(base+"/.auth/login/aad", "application/json", strings.NewReader(`{"access_token":"`+tok+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var signedIn struct {
		AuthenticationToken string `json:"authenticationToken"`
		User                struct{ UserID string }
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(body, &signedIn); resp.StatusCode != 200 || err != nil || signedIn.AuthenticationToken == "" || !strings.HasPrefix(signedIn.User.UserID, "sid:") {
		t.Fatalf("client-directed sign-in: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", base+"/whoami", nil)
	req.Header.Set("X-ZUMO-AUTH", signedIn.AuthenticationToken)
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), r.owner.AppID) {
		t.Errorf("X-ZUMO-AUTH: %d %s, want the app's answer naming %s", resp.StatusCode, body, r.owner.AppID)
	}
	req.Header.Set("X-ZUMO-AUTH", signedIn.AuthenticationToken[:len(signedIn.AuthenticationToken)-2]+"AA")
	if resp, err := noFollow.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != 401 {
		t.Errorf("a tampered X-ZUMO-AUTH: %d, want 401", resp.StatusCode)
	}

	// Signing out: the next visit is sent to sign in again.
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/.auth/logout"), chromedp.Sleep(500*time.Millisecond),
		chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#i0116"))); err != nil {
		t.Fatalf("after /.auth/logout the app did not ask to sign in again: %v", err)
	}
	if at, _ := chromedp.Run(bctx, chromedp.Location()); !strings.Contains(at, "/oauth2/v2.0/authorize") {
		t.Errorf("after logout the browser is at %s, want the sign-in page", at)
	}
}

// easyAuthBrowser is headless chromium for the sign-in test. It takes the
// platform's certificates without checking them: the test is of the
// sign-in, and the platform's TLS is checked by the other clients.
func easyAuthBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("ignore-certificate-errors", true))...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	return bctx
}

// clientCredentialsToken signs a service principal in for scope at the
// platform's token endpoint and returns the access token.
func clientCredentialsToken(t *testing.T, web platformHTTP, port int, tenant, appID, secret, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret}, "scope": {scope}}
	resp, err := web.client.PostForm(fmt.Sprintf("https://login.localhost:%d/%s/oauth2/v2.0/token", port, tenant), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &v); err != nil || v.AccessToken == "" {
		t.Fatalf("token for %s: %d %s", scope, resp.StatusCode, body)
	}
	return v.AccessToken
}
