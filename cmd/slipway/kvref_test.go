package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kvProbeApp serves one environment variable's value (/v?name=X) and what
// the build saw (/build: the SHA-256 of DB_PASSWORD in the build), and
// prints DB_PASSWORD at start, as careless apps do: the log must mask it.
const kvProbeApp = `import hashlib, os
from urllib.parse import parse_qs
print("app sees DB_PASSWORD=" + os.environ.get("DB_PASSWORD", ""), flush=True)
VERSION = open(os.path.join(os.path.dirname(__file__), "VERSION")).read().strip()

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/v":
        name = parse_qs(environ.get("QUERY_STRING", "")).get("name", [""])[0]
        body = os.environ.get(name, "<unset>")
    elif path == "/build":
        body = open(os.path.join(os.path.dirname(__file__), "build_env.txt")).read()
    else:
        body = "hello " + VERSION
    body = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`

// The build hashes the value it sees and prints it (to be masked).
const kvPreBuild = `python -c "import os,hashlib; open('build_env.txt','w').write(hashlib.sha256(os.environ['DB_PASSWORD'].encode()).hexdigest())" && echo "build sees $DB_PASSWORD"`

func randomSecret(t *testing.T, prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// TestKeyVaultReferences: both syntaxes resolve, in app settings and
// connection strings, at run time and in the build; an unresolvable
// reference blocks the new version while the old one serves; the lenient
// setting passes the literal; a rotated secret reaches the app within
// 60 s with no failed request; the values reach no log and no CLI listing
// (docs/appservice.md §7).
func TestKeyVaultReferences(t *testing.T) {
	s := startServer(t, "--keyvault-reference-refresh", "2s")
	const app, vault = "kvapp", "kvrefs1"
	rg := "rg-" + app
	s.createApp(app, "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	user, pass := s.credentials(app)
	scm := "http://" + strings.Replace(s.host(app), ".localhost", ".scm.localhost", 1)
	password, secretKey, rotated := randomSecret(t, "pw-one-"), randomSecret(t, "sk-"), randomSecret(t, "pw-two-")
	secrets := []string{password, secretKey, rotated}

	// References resolve as the app's system-assigned identity.
	var assigned struct {
		PrincipalID string `json:"principalId"`
	}
	if err := json.Unmarshal([]byte(s.mustCLI("", "webapp", "identity", "assign", "-g", rg, "-n", app)), &assigned); err != nil || assigned.PrincipalID == "" {
		t.Fatalf("webapp identity assign: %v", err)
	}
	s.mustCLI("", "keyvault", "create", "-g", rg, "-n", vault, "--enable-rbac-authorization", "false", "--no-self-perms")
	s.mustCLI("", "keyvault", "secret", "set", "--vault-name", vault, "--name", "db-password", "--value", password)
	s.mustCLI("", "keyvault", "secret", "set", "--vault-name", vault, "--name", "secret-key", "--value", secretKey)

	dbRef := "@Microsoft.KeyVault(VaultName=" + vault + ";SecretName=db-password)"
	skRef := "@Microsoft.KeyVault(SecretUri=https://" + vault + ".vault.azure.net/secrets/secret-key/)"
	// Without access the change is stored, the app not restarted, and the
	// CLI says why.
	_, warn, code := s.cli("", "webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings",
		"DB_PASSWORD="+dbRef, "SECRET_KEY="+skRef, "PRE_BUILD_COMMAND="+kvPreBuild)
	if code != 0 || !strings.Contains(warn, "AccessToKeyVaultDenied") {
		t.Fatalf("settings change without access: exit %d, stderr %q", code, warn)
	}
	s.mustCLI("", "webapp", "config", "connection-string", "set", "-g", rg, "-n", app, "-t", "PostgreSQL", "--settings", "default="+dbRef)

	// The status names the identity to grant (identityType.principalId).
	refs := s.kvReferences(app)
	if len(refs) != 2 || refs["DB_PASSWORD"].Status != "AccessToKeyVaultDenied" || refs["DB_PASSWORD"].Identity.PrincipalID == "" {
		t.Fatalf("references before access: %+v", refs)
	}
	oid := refs["DB_PASSWORD"].Identity.PrincipalID
	if oid != assigned.PrincipalID {
		t.Fatalf("references resolve as %s, not the app's system-assigned identity %s", oid, assigned.PrincipalID)
	}
	s.mustCLI("", "keyvault", "set-policy", "-n", vault, "--object-id", oid, "--secret-permissions", "get")
	if refs := s.kvReferences(app); refs["SECRET_KEY"].Status != "Resolved" || refs["SECRET_KEY"].VaultName != vault || refs["SECRET_KEY"].ActiveVersion == "" {
		t.Fatalf("references after access: %+v", refs)
	}

	// Deploy: the build and the instances see the values.
	deploy := func(version string, async bool) map[string]any {
		z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": version, "app.py": kvProbeApp})
		url, want := scm+"/api/zipdeploy", "200"
		if async {
			url, want = url+"?isAsync=true", "202"
		}
		if out, err := s.curl("-X", "POST", "-u", user+":"+pass, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", url); err != nil || out != want {
			t.Fatalf("deploy %s: %q %v", version, out, err)
		}
		return s.waitDeployment(app, user, pass)
	}
	d := deploy("one", false)
	host := s.host(app)
	get := func(path string) string {
		t.Helper()
		code, body := s.get(host, path)
		if code != 200 {
			t.Fatalf("GET %s = %d %q", path, code, body)
		}
		return body
	}
	sum := sha256.Sum256([]byte(password))
	for path, want := range map[string]string{
		"/v?name=DB_PASSWORD": password, "/v?name=SECRET_KEY": secretKey, "/v?name=POSTGRESQLCONNSTR_default": password,
		"/v?name=APPSETTING_SECRET_KEY": secretKey, "/build": hex.EncodeToString(sum[:]),
	} {
		if got := get(path); got != want {
			t.Errorf("GET %s = %q, want the resolved value", path, got)
		}
	}
	deployLog := s.deploymentLog(app, user, pass, d["id"].(string))
	if !strings.Contains(deployLog, "Resolved 3 Key Vault reference(s)") || !strings.Contains(deployLog, "build sees ***") {
		t.Errorf("deployment log does not show the resolution and the masked value:\n%s", deployLog)
	}

	// Kudu sees what the app sees, as App Service's Kudu does
	// (https://github.com/projectkudu/kudu/issues/3034): its settings and
	// a command's environment hold the resolved values.
	var kudu map[string]string
	if out, err := s.curl("-u", user+":"+pass, scm+"/api/settings"); err != nil || json.Unmarshal([]byte(out), &kudu) != nil || kudu["DB_PASSWORD"] != password || kudu["SECRET_KEY"] != secretKey {
		t.Errorf("Kudu's /api/settings does not show the resolved values (%v)", err)
	}
	if out, err := s.curl("-u", user+":"+pass, scm+"/api/settings/SECRET_KEY"); err != nil || out != secretKey {
		t.Errorf("Kudu's /api/settings/SECRET_KEY is not the resolved value (%v)", err)
	}
	var cmd struct{ Output string }
	if out, err := s.curl("-u", user+":"+pass, "-H", "Content-Type: application/json", "-d", `{"command":"printenv DB_PASSWORD"}`, scm+"/api/command"); err != nil ||
		json.Unmarshal([]byte(out), &cmd) != nil || strings.TrimSpace(cmd.Output) != password {
		t.Errorf("a Kudu command does not see the resolved DB_PASSWORD (%v)", err)
	}

	// A missing secret blocks the settings change and the next deployment;
	// version one keeps serving throughout.
	load := s.loadGen("http://"+host+"/", 4, 10*time.Millisecond, nil)
	t.Cleanup(func() { load.end() })
	_, warn, _ = s.cli("", "webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings",
		"MISSING=@Microsoft.KeyVault(VaultName="+vault+";SecretName=does-not-exist)")
	if !strings.Contains(warn, "MISSING: SecretNotFound") {
		t.Errorf("settings change with a missing secret: stderr %q", warn)
	}
	d = deploy("two", true)
	if d["status"] != float64(3) {
		t.Fatalf("deployment with a missing secret: status %v, want 3 (failed)", d["status"])
	}
	if log := s.deploymentLog(app, user, pass, d["id"].(string)); !strings.Contains(log, "app setting MISSING: SecretNotFound") ||
		!strings.Contains(log, "previous version keeps serving") {
		t.Errorf("the blocked deployment's log does not explain:\n%s", log)
	}
	if got := get("/"); got != "hello one" {
		t.Errorf("after the blocked deployment GET / = %q, want version one", got)
	}

	// Lenient: the literal reaches the app, as on App Service.
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "SLIPWAY_LENIENT_KEYVAULT_REFERENCES=true")
	if got := get("/v?name=MISSING"); got != "@Microsoft.KeyVault(VaultName="+vault+";SecretName=does-not-exist)" {
		t.Errorf("lenient: MISSING = %q, want the literal reference", got)
	}
	s.mustCLI("", "webapp", "config", "appsettings", "delete", "-g", rg, "-n", app, "--setting-names", "MISSING", "SLIPWAY_LENIENT_KEYVAULT_REFERENCES")

	// Rotation reaches the app within 60 s, without a failed request.
	s.mustCLI("", "keyvault", "secret", "set", "--vault-name", vault, "--name", "db-password", "--value", rotated)
	began := time.Now()
	for get("/v?name=DB_PASSWORD") != rotated {
		if time.Since(began) > 60*time.Second {
			t.Fatalf("the rotated secret did not reach the app within 60 s")
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("rotation reached the app after %s", time.Since(began).Round(time.Second))
	if total, failed, errs := load.end(); total < 50 {
		t.Errorf("only %d requests were made under load", total)
	} else if failed != 0 {
		t.Errorf("%d of %d requests failed; first: %v", failed, total, errs)
	} else {
		t.Logf("%d requests under load, %d failed", total, failed)
	}

	// The values appear in no listing, no log, no file of the data directory.
	listing := s.mustCLI("", "webapp", "config", "appsettings", "list", "-g", rg, "-n", app) +
		s.mustCLI("", "webapp", "config", "connection-string", "list", "-g", rg, "-n", app)
	if !strings.Contains(listing, dbRef) {
		t.Errorf("appsettings list does not show the reference:\n%s", listing)
	}
	s.get(host, "/") // the app's log has the start lines of every version
	time.Sleep(time.Second)
	everything := listing + s.stderr.String() + deployLog + s.deploymentLog(app, user, pass, d["id"].(string))
	for _, v := range secrets {
		if strings.Contains(everything, v) {
			t.Errorf("a secret value appears in CLI output, the server's log or a deployment log")
		}
	}
	var appLogLines int
	filepath.WalkDir(s.data, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return nil
		}
		// The app's home is walked where it is mounted; its image (a sparse
		// file of gigabytes) and other large files hold no logs.
		if info, err := e.Info(); err != nil || info.Size() > 16<<20 {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		if strings.Contains(path, "LogFiles") && strings.Contains(string(b), "app sees DB_PASSWORD=***") {
			appLogLines++
		}
		for _, v := range secrets {
			if strings.Contains(string(b), v) {
				t.Errorf("a secret value appears in %s", path)
			}
		}
		return nil
	})
	if appLogLines == 0 {
		t.Errorf("no app log file holds the app's masked start line")
	}
}

// kvRef is the part of an ApiKVReferenceResource the test reads.
type kvRef struct {
	Status        string `json:"status"`
	VaultName     string `json:"vaultName"`
	ActiveVersion string `json:"activeVersion"`
	Identity      struct {
		PrincipalID string `json:"principalId"`
	} `json:"identityType"`
}

// kvReferences reads config/configreferences/appsettings through ARM, by name.
func (s *testServer) kvReferences(app string) map[string]kvRef {
	s.t.Helper()
	var site struct{ ID string }
	json.Unmarshal([]byte(s.mustCLI("", "webapp", "show", "-g", "rg-"+app, "-n", app)), &site)
	req, _ := http.NewRequest("GET", s.info.URL+site.ID+"/config/configreferences/appsettings?api-version=2022-03-01", nil)
	req.Header.Set("Authorization", "Bearer "+s.info.AdminToken)
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var list struct {
		Value []struct {
			Name       string `json:"name"`
			Properties kvRef  `json:"properties"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &list); err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("configreferences: %d %s", resp.StatusCode, b)
	}
	out := map[string]kvRef{}
	for _, v := range list.Value {
		out[v.Name] = v.Properties
	}
	return out
}
