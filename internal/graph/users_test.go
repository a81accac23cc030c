package graph

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// userBody is what az ad user create sends (role module custom.py
// create_user): mailNickname defaults to the UPN's alias.
func userBody(upn, name, password string) map[string]any {
	return map[string]any{"accountEnabled": true, "displayName": name, "userPrincipalName": upn,
		"mailNickname":    strings.Split(upn, "@")[0],
		"passwordProfile": map[string]any{"password": password, "forceChangePasswordNextSignIn": false}}
}

// noPassword fails if any of the passwords appears in the answer or in
// what the handler logged.
func (e *env) noPassword(t *testing.T, m map[string]any, passwords ...string) {
	t.Helper()
	b, _ := json.Marshal(m)
	for _, pw := range passwords {
		if strings.Contains(string(b), pw) || strings.Contains(e.logs.String(), pw) {
			t.Fatalf("password %q leaked: answer %s, log %s", pw, b, e.logs.String())
		}
	}
	if m["error"] == nil && strings.Contains(strings.ToLower(string(b)), "password") || strings.Contains(string(b), "argon2") {
		t.Fatalf("answer names a password: %s", b)
	}
}

// https://learn.microsoft.com/graph/api/user-post-users: create, then
// read by object id and by userPrincipalName (any case).
func TestUserCreateAndGet(t *testing.T) {
	e := newEnv(t)
	const pw = "Corr3ct-Horse!"
	u := e.must(t, admin, "POST", "/v1.0/users", userBody("Ada.Lovelace@Example.com", "Ada Lovelace", pw), 201)
	e.noPassword(t, u, pw)
	id, _ := u["id"].(string)
	if !isGUID(id) || u["userPrincipalName"] != "Ada.Lovelace@Example.com" || u["displayName"] != "Ada Lovelace" ||
		u["accountEnabled"] != true || u["mailNickname"] != "Ada.Lovelace" || u["@odata.context"] != graphBase+"/v1.0/$metadata#users/$entity" {
		t.Fatalf("created user = %v", u)
	}
	for _, seg := range []string{id, strings.ToUpper(id), "Ada.Lovelace@Example.com", "ada.lovelace@example.COM", url.PathEscape("ada.lovelace@example.com")} {
		got := e.must(t, admin, "GET", "/v1.0/users/"+seg, nil, 200)
		e.noPassword(t, got, pw)
		if got["id"] != id || got["userPrincipalName"] != "Ada.Lovelace@Example.com" {
			t.Fatalf("GET /users/%s = %v", seg, got)
		}
	}
	if _, err := e.st.CheckUserPassword(t.Context(), "ADA.lovelace@example.com", pw); err != nil {
		t.Fatalf("the password given at creation does not sign in: %v", err)
	}
	for _, seg := range []string{"nobody@example.com", "00000000-0000-4000-8000-000000000000"} {
		code, m := e.call(t, admin, "GET", "/v1.0/users/"+seg, nil)
		wantError(t, code, m, 404, "Request_ResourceNotFound")
	}
	code, m := e.call(t, admin, "GET", "/v1.0/users/not-an-id", nil)
	wantError(t, code, m, 400, "Request_BadRequest")
	code, m = e.call(t, admin, "GET", "/v1.0/users/"+id+"/memberOf", nil)
	wantError(t, code, m, 400, "BadRequest")
}

