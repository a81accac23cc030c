package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestManagedIdentity: apps read a Key Vault secret and a blob with their
// managed identity and no key, through the real SDKs inside their instances —
// Python's azure-identity (ManagedIdentityCredential, DefaultAzureCredential)
// with azure-keyvault-secrets and azure-storage-blob, and Go's azidentity
// with azsecrets — as on
// App Service (docs/appservice.md §8); roles decide, and an instance's
// IDENTITY_HEADER works nowhere but in that instance.
func TestManagedIdentity(t *testing.T) {
	needSandbox(t, "instances need networks of their own:")
	// The Go SDK's check, shipped in the app and run in its instance.
	goCheck := filepath.Join(t.TempDir(), "msicheck")
	build := exec.Command("go", "build", "-o", goCheck, "./testdata/msicheck")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/msicheck: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(goCheck)
	if err != nil {
		t.Fatal(err)
	}

	s := startServer(t)
	const vault, secretValue = "msivault1", "hello-from-key-vault"
	vaultURL := "https://" + vault + ".vault.azure.net"
	s.mustCLI("", "group", "create", "-n", "rg-kv", "-l", "westeurope")
	var kv struct{ ID string }
	if err := json.Unmarshal([]byte(s.mustCLI("", "keyvault", "create", "-g", "rg-kv", "-n", vault)), &kv); err != nil || kv.ID == "" {
		t.Fatalf("keyvault create: %v", err)
	}
	s.mustCLI("", "keyvault", "secret", "set", "--vault-name", vault, "-n", "greeting", "--value", secretValue)
	grant := func(principal string) {
		t.Helper()
		s.mustCLI("", "role", "assignment", "create", "--role", "Key Vault Secrets User", "--assignee-object-id", principal,
			"--assignee-principal-type", "ServicePrincipal", "--scope", kv.ID)
	}
	identity := func(out string) (m struct {
		PrincipalID            string                                            `json:"principalId"`
		Type                   string                                            `json:"type"`
		UserAssignedIdentities map[string]struct{ ClientID, PrincipalID string } `json:"userAssignedIdentities"`
	}) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("identity output %q: %v", out, err)
		}
		return m
	}

	// alpha: a system-assigned identity with the role. beta: its own
	// system-assigned identity without a role, and a user-assigned one with
	// the role.
	s.createApp("alpha", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	s.createApp("beta", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	alpha := identity(s.mustCLI("", "webapp", "identity", "assign", "-g", "rg-alpha", "-n", "alpha"))
	if alpha.Type != "SystemAssigned" || len(alpha.PrincipalID) != 36 {
		t.Fatalf("webapp identity assign = %+v", alpha)
	}
	grant(alpha.PrincipalID)
	var uai struct{ ID, ClientID, PrincipalID string }
	if err := json.Unmarshal([]byte(s.mustCLI("", "identity", "create", "-g", "rg-beta", "-n", "shared-id")), &uai); err != nil || uai.ClientID == "" {
		t.Fatalf("identity create: %v", err)
	}
	grant(uai.PrincipalID)
	beta := identity(s.mustCLI("", "webapp", "identity", "assign", "-g", "rg-beta", "-n", "beta", "--identities", "[system]", uai.ID))
	if beta.Type != "SystemAssigned, UserAssigned" || beta.UserAssignedIdentities[uai.ID].ClientID != uai.ClientID {
		t.Fatalf("webapp identity assign --identities = %+v", beta)
	}
	if shown := identity(s.mustCLI("", "webapp", "identity", "show", "-g", "rg-beta", "-n", "beta")); shown.PrincipalID != beta.PrincipalID {
		t.Fatalf("webapp identity show = %+v", shown)
	}

	// A storage account with a blob, uploaded with the account's key; the
	// apps read it with their identities and no key. It exists before the
	// apps start, so its Azure name resolves in their instances.
	const account, blobText = "msiblob1", "hello-from-blob-storage"
	var sa struct{ ID string }
	if err := json.Unmarshal([]byte(s.mustCLI("", "storage", "account", "create", "-g", "rg-alpha", "-n", account)), &sa); err != nil || sa.ID == "" {
		t.Fatalf("storage account create: %v", err)
	}
	s.mustCLI("", "storage", "container", "create", "--account-name", account, "-n", "docs")
	blobFile := filepath.Join(t.TempDir(), "greeting.txt")
	if err := os.WriteFile(blobFile, []byte(blobText), 0o644); err != nil {
		t.Fatal(err)
	}
	s.mustCLI("", "storage", "blob", "upload", "--account-name", account, "-c", "docs", "-f", blobFile, "-n", "greeting.txt")

	z := zipDir(t, "testdata/apps/msi", map[string]string{"msicheck": string(bin)})
	for _, name := range []string{"alpha", "beta"} {
		user, pass := s.credentials(name)
		scm := "http://" + strings.Replace(s.host(name), ".localhost", ".scm.localhost", 1)
		if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", scm+"/api/zipdeploy"); err != nil || out != "200" {
			t.Fatalf("deploy %s: %q %v", name, out, err)
		}
	}
	call := func(app, path string, q url.Values) string {
		t.Helper()
		code, body := s.get(s.host(app), path+"?"+q.Encode())
		if code != 200 {
			t.Fatalf("%s%s: %d %s", app, path, code, body)
		}
		return body
	}
	read := func(app, cred, clientID string) string {
		t.Helper()
		return call(app, "/secret", url.Values{"vault": {vaultURL}, "name": {"greeting"}, "cred": {cred}, "client_id": {clientID}})
	}

	for _, cred := range []string{"mi", "default"} {
		if got := read("alpha", cred, ""); got != secretValue {
			t.Errorf("alpha, %s credential: %q; want the secret", cred, got)
		}
		// The user-assigned identity, picked by its client id.
		if got := read("beta", cred, uai.ClientID); got != secretValue {
			t.Errorf("beta, %s credential with the user-assigned identity: %q; want the secret", cred, got)
		}
	}
	// Without a role: Forbidden.
	if got := read("beta", "mi", ""); !strings.HasPrefix(got, "FORBIDDEN") {
		t.Errorf("beta's system-assigned identity has no role but got: %q", got)
	}
	// The Go SDK in an instance.
	if got := call("alpha", "/go", url.Values{"vault": {vaultURL}, "name": {"greeting"}}); got != secretValue {
		t.Errorf("azidentity + azsecrets in alpha: %q", got)
	}
	if got := call("beta", "/go", url.Values{"vault": {vaultURL}, "name": {"greeting"}, "client_id": {uai.ClientID}}); got != secretValue {
		t.Errorf("azidentity + azsecrets in beta with the user-assigned identity: %q", got)
	}

	// azure-storage-blob with the same credential: refused without a data
	// role on the account (a management role is not one), served with
	// Storage Blob Data Reader.
	readBlob := func(app string) string {
		t.Helper()
		return call(app, "/blob", url.Values{"account_url": {"https://" + account + ".blob.core.windows.net"},
			"container": {"docs"}, "name": {"greeting.txt"}})
	}
	if got := readBlob("alpha"); !strings.HasPrefix(got, "ERROR 403 AuthorizationPermissionMismatch") {
		t.Errorf("alpha read the blob without a data role: %q; want ERROR 403 AuthorizationPermissionMismatch", got)
	}
	s.mustCLI("", "role", "assignment", "create", "--role", "Storage Blob Data Reader", "--assignee-object-id", alpha.PrincipalID,
		"--assignee-principal-type", "ServicePrincipal", "--scope", sa.ID)
	if got := readBlob("alpha"); got != blobText {
		t.Errorf("alpha with Storage Blob Data Reader: %q; want the blob", got)
	}
	if got := readBlob("beta"); !strings.HasPrefix(got, "ERROR 403 AuthorizationPermissionMismatch") {
		t.Errorf("beta read alpha's blob: %q; want ERROR 403 AuthorizationPermissionMismatch", got)
	}

	// alpha's IDENTITY_HEADER is refused from beta's instance and from the host.
	alphaHeader := call("alpha", "/env", url.Values{"name": {"IDENTITY_HEADER"}})
	endpoint := call("alpha", "/env", url.Values{"name": {"IDENTITY_ENDPOINT"}})
	if len(alphaHeader) != 36 || endpoint != "http://169.254.0.1:"+strconv.Itoa(s.info.HTTPPort)+"/msi/token" {
		t.Fatalf("alpha's IDENTITY_HEADER %q, IDENTITY_ENDPOINT %q", alphaHeader, endpoint)
	}
	betaHeader := call("beta", "/env", url.Values{"name": {"IDENTITY_HEADER"}})
	if got := call("beta", "/token", url.Values{"header": {betaHeader}}); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("beta's own header from beta: %q", got)
	}
	if got := call("beta", "/token", url.Values{"header": {alphaHeader}}); !strings.HasPrefix(got, "401 ") {
		t.Errorf("alpha's header from beta's instance: %q; want 401", got)
	}
	for _, u := range []string{endpoint, s.info.URL + "/msi/token"} {
		req, _ := http.NewRequest("GET", u+"?api-version=2019-08-01&resource=https://vault.azure.net", nil)
		req.Header.Set("X-IDENTITY-HEADER", alphaHeader)
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Fatalf("GET %s from the host: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("alpha's header worked from the host at %s", u)
		}
	}

	// The management API with alpha's token: over HTTPS, as azure-core
	// sends it; over plain HTTP from the instance (another machine, on the
	// gateway) refused before the token is looked at (docs/https.md).
	if got := call("alpha", "/mgmt", url.Values{"scheme": {"https"}}); !strings.HasPrefix(got, "200 ") {
		t.Errorf("alpha's management call over HTTPS: %q; want 200", got)
	}
	if got := call("alpha", "/mgmt", url.Values{"scheme": {"http"}}); !strings.HasPrefix(got, "400 ") || !strings.Contains(got, "https://management.azure.com") {
		t.Errorf("alpha's management call over plain HTTP: %q; want 400 naming https://management.azure.com", got)
	}

	// Removing the identity takes effect at once, in the running instance.
	s.mustCLI("", "webapp", "identity", "remove", "-g", "rg-alpha", "-n", "alpha")
	if got := read("alpha", "mi", ""); got == secretValue || !strings.HasPrefix(got, "ERROR") {
		t.Errorf("alpha read the secret after its identity was removed: %q", got)
	}
	if out := s.mustCLI("", "webapp", "identity", "show", "-g", "rg-alpha", "-n", "alpha"); strings.TrimSpace(out) != "" {
		t.Errorf("webapp identity show after remove: %q", out)
	}
	// Deleting the user-assigned identity detaches it from beta.
	s.mustCLI("", "identity", "delete", "-g", "rg-beta", "-n", "shared-id")
	if got := read("beta", "mi", uai.ClientID); got == secretValue {
		t.Errorf("beta read the secret with a deleted identity")
	}
}
