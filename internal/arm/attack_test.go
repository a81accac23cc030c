package arm

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Attacks by principals with a low role, written as tests (each one failed
// before its fix).

const (
	contributorID        = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	websiteContributorID = "de139f84-1756-47ae-9be6-808fbbe84772"
)

// rbacEnv serves the handler with requests authorized by role: the
// X-Test-Principal header stands in for a verified token's oid (none: the
// admin token), as the composition root wires AuthorizeRequest and
// CallerObjectID.
func rbacEnv(t *testing.T) (*env, func(who, method, p, body string) (int, string)) {
	e := newEnv(t)
	e.seed()
	e.logs = &logBuffer{}
	e.swaps = &swapRecorder{}
	e.pg = newFakePostgres()
	e.rc = newFakeRedis()
	var h *Handler
	h = New(Config{Store: e.store, Controller: e.ctl, Domain: "localhost",
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Authorize: func(r *http.Request) error {
			if p := r.Header.Get("X-Test-Principal"); p != "" {
				return h.AuthorizeRequest(p, r)
			}
			return nil
		},
		CallerObjectID: func(r *http.Request) string { return r.Header.Get("X-Test-Principal") },
		Slots:          e.swaps,
		Postgres:       e.pg,
		Redis:          e.rc,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	call := func(who, method, p, body string) (int, string) {
		t.Helper()
		q := "?api-version=2024-11-01"
		if strings.Contains(p, "Microsoft.Authorization") {
			q = raAPI
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+e.path(p)+q, strings.NewReader(e.path(body)))
		if who != "" {
			req.Header.Set("X-Test-Principal", who)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	return e, call
}

// A principal that may write a site but holds no role on a user-assigned
// identity must not attach it: the app would get the identity's tokens
// (and its Key Vault secrets, its storage) from the managed-identity
// endpoint. Azure checks Microsoft.ManagedIdentity/userAssignedIdentities/assign/action
// on the identity (a linked scope) and answers LinkedAuthorizationFailed
// (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-manage-user-assigned-managed-identities,
// "Managed Identity Operator" in
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/identity).
func TestAttack_AttachOtherGroupsIdentity(t *testing.T) {
	_, call := rbacEnv(t)
	const other = "/subscriptions/{s}/resourceGroups/other"
	uai := other + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/vaultreader"
	own := "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mine"
	for _, c := range []struct{ p, body string }{
		{other, `{"location":"westeurope"}`},
		{uai, `{"location":"westeurope"}`},
		{own, `{"location":"westeurope"}`},
	} {
		if s, b := call("", "PUT", c.p, c.body); s >= 300 {
			t.Fatalf("seed %s: %d %s", c.p, s, b)
		}
	}
	// principal1 is Contributor of rg only; principal2 Website Contributor of rg.
	const principal2 = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e60"
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName1, raBody("{s}", contributorID, principal1)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName2, raBody("{s}", websiteContributorID, principal2)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	attach := func(who, id string) (int, string) {
		body := `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"` + id + `":{}}},"properties":{}}`
		return call(who, "PATCH", sitePath, body)
	}
	for _, c := range []struct{ who, id string }{
		{principal1, uai},       // another group's identity
		{principal2, own},       // Website Contributor has no assign action, even in its group
		{principal2, uai},       // nor elsewhere
		{principal1, uai + "/"}, // spelled differently
	} {
		s, b := attach(c.who, c.id)
		if s != http.StatusForbidden || !strings.Contains(b, "LinkedAuthorizationFailed") ||
			!strings.Contains(b, "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action") {
			t.Errorf("%s attaches %s: %d %.300s; want 403 LinkedAuthorizationFailed", c.who, c.id, s, b)
		}
	}
	if s, b := call("", "GET", sitePath, ""); s != http.StatusOK || strings.Contains(b, "userAssignedIdentities") {
		t.Fatalf("a refused attach changed the site: %d %.600s", s, b)
	}
	// Contributor of the identity's own group may attach it; the
	// identity already on the site is not checked again.
	if s, b := attach(principal1, own); s != http.StatusOK {
		t.Fatalf("contributor attaches its group's identity: %d %s", s, b)
	}
	if s, b := call(principal2, "PATCH", sitePath, `{"identity":{"type":"SystemAssigned, UserAssigned"},"properties":{}}`); s != http.StatusOK {
		t.Fatalf("keeping the attached identity: %d %s", s, b)
	}
}

// Role patterns must fold case exactly as the router does (Unicode simple
// folding, strings.EqualFold): the router takes "Microſoft.Authorization"
// (U+017F, which folds to 's') for Microsoft.Authorization, so Contributor's
// NotActions Microsoft.Authorization/*/Write must match it too, or a
// Contributor makes itself Owner.
func TestAttack_FoldedNamespaceEscapesNotActions(t *testing.T) {
	_, call := rbacEnv(t)
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName1, raBody("{s}", contributorID, principal1)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	for _, ns := range []string{"Microsoft.Authorization", "Micro\u017foft.Authorization", "MICRO\u017fOFT.AUTHORIZATION"} {
		p := rgPath + "/providers/" + ns + "/roleAssignments/" + raName2
		if s, b := call(principal1, "PUT", p, raBody("{s}", ownerID, principal1)); s != http.StatusForbidden {
			t.Errorf("contributor creates an Owner assignment at %q: %d %.300s; want 403", p, s, b)
		}
	}
}
