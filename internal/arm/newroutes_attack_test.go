package arm

import (
	"net/http"
	"strings"
	"testing"
)

// Attacks on the routes added for the Azure SDKs (a site's identity by
// scope, a plan's apps, a site's configurations, authsettingsV2, PATCH of
// a plan, a vault's secrets on the management plane, containers' PATCH and
// DELETE, the blob service's properties). None found a hole; they pin that each is checked like its
// neighbours: nothing of another group is reached, however the path is
// spelled, and no list shows a value that only a list action may read.

// TestAttack_NewRoutesAcrossGroups: a Contributor and an Owner of rg reach
// nothing of the group "other" through the new routes, in any spelling.
func TestAttack_NewRoutesAcrossGroups(t *testing.T) {
	e, call := scopeEnv(t)
	otherVault := otherRG + "/providers/Microsoft.KeyVault/vaults/victimkv"
	if s, b := call("", "PUT", otherVault, vaultBodyAz(e.tenant)); s >= 300 {
		t.Fatalf("seed the victim's vault: %d %s", s, b)
	}
	if s, b := call("", "PUT", otherVault+"/secrets/db", `{"properties":{"value":"victim-secret-value"}}`); s >= 300 {
		t.Fatalf("seed the victim's secret: %d %s", s, b)
	}
	if s, b := call("", "PATCH", otherSite, `{"identity":{"type":"SystemAssigned"}}`); s != http.StatusOK {
		t.Fatalf("the victim's identity: %d %s", s, b)
	}
	container := otherRG + "/providers/Microsoft.Storage/storageAccounts/victimstore/blobServices/default/containers/media"
	cases := []struct{ method, p, body string }{
		{"GET", otherSite + "/providers/Microsoft.ManagedIdentity/identities/default", ""},
		{"GET", otherPlan + "/sites", ""},
		{"PATCH", otherPlan, `{"sku":{"name":"F1"}}`},
		{"GET", otherSite + "/config", ""},
		{"GET", otherSite + "/config/authsettingsV2", ""},
		{"GET", otherSite + "/config/authsettingsV2/list", ""},
		{"PUT", otherSite + "/config/authsettingsV2", `{"properties":{"platform":{"enabled":false}}}`},
		{"GET", otherVault + "/secrets", ""},
		{"PATCH", container, `{"properties":{"publicAccess":"Container"}}`},
		{"DELETE", container, ""},
		// The blob service's properties (blobservices.go).
		{"GET", otherRG + "/providers/Microsoft.Storage/storageAccounts/victimstore/blobServices", ""},
		{"GET", otherRG + "/providers/Microsoft.Storage/storageAccounts/victimstore/blobServices/default", ""},
		{"PUT", otherRG + "/providers/Microsoft.Storage/storageAccounts/victimstore/blobServices/default", `{"properties":{"cors":{"corsRules":[]}}}`},
		{"PATCH", otherRG + "/providers/Microsoft.Storage/storageAccounts/victimstore/blobServices/default", `{"properties":{"deleteRetentionPolicy":{"enabled":false}}}`},
	}
	spell := []func(string) string{
		func(p string) string { return p },
		strings.ToLower,
		strings.ToUpper,
		func(p string) string { return strings.ReplaceAll(p, "/", "//") + "/" },
	}
	for _, who := range []string{principal1, principal2, principal3} {
		for _, c := range cases {
			for _, sp := range spell {
				p := sp(c.p)
				p = strings.ReplaceAll(p, "{S}", "{s}")
				s, b := call(who, c.method, p, c.body)
				if strings.Contains(b, "victim-secret-value") {
					t.Errorf("%s %s %s: the victim's secret value in the answer", who, c.method, p)
				}
				wantDenied(t, who+" "+c.method+" "+p, s, b)
			}
		}
	}
	// What the routes act on is as it was.
	if s, b := call("", "GET", otherPlan, ""); s != http.StatusOK || !strings.Contains(b, `"S1"`) {
		t.Errorf("the victim's plan after the attempts: %d %.300s", s, b)
	}
}

