package arm

import (
	"net/http"
	"strings"
	"testing"
)

// kvRefParams is a parameters object whose parameter name is a Key Vault
// reference to secret (version: "" is the latest) in the vault at path
// (kvPath + "/<name>").
func kvRefParams(name, vault, secret, version string) string {
	ref := `{"keyVault":{"id":"` + vault + `"},"secretName":"` + secret + `"`
	if version != "" {
		ref += `,"secretVersion":"` + version + `"`
	}
	return `{"` + name + `":{"reference":` + ref + `}}}`
}

// A template that copies a securestring parameter into another vault
// secret, and a string one into an output nobody should need.
const kvRefTemplate = `{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring"}},"resources":[
 {"type":"Microsoft.KeyVault/vaults/secrets","apiVersion":"2023-07-01","name":"kvref1/copied","properties":{"value":"[parameters('pw')]"}}]}`

// newKVRefVault makes the vault kvref1 (template deployments allowed or
// not) with the secret db-password, and returns the first version's id.
func newKVRefVault(t *testing.T, e *env, allowTemplates bool) (vaultID, version string) {
	t.Helper()
	allow := "false"
	if allowTemplates {
		allow = "true"
	}
	e.must(http.StatusOK, "PUT", kvPath+"/kvref1?api-version=2024-11-01", `{"location":"westeurope","properties":{"tenantId":"`+e.tenant+`","sku":{"family":"A","name":"standard"},"enableRbacAuthorization":true,"enabledForTemplateDeployment":`+allow+`}}`)
	e.must(http.StatusCreated, "PUT", kvPath+"/kvref1/secrets/db-password?api-version=2024-11-01", `{"properties":{"value":"first-vault-pw"}}`)
	vs, err := e.store.SecretVersions(t.Context(), "kvref1", "db-password")
	if err != nil || len(vs) != 1 {
		t.Fatalf("versions: %v %v", vs, err)
	}
	e.must(http.StatusOK, "PUT", kvPath+"/kvref1/secrets/db-password?api-version=2024-11-01", `{"properties":{"value":"second-vault-pw"}}`)
	return e.path(kvPath + "/kvref1"), vs[0].Version
}

// TestTemplateDeploymentKeyVaultReference: a deployment's parameter given
// as a Key Vault reference takes the secret's value (the latest, or the
// version named); the value is never in the answer, the stored record or
// an error, and the parameter echoes as its reference. The vault's
// enabledForTemplateDeployment reads back as set.
func TestTemplateDeploymentKeyVaultReference(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	vault, v1 := newKVRefVault(t, e, true)
	if got := e.must(http.StatusOK, "GET", kvPath+"/kvref1?api-version=2024-11-01", "").json(t); got["properties"].(map[string]any)["enabledForTemplateDeployment"] != true {
		t.Fatalf("vault = %v, want enabledForTemplateDeployment true", got)
	}

	body := string(e.deploy(http.StatusCreated, "ref", depBody(kvRefTemplate, kvRefParams("pw", vault, "db-password", ""))).body)
	if s, err := e.store.Secret(t.Context(), "kvref1", "copied", ""); err != nil || s.Value != "second-vault-pw" {
		t.Fatalf("the copied secret: %+v %v; want the latest value", s, err)
	}
	if !strings.Contains(body, `"Succeeded"`) || !strings.Contains(body, `"reference"`) || !strings.Contains(body, `"secretName":"db-password"`) || strings.Contains(body, "vault-pw") {
		t.Fatalf("answer: %s; want Succeeded, the reference echoed and no value", body)
	}
	e.must(http.StatusOK, "PUT", depPath+"/ref", depBody(kvRefTemplate, kvRefParams("pw", vault, "db-password", v1)))
	if s, _ := e.store.Secret(t.Context(), "kvref1", "copied", ""); s.Value != "first-vault-pw" {
		t.Fatalf("with secretVersion: %q, want the first version's value", s.Value)
	}
	d, err := e.store.TemplateDeployment(t.Context(), "rg", "ref")
	if err != nil || strings.Contains(string(d.Document)+string(d.Operations), "vault-pw") {
		t.Fatalf("stored record: %v %s", err, d.Document)
	}

	// A string parameter read from the vault is kept as a secure one: not
	// echoed, and not quoted by the error its value causes.
	tpl := `{"contentVersion":"1.0.0.0","parameters":{"user":{"type":"string","allowedValues":["admin"]}},"resources":[]}`
	r := e.do("PUT", depPath+"/plain", depBody(tpl, kvRefParams("user", vault, "db-password", "")))
	if r.status != http.StatusBadRequest || strings.Contains(string(r.body), "vault-pw") {
		t.Fatalf("a string parameter's allowedValues error: %d %s", r.status, r.body)
	}
	tpl = `{"contentVersion":"1.0.0.0","parameters":{"user":{"type":"string"}},"resources":[]}`
	body = string(e.deploy(http.StatusCreated, "plain", depBody(tpl, kvRefParams("user", vault, "db-password", ""))).body)
	if strings.Contains(body, "vault-pw") || !strings.Contains(body, `"secretName":"db-password"`) {
		t.Fatalf("a string parameter's echo: %s", body)
	}
}