// Entra ID's password rules (8–256 characters, three of four classes),
// a unique UPN ignoring case, and no forced password change.
func TestUserCreateRefusals(t *testing.T) {
	e := newEnv(t)
	e.must(t, admin, "POST", "/v1.0/users", userBody("taken@example.com", "Taken", "Abcdef1!"), 201)
	long := strings.Repeat("Ab1!", 64) // 256: allowed
	e.must(t, admin, "POST", "/v1.0/users", userBody("long@example.com", "Long", long), 201)
	weak := []string{"Ab1!xyz", "abcdefghij", "abcdefgh12", "ABCDEFGH!!", long + "x", "Abcdef1!\x00", "Abcdef1!\n"}
	for _, pw := range weak {
		code, m := e.call(t, admin, "POST", "/v1.0/users", userBody("weak@example.com", "Weak", pw))
		if msg := wantError(t, code, m, 400, "Request_BadRequest"); !strings.Contains(msg, "password complexity") {
			t.Errorf("password %q: message %q", pw, msg)
		}
		e.noPassword(t, m, pw)
	}
	for _, tc := range []struct {
		name string
		body any
		want string
	}{
		{"duplicate UPN", userBody("TAKEN@Example.COM", "Again", "Abcdef1!x"), "already exists"},
		{"forced change", func() any {
			b := userBody("forced@example.com", "Forced", "Abcdef1!x")
			b["passwordProfile"].(map[string]any)["forceChangePasswordNextSignIn"] = true
			return b
		}(), "forceChangePasswordNextSignIn"},
		{"no password", map[string]any{"displayName": "X", "userPrincipalName": "nopw@example.com"}, "passwordProfile.password"},
		{"password not a string", map[string]any{"displayName": "X", "userPrincipalName": "x@example.com", "passwordProfile": map[string]any{"password": 12345678}}, "passwordProfile"},
		{"no UPN", map[string]any{"displayName": "X", "passwordProfile": map[string]any{"password": "Abcdef1!x"}}, "userPrincipalName"},
		{"UPN without domain", userBody("alias", "X", "Abcdef1!x"), "userPrincipalName"},
		{"UPN with a space", userBody("a b@example.com", "X", "Abcdef1!x"), "userPrincipalName"},
		{"two @", userBody("a@b@example.com", "X", "Abcdef1!x"), "userPrincipalName"},
		{"no display name", userBody("x@example.com", " ", "Abcdef1!x"), "displayName"},
		{"unsupported property", func() any {
			b := userBody("x@example.com", "X", "Abcdef1!x")
			b["jobTitle"] = "boss"
			return b
		}(), "jobTitle"},
		{"accountEnabled not a boolean", func() any {
			b := userBody("x@example.com", "X", "Abcdef1!x")
			b["accountEnabled"] = "no"
			return b
		}(), "accountEnabled"},
	} {
		code, m := e.call(t, admin, "POST", "/v1.0/users", tc.body)
		if msg := wantError(t, code, m, 400, "Request_BadRequest"); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message %q does not name %q", tc.name, msg, tc.want)
		}
	}
	if n := len(values(t, e.must(t, admin, "GET", "/v1.0/users", nil, 200))); n != 2 {
		t.Fatalf("%d users after the refusals, want 2", n)
	}
	if _, err := e.st.CheckUserPassword(t.Context(), "taken@example.com", "Abcdef1!"); err != nil {
		t.Fatalf("the duplicate replaced the first user's password: %v", err)
	}
}

// The $filter forms az ad user list sends (--upn, --display-name,
// --filter) and Graph's others for users.
func TestUserFilters(t *testing.T) {
	e := newEnv(t)
	ada := e.must(t, admin, "POST", "/v1.0/users", userBody("ada@example.com", "Ada Lovelace", "Abcdef1!x"), 201)
	b := userBody("grace@example.com", "Grace O'Hopper", "Abcdef1!x")
	b["mail"] = "Grace@Mail.Example.com"
	e.must(t, admin, "POST", "/v1.0/users", b, 201)
	e.must(t, admin, "POST", "/v1.0/users", userBody("adam@example.org", "Adam", "Abcdef1!x"), 201)
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"userPrincipalName eq 'ADA@example.com'", []string{"ada@example.com"}},
		{"startswith(userPrincipalName,'ada')", []string{"ada@example.com", "adam@example.org"}},
		{"displayName eq 'grace o''hopper'", []string{"grace@example.com"}},
		{"startswith(displayName,'Ad')", []string{"ada@example.com", "adam@example.org"}},
		{"startswith(displayName,'Ad') and userPrincipalName eq 'adam@example.org'", []string{"adam@example.org"}},
		{"mail eq 'grace@mail.example.com'", []string{"grace@example.com"}},
		{"startswith(mail,'grace')", []string{"grace@example.com"}},
		{"mailNickname eq 'adam'", []string{"adam@example.org"}},
		{"id eq '" + ada["id"].(string) + "'", []string{"ada@example.com"}},
		{"userPrincipalName eq 'nobody@example.com'", nil},
	} {
		var got []string
		for _, u := range values(t, e.must(t, admin, "GET", "/v1.0/users"+q(tc.filter), nil, 200)) {
			got = append(got, u["userPrincipalName"].(string))
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q: %v, want %v", tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{"appId eq 'x'", "accountEnabled eq true", "userPrincipalName ne 'x'", "passwordProfile/password eq 'x'"} {
		code, m := e.call(t, admin, "GET", "/v1.0/users"+q(bad), nil)
		wantError(t, code, m, 400, "Request_UnsupportedQuery")
	}
}