// TestAttack_NewListsHoldNoSecrets: a Reader of rg may read the app's
// configurations, the plan's apps, authsettingsV2 and the vault's secret
// list, and finds in none an app setting's or a connection string's value,
// the publishing password or a secret's value: those stay behind
// Microsoft.Web/sites/config/list/action and the Key Vault data plane, as
// on Azure (GET sites/{app}/config carries appSettings and
// connectionStrings null; Secrets - List carries no value).
func TestAttack_NewListsHoldNoSecrets(t *testing.T) {
	e, call := scopeEnv(t)
	const (
		settingValue = "setting-value-0e5b"
		connValue    = "conn-value-7c1d"
		secretValue  = "secret-value-93fa"
	)
	vault := "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kvread"
	for _, c := range []struct{ method, p, body string }{
		{"PUT", sitePath + "/config/appsettings", `{"properties":{"DJANGO_SECRET_KEY":"` + settingValue + `"}}`},
		{"PUT", sitePath + "/config/connectionstrings", `{"properties":{"DB":{"value":"` + connValue + `","type":"PostgreSQL"}}}`},
		{"PUT", vault, vaultBodyAz(e.tenant)},
		{"PUT", vault + "/secrets/db", `{"properties":{"value":"` + secretValue + `"}}`},
		{"PUT", rgPath + "/providers/Microsoft.Authorization/roleAssignments/" + raName3, raBody("{s}", readerID, principal3)},
	} {
		if s, b := call("", c.method, c.p, c.body); s >= 300 {
			t.Fatalf("seed %s: %d %s", c.p, s, b)
		}
	}
	_, pw := call("", "POST", sitePath+"/config/publishingcredentials/list", "")
	password := between(pw, `"publishingPassword":"`, `"`)
	if password == "" {
		t.Fatalf("no publishing password in %s", pw)
	}
	for _, p := range []string{
		sitePath + "/config",
		planPath + "/sites",
		sitePath + "/config/authsettingsV2",
		sitePath + "/config/authsettingsV2/list",
		sitePath + "/providers/Microsoft.ManagedIdentity/identities/default",
		vault + "/secrets",
		vault + "/secrets/db",
	} {
		s, b := call(principal3, "GET", p, "")
		if want := strings.HasSuffix(p, "/default"); s != http.StatusOK && !(want && s == http.StatusNotFound) {
			t.Errorf("Reader GET %s: %d %.300s", p, s, b)
		}
		if strings.HasSuffix(p, "/secrets") && !strings.Contains(b, `"name":"db"`) {
			t.Errorf("Reader lists the vault's secrets: %.300s", b)
		}
		for _, v := range []string{settingValue, connValue, secretValue, password} {
			if strings.Contains(b, v) {
				t.Errorf("Reader GET %s shows a secret (%q): %.400s", p, v, b)
			}
		}
	}
	// The values themselves stay behind the list actions a Reader lacks.
	for _, p := range []string{sitePath + "/config/appsettings/list", sitePath + "/config/connectionstrings/list", sitePath + "/config/publishingcredentials/list"} {
		s, b := call(principal3, "POST", p, "")
		wantDenied(t, "Reader POST "+p, s, b)
	}
}

// TestAttack_PlanSitesNeedThePlan: a principal with a role on one app only
// lists neither its plan's apps nor changes the plan; its own app's
// configurations it reads.
func TestAttack_PlanSitesNeedThePlan(t *testing.T) {
	_, call := scopeEnv(t)
	if s, b := call("", "PUT", sitePath+"/providers/Microsoft.Authorization/roleAssignments/"+raName3, raBody("{s}", contributorID, principal3)); s != http.StatusCreated {
		t.Fatalf("assign: %d %s", s, b)
	}
	s, b := call(principal3, "GET", planPath+"/sites", "")
	wantDenied(t, "an app's contributor lists its plan's apps", s, b)
	s, b = call(principal3, "PATCH", planPath, `{"sku":{"name":"P1V3"}}`)
	wantDenied(t, "an app's contributor scales its plan", s, b)
	if s, b := call(principal3, "GET", sitePath+"/config", ""); s != http.StatusOK {
		t.Errorf("the app's contributor lists its configurations: %d %.300s", s, b)
	}
	// The app's scope is no prefix of a longer name's.
	s, b = call(principal3, "GET", sitePath+"x/config", "")
	wantDenied(t, "an app's contributor reads appx", s, b)
}

// between returns the text of s after the first open and before the next
// end ("" when there is none).
func between(s, open, end string) string {
	_, rest, ok := strings.Cut(s, open)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

// TestAttack_BlobServiceReaderCannotWrite: a Reader of rg reads its
// account's blob service but cannot change it
// (Microsoft.Storage/storageAccounts/blobServices/write).
func TestAttack_BlobServiceReaderCannotWrite(t *testing.T) {
	_, call := scopeEnv(t)
	for _, c := range []struct{ method, p, body string }{
		{"PUT", stgPath + "/mine1", `{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`},
		{"PUT", rgPath + "/providers/Microsoft.Authorization/roleAssignments/" + raName3, raBody("{s}", readerID, principal3)},
	} {
		if s, b := call("", c.method, c.p, c.body); s >= 300 {
			t.Fatalf("seed %s: %d %s", c.p, s, b)
		}
	}
	svc := stgPath + "/mine1/blobServices/default"
	if s, b := call(principal3, "GET", svc, ""); s == http.StatusForbidden {
		t.Errorf("Reader GET: %d %.300s", s, b)
	}
	for _, m := range []string{"PUT", "PATCH"} {
		s, b := call(principal3, m, svc, `{"properties":{"deleteRetentionPolicy":{"enabled":true,"days":1}}}`)
		wantDenied(t, "Reader "+m+" "+svc, s, b)
	}
}
