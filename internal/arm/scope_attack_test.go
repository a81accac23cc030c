package arm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/slipway-dev/slipway/internal/certs"
	"github.com/slipway-dev/slipway/internal/rbac"
)

// Attacks across scopes: a principal whose roles are on resource group rg
// (or on one resource in it) must neither read nor change anything in the
// group "other", nor make rg's resources act on other's. Each test that
// found a hole failed before its fix; the rest stay as regression tests.

const (
	// principal2 holds Owner of rg, principal3 nothing at all.
	principal2 = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e60"
	principal3 = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e61"
	raName3    = "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e21"
	raName4    = "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e22"
	raName5    = "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e23"
	raName6    = "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e24"

	otherRG   = "/subscriptions/{s}/resourceGroups/other"
	otherWeb  = otherRG + "/providers/Microsoft.Web"
	otherPlan = otherWeb + "/serverfarms/big"
	otherSite = otherWeb + "/sites/victim"
)

// scopeEnv is rbacEnv with a second tenant's group "other" (a Standard
// plan, the site "victim", a storage account), principal1 Contributor of
// rg and principal2 Owner of rg.
func scopeEnv(t *testing.T) (*env, func(who, method, p, body string) (int, string)) {
	t.Helper()
	e, call := rbacEnv(t)
	for _, c := range []struct{ p, body string }{
		{otherRG, `{"location":"westeurope"}`},
		{otherPlan, `{"location":"westeurope","sku":{"name":"S1","tier":"Standard"},"properties":{"reserved":true}}`},
		{otherSite, `{"location":"westeurope","properties":{"serverFarmId":"` + otherPlan + `"}}`},
		{otherRG + "/providers/Microsoft.Storage/storageAccounts/victimstore", `{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`},
		{webPath + "/serverfarms/std", `{"location":"westeurope","sku":{"name":"S1","tier":"Standard"},"properties":{"reserved":true}}`},
		{rgPath + "/providers/Microsoft.Authorization/roleAssignments/" + raName1, raBody("{s}", contributorID, principal1)},
		{rgPath + "/providers/Microsoft.Authorization/roleAssignments/" + raName2, raBody("{s}", ownerID, principal2)},
	} {
		if s, b := call("", "PUT", c.p, c.body); s >= 300 {
			t.Fatalf("seed %s: %d %s", c.p, s, b)
		}
	}
	return e, call
}

// wantDenied fails unless the answer is Azure's 403 AuthorizationFailed.
func wantDenied(t *testing.T, what string, status int, body string) {
	t.Helper()
	if status != http.StatusForbidden || !strings.Contains(body, `"AuthorizationFailed"`) ||
		!strings.Contains(body, "does not have authorization to perform action '") || !strings.Contains(body, "or the scope is invalid. If access was recently granted, please refresh your credentials.") {
		t.Errorf("%s: %d %.300s; want 403 AuthorizationFailed", what, status, body)
	}
}

// autoscaleFor is a setting that keeps the plan at target between min and
// max workers (az monitor autoscale create --resource <target>).
func autoscaleFor(target, minimum, def, maximum string) string {
	return `{"location":"westeurope","properties":{"enabled":true,"targetResourceUri":"` + target + `",
		"profiles":[{"name":"default","capacity":{"minimum":"` + minimum + `","maximum":"` + maximum + `","default":"` + def + `"},"rules":[]}]}}`
}

// TestAttack_AutoscaleAnotherGroupsPlan: an autoscale setting lives in one
// group and names its target by id. A Contributor of rg must not create
// one there that drives other's plan: the evaluator would set that plan's
// worker count (to its maximum, billing its owner; or to one, taking its
// apps' capacity away), and the plan's owner could neither see the setting
// in its group nor add its own (one setting per plan). The target is a
// linked scope: the caller needs Microsoft.Web/serverfarms/write on it.
func TestAttack_AutoscaleAnotherGroupsPlan(t *testing.T) {
	_, call := scopeEnv(t)
	as := "/subscriptions/{s}/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/"
	for _, target := range []string{otherPlan, strings.ToLower(otherPlan), otherPlan + "/", strings.Replace(otherPlan, "/resourceGroups/", "//resourcegroups//", 1)} {
		s, b := call(principal1, "PUT", as+"steal", autoscaleFor(target, "10", "10", "10"))
		if s != http.StatusForbidden || !strings.Contains(b, "LinkedAuthorizationFailed") || !strings.Contains(strings.ToLower(b), "microsoft.web/serverfarms/write") {
			t.Errorf("contributor of rg sets an autoscale setting on %s: %d %.400s; want 403 LinkedAuthorizationFailed", target, s, b)
		}
	}
	// Nor by PATCHing its own setting over to it.
	if s, b := call(principal1, "PUT", as+"mine", autoscaleFor(webPath+"/serverfarms/std", "1", "1", "2")); s != http.StatusCreated {
		t.Fatalf("contributor of rg sets an autoscale setting on its own plan: %d %s", s, b)
	}
	if s, b := call(principal1, "PATCH", as+"mine", `{"properties":{"targetResourceUri":"`+otherPlan+`"}}`); s != http.StatusForbidden {
		t.Errorf("contributor of rg moves its autoscale setting to other's plan: %d %.300s; want 403", s, b)
	}
	// The victim's owner still sets its own.
	if s, b := call("", "PUT", otherRG+"/providers/microsoft.insights/autoscalesettings/own", autoscaleFor(otherPlan, "1", "1", "2")); s != http.StatusCreated {
		t.Errorf("the plan's own setting: %d %.300s", s, b)
	}
}