// TestTemplateDeploymentKeyVaultReferenceRefused: a reference ARM cannot
// read fails the PUT with ARM's error naming the parameter and saying
// why, and no deployment is made: a vault that does not let templates
// read it (with the command that does), a secret or version it lacks, a
// disabled secret, a vault that is not there or not in the subscription,
// and a reference without its parts.
func TestTemplateDeploymentKeyVaultReferenceRefused(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	vault, _ := newKVRefVault(t, e, false)
	e.must(http.StatusCreated, "PUT", kvPath+"/kvref1/secrets/off?api-version=2024-11-01", `{"properties":{"value":"disabled-vault-pw","attributes":{"enabled":false}}}`)
	other := strings.Replace(vault, "/subscriptions/", "/subscriptions/0000", 1)
	for _, tc := range []struct {
		name, params, code, msg string
		allow                   bool
	}{
		{"not enabled for templates", kvRefParams("pw", vault, "db-password", ""), "KeyVaultParameterReferenceSecretRetrieveFailed", "--enabled-for-template-deployment true", false},
		{"no such secret", kvRefParams("pw", vault, "nope", ""), "KeyVaultParameterReferenceSecretRetrieveFailed", "'NotFound'", true},
		{"no such version", kvRefParams("pw", vault, "db-password", "0123456789abcdef0123456789abcdef"), "KeyVaultParameterReferenceSecretRetrieveFailed", "'NotFound'", true},
		{"a disabled secret", kvRefParams("pw", vault, "off", ""), "KeyVaultParameterReferenceSecretRetrieveFailed", "disabled secret", true},
		{"no such vault", kvRefParams("pw", strings.Replace(vault, "kvref1", "kvnope", 1), "db-password", ""), "KeyVaultParameterReferenceNotFound", "kvnope", true},
		{"another subscription", kvRefParams("pw", other, "db-password", ""), "KeyVaultParameterReferenceNotFound", "this subscription", true},
		{"no secret name", `{"pw":{"reference":{"keyVault":{"id":"` + vault + `"}}}}`, "InvalidDeploymentParameterValue", "secretName", true},
	} {
		if tc.allow {
			e.must(http.StatusOK, "PATCH", kvPath+"/kvref1?api-version=2024-11-01", `{"properties":{"enabledForTemplateDeployment":true}}`)
		}
		r := e.do("PUT", depPath+"/refused", depBody(kvRefTemplate, tc.params))
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tc.code) || !strings.Contains(string(r.body), tc.msg) ||
			!strings.Contains(string(r.body), "'pw'") || strings.Contains(string(r.body), "vault-pw") {
			t.Errorf("%s: %d %s; want 400 %s naming pw and saying %q", tc.name, r.status, r.body, tc.code, tc.msg)
		}
		e.must(http.StatusNotFound, "GET", depPath+"/refused", "")
	}
	if _, err := e.store.Secret(t.Context(), "kvref1", "copied", ""); err == nil {
		t.Fatal("a refused deployment wrote the secret")
	}
}