// PATCH /users/{id|upn} (https://learn.microsoft.com/graph/api/user-update):
// 204, and the changes read back; a new password replaces the old one.
func TestUserUpdateAndDelete(t *testing.T) {
	e := newEnv(t)
	const pw1, pw2 = "First-Passw0rd", "Second-Passw0rd"
	u := e.must(t, admin, "POST", "/v1.0/users", userBody("ada@example.com", "Ada", pw1), 201)
	id := u["id"].(string)
	e.must(t, admin, "PATCH", "/v1.0/users/ADA@example.com", map[string]any{"displayName": "Countess Lovelace", "mail": "ada@mail.example.com"}, 204)
	e.must(t, admin, "PATCH", "/v1.0/users/"+id, map[string]any{"accountEnabled": false}, 204)
	got := e.must(t, admin, "GET", "/v1.0/users/"+id, nil, 200)
	if got["displayName"] != "Countess Lovelace" || got["mail"] != "ada@mail.example.com" || got["accountEnabled"] != false {
		t.Fatalf("after PATCH: %v", got)
	}
	e.must(t, admin, "PATCH", "/v1.0/users/"+id, map[string]any{"accountEnabled": true,
		"passwordProfile": map[string]any{"password": pw2, "forceChangePasswordNextSignIn": false}}, 204)
	if _, err := e.st.CheckUserPassword(t.Context(), "ada@example.com", pw1); slipway.ErrorCode(err) != slipway.EUNAUTHORIZED {
		t.Fatalf("old password after the change: %v, want refused", err)
	}
	if _, err := e.st.CheckUserPassword(t.Context(), "ada@example.com", pw2); err != nil {
		t.Fatalf("new password: %v", err)
	}
	e.noPassword(t, e.must(t, admin, "GET", "/v1.0/users/"+id, nil, 200), pw1, pw2)

	// Refused changes change nothing, not even the parts that were valid.
	for _, tc := range []struct {
		name string
		body any
	}{
		{"weak password", map[string]any{"displayName": "Changed", "passwordProfile": map[string]any{"password": "weak"}}},
		{"forced change", map[string]any{"displayName": "Changed", "passwordProfile": map[string]any{"password": "Third-Passw0rd", "forceChangePasswordNextSignIn": true}}},
		{"accountEnabled a string", map[string]any{"displayName": "Changed", "accountEnabled": "false"}},
		{"new UPN", map[string]any{"displayName": "Changed", "userPrincipalName": "eve@example.com"}},
		{"new mailNickname", map[string]any{"displayName": "Changed", "mailNickname": "eve"}},
		{"display name too long", map[string]any{"displayName": strings.Repeat("x", 257)}},
		{"empty display name", map[string]any{"displayName": ""}},
	} {
		code, m := e.call(t, admin, "PATCH", "/v1.0/users/"+id, tc.body)
		wantError(t, code, m, 400, "Request_BadRequest")
		e.noPassword(t, m, "Third-Passw0rd")
		if got := e.must(t, admin, "GET", "/v1.0/users/"+id, nil, 200); got["displayName"] != "Countess Lovelace" || got["accountEnabled"] != true {
			t.Fatalf("%s: refused PATCH changed the user: %v", tc.name, got)
		}
	}
	if _, err := e.st.CheckUserPassword(t.Context(), "ada@example.com", pw2); err != nil {
		t.Fatalf("refused PATCHes changed the password: %v", err)
	}

	e.must(t, admin, "DELETE", "/v1.0/users/ada@example.com", nil, 204)
	for _, method := range []string{"GET", "DELETE", "PATCH"} {
		code, m := e.call(t, admin, method, "/v1.0/users/"+id, map[string]any{"displayName": "x"})
		wantError(t, code, m, 404, "Request_ResourceNotFound")
	}
	if _, err := e.st.CheckUserPassword(t.Context(), "ada@example.com", pw2); err == nil {
		t.Fatal("a deleted user still signs in")
	}
	// The name is free again.
	e.must(t, admin, "POST", "/v1.0/users", userBody("ada@example.com", "Ada II", pw1), 201)
}