// TestAttack_ReachAnotherGroup: with a role on rg only, nothing of other
// is read or changed, however the path is spelled: the scope checked is
// the one routed to.
func TestAttack_ReachAnotherGroup(t *testing.T) {
	_, call := scopeEnv(t)
	for _, who := range []string{principal1, principal2} {
		for _, c := range []struct{ method, p, body string }{
			{"GET", otherRG, ""},
			{"GET", otherSite, ""},
			{"PATCH", otherSite, `{"properties":{"httpsOnly":false}}`},
			{"POST", otherSite + "/config/publishingcredentials/list", ""},
			{"POST", otherSite + "/config/appsettings/list", ""},
			{"POST", otherSite + "/publishxml", `{"format":"WebDeploy"}`},
			{"POST", otherRG + "/providers/Microsoft.Storage/storageAccounts/victimstore/listKeys", ""},
			{"GET", otherRG + "/resources", ""},
			{"GET", otherWeb + "/sites", ""},
			{"GET", otherRG + "/providers/Microsoft.Authorization/roleAssignments", ""},
			{"GET", "/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments", ""},
			// Spellings: case, doubled and trailing slashes.
			{"GET", strings.ToUpper(otherSite[:14]) + otherSite[14:], ""},
			{"GET", strings.Replace(otherSite, "resourceGroups", "RESOURCEGROUPS", 1), ""},
			{"GET", strings.ReplaceAll(otherSite, "/", "//") + "/", ""},
		} {
			s, b := call(who, c.method, c.p, c.body)
			wantDenied(t, who+" "+c.method+" "+c.p, s, b)
		}
		// Spellings that name rg to the check and other to a naive router:
		// dot segments and encoded slashes are never resolved, so they
		// reach nothing of other (404, or 400 from the scope parser).
		for _, p := range []string{
			"/subscriptions/{s}/resourceGroups/rg/../other/providers/Microsoft.Web/sites/victim",
			"/subscriptions/{s}/resourceGroups/rg/%2E%2E/other/providers/Microsoft.Web/sites/victim",
			"/subscriptions/{s}/resourceGroups/rg%2F..%2Fother/providers/Microsoft.Web/sites/victim",
			"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/../../../../other/providers/Microsoft.Web/sites/victim",
			"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/app/../../../../../other/providers/Microsoft.Web/sites/victim/config/publishingcredentials/list",
		} {
			for _, method := range []string{"GET", "POST"} {
				s, b := call(who, method, p, "")
				if s < 300 {
					t.Errorf("%s %s %s: %d %.300s", who, method, p, s, b)
				}
			}
		}
	}
	// The victim's site is as it was.
	if s, b := call("", "GET", otherSite, ""); s != http.StatusOK || !strings.Contains(b, `"httpsOnly":false`) && !strings.Contains(b, `"victim"`) {
		t.Fatalf("victim site: %d %.300s", s, b)
	}
}

