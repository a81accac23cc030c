package rbac

import (
	"context"
	"errors"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

const (
	sub   = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	rg    = sub + "/resourceGroups/rg1"
	web   = rg + "/providers/Microsoft.Web"
	site  = web + "/sites/app"
	stg   = rg + "/providers/Microsoft.Storage/storageAccounts/acct"
	alice = "aaaaaaaa-0000-4000-8000-000000000001"
	bob   = "bbbbbbbb-0000-4000-8000-000000000002"
)

func TestMatchAction(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.Web/sites/read", true},
		{"*/read", "Microsoft.Web/sites/read", true},
		{"*/read", "microsoft.web/SITES/READ", true},
		{"*/read", "Microsoft.Web/sites/write", false},
		{"*/read", "Microsoft.Web/sites/config/list/action", false},
		{"*/read", "Microsoft.Web/sites/readx", false},
		{"Microsoft.Web/*", "Microsoft.Web/sites/restart/action", true},
		{"Microsoft.Web/*", "Microsoft.WebX/sites/read", false},
		{"Microsoft.Web/*", "Microsoft.Storage/storageAccounts/read", false},
		{"Microsoft.Web/sites/*", "Microsoft.Web/serverfarms/write", false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false},
		{"Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/locations/deletedVaults/read", true},
		{"Microsoft.Web/sites/read", "Microsoft.Web/sites/read", true},
		{"Microsoft.Web/sites/read", "Microsoft.Web/sites/readonly", false},
		{"Microsoft.Web/sites/read", "Microsoft.Web/sites", false},
		{"", "Microsoft.Web/sites/read", false},
		{"*", "", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{strings.Repeat("*a", 400) + "b", strings.Repeat("a", 1000), false}, // bounded, no blow-up
	}
	for _, tt := range tests {
		if got := MatchAction(tt.pattern, tt.action); got != tt.want {
			t.Errorf("MatchAction(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func TestRoleAllows_NotActionsSubtract(t *testing.T) {
	contrib, owner := RoleByName("Contributor"), RoleByName("owner")
	for _, a := range []string{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "microsoft.authorization/ROLEASSIGNMENTS/WRITE"} {
		if contrib.Allows(a, false) {
			t.Errorf("Contributor allows %s", a)
		}
		if !owner.Allows(a, false) {
			t.Errorf("Owner does not allow %s", a)
		}
	}
	if !contrib.Allows("Microsoft.Authorization/roleAssignments/read", false) {
		t.Error("Contributor cannot read role assignments")
	}
	if !contrib.Allows("Microsoft.Web/sites/write", false) {
		t.Error("Contributor cannot write sites")
	}
	// Control-plane roles grant no data actions, data roles no writes.
	if owner.Allows("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true) {
		t.Error("Owner has a data action")
	}
	blobReader := RoleByName("Storage Blob Data Reader")
	if !blobReader.Allows("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true) ||
		blobReader.Allows("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", true) {
		t.Error("Storage Blob Data Reader: wrong data actions")
	}
	secretsUser := RoleByName("Key Vault Secrets User")
	if !secretsUser.Allows("Microsoft.KeyVault/vaults/secrets/getSecret/action", true) ||
		secretsUser.Allows("Microsoft.KeyVault/vaults/secrets/setSecret/action", true) ||
		secretsUser.Allows("Microsoft.KeyVault/vaults/read", false) {
		t.Error("Key Vault Secrets User: wrong actions")
	}
	if !RoleByName("Key Vault Secrets Officer").Allows("Microsoft.KeyVault/vaults/secrets/setSecret/action", true) {
		t.Error("Key Vault Secrets Officer cannot set secrets")
	}
}

func TestBuiltinRoles_GUIDsAndNames(t *testing.T) {
	want := map[string]string{ // Microsoft Learn, "Azure built-in roles"
		"Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
		"Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "Website Contributor": "de139f84-1756-47ae-9be6-808fbbe84772",
		"Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
		"Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483", "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		"Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
	}
	for name, id := range want {
		r := RoleByName(name)
		if r == nil || r.Name != id || RoleByID(strings.ToUpper(id)) != r {
			t.Errorf("%s: got %+v, want id %s", name, r, id)
		}
	}
	seen := map[string]bool{}
	for _, r := range BuiltinRoles() {
		if !IsGUID(r.Name) || seen[r.Name] || r.Description == "" || len(r.Permissions) == 0 {
			t.Errorf("bad built-in role %+v", r)
		}
		seen[r.Name] = true
	}
}

func TestScope_CleanAndContains(t *testing.T) {
	for in, want := range map[string]string{
		sub:                                  sub,
		sub + "/":                            sub,
		"//subscriptions//x/":                "/subscriptions/x",
		"/SUBSCRIPTIONS/x/RESOURCEGROUPS/RG": "/subscriptions/x/resourceGroups/RG",
		"/subscriptions/x/resourcegroups/rg/PROVIDERS/Microsoft.Web/sites/app":                                               "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/app",
		"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c",
	} {
		got, err := CleanScope(in)
		if err != nil || got != want {
			t.Errorf("CleanScope(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "/", "subscriptions/x", "/subscriptions", "/tenants/x", "/subscriptions/x/resourceGroups",
		"/subscriptions/x/locations/y", "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web",
		"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites", "/subscriptions/x/resourceGroups/../rg",
		"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/a/providers/Microsoft.Authorization/roleAssignments/n",
		"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/n",
		"/subscriptions/x/resourceGroups/rg/providers/microsoft.authorization/roleDefinitions/n",
		"/subscriptions/x/resourceGroups/r g", "/subscriptions/x?y", "/subscriptions/" + strings.Repeat("x", 3000)} {
		if _, err := CleanScope(bad); slipway.ErrorCode(err) != slipway.EINVALID {
			t.Errorf("CleanScope(%q) = %v, want EINVALID", bad, err)
		}
	}

	contains := []struct {
		outer, inner string
		want         bool
	}{
		{sub, sub, true},
		{sub, rg, true},
		{sub, site + "/config/web", true},
		{rg, site, true},
		{site, site, true},
		{site, rg, false},
		{rg, sub, false},
		{strings.ToUpper(rg), strings.ToLower(site), true},             // case
		{sub + "/resourceGroups/a", sub + "/resourceGroups/ab", false}, // prefix attack
		{sub + "/resourceGroups/a", sub + "/resourceGroups/a/providers/Microsoft.Web/sites/x", true},
		{site, site + "2", false},
		{site, web + "/sites/app-evil", false},
		{"/subscriptions/x", "/subscriptions/xy", false},
		{"/subscriptions/x", "//subscriptions//x//resourceGroups/rg", true},
		{sub, "/subscriptions/other", false},
	}
	for _, tt := range contains {
		if got := ScopeContains(tt.outer, tt.inner); got != tt.want {
			t.Errorf("ScopeContains(%q, %q) = %v, want %v", tt.outer, tt.inner, got, tt.want)
		}
	}
}

// TestActionFor covers every route in internal/arm/routes.go and the
// authorization routes.
func TestActionFor(t *testing.T) {
	tests := []struct {
		method, path, action, scope string
	}{
		{"GET", "/subscriptions", "Microsoft.Resources/subscriptions/read", "/"},
		{"GET", sub, "Microsoft.Resources/subscriptions/read", sub},
		{"GET", "/tenants", "Microsoft.Resources/tenants/read", "/"},
		{"GET", sub + "/locations", "Microsoft.Resources/subscriptions/locations/read", sub},
		{"GET", "/providers/Microsoft.Web/webAppStacks", "Microsoft.Web/webAppStacks/read", "/"},
		{"POST", sub + "/providers/Microsoft.Web/checknameavailability", "Microsoft.Web/checknameavailability/action", sub},
		{"GET", sub + "/providers/Microsoft.Web/geoRegions", "Microsoft.Web/geoRegions/read", sub},
		{"GET", sub + "/providers/Microsoft.Web/sites", "Microsoft.Web/sites/read", sub},
		{"GET", sub + "/providers/Microsoft.Web/serverfarms", "Microsoft.Web/serverfarms/read", sub},
		{"GET", sub + "/resources", "Microsoft.Resources/subscriptions/resources/read", sub},
		// Resource providers (internal/arm/providers.go).
		{"GET", sub + "/providers", "Microsoft.Resources/subscriptions/providers/read", sub},
		{"GET", sub + "/providers/Microsoft.Web", "Microsoft.Resources/subscriptions/providers/read", sub},
		{"GET", sub + "/providers/microsoft.insights", "Microsoft.Resources/subscriptions/providers/read", sub},
		{"POST", sub + "/providers/Microsoft.Web/register", "Microsoft.Web/register/action", sub},
		{"POST", sub + "/providers/Microsoft.Web/unregister", "Microsoft.Web/unregister/action", sub},
		{"GET", rg + "/resources", "Microsoft.Resources/subscriptions/resourceGroups/resources/read", rg},
		{"GET", sub + "/resourcegroups", "Microsoft.Resources/subscriptions/resourceGroups/read", sub},
		{"PUT", sub + "/resourcegroups/rg1", "Microsoft.Resources/subscriptions/resourceGroups/write", sub + "/resourcegroups/rg1"},
		{"GET", rg, "Microsoft.Resources/subscriptions/resourceGroups/read", rg},
		{"HEAD", rg, "Microsoft.Resources/subscriptions/resourceGroups/read", rg},
		{"DELETE", rg, "Microsoft.Resources/subscriptions/resourceGroups/delete", rg},
		{"GET", web + "/serverfarms", "Microsoft.Web/serverfarms/read", rg},
		{"PUT", web + "/serverfarms/plan", "Microsoft.Web/serverfarms/write", web + "/serverfarms/plan"},
		{"GET", web + "/serverfarms/plan", "Microsoft.Web/serverfarms/read", web + "/serverfarms/plan"},
		{"DELETE", web + "/serverfarms/plan", "Microsoft.Web/serverfarms/delete", web + "/serverfarms/plan"},
		{"GET", web + "/sites", "Microsoft.Web/sites/read", rg},
		{"PUT", site, "Microsoft.Web/sites/write", site},
		{"GET", site, "Microsoft.Web/sites/read", site},
		{"PATCH", site, "Microsoft.Web/sites/write", site},
		{"DELETE", site, "Microsoft.Web/sites/delete", site},
		{"POST", site + "/restart", "Microsoft.Web/sites/restart/action", site},
		{"POST", site + "/stop", "Microsoft.Web/sites/stop/action", site},
		{"POST", site + "/start", "Microsoft.Web/sites/start/action", site},
		{"GET", site + "/instances", "Microsoft.Web/sites/instances/read", site},
		{"GET", site + "/deploymentStatus/abc", "Microsoft.Web/sites/deploymentStatus/read", site + "/deploymentStatus/abc"},
		{"GET", site + "/deployments", "Microsoft.Web/sites/deployments/read", site},
		{"GET", site + "/deployments/abc", "Microsoft.Web/sites/deployments/read", site + "/deployments/abc"},
		{"GET", site + "/config/web", "Microsoft.Web/sites/config/read", site + "/config/web"},
		{"PUT", site + "/config/web", "Microsoft.Web/sites/config/write", site + "/config/web"},
		{"PATCH", site + "/config/web", "Microsoft.Web/sites/config/write", site + "/config/web"},
		{"POST", site + "/config/appsettings/list", "Microsoft.Web/sites/config/list/action", site + "/config/appsettings"},
		{"PUT", site + "/config/appsettings", "Microsoft.Web/sites/config/write", site + "/config/appsettings"},
		{"POST", site + "/config/connectionstrings/list", "Microsoft.Web/sites/config/list/action", site + "/config/connectionstrings"},
		{"PUT", site + "/config/connectionstrings", "Microsoft.Web/sites/config/write", site + "/config/connectionstrings"},
		{"GET", site + "/config/slotConfigNames", "Microsoft.Web/sites/config/read", site + "/config/slotConfigNames"},
		{"PUT", site + "/config/logs", "Microsoft.Web/sites/config/write", site + "/config/logs"},
		{"POST", site + "/config/publishingcredentials/list", "Microsoft.Web/sites/config/list/action", site + "/config/publishingcredentials"},
		{"GET", site + "/basicPublishingCredentialsPolicies/scm", "Microsoft.Web/sites/basicPublishingCredentialsPolicies/read", site + "/basicPublishingCredentialsPolicies/scm"},
		{"PUT", site + "/basicPublishingCredentialsPolicies/scm", "Microsoft.Web/sites/basicPublishingCredentialsPolicies/write", site + "/basicPublishingCredentialsPolicies/scm"},
		{"POST", site + "/publishxml", "Microsoft.Web/sites/publishxml/action", site},
		{"POST", site + "/newpassword", "Microsoft.Web/sites/newpassword/action", site},
		{"POST", site + "/slots/stage/slotsswap", "Microsoft.Web/sites/slots/slotsswap/action", site + "/slots/stage"},
		{"POST", sub + "/providers/Microsoft.Storage/checkNameAvailability", "Microsoft.Storage/checkNameAvailability/action", sub},
		{"GET", sub + "/providers/Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/read", sub},
		{"GET", rg + "/providers/Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/read", rg},
		{"PUT", stg, "Microsoft.Storage/storageAccounts/write", stg},
		{"PATCH", stg, "Microsoft.Storage/storageAccounts/write", stg},
		{"GET", stg, "Microsoft.Storage/storageAccounts/read", stg},
		{"DELETE", stg, "Microsoft.Storage/storageAccounts/delete", stg},
		{"POST", stg + "/listKeys", "Microsoft.Storage/storageAccounts/listKeys/action", stg},
		{"POST", stg + "/regenerateKey", "Microsoft.Storage/storageAccounts/regenerateKey/action", stg},
		// Authorization, at every kind of scope.
		{"GET", sub + "/providers/Microsoft.Authorization/roleAssignments", "Microsoft.Authorization/roleAssignments/read", sub},
		{"GET", rg + "/providers/Microsoft.Authorization/roleAssignments", "Microsoft.Authorization/roleAssignments/read", rg},
		{"PUT", site + "/providers/Microsoft.Authorization/roleAssignments/n1", "Microsoft.Authorization/roleAssignments/write", site + "/providers/Microsoft.Authorization/roleAssignments/n1"},
		{"DELETE", "//" + sub[1:] + "/providers/Microsoft.Authorization/roleAssignments/n1", "Microsoft.Authorization/roleAssignments/delete", sub + "/providers/Microsoft.Authorization/roleAssignments/n1"},
		{"GET", rg + "/providers/Microsoft.Authorization/roleDefinitions", "Microsoft.Authorization/roleDefinitions/read", rg},
		{"GET", sub + "/providers/Microsoft.Authorization/roleDefinitions/abc", "Microsoft.Authorization/roleDefinitions/read", sub + "/providers/Microsoft.Authorization/roleDefinitions/abc"},
		{"GET", "/providers/Microsoft.Authorization/roleDefinitions/abc", "Microsoft.Authorization/roleDefinitions/read", "/providers/Microsoft.Authorization/roleDefinitions/abc"},
		// A site named like a keyword is a name, not a keyword.
		{"GET", web + "/sites/providers/config/web", "Microsoft.Web/sites/config/read", web + "/sites/providers/config/web"},
	}
	for _, tt := range tests {
		a, s := ActionFor(tt.method, tt.path)
		if a != tt.action || s != tt.scope {
			t.Errorf("ActionFor(%s %s) = %q over %q; want %q over %q", tt.method, tt.path, a, s, tt.action, tt.scope)
		}
	}
}

// memStore is an in-memory Store for the Authorizer's tests (internal/store
// has its own tests against SQLite).
type memStore struct {
	mu    sync.Mutex
	as    []Assignment
	reads int
}

func (m *memStore) RoleAssignments(context.Context) ([]Assignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	out := append([]Assignment(nil), m.as...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *memStore) CreateRoleAssignment(_ context.Context, a Assignment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.as {
		if x.Name == a.Name {
			return slipway.Errorf(slipway.ECONFLICT, "exists")
		}
	}
	m.as = append(m.as, a)
	return nil
}

func (m *memStore) SetRoleAssignmentDescription(_ context.Context, name, description string, updated time.Time) (Assignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.as {
		if x.Name == name {
			m.as[i].Description, m.as[i].Updated = description, updated
			return m.as[i], nil
		}
	}
	return Assignment{}, slipway.Errorf(slipway.ENOTFOUND, "no")
}

func (m *memStore) DeleteRoleAssignment(_ context.Context, name string) (Assignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.as {
		if x.Name == name {
			m.as = append(m.as[:i], m.as[i+1:]...)
			return x, nil
		}
	}
	return Assignment{}, slipway.Errorf(slipway.ENOTFOUND, "no")
}

var nameSeq int

func assign(t *testing.T, a *Authorizer, principal, role, scope string) Assignment {
	t.Helper()
	nameSeq++
	x, created, err := a.Create(t.Context(), Assignment{
		Name:  "00000000-0000-4000-8000-" + strings.Repeat("0", 12-len(itoa(nameSeq))) + itoa(nameSeq),
		Scope: scope, RoleDefinitionID: RoleByName(role).Name, PrincipalID: principal, PrincipalType: "ServicePrincipal",
	}, "")
	if err != nil || !created {
		t.Fatalf("assign %s to %s at %s: %v", role, principal, scope, err)
	}
	return x
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func TestCheck(t *testing.T) {
	st := &memStore{}
	a := New(Config{Store: st})
	const (
		owner, contrib, reader, webc, nobody = "00000001-0000-4000-8000-000000000000", "00000002-0000-4000-8000-000000000000",
			"00000003-0000-4000-8000-000000000000", "00000004-0000-4000-8000-000000000000", "00000005-0000-4000-8000-000000000000"
	)
	assign(t, a, owner, "Owner", sub)
	assign(t, a, contrib, "Contributor", rg)
	assign(t, a, reader, "Reader", sub)
	assign(t, a, webc, "Website Contributor", rg)
	assign(t, a, nobody, "Reader", sub+"/resourceGroups/r") // a prefix of rg1's name: must not apply

	ra := sub + "/providers/Microsoft.Authorization/roleAssignments/n1"
	tests := []struct {
		who, action, scope string
		data, ok           bool
	}{
		{owner, "Microsoft.Web/sites/write", site, false, true},
		{owner, "Microsoft.Authorization/roleAssignments/write", ra, false, true},
		{owner, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", stg, true, false}, // no data actions
		{contrib, "Microsoft.Web/sites/write", site, false, true},
		{contrib, "Microsoft.Storage/storageAccounts/listKeys/action", stg, false, true},
		{contrib, "Microsoft.Authorization/roleAssignments/write", rg + "/providers/Microsoft.Authorization/roleAssignments/n1", false, false},
		{contrib, "Microsoft.Authorization/roleAssignments/delete", rg + "/providers/Microsoft.Authorization/roleAssignments/n1", false, false},
		{contrib, "Microsoft.Web/sites/write", sub + "/resourceGroups/rg2/providers/Microsoft.Web/sites/x", false, false}, // other group
		{contrib, "Microsoft.Resources/subscriptions/resourceGroups/write", sub + "/resourcegroups/rg2", false, false},
		{reader, "Microsoft.Web/sites/read", site, false, true},
		{reader, "Microsoft.Authorization/roleAssignments/read", ra, false, true},
		{reader, "Microsoft.Web/sites/write", site, false, false},
		{reader, "Microsoft.Web/sites/restart/action", site, false, false},
		{reader, "Microsoft.Web/sites/config/list/action", site + "/config/appsettings", false, false},
		{reader, "Microsoft.Resources/subscriptions/resourceGroups/delete", rg, false, false},
		{webc, "Microsoft.Web/sites/write", site, false, true},
		{webc, "Microsoft.Web/sites/restart/action", site, false, true},
		{webc, "Microsoft.Web/serverfarms/read", web + "/serverfarms/plan", false, true},
		{webc, "Microsoft.Web/serverfarms/write", web + "/serverfarms/plan", false, false},
		{webc, "Microsoft.Storage/storageAccounts/read", stg, false, false},
		{webc, "Microsoft.Storage/storageAccounts/listKeys/action", stg, false, false},
		{nobody, "Microsoft.Web/sites/read", site, false, false},
		{"99999999-0000-4000-8000-000000000000", "Microsoft.Web/sites/read", site, false, false},
	}
	for _, tt := range tests {
		err := a.Check(t.Context(), tt.who, tt.action, tt.scope, tt.data)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%s, %s, %s) = %v, want ok=%v", tt.who, tt.action, tt.scope, err, tt.ok)
		}
		if err != nil && slipway.ErrorCode(err) != slipway.EFORBIDDEN {
			t.Errorf("Check error code %q, want EFORBIDDEN", slipway.ErrorCode(err))
		}
	}

	err := a.Check(t.Context(), nobody, "Microsoft.Web/sites/read", site, false)
	want := "The client '" + nobody + "' with object id '" + nobody + "' does not have authorization to perform action 'Microsoft.Web/sites/read' over scope '" + site + "' or the scope is invalid. If access was recently granted, please refresh your credentials."
	if got := slipway.ErrorMessage(err); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
	var af *AuthorizationFailed
	if !errors.As(err, &af) || af.Action != "Microsoft.Web/sites/read" {
		t.Errorf("not an *AuthorizationFailed: %#v", err)
	}

	// Checks are served from memory: no store read per check.
	before := st.reads
	for range 100 {
		_ = a.Check(t.Context(), reader, "Microsoft.Web/sites/read", site, false)
	}
	if st.reads != before {
		t.Errorf("Check read the store %d times", st.reads-before)
	}
}

func TestCreateDelete_RefreshAndConflicts(t *testing.T) {
	st := &memStore{}
	a := New(Config{Store: st})
	x := assign(t, a, alice, "Reader", rg)
	if err := a.Check(t.Context(), alice, "Microsoft.Web/sites/read", site, false); err != nil {
		t.Fatalf("after create: %v", err)
	}
	// Same name, same content: the existing assignment, not created.
	y, created, err := a.Create(t.Context(), Assignment{Name: strings.ToUpper(x.Name), Scope: strings.ToUpper(rg), RoleDefinitionID: x.RoleDefinitionID, PrincipalID: alice}, "")
	if err != nil || created || y.Name != x.Name {
		t.Fatalf("idempotent create: %+v %v %v", y, created, err)
	}
	// Same trio, other name: RoleAssignmentExists.
	_, _, err = a.Create(t.Context(), Assignment{Name: "00000000-0000-4000-8000-00000000ffff", Scope: rg, RoleDefinitionID: x.RoleDefinitionID, PrincipalID: alice}, "")
	if !errors.Is(err, ErrRoleAssignmentExists) || slipway.ErrorCode(err) != slipway.ECONFLICT {
		t.Fatalf("duplicate: %v", err)
	}
	// Same name, other principal: not an update ARM permits.
	_, _, err = a.Create(t.Context(), Assignment{Name: x.Name, Scope: rg, RoleDefinitionID: x.RoleDefinitionID, PrincipalID: bob}, "")
	if !errors.Is(err, ErrUpdateNotPermitted) {
		t.Fatalf("update: %v", err)
	}
	// Unknown role, bad principal, bad scope, a condition: invalid.
	for _, bad := range []Assignment{
		{Name: "00000000-0000-4000-8000-00000000eeee", Scope: rg, RoleDefinitionID: "00000000-0000-0000-0000-000000000000", PrincipalID: bob},
		{Name: "00000000-0000-4000-8000-00000000eeee", Scope: rg, RoleDefinitionID: x.RoleDefinitionID, PrincipalID: "bob"},
		{Name: "00000000-0000-4000-8000-00000000eeee", Scope: "/subscriptions", RoleDefinitionID: x.RoleDefinitionID, PrincipalID: bob},
		{Name: "00000000-0000-4000-8000-00000000eeee", Scope: rg, RoleDefinitionID: x.RoleDefinitionID, PrincipalID: bob, PrincipalType: "Robot"},
		{Name: "00000000-0000-4000-8000-00000000eeee", Scope: rg, RoleDefinitionID: x.RoleDefinitionID, PrincipalID: bob, Condition: "@Resource[x] StringEquals 'y'"},
	} {
		if _, _, err := a.Create(t.Context(), bad, ""); slipway.ErrorCode(err) != slipway.EINVALID {
			t.Errorf("Create(%+v) = %v, want EINVALID", bad, err)
		}
	}
	// Delete at the wrong scope: not found; at its scope: gone, and the
	// check fails at once.
	if _, err := a.Delete(t.Context(), sub, x.Name); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("delete at another scope: %v", err)
	}
	if _, err := a.Delete(t.Context(), rg, x.Name); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(t.Context(), alice, "Microsoft.Web/sites/read", site, false); err == nil {
		t.Fatal("still allowed after delete")
	}
}

// A PUT of an existing assignment with a new description (az role
// assignment update) changes the description and nothing else.
func TestCreate_UpdatesDescription(t *testing.T) {
	st := &memStore{}
	a := New(Config{Store: st})
	x := assign(t, a, alice, "Reader", rg)
	x.Description = "Some updated description."
	y, created, err := a.Create(t.Context(), x, "")
	if err != nil || created || y.Name != x.Name || y.Description != x.Description {
		t.Fatalf("update description: %+v %v %v", y, created, err)
	}
	got, err := a.Assignment(t.Context(), rg, x.Name)
	if err != nil || got.Description != x.Description || got.PrincipalID != alice || got.RoleDefinitionID != x.RoleDefinitionID {
		t.Fatalf("after update: %+v %v", got, err)
	}
}

func TestCreate_PrincipalNotFound(t *testing.T) {
	a := New(Config{Store: &memStore{}, PrincipalExists: func(_ context.Context, id string) (bool, error) { return id == alice, nil }})
	_, _, err := a.Create(t.Context(), Assignment{Name: "00000000-0000-4000-8000-000000000001", Scope: sub, RoleDefinitionID: RoleByName("Reader").Name, PrincipalID: bob}, "")
	if !errors.Is(err, ErrPrincipalNotFound) || slipway.ErrorCode(err) != slipway.EINVALID {
		t.Fatalf("unknown principal: %v", err)
	}
}

func TestAuthorizeRequest(t *testing.T) {
	a := New(Config{Store: &memStore{}})
	assign(t, a, alice, "Reader", rg)
	for _, tt := range []struct {
		who, method, path string
		ok                bool
	}{
		{alice, "GET", site + "?api-version=2024-11-01", true},
		{alice, "PUT", site, false},
		{alice, "POST", site + "/restart", false},
		{bob, "GET", site, false},
		{bob, "GET", "/subscriptions", true}, // tenant-level reads: any authenticated principal
		{bob, "GET", "/providers/Microsoft.Web/webAppStacks", true},
		{bob, "PUT", "/providers/Microsoft.Web/webAppStacks", false},
		{alice, "GET", sub + "/resourceGroups/rg10/providers/Microsoft.Web/sites/app", false},
		// A role anywhere in the subscription reads its providers; none
		// does not, and reading is not registering.
		{alice, "GET", sub + "/providers/Microsoft.Web", true},
		{alice, "GET", sub + "/providers", true},
		{alice, "POST", sub + "/providers/Microsoft.Web/register", false},
		{bob, "GET", sub + "/providers/Microsoft.Web", false},
		{alice, "GET", "/subscriptions/other/providers/Microsoft.Web", false},
	} {
		err := a.AuthorizeRequest(tt.who, httptest.NewRequest(tt.method, "http://management.localhost"+tt.path, nil))
		if (err == nil) != tt.ok {
			t.Errorf("%s %s by %s: %v, want ok=%v", tt.method, tt.path, tt.who, err, tt.ok)
		}
	}
}

// TestPublishingUserPath: every authenticated principal reads and sets its
// own deployment user (az webapp deployment user set) — exactly that path,
// GET and PUT; any other write above the subscriptions stays refused.
func TestPublishingUserPath(t *testing.T) {
	a := New(Config{Store: &memStore{}})
	for _, tt := range []struct {
		method, path string
		ok           bool
	}{
		{"GET", "/providers/Microsoft.Web/publishingUsers/web", true},
		{"PUT", "/providers/Microsoft.Web/publishingUsers/web", true},
		{"PUT", "//PROVIDERS/microsoft.web/PublishingUsers/Web/", true},
		{"DELETE", "/providers/Microsoft.Web/publishingUsers/web", false},
		{"PATCH", "/providers/Microsoft.Web/publishingUsers/web", false},
		{"POST", "/providers/Microsoft.Web/publishingUsers/web", false},
		{"PUT", "/providers/Microsoft.Web/publishingUsers/other", false},
		{"PUT", "/providers/Microsoft.Web/publishingUsers/web/x", false},
		{"PUT", "/providers/Microsoft.Web/sourcecontrols/GitHub", false},
		{"PUT", "/providers/Microsoft.Web/publishingUsers", false},
		{"PUT", "/providers/Microsoft.Authorization/roleAssignments/x", false},
		{"PUT", sub + "/providers/Microsoft.Web/publishingUsers/web", false},
		{"PUT", "/tenants/x/providers/Microsoft.Web/publishingUsers/web", false},
	} {
		err := a.AuthorizeRequest(bob, httptest.NewRequest(tt.method, "http://management.localhost"+tt.path, nil))
		if (err == nil) != tt.ok {
			t.Errorf("%s %s by a role-less principal: %v, want ok=%v", tt.method, tt.path, err, tt.ok)
		}
	}
}

// TestMayPublish: deploying with user-level credentials needs a role that
// grants publishing over the app (or slot): Owner, Contributor, Website
// Contributor; not Reader, and not a role on another app.
func TestMayPublish(t *testing.T) {
	a := New(Config{Store: &memStore{}})
	const (
		owner, contrib, webc, reader, appB = "00000001-0000-4000-8000-000000000000", "00000002-0000-4000-8000-000000000000",
			"00000004-0000-4000-8000-000000000000", "00000003-0000-4000-8000-000000000000", "00000006-0000-4000-8000-000000000000"
	)
	assign(t, a, owner, "Owner", sub)
	assign(t, a, contrib, "Contributor", rg)
	assign(t, a, webc, "Website Contributor", site)
	assign(t, a, reader, "Reader", sub)
	assign(t, a, appB, "Website Contributor", web+"/sites/appb")
	s := strings.TrimPrefix(sub, "/subscriptions/")
	app := slipway.Site{ResourceGroup: "rg1", Name: "app"}
	slot := slipway.Site{ResourceGroup: "rg1", Name: "app-staging", SlotOf: "app", Slot: "staging"}
	other := slipway.Site{ResourceGroup: "rg1", Name: "apps"} // a prefix-sharing name
	for _, tt := range []struct {
		who  string
		site slipway.Site
		ok   bool
	}{
		{owner, app, true}, {contrib, app, true}, {webc, app, true}, {webc, slot, true},
		{contrib, slot, true},
		{reader, app, false}, {reader, slot, false},
		{appB, app, false}, {appB, slot, false},
		{webc, other, false},
		{bob, app, false},
	} {
		err := a.MayPublish(t.Context(), tt.who, s, tt.site)
		if (err == nil) != tt.ok {
			t.Errorf("MayPublish(%s, %s) = %v, want ok=%v", tt.who, tt.site.Name, err, tt.ok)
		}
		if err != nil && slipway.ErrorCode(err) != slipway.EFORBIDDEN {
			t.Errorf("MayPublish error code %q, want EFORBIDDEN", slipway.ErrorCode(err))
		}
	}
}