// A property name in another case is not silently dropped: a PATCH
// {"AccountEnabled": false} that answered 204 and left the user enabled
// would tell an administrator that a user was locked out who was not.
func TestUserPropertyCase(t *testing.T) {
	e := newEnv(t)
	u := e.must(t, admin, "POST", "/v1.0/users", userBody("ada@example.com", "Ada", "Abcdef1!x"), 201)
	id := u["id"].(string)
	for _, body := range []map[string]any{
		{"AccountEnabled": false},
		{"PasswordProfile": map[string]any{"password": "Other-Passw0rd"}},
		{"DISPLAYNAME": "Changed"},
	} {
		code, m := e.call(t, admin, "PATCH", "/v1.0/users/"+id, body)
		if code == 204 {
			got := e.must(t, admin, "GET", "/v1.0/users/"+id, nil, 200)
			_, err := e.st.CheckUserPassword(t.Context(), "ada@example.com", "Other-Passw0rd")
			if got["accountEnabled"] == true && got["displayName"] == "Ada" && err != nil {
				t.Fatalf("PATCH %v answered 204 and changed nothing", body)
			}
			continue
		}
		wantError(t, code, m, 400, "Request_BadRequest")
	}
}

// Writing users needs the directory-writing role, as writing applications
// does, and so does reading them: the directory is the whole
// installation's, and a token of the tenant is what any app's managed
// identity can get, so reading with one would let every tenant's app list
// every user (Entra asks an application for User.Read.All).
func TestUserWriteAuthorization(t *testing.T) {
	e := newEnv(t)
	appID, secret, spID := e.createForRBAC(t, admin, "reader")
	tok := e.token(t, appID, secret, graphBase+"/")
	u := e.must(t, admin, "POST", "/v1.0/users", userBody("ada@example.com", "Ada", "Abcdef1!x"), 201)
	id := u["id"].(string)

	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1.0/users", nil},
		{"GET", "/v1.0/users" + q("userPrincipalName eq 'ada@example.com'"), nil},
		{"GET", "/v1.0/users/" + id, nil},
		{"GET", "/v1.0/users/ada@example.com", nil},
		{"GET", "/v1.0/users/nobody@example.com", nil}, // no telling who exists
		{"POST", "/v1.0/users", userBody("eve@example.com", "Eve", "Abcdef1!x")},
		{"PATCH", "/v1.0/users/" + id, map[string]any{"passwordProfile": map[string]any{"password": "Eves-Passw0rd"}}},
		{"PATCH", "/v1.0/users/ada@example.com", map[string]any{"accountEnabled": false}},
		{"DELETE", "/v1.0/users/" + id, nil},
	} {
		code, m := e.call(t, tok, tc.method, tc.path, tc.body)
		wantError(t, code, m, 403, "Authorization_RequestDenied")
	}
	for _, bad := range []string{"", admin + "x"} {
		code, m := e.call(t, bad, "GET", "/v1.0/users", nil)
		wantError(t, code, m, 401, "InvalidAuthenticationToken")
	}
	got := e.must(t, admin, "GET", "/v1.0/users/"+id, nil, 200)
	if got["accountEnabled"] != true {
		t.Fatalf("refused PATCH disabled the user: %v", got)
	}
	if _, err := e.st.CheckUserPassword(t.Context(), "ada@example.com", "Abcdef1!x"); err != nil {
		t.Fatalf("refused PATCH changed the password: %v", err)
	}
	if _, err := e.st.UserByPrincipalName(t.Context(), "eve@example.com"); err == nil {
		t.Fatal("refused POST created the user")
	}

	e.mu.Lock()
	e.owners[spID] = true
	e.mu.Unlock()
	e.must(t, tok, "POST", "/v1.0/users", userBody("eve@example.com", "Eve", "Abcdef1!x"), 201)
	e.must(t, tok, "GET", "/v1.0/users/eve@example.com", nil, 200)
	e.must(t, tok, "GET", "/v1.0/users", nil, 200)
	e.must(t, tok, "DELETE", "/v1.0/users/eve@example.com", nil, 204)
}