// TestAttack_RoleAssignmentScopes: only Owner (or an access
// administrator) of a scope assigns roles there; an Owner of rg assigns
// none at the subscription or in other, and a role held on a role
// assignment's id is no role over the assignment's scope.
func TestAttack_RoleAssignmentScopes(t *testing.T) {
	_, call := scopeEnv(t)
	ra := "/providers/Microsoft.Authorization/roleAssignments/"
	for _, c := range []struct{ who, scope string }{
		{principal1, rgPath},               // Contributor assigns no roles
		{principal1, sitePath},             // not even on one app
		{principal2, "/subscriptions/{s}"}, // Owner of rg, not of the subscription
		{principal2, otherRG},              // nor of other
		{principal2, otherSite},            // nor of other's resources
		{principal3, rgPath},               // no role at all
		{principal2, "/subscriptions/{s}/resourceGroups/rg/../other"}, // dot segments are no scope
	} {
		s, b := call(c.who, "PUT", c.scope+ra+raName3, raBody("{s}", ownerID, principal3))
		if s < 300 {
			t.Errorf("%s assigns Owner at %s: %d %.300s", c.who, c.scope, s, b)
		}
	}
	// The Owner of rg assigns within rg.
	if s, b := call(principal2, "PUT", sitePath+ra+raName3, raBody("{s}", readerID, principal3)); s != http.StatusCreated {
		t.Fatalf("owner of rg assigns Reader on its app: %d %s", s, b)
	}
	// A role assignment is not a scope: an assignment there would be a
	// role over .../roleAssignments/{name}, the very id ARM checks when that
	// name is PUT at its parent — and so a role over the parent.
	weird := rgPath + ra + raName4
	if s, b := call(principal2, "PUT", weird+ra+raName5, raBody("{s}", ownerID, principal3)); s != http.StatusBadRequest || !strings.Contains(b, "InvalidScope") {
		t.Errorf("owner of rg assigns a role at a role assignment's id: %d %.300s; want 400 InvalidScope", s, b)
	}
	if s, b := call(principal3, "PUT", weird, raBody("{s}", ownerID, principal3)); s != http.StatusForbidden {
		t.Errorf("principal3 makes itself Owner of rg: %d %.300s; want 403", s, b)
	}
	// A list at rg names no assignment of other.
	if s, b := call("", "PUT", otherRG+ra+raName6, raBody("{s}", ownerID, principal3)); s != http.StatusCreated {
		t.Fatalf("seed other's assignment: %d %s", s, b)
	}
	if s, b := call(principal2, "GET", rgPath+"/providers/Microsoft.Authorization/roleAssignments", ""); s != http.StatusOK || strings.Contains(b, "/other") || strings.Contains(b, raName6) {
		t.Errorf("role assignments of rg: %d %.600s", s, b)
	}
	for _, method := range []string{"GET", "DELETE"} {
		s, b := call(principal2, method, otherRG+ra+raName6, "")
		wantDenied(t, "owner of rg "+method+"s other's assignment", s, b)
		if s, b := call(principal2, method, rgPath+ra+raName6, ""); s == http.StatusOK {
			t.Errorf("owner of rg %ss other's assignment through rg's scope: %d %.300s", method, s, b)
		}
	}
	if s, b := call("", "GET", otherRG+ra+raName6, ""); s != http.StatusOK {
		t.Errorf("other's assignment after the attempts: %d %.300s", s, b)
	}
}

// TestAttack_BodyIdsInAnotherGroup: ids in request bodies that name other's
// resources: an app of rg on other's plan (its capacity, its bill), a clone
// of other's app (its settings and content).
func TestAttack_BodyIdsInAnotherGroup(t *testing.T) {
	_, call := scopeEnv(t)
	if s, b := call("", "PUT", otherSite+"/config/appsettings", `{"properties":{"SECRET":"victim-only"}}`); s != http.StatusOK {
		t.Fatalf("seed setting: %d %s", s, b)
	}
	for _, body := range []string{
		`{"location":"westeurope","properties":{"serverFarmId":"` + otherPlan + `"}}`,
		`{"location":"westeurope","properties":{"serverFarmId":"` + strings.Replace(otherPlan, "other", "rg/../other", 1) + `"}}`,
	} {
		if s, b := call(principal1, "PUT", webPath+"/sites/squat", body); s < 400 || s >= 500 {
			t.Errorf("an app of rg on other's plan: %d %.300s", s, b)
		}
	}
	if s, b := call(principal1, "PATCH", sitePath, `{"properties":{"serverFarmId":"`+otherPlan+`"}}`); s < 400 || s >= 500 {
		t.Errorf("moving rg's app to other's plan: %d %.300s", s, b)
	}
	// A clone request (cloningInfo) copies nothing.
	if s, _ := call(principal1, "PUT", webPath+"/sites/clone1", `{"location":"westeurope","properties":{"serverFarmId":"`+webPath+`/serverfarms/plan","cloningInfo":{"sourceWebAppId":"`+otherSite+`","overwrite":true}}}`); s == http.StatusOK {
		if s, b := call(principal1, "POST", webPath+"/sites/clone1/config/appsettings/list", ""); strings.Contains(b, "victim-only") {
			t.Errorf("the clone has other's settings: %d %s", s, b)
		}
	}
	// A user-assigned identity of other is not rg's to attach
	// (TestAttack_AttachOtherGroupsIdentity), nor to resolve Key Vault
	// references as.
	if s, b := call("", "PUT", otherRG+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader", `{"location":"westeurope"}`); s >= 300 {
		t.Fatalf("seed identity: %d %s", s, b)
	}
	id := otherRG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader"
	call(principal1, "PATCH", sitePath, `{"properties":{"keyVaultReferenceIdentity":"`+id+`"}}`)
	if s, b := call("", "GET", sitePath, ""); strings.Contains(b, `"userAssignedIdentities"`) {
		t.Errorf("setting keyVaultReferenceIdentity attached the identity: %d %.600s", s, b)
	}
}