// TestAttack_TemplateKeyVaultReferenceNeedsDeployAction: reading a secret
// through a deployment needs Microsoft.KeyVault/vaults/deploy/action on
// the vault, which Contributor has and Website Contributor (who may
// deploy) has not; the vault's own data access is not asked (the
// Contributor has none). One without the right learns nothing of the vault: a vault that
// does not exist gets the same answer.
func TestAttack_TemplateKeyVaultReferenceNeedsDeployAction(t *testing.T) {
	e, call := rbacEnv(t)
	vault, _ := newKVRefVault(t, e, true)
	const reader, webContributor, contributor = "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e61", "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e62", "7f2c6b4e-1d2a-4c3b-9e8f-0a1b2c3d4e63"
	for i, a := range [][2]string{{readerID, reader}, {websiteContributorID, webContributor}, {contributorID, contributor}} {
		name := "00000000-0000-4000-8000-00000000001" + string(rune('1'+i))
		if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+name, raBody("{s}", a[0], a[1])); s != http.StatusCreated {
			t.Fatalf("assign: %d %s", s, b)
		}
	}
	tpl := `{"contentVersion":"1.0.0.0","parameters":{"pw":{"type":"securestring"}},"resources":[],"outputs":{"o":{"type":"securestring","value":"[parameters('pw')]"}}}`
	for _, who := range []string{reader, webContributor} {
		var answers []string
		for _, v := range []string{vault, strings.Replace(vault, "kvref1", "kvnope", 1)} {
			s, b := call(who, "PUT", depPath+"/steal", depBody(tpl, kvRefParams("pw", v, "db-password", "")))
			// A Reader may not deploy at all; a Website Contributor may,
			// but not with the vault.
			want := "Microsoft.Resources/deployments/write"
			if who == webContributor {
				want = "Microsoft.KeyVault/vaults/deploy/action"
			}
			if s != http.StatusForbidden || !strings.Contains(b, want) || strings.Contains(b, "vault-pw") {
				t.Errorf("%s with %s: %d %s; want 403 naming %s", who, v, s, b, want)
			}
			answers = append(answers, strings.Replace(b, "kvnope", "kvref1", -1))
		}
		if answers[0] != answers[1] {
			t.Errorf("%s learns whether the vault exists:\n%s\n%s", who, answers[0], answers[1])
		}
	}
	if s, b := call(contributor, "PUT", depPath+"/allowed", depBody(tpl, kvRefParams("pw", vault, "db-password", ""))); s != http.StatusCreated || strings.Contains(b, "vault-pw") {
		t.Fatalf("a Contributor's deployment: %d %s", s, b)
	}
}

// TestTemplateKeyVaultReferenceShortValueNotQuoted: a value too short for
// redaction to hide (a PIN) is not quoted by the allowedValues error of
// the string parameter it was given to (found in review).
func TestTemplateKeyVaultReferenceShortValueNotQuoted(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", rgPath, `{"location":"westeurope"}`)
	vault, _ := newKVRefVault(t, e, true)
	e.must(http.StatusCreated, "PUT", kvPath+"/kvref1/secrets/pin?api-version=2024-11-01", `{"properties":{"value":"Zq7"}}`)
	tpl := `{"contentVersion":"1.0.0.0","parameters":{"user":{"type":"string","allowedValues":["admin"]}},"resources":[]}`
	r := e.do("PUT", depPath+"/short", depBody(tpl, kvRefParams("user", vault, "pin", "")))
	if r.status != http.StatusBadRequest || strings.Contains(string(r.body), "Zq7") {
		t.Fatalf("%d %s: the secret's value is in the error", r.status, r.body)
	}
}
