package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestRealAzUsersAndRedirectURIs runs the unmodified az's `ad user` and
// `ad app` commands for signing users in against Slipway's Graph: users
// created, shown, listed, updated (name, disabled, new password) and
// deleted; an app registration with a web redirect URI and ID tokens,
// then its identifier URI once its id is known, read back, and a new
// secret. Each command's requests are az's own (--debug logs beside the
// test's).
func TestRealAzUsersAndRedirectURIs(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	r := startRealAz(t, realAzPath(t))
	cli, port := r.cli, r.port
	const upn, pw1, pw2 = "ada@slipway.localhost", "Corr3ct-Horse!", "Batt3ry-Staple!"

	var user struct {
		ID                string `json:"id"`
		UserPrincipalName string `json:"userPrincipalName"`
		DisplayName       string `json:"displayName"`
		AccountEnabled    *bool  `json:"accountEnabled"`
	}
	out := cli.must("ad", "user", "create", "--display-name", "Ada Lovelace", "--user-principal-name", upn, "--password", pw1, "-o", "json")
	if err := json.Unmarshal([]byte(out), &user); err != nil || user.ID == "" || user.UserPrincipalName != upn || user.DisplayName != "Ada Lovelace" {
		t.Fatalf("ad user create printed %q (%v)", out, err)
	}
	if strings.Contains(out, pw1) || strings.Contains(strings.ToLower(out), "password") {
		t.Fatalf("ad user create printed the password: %s", out)
	}
	wantJSON(t, cli.must("ad", "user", "show", "--id", upn, "-o", "json"), "id", user.ID)
	wantJSON(t, cli.must("ad", "user", "show", "--id", user.ID, "-o", "json"), "userPrincipalName", upn)
	for _, args := range [][]string{{"--upn", upn}, {"--filter", "userPrincipalName eq '" + upn + "'"}, {"--display-name", "Ada"}} {
		var list []struct{ ID string }
		out := cli.must(append(append([]string{"ad", "user", "list"}, args...), "-o", "json")...)
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].ID != user.ID {
			t.Fatalf("ad user list %v: %s (%v)", args, out, err)
		}
	}
	if msg := cli.fail("ad", "user", "create", "--display-name", "Again", "--user-principal-name", strings.ToUpper(upn), "--password", pw2); !strings.Contains(msg, "already exists") {
		t.Fatalf("duplicate UPN: %q", msg)
	}
	if msg := cli.fail("ad", "user", "create", "--display-name", "Weak", "--user-principal-name", "weak@slipway.localhost", "--password", "password"); !strings.Contains(msg, "complexity") {
		t.Fatalf("weak password: %q", msg)
	}
	if msg := cli.fail("ad", "user", "create", "--display-name", "Forced", "--user-principal-name", "forced@slipway.localhost", "--password", pw2, "--force-change-password-next-sign-in", "true"); !strings.Contains(msg, "forceChangePasswordNextSignIn") {
		t.Fatalf("forced change: %q", msg)
	}

	cli.must("ad", "user", "update", "--id", upn, "--display-name", "Countess Lovelace")
	cli.must("ad", "user", "update", "--id", upn, "--account-enabled", "false")
	out = cli.must("ad", "user", "show", "--id", upn, "-o", "json")
	if err := json.Unmarshal([]byte(out), &user); err != nil || user.DisplayName != "Countess Lovelace" || user.AccountEnabled == nil || *user.AccountEnabled {
		t.Fatalf("after update: %s (%v)", out, err)
	}
	// A disabled user cannot sign in: through the sign-in page, the only
	// place a user's password is used.
	si := newSignInClient(t, r.s)
	app := si.registerApp(t, fmt.Sprintf("https://x.localhost:%d/.auth/login/aad/callback", port))
	if code := si.signIn(t, app, upn, pw1); code == 302 {
		t.Fatal("a disabled user signed in")
	}
	cli.must("ad", "user", "update", "--id", upn, "--account-enabled", "true", "--password", pw2, "--force-change-password-next-sign-in", "false")
	// The new password signs in, the old does not.
	if code := si.signIn(t, app, upn, pw1); code == 302 {
		t.Fatal("the old password still signs in")
	}
	if code := si.signIn(t, app, upn, pw2); code != 302 {
		t.Fatalf("the new password: %d, want a redirect with a code", code)
	}

	cli.must("ad", "user", "delete", "--id", upn)
	if msg := cli.fail("ad", "user", "show", "--id", upn); !strings.Contains(msg, "does not exist") {
		t.Fatalf("show after delete: %q", msg)
	}

	// App registrations: the redirect URI App Service's authentication
	// uses, ID tokens on; the identifier URI once the app id is known.
	callback := fmt.Sprintf("https://x.localhost:%d/.auth/login/aad/callback", port)
	var created struct {
		AppID string `json:"appId"`
		ID    string `json:"id"`
	}
	out = cli.must("ad", "app", "create", "--display-name", "signs-in", "--web-redirect-uris", callback, "--enable-id-token-issuance", "true", "-o", "json")
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.AppID == "" {
		t.Fatalf("ad app create: %s (%v)", out, err)
	}
	cli.must("ad", "app", "update", "--id", created.AppID, "--identifier-uris", "api://"+created.AppID)
	cli.must("ad", "app", "update", "--id", created.AppID, "--public-client-redirect-uris", "http://localhost")
	var shown struct {
		IdentifierURIs []string `json:"identifierUris"`
		Web            struct {
			RedirectURIs          []string `json:"redirectUris"`
			ImplicitGrantSettings struct {
				ID     bool `json:"enableIdTokenIssuance"`
				Access bool `json:"enableAccessTokenIssuance"`
			} `json:"implicitGrantSettings"`
		} `json:"web"`
		PublicClient struct {
			RedirectURIs []string `json:"redirectUris"`
		} `json:"publicClient"`
	}
	out = cli.must("ad", "app", "show", "--id", created.AppID, "-o", "json")
	if err := json.Unmarshal([]byte(out), &shown); err != nil || len(shown.Web.RedirectURIs) != 1 || shown.Web.RedirectURIs[0] != callback ||
		!shown.Web.ImplicitGrantSettings.ID || shown.Web.ImplicitGrantSettings.Access ||
		len(shown.IdentifierURIs) != 1 || shown.IdentifierURIs[0] != "api://"+created.AppID ||
		len(shown.PublicClient.RedirectURIs) != 1 || shown.PublicClient.RedirectURIs[0] != "http://localhost" {
		t.Fatalf("ad app show: %s (%v)", out, err)
	}
	if msg := cli.fail("ad", "app", "update", "--id", created.AppID, "--web-redirect-uris", "http://evil.example.com/cb"); !strings.Contains(msg, "https") {
		t.Fatalf("http redirect URI: %q", msg)
	}
	if msg := cli.fail("ad", "app", "update", "--id", created.AppID, "--identifier-uris", "api://"+r.owner.AppID); !strings.Contains(msg, "own id") {
		t.Fatalf("another app's identifier URI: %q", msg)
	}
	// The server logs neither password, whatever it logged of the
	// requests that carried them.
	for _, pw := range []string{pw1, pw2} {
		if strings.Contains(r.s.stderr.String(), pw) {
			t.Errorf("the server's log holds a user's password")
		}
	}
	var cred struct {
		AppID    string `json:"appId"`
		Password string `json:"password"`
		Tenant   string `json:"tenant"`
	}
	out = cli.must("ad", "app", "credential", "reset", "--id", created.AppID, "-o", "json")
	if err := json.Unmarshal([]byte(out), &cred); err != nil || cred.AppID != created.AppID || len(cred.Password) < 32 || cred.Tenant != r.info.TenantID {
		t.Fatalf("ad app credential reset: %s (%v)", out, err)
	}
}