// selfSignedPFX is a base64 PFX (password "pw") of a self-signed
// certificate for host, and its thumbprint.
func selfSignedPFX(t *testing.T, host string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pfx, err := pkcs12.Modern.Encode(key, leaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pfx), certs.Thumbprint(der)
}

// TestAttack_CertificateOfAnotherGroup: an app binds only a certificate
// of its own resource group (App Service: the certificate must be in the
// app's resource group and region,
// https://learn.microsoft.com/azure/app-service/configure-ssl-certificate);
// and when two groups hold the same certificate, one's bindings neither
// keep the other from deleting its copy nor show it their host names.
func TestAttack_CertificateOfAnotherGroup(t *testing.T) {
	e, dns, id := newDomainEnv(t)
	dns.SetCNAME("www.a.example", "app.localhost")
	dns.SetTXT("asuid.www.a.example", id)
	e.must(200, "PUT", bindingsPath+"/www.a.example", `{"properties":{"siteName":"app"}}`)
	e.must(201, "PUT", otherRG, `{"location":"westeurope"}`)
	pfx, thumb := selfSignedPFX(t, "www.a.example")
	upload := `{"location":"westeurope","properties":{"pfxBlob":"` + pfx + `","password":"pw"}}`
	e.must(200, "PUT", otherWeb+"/certificates/theirs", upload)
	bind := `{"properties":{"hostNameSslStates":[{"name":"www.a.example","sslState":"SniEnabled","thumbprint":"` + thumb + `","toUpdate":true}]}}`
	if r := e.do("PATCH", sitePath, bind); r.status != http.StatusBadRequest {
		t.Fatalf("binding another group's certificate: %d %s; want 400", r.status, r.body)
	}
	// With its own copy, rg binds it; other still deletes its copy, and
	// learns nothing of rg's names.
	e.must(200, "PUT", webPath+"/certificates/ours", upload)
	e.must(200, "PATCH", sitePath, bind)
	if r := e.do("DELETE", otherWeb+"/certificates/theirs", ""); r.status != http.StatusOK || strings.Contains(string(r.body), "a.example") {
		t.Errorf("other deletes its copy of a certificate rg also holds: %d %s; want 200", r.status, r.body)
	}
	if r := e.do("DELETE", webPath+"/certificates/ours", ""); r.status != http.StatusConflict {
		t.Errorf("rg deletes the certificate its binding uses: %d %s; want 409", r.status, r.body)
	}
}

// TestAttack_DeletedGroupsRolesPassToItsSuccessor: the role assignments at
// and below a resource group go with it. Otherwise a principal of the
// group's old tenant holds its roles over whatever group is created later
// under the same name — another tenant's.
func TestAttack_DeletedGroupsRolesPassToItsSuccessor(t *testing.T) {
	_, call := scopeEnv(t)
	ra := "/providers/Microsoft.Authorization/roleAssignments/"
	if s, b := call("", "PUT", sitePath+ra+raName3, raBody("{s}", readerID, principal3)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if s, b := call("", "PUT", otherRG+ra+raName4, raBody("{s}", readerID, principal1)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if s, b := call("", "DELETE", rgPath, ""); s != http.StatusOK {
		t.Fatalf("delete rg: %d %s", s, b)
	}
	// The operator makes "rg" again, for someone else, with an app named
	// as the old one was.
	for _, c := range []struct{ p, body string }{
		{rgPath, `{"location":"westeurope"}`},
		{planPath, `{"location":"westeurope","sku":{"name":"B1"},"properties":{"reserved":true}}`},
		{sitePath, `{"location":"westeurope","properties":{"serverFarmId":"` + planPath + `"}}`},
	} {
		if s, b := call("", "PUT", c.p, c.body); s >= 300 {
			t.Fatalf("recreate %s: %d %s", c.p, s, b)
		}
	}
	for _, c := range []struct{ who, p string }{
		{principal1, rgPath}, {principal2, sitePath}, {principal3, sitePath},
	} {
		s, b := call(c.who, "GET", c.p, "")
		wantDenied(t, c.who+" reads the new "+c.p, s, b)
	}
	if s, b := call("", "GET", "/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments", ""); s != http.StatusOK ||
		strings.Contains(b, raName1) || strings.Contains(b, raName2) || strings.Contains(b, raName3) || !strings.Contains(b, raName4) {
		t.Errorf("assignments after deleting rg: %d %.800s", s, b)
	}
	// other's roles stay.
	if s, b := call(principal1, "GET", otherRG, ""); s != http.StatusOK {
		t.Errorf("principal1 reads other: %d %.300s", s, b)
	}
}

// TestAttack_SlotRoleReachesProduction: a role on one deployment slot is
// no role on the app. Swapping the slot into production (or applying
// production's slot settings to it, or setting it to auto swap there after
// its next deployment) changes what production runs and hands
// production's settings to code the slot's principal deploys; so the
// caller needs the swap action on the target too (a linked scope). Swaps
// the app's own principals make are unchanged.
func TestAttack_SlotRoleReachesProduction(t *testing.T) {
	e, call := scopeEnv(t)
	e.standardPlan()
	slot := sitePath + "/slots/staging"
	for _, c := range []struct{ p, body string }{
		{slot, `{"location":"westeurope","properties":{}}`},
		{sitePath + "/slots/qa", `{"location":"westeurope","properties":{}}`},
		{slot + "/providers/Microsoft.Authorization/roleAssignments/" + raName3, raBody("{s}", contributorID, principal3)},
	} {
		if s, b := call("", "PUT", c.p, c.body); s >= 300 {
			t.Fatalf("seed %s: %d %s", c.p, s, b)
		}
	}
	for _, c := range []struct{ p, body string }{
		{slot + "/slotsswap", `{"targetSlot":"production"}`},
		{slot + "/slotsswap", `{}`},
		{slot + "/slotsswap", `{"targetSlot":"qa"}`},
		{slot + "/applySlotConfig", `{"targetSlot":"production"}`},
	} {
		s, b := call(principal3, "POST", c.p, c.body)
		if s != http.StatusForbidden || !strings.Contains(b, "LinkedAuthorizationFailed") {
			t.Errorf("slot contributor POST %s %s: %d %.300s; want 403 LinkedAuthorizationFailed", c.p, c.body, s, b)
		}
	}
	if s, b := call(principal3, "PATCH", slot+"/config/web", `{"properties":{"autoSwapSlotName":"production"}}`); s != http.StatusForbidden {
		t.Errorf("slot contributor sets auto swap into production: %d %.300s; want 403", s, b)
	}
	if got := e.swaps.calls; len(got) != 0 {
		t.Errorf("swaps made: %v", got)
	}
	// Its own slot's settings, a reset, and clearing auto swap stay its own.
	for _, c := range []struct{ method, p, body string }{
		{"PUT", slot + "/config/appsettings", `{"properties":{"A":"1"}}`},
		{"POST", slot + "/resetSlotConfig", `{}`},
		{"PATCH", slot + "/config/web", `{"properties":{"autoSwapSlotName":""}}`},
	} {
		if s, b := call(principal3, c.method, c.p, c.body); s != http.StatusOK {
			t.Errorf("slot contributor %s %s: %d %.300s", c.method, c.p, s, b)
		}
	}
	// The app's Contributor swaps either way.
	for _, c := range []struct{ p, body string }{
		{slot + "/slotsswap", `{"targetSlot":"production"}`},
		{sitePath + "/slotsswap", `{"targetSlot":"staging"}`},
	} {
		if s, b := call(principal1, "POST", c.p, c.body); s != http.StatusOK {
			t.Errorf("app contributor POST %s: %d %.300s", c.p, s, b)
		}
	}
}

// TestAttack_LinkedScopeTellsNoExistence: a linked scope the caller has no
// role on answers the same whether its resource exists or not, as ARM
// checks access before anything else: no probing other groups' names.
func TestAttack_LinkedScopeTellsNoExistence(t *testing.T) {
	_, call := scopeEnv(t)
	uai := otherRG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
	if s, b := call("", "PUT", uai+"exists", `{"location":"westeurope"}`); s >= 300 {
		t.Fatalf("seed identity: %d %s", s, b)
	}
	as := "/subscriptions/{s}/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/probe"
	for _, name := range []string{"exists", "missing"} {
		body := `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"` + uai + name + `":{}}},"properties":{}}`
		if s, b := call(principal1, "PATCH", sitePath, body); s != http.StatusForbidden || !strings.Contains(b, "LinkedAuthorizationFailed") {
			t.Errorf("attaching other's %s identity: %d %.300s; want 403 LinkedAuthorizationFailed", name, s, b)
		}
		plan := otherWeb + "/serverfarms/" + map[string]string{"exists": "big", "missing": "nope"}[name]
		if s, b := call(principal1, "PUT", as, autoscaleFor(plan, "1", "1", "2")); s != http.StatusForbidden || !strings.Contains(b, "LinkedAuthorizationFailed") {
			t.Errorf("autoscaling other's %s plan: %d %.300s; want 403 LinkedAuthorizationFailed", name, s, b)
		}
	}
}

// TestAttack_EveryRouteChecksWhatItServes: for every route, the scope
// ARM's authorization checks (rbac.ActionFor on the request path) covers
// every name the route captures — group, app, slot, account, vault, ... —
// so a handler never acts on something its check did not name. Names are
// also tried as words ActionFor gives meaning to ("providers",
// "resourceGroups", "Microsoft.Authorization").
func TestAttack_EveryRouteChecksWhatItServes(t *testing.T) {
	h := New(Config{})
	for _, word := range []string{"", "providers", "resourceGroups", "Microsoft.Authorization", "subscriptions"} {
		for _, rt := range h.routes {
			segs := make([]string, len(rt.pattern))
			var captured []int
			for i, p := range rt.pattern {
				segs[i] = p
				// A resource provider's namespace is named by the operation
				// (Microsoft.Web/register/action over the subscription), not
				// by the scope.
				if strings.HasPrefix(p, "{") && p != "{ns}" {
					segs[i] = "n" + strconv.Itoa(i)
					if word != "" {
						segs[i] = word
					}
					captured = append(captured, i)
				}
			}
			if len(captured) == 0 {
				continue
			}
			path := "/" + strings.Join(segs, "/")
			_, scope := rbac.ActionFor(rt.method, path)
			got := strings.Split(strings.TrimPrefix(scope, "/"), "/")
			for _, i := range captured {
				if i >= len(got) || got[i] != segs[i] {
					t.Errorf("%s %s: checked over %s, which does not name %q (segment %d)", rt.method, path, scope, segs[i], i)
					break
				}
			}
		}
	}
}

// TestAttack_RecoverPreviousTenantsVault: deleting a group soft-deletes
// its vaults, recoverable "into a group of that name". A group created
// later under that name is another group — the operator's next tenant's —
// and its Contributor must not recover the old vault with its secrets.
// Recovering into the vault's own, still existing group is unchanged.
func TestAttack_RecoverPreviousTenantsVault(t *testing.T) {
	e, call := scopeEnv(t)
	vaults := rgPath + "/providers/Microsoft.KeyVault/vaults/"
	create := `{"location":"westeurope","properties":{"tenantId":"` + e.tenant + `","sku":{"family":"A","name":"standard"},"accessPolicies":[]}}`
	recover := `{"location":"westeurope","properties":{"tenantId":"` + e.tenant + `","sku":{"family":"A","name":"standard"},"createMode":"recover"}}`
	for _, v := range []string{"oldsecrets", "mine"} {
		if s, b := call(principal1, "PUT", vaults+v, create); s >= 300 {
			t.Fatalf("create vault %s: %d %s", v, s, b)
		}
	}
	// The group's own Contributor deletes and recovers a vault of it.
	if s, b := call(principal1, "DELETE", vaults+"mine", ""); s >= 300 {
		t.Fatalf("delete vault: %d %s", s, b)
	}
	if s, b := call(principal1, "PUT", vaults+"mine", recover); s != http.StatusOK {
		t.Fatalf("the group's contributor recovers its vault: %d %s", s, b)
	}
	// The group goes; a new one of that name is made for someone else.
	if s, b := call("", "DELETE", rgPath, ""); s != http.StatusOK {
		t.Fatalf("delete rg: %d %s", s, b)
	}
	if s, b := call("", "PUT", rgPath, `{"location":"westeurope"}`); s != http.StatusCreated {
		t.Fatalf("recreate rg: %d %s", s, b)
	}
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName5, raBody("{s}", contributorID, principal3)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if s, b := call(principal3, "PUT", vaults+"oldsecrets", recover); s != http.StatusForbidden || !strings.Contains(b, "LinkedAuthorizationFailed") {
		t.Errorf("the new group's contributor recovers the old group's vault: %d %.300s; want 403 LinkedAuthorizationFailed", s, b)
	}
	// The operator still can.
	if s, b := call("", "PUT", vaults+"oldsecrets", recover); s != http.StatusOK {
		t.Errorf("the operator recovers it: %d %.300s", s, b)
	}
}

// TestAttack_AppRoleMovesToAnotherPlan: a role on one app is no role on
// the group's other plans. Moving the app onto one (serverFarmId) uses
// that plan's workers — another team's premium plan — so, as on Azure,
// the caller needs Microsoft.Web/serverFarms/join/action on the plan (a
// linked scope; Website Contributor and Contributor of the group hold it).
func TestAttack_AppRoleMovesToAnotherPlan(t *testing.T) {
	_, call := scopeEnv(t)
	if s, b := call("", "PUT", sitePath+"/providers/Microsoft.Authorization/roleAssignments/"+raName3, raBody("{s}", contributorID, principal3)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	std := webPath + "/serverfarms/std"
	if s, b := call(principal3, "PATCH", sitePath, `{"properties":{"serverFarmId":"`+std+`"}}`); s != http.StatusForbidden || !strings.Contains(b, "LinkedAuthorizationFailed") || !strings.Contains(b, "Microsoft.Web/serverFarms/join/action") {
		t.Errorf("the app's contributor moves it to the group's plan std: %d %.300s; want 403 LinkedAuthorizationFailed", s, b)
	}
	// Naming the plan it is on changes nothing and is allowed (az sends it back).
	if s, b := call(principal3, "PATCH", sitePath, `{"properties":{"serverFarmId":"`+planPath+`","httpsOnly":true}}`); s != http.StatusOK {
		t.Errorf("the app's contributor sends its own plan back: %d %.300s", s, b)
	}
	if s, b := call(principal1, "PATCH", sitePath, `{"properties":{"serverFarmId":"`+std+`"}}`); s != http.StatusOK {
		t.Errorf("the group's contributor moves the app: %d %.300s", s, b)
	}
}

// TestAttack_AppRoleDeletesThePlan: deleting an app deletes its plan when
// the app was the plan's last — but not for a caller whose role is on the
// app alone: the plan (its size, its autoscale setting) is not theirs.
func TestAttack_AppRoleDeletesThePlan(t *testing.T) {
	_, call := scopeEnv(t)
	if s, b := call("", "PUT", sitePath+"/providers/Microsoft.Authorization/roleAssignments/"+raName3, raBody("{s}", contributorID, principal3)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	if s, b := call(principal3, "DELETE", sitePath, ""); s != http.StatusOK {
		t.Fatalf("the app's contributor deletes it: %d %.300s", s, b)
	}
	if s, b := call("", "GET", planPath, ""); s != http.StatusOK {
		t.Errorf("the plan after its last app was deleted by the app's contributor: %d %.300s; want it kept", s, b)
	}
	// The group's Contributor deleting the last app takes the plan along.
	if s, b := call("", "PUT", webPath+"/sites/app2", `{"location":"westeurope","properties":{"serverFarmId":"`+planPath+`"}}`); s != http.StatusOK {
		t.Fatalf("app2: %d %s", s, b)
	}
	if s, b := call(principal1, "DELETE", webPath+"/sites/app2", ""); s != http.StatusOK {
		t.Fatalf("delete app2: %d %s", s, b)
	}
	if s, b := call("", "GET", planPath, ""); s != http.StatusNotFound {
		t.Errorf("the plan after its last app was deleted by the group's contributor: %d %.200s; want 404", s, b)
	}
}

// TestAttack_RecreatedGroupInheritsVerificationID: a group's
// customDomainVerificationId must not pass to a group created later under
// its name (the operator's next tenant). The old tenant's asuid TXT records
// stay published for its domains; with the same ID, the new tenant binds
// those domains (and, with the old A or CNAME records still pointing at the
// platform, serves them).
func TestAttack_RecreatedGroupInheritsVerificationID(t *testing.T) {
	e, dns, oldID := newDomainEnv(t)
	if again := siteVerificationID(t, e, sitePath); again != oldID {
		t.Fatalf("the ID changed between reads: %s, %s", oldID, again)
	}
	dns.SetTXT("asuid.www.old.example", oldID)
	dns.SetA("www.old.example", "127.0.0.1")
	e.must(200, "DELETE", rgPath, "")
	e.seed() // the same names, someone else's
	if newID := siteVerificationID(t, e, sitePath); newID == oldID {
		t.Errorf("a group recreated under the old name shows the old group's customDomainVerificationId")
	}
	if r := e.do("PUT", bindingsPath+"/www.old.example", `{"properties":{"siteName":"app"}}`); r.status == http.StatusOK {
		t.Errorf("the new group bound www.old.example with the old group's TXT record")
	}
}

// TestAttack_ListsShowOnlyWhatTheCallerMayRead: a list of the
// subscription's (or a group's) resources is answered, as ARM answers it,
// with what the caller may read — so that a pipeline's service principal
// with a role on one group runs az webapp list, az group list or az webapp
// up — and never with another group's items; a caller with no role under
// the list's scope still gets 403, and the admin token sees everything.
func TestAttack_ListsShowOnlyWhatTheCallerMayRead(t *testing.T) {
	_, call := scopeEnv(t)
	const (
		principal4 = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e62" // Reader of the site app only
		raName7    = "9b1f4a1e-6c1d-4f7a-8d3e-2a4b6c8d0e25"
	)
	if s, b := call("", "PUT", sitePath+"/providers/Microsoft.Authorization/roleAssignments/"+raName7, raBody("{s}", readerID, principal4)); s != http.StatusCreated {
		t.Fatalf("assign: %d %.300s", s, b)
	}
	names := func(body string) []string {
		var l struct {
			Value []struct{ Name string } `json:"value"`
		}
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatalf("list body: %v: %.300s", err, body)
		}
		var out []string
		for _, v := range l.Value {
			out = append(out, v.Name)
		}
		slices.Sort(out)
		return out
	}
	sub := "/subscriptions/{s}"
	for _, c := range []struct {
		who, path string
		want      []string // nil: 403
	}{
		{principal1, sub + "/providers/Microsoft.Web/sites", []string{"app"}},
		{principal1, sub + "/providers/Microsoft.Web/serverfarms", []string{"plan", "std"}},
		{principal1, sub + "/resourcegroups", []string{"rg"}},
		{principal1, sub + "/providers/Microsoft.Storage/storageAccounts", nil_()},
		{principal1, sub + "/resources", []string{"app", "plan", "std"}},
		{principal2, sub + "/providers/Microsoft.Web/sites", []string{"app"}},
		{principal4, sub + "/providers/Microsoft.Web/sites", []string{"app"}},
		{principal4, webPath + "/sites", []string{"app"}},
		{principal4, webPath + "/serverfarms", nil_()},
		{principal4, sub + "/resourcegroups", nil_()},
		{principal4, rgPath + "/resources", []string{"app"}},
		{principal3, sub + "/providers/Microsoft.Web/sites", nil},
		{principal3, sub + "/resourcegroups", nil},
		{principal3, webPath + "/sites", nil},
		{"", sub + "/providers/Microsoft.Web/sites", []string{"app", "victim"}},
		{"", sub + "/resourcegroups", []string{"other", "rg"}},
	} {
		s, b := call(c.who, "GET", c.path, "")
		if c.want == nil {
			wantDenied(t, c.who+" GET "+c.path, s, b)
			continue
		}
		if s != http.StatusOK {
			t.Errorf("%s GET %s: %d %.300s", c.who, c.path, s, b)
			continue
		}
		if got := names(b); !slices.Equal(got, c.want) {
			t.Errorf("%s GET %s lists %q, want %q", c.who, c.path, got, c.want)
		}
	}
}

// nil_ is an empty list (not a 403).
func nil_() []string { return []string{} }

// TestAttack_OtherSitesSystemAssignedIdentity: a site's system-assigned
// identity read by its scope is read like the site: a Contributor of rg
// gets its own app's, and 403 for other's.
func TestAttack_OtherSitesSystemAssignedIdentity(t *testing.T) {
	_, call := scopeEnv(t)
	const mi = "/providers/Microsoft.ManagedIdentity/identities/default"
	for _, site := range []string{sitePath, otherSite} {
		if s, b := call("", "PATCH", site, `{"identity":{"type":"SystemAssigned"}}`); s != http.StatusOK {
			t.Fatalf("assign identity to %s: %d %s", site, s, b)
		}
	}
	if s, b := call(principal1, "GET", sitePath+mi, ""); s != http.StatusOK || !strings.Contains(b, `"principalId"`) {
		t.Errorf("own app's identity: %d %.300s", s, b)
	}
	s, b := call(principal1, "GET", otherSite+mi, "")
	wantDenied(t, "other's identity", s, b)
}

// TestAttack_SiteOnAnotherGroupsPlan: a site may run on a plan of another
// group (App Service allows it), which puts it on that group's workers. A
// Contributor of rg must not create one on other's plan without
// Microsoft.Web/serverFarms/join/action there, and the plan's list of
// sites must not show other's Reader the sites of groups it cannot read.
func TestAttack_SiteOnAnotherGroupsPlan(t *testing.T) {
	_, call := scopeEnv(t)
	for _, id := range []string{otherPlan, strings.ToLower(otherPlan), strings.Replace(otherPlan, "/resourceGroups/other/", "/resourceGroups/OTHER/", 1)} {
		if s, b := call(principal1, "PUT", webPath+"/sites/squatter", `{"location":"westeurope","properties":{"serverFarmId":"`+id+`"}}`); s != http.StatusForbidden || !strings.Contains(b, "LinkedAuthorizationFailed") || !strings.Contains(b, "Microsoft.Web/serverFarms/join/action") {
			t.Errorf("contributor of rg puts a site on other's plan %s: %d %.300s; want 403 LinkedAuthorizationFailed", id, s, b)
		}
	}
	// Nor moves its own app there (refused for the group as well).
	if s, b := call(principal1, "PATCH", sitePath, `{"properties":{"serverFarmId":"`+otherPlan+`"}}`); s != http.StatusForbidden {
		t.Errorf("contributor of rg moves its app to other's plan: %d %.300s; want 403", s, b)
	}
	// The operator puts an app of rg on other's plan; other's Reader lists
	// the plan's sites and sees its own group's only.
	if s, b := call("", "PUT", webPath+"/sites/tenantapp", `{"location":"westeurope","properties":{"serverFarmId":"`+otherPlan+`"}}`); s != http.StatusOK {
		t.Fatalf("operator: %d %s", s, b)
	}
	if s, b := call("", "PUT", otherRG+"/providers/Microsoft.Authorization/roleAssignments/"+raName4, raBody("{s}", readerID, principal3)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	s, b := call(principal3, "GET", otherPlan+"/sites", "")
	if s != http.StatusOK || !strings.Contains(b, `"victim"`) || strings.Contains(b, "tenantapp") {
		t.Errorf("other's reader lists its plan's sites: %d %.400s; want victim and not rg's tenantapp", s, b)
	}
	// The operator sees both.
	if s, b := call("", "GET", otherPlan+"/sites", ""); s != http.StatusOK || !strings.Contains(b, "tenantapp") || !strings.Contains(b, `"victim"`) {
		t.Errorf("operator lists the plan's sites: %d %.400s", s, b)
	}
}
