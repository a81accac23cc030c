package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The `ad` commands talk to the server's directory (internal/graph, a
// Microsoft Graph v1.0 subset) with the requests az's role module sends
// (azure/cli/command_modules/role/custom.py).

// credentialWarning is az's CREDENTIAL_WARNING, printed after a password
// is shown.
const credentialWarning = "The output includes credentials that you must protect. Be sure that you do not include these credentials in " +
	"your code or check the credentials into your source control. For more information, see https://aka.ms/azadsp-cli"

var (
	uCert = unsupported("certificate credentials are not supported: Slipway's service principals sign in with passwords",
		"--cert", "--create-cert", "--keyvault")
	uMine    = unsupported("Slipway's directory records no owners", "--show-mine")
	fSPID    = flagDef{Names: []string{"--id"}, Required: true, Help: "Service principal name (its app id) or object id."}
	fAppID   = flagDef{Names: []string{"--id"}, Required: true, Help: "Application's app id or object id."}
	fListAll = flagDef{Names: []string{"--all"}, Kind: kindBool, Help: "List all entities; without it and without filters, the first 100."}
	fFilter  = flagDef{Names: []string{"--filter"}, Help: "OData filter, e.g. --filter \"displayname eq 'test'\"."}
	// spColumns and appColumns are az's table columns for these objects.
	spColumns  = []column{{"DisplayName", "displayName"}, {"Id", "id"}, {"AppId", "appId"}, {"CreatedDateTime", "createdDateTime"}}
	appColumns = []column{{"DisplayName", "displayName"}, {"Id", "id"}, {"AppId", "appId"}, {"CreatedDateTime", "createdDateTime"}}
)

func adCommands() []command {
	credFlags := []flagDef{
		{Names: []string{"--years"}, Help: "Number of years for which the credentials will be valid. Default: 1 year."},
	}
	cmds := []command{
		{path: "ad sp create-for-rbac", short: "Create an application and its service principal, with a password and optionally a role assignment.", run: adSPCreateForRBAC,
			flags: withUnsupported(append([]flagDef{
				{Names: []string{"--display-name", "--name", "-n"}, Help: "Display name of the service principal. Default: azure-cli-%Y-%m-%d-%H-%M-%S."},
				{Names: []string{"--role"}, Help: "Role of the service principal (give --scopes too)."},
				{Names: []string{"--scopes"}, Kind: kindList, Help: "Space-separated scopes the role assignment applies to, e.g. /subscriptions/{id}/resourceGroups/{group}."},
				{Names: []string{"--create-password"}, Kind: kindBool, Help: "Create a password credential (the default); false creates none."},
				{Names: []string{"--skip-assignment"}, Kind: kindBool, Help: "No-op (deprecated in az)."},
			}, credFlags...), uCert, uPolicy,
				unsupported("the JSON for SDK auth files is not produced: use appId, password and tenant", "--json-auth --sdk-auth"),
				unsupported("Slipway's directory keeps only display names", "--service-management-reference"))},
		{path: "ad sp show", short: "Get the details of a service principal.", run: adSPShow, flags: []flagDef{fSPID}},
		{path: "ad sp list", short: "List service principals.", run: adSPList, flags: withUnsupported([]flagDef{
			fListAll, fFilter,
			{Names: []string{"--display-name"}, Help: "Object's display name or its prefix."},
			{Names: []string{"--spn"}, Help: "Service principal name (an app id)."},
		}, uMine)},
		{path: "ad sp delete", short: "Delete a service principal.", run: adSPDelete, flags: withUnsupported([]flagDef{fSPID}, uPolicy)},
		{path: "ad sp credential reset", short: "Reset a service principal's password.", run: adSPCredentialReset, flags: withUnsupported(append([]flagDef{
			{Names: []string{"--id"}, Required: true, Help: fSPID.Help},
			{Names: []string{"--append"}, Kind: kindBool, Help: "Append the new password instead of replacing the existing ones."},
			{Names: []string{"--end-date"}, Help: "Expiry, finer than --years: e.g. 2030-12-31T11:59:59+00:00 or 2030-12-31."},
			{Names: []string{"--display-name"}, Help: "Friendly name for the credential."},
		}, credFlags...), uCert, uPolicy)},
		{path: "ad app create", short: "Create an application (or update the one with that display name).", run: adAppCreate, flags: withUnsupported([]flagDef{
			{Names: []string{"--display-name"}, Required: true, Help: "The display name of the application."},
		}, uPolicy, unsupported("Slipway's directory keeps only applications' display names and passwords",
			"--app-roles", "--enable-access-token-issuance", "--enable-id-token-issuance", "--end-date", "--identifier-uris",
			"--is-fallback-public-client", "--key-display-name", "--key-type", "--key-usage", "--key-value", "--optional-claims",
			"--public-client-redirect-uris", "--requested-access-token-version", "--required-resource-accesses",
			"--service-management-reference", "--sign-in-audience", "--start-date", "--web-home-page-url", "--web-redirect-uris"))},
		{path: "ad app show", short: "Get the details of an application.", run: adAppShow, flags: []flagDef{fAppID}},
		{path: "ad app list", short: "List applications.", run: adAppList, flags: withUnsupported([]flagDef{
			fListAll, fFilter,
			{Names: []string{"--app-id"}, Help: "Application id."},
			{Names: []string{"--display-name"}, Help: "The display name of the application or its prefix."},
			{Names: []string{"--identifier-uri"}, Help: "Graph application identifier, must be in uri format."},
		}, uMine)},
		{path: "ad app delete", short: "Delete an application (and its service principal).", run: adAppDelete, flags: withUnsupported([]flagDef{fAppID}, uPolicy)},
	}
	for i := range cmds {
		cmds[i].tenant = true
	}
	return cmds
}

// credentialEnd reads --years (default 1) or --end-date, as az's
// _reset_credential does.
func (inv *invocation) credentialEnd(start time.Time) (time.Time, error) {
	years, end := inv.flags.str("years"), inv.flags.str("end-date")
	if years != "" && end != "" {
		return time.Time{}, exitErrorf("", "usage error: --years | --end-date")
	}
	if end != "" {
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, end); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, usageErrorf(inv.cmdPath(), "argument --end-date: %q is not a date such as 2030-12-31 or 2030-12-31T11:59:59+00:00", end)
	}
	n := 1
	if years != "" {
		v, err := strconv.Atoi(years)
		if err != nil || v < 1 || v > 100 {
			return time.Time{}, usageErrorf(inv.cmdPath(), "argument --years: invalid int value: '%s' (1 to 100)", years)
		}
		n = v
	}
	return start.AddDate(n, 0, 0), nil
}

// passwordBody is az's _build_add_password_credential_body.
func passwordBody(displayName any, start, end time.Time) map[string]any {
	return map[string]any{"passwordCredential": map[string]any{
		"displayName": displayName, "endDateTime": end.UTC().Format("2006-01-02T15:04:05Z"), "startDateTime": start.UTC().Format("2006-01-02T15:04:05Z")}}
}

func adSPCreateForRBAC(ctx context.Context, inv *invocation) error {
	role, scopes := inv.flags.str("role"), inv.flags.list("scopes")
	if (role != "") != (len(scopes) > 0) {
		return usageErrorf(inv.cmdPath(), "Usage error: To create role assignments, specify both --role and --scopes.")
	}
	for _, s := range scopes {
		if !strings.HasPrefix(s, "/subscriptions/") {
			return exitErrorf("Give a scope such as /subscriptions/{id}/resourceGroups/{group}.", "Invalid scope '%s'.", s)
		}
	}
	start := time.Now().UTC().Truncate(time.Second)
	end, err := inv.credentialEnd(start)
	if err != nil {
		return err
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	name := inv.flags.str("display-name")
	var existing []map[string]any
	if name == "" {
		name = "azure-cli-" + start.Format("2006-01-02-15-04-05")
	} else if existing, err = c.servicePrincipalsWhere(ctx, "displayName eq "+odataQuote(name)); err != nil {
		return err
	}
	app, err := c.createApplication(ctx, inv, name)
	if err != nil {
		return err
	}
	appObj, _ := app["id"].(string)
	appID, _ := app["appId"].(string)
	// An existing application's passwords are replaced, as az does.
	if creds, ok := app["passwordCredentials"].([]any); ok {
		for _, cr := range creds {
			if m, ok := cr.(map[string]any); ok {
				if err := c.graph(ctx, http.MethodPost, "/applications/"+url.PathEscape(appObj)+"/removePassword", map[string]any{"keyId": m["keyId"]}, nil); err != nil {
					return err
				}
			}
		}
	}
	var password any
	if !inv.flags.has("create-password") || inv.flags.boolean("create-password") {
		var pw map[string]any
		if err := c.graph(ctx, http.MethodPost, "/applications/"+url.PathEscape(appObj)+"/addPassword", passwordBody("rbac", start, end), &pw); err != nil {
			return err
		}
		password = pw["secretText"]
	}
	var sp map[string]any
	if len(existing) > 0 {
		sp = existing[0]
	} else if err := c.graph(ctx, http.MethodPost, "/servicePrincipals", map[string]any{"appId": appID, "accountEnabled": true}, &sp); err != nil {
		return err
	}
	spID, _ := sp["id"].(string)
	for _, scope := range scopes {
		inv.warnf("Creating '%s' role assignment under scope '%s'", role, scope)
		if err := c.assignRole(ctx, inv, strings.TrimRight(scope, "/"), role, spID); err != nil {
			return err
		}
	}
	if password != nil {
		inv.warnf("%s", credentialWarning)
	}
	tenant, err := c.tenantID(ctx)
	if err != nil {
		return err
	}
	return inv.printResult(map[string]any{"appId": appID, "displayName": name, "password": password, "tenant": tenant}, nil)
}

// assignRole creates the role assignment create-for-rbac asks for; one
// that exists already is fine, as in az.
func (c *conn) assignRole(ctx context.Context, inv *invocation, scope, role, principal string) error {
	roleID, err := c.resolveRoleID(ctx, role, scope)
	if err != nil {
		return err
	}
	name, err := inv.r.newGUID()
	if err != nil {
		return err
	}
	props := map[string]any{"roleDefinitionId": roleID, "principalId": principal, "principalType": "ServicePrincipal"}
	_, err = c.arm(ctx, http.MethodPut, scope+"/providers/Microsoft.Authorization/roleAssignments/"+url.PathEscape(name), apiAuthz, nil, map[string]any{"properties": props})
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "RoleAssignmentExists" {
		inv.warnf("  Role assignment already exists.\n")
		return nil
	}
	return err
}

// createApplication is az's create_application for a display name: the
// application of that name is patched when there is exactly one, else a
// new one is created.
func (c *conn) createApplication(ctx context.Context, inv *invocation, name string) (map[string]any, error) {
	var apps []map[string]any
	if err := c.graph(ctx, http.MethodGet, "/applications"+graphFilter("startswith(displayName,"+odataQuote(name)+")"), nil, &apps); err != nil {
		return nil, err
	}
	var same []string
	for _, a := range apps {
		if a["displayName"] == name {
			id, _ := a["id"].(string)
			same = append(same, id)
		}
	}
	if len(same) > 1 {
		return nil, exitErrorf("", "More than one application have the same display name '%s': (id) %s, please remove them first.", name, strings.Join(same, ", "))
	}
	var app map[string]any
	if len(same) == 1 {
		inv.warnf("Found an existing application instance: (id) %s. We will patch it.", same[0])
		path := "/applications/" + url.PathEscape(same[0])
		if err := c.graph(ctx, http.MethodPatch, path, map[string]any{"displayName": name}, nil); err != nil {
			return nil, err
		}
		err := c.graph(ctx, http.MethodGet, path, nil, &app)
		return app, err
	}
	err := c.graph(ctx, http.MethodPost, "/applications", map[string]any{"displayName": name}, &app)
	var ae *apiError
	if errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.Message), "insufficient privileges") {
		return nil, exitErrorf("Use the admin token (run the CLI where the server runs), or sign in as a principal with Owner or User Access Administrator on the subscription.",
			"Directory permission is needed for the current user to register the application. Original error: %s", ae.Message)
	}
	return app, err
}

// showServicePrincipal resolves --id and reads the service principal.
func (inv *invocation) showServicePrincipal(ctx context.Context) (*conn, map[string]any, error) {
	c, err := inv.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	oid, err := c.resolveServicePrincipal(ctx, inv.flags.str("id"))
	if err != nil {
		return nil, nil, err
	}
	var sp map[string]any
	err = c.graph(ctx, http.MethodGet, "/servicePrincipals/"+url.PathEscape(oid), nil, &sp)
	return c, sp, err
}

func adSPShow(ctx context.Context, inv *invocation) error {
	_, sp, err := inv.showServicePrincipal(ctx)
	if err != nil {
		return err
	}
	return inv.printResult(sp, spColumns)
}

func adSPDelete(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	oid, err := c.resolveServicePrincipal(ctx, inv.flags.str("id"))
	if err != nil {
		return err
	}
	return c.graph(ctx, http.MethodDelete, "/servicePrincipals/"+url.PathEscape(oid), nil, nil)
}

// listCapped is az's listing without filters or --all: the first 100,
// with a warning when there are more.
func (inv *invocation) listCapped(list []map[string]any, filtered bool) []map[string]any {
	if filtered || inv.flags.boolean("all") || len(list) <= 100 {
		return list
	}
	inv.warnf("The result is not complete. You can still use '--all' to get all of them with long latency expected, or provide a filter through command arguments")
	return list[:100]
}

func adSPList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	var subs []string
	if f := inv.flags.str("filter"); f != "" {
		subs = append(subs, f)
	}
	if spn := inv.flags.str("spn"); spn != "" {
		subs = append(subs, "servicePrincipalNames/any(c:c eq "+odataQuote(spn)+")")
	}
	if dn := inv.flags.str("display-name"); dn != "" {
		subs = append(subs, "startswith(displayName,"+odataQuote(dn)+")")
	}
	list, err := c.servicePrincipalsWhere(ctx, strings.Join(subs, " and "))
	if err != nil {
		return err
	}
	return inv.printResult(toAny(inv.listCapped(list, len(subs) > 0)), spColumns)
}

func toAny(list []map[string]any) []any {
	out := make([]any, len(list))
	for i, m := range list {
		out[i] = m
	}
	return out
}

func adSPCredentialReset(ctx context.Context, inv *invocation) error {
	start := time.Now().UTC().Truncate(time.Second)
	end, err := inv.credentialEnd(start)
	if err != nil {
		return err
	}
	c, sp, err := inv.showServicePrincipal(ctx)
	if err != nil {
		return err
	}
	path := "/servicePrincipals/" + url.PathEscape(fmt.Sprint(sp["id"]))
	if !inv.flags.boolean("append") {
		creds, _ := sp["passwordCredentials"].([]any)
		for _, cr := range creds {
			if m, ok := cr.(map[string]any); ok {
				if err := c.graph(ctx, http.MethodPost, path+"/removePassword", map[string]any{"keyId": m["keyId"]}, nil); err != nil {
					return err
				}
			}
		}
	}
	var displayName any
	if inv.flags.has("display-name") {
		displayName = inv.flags.str("display-name")
	}
	var pw map[string]any
	if err := c.graph(ctx, http.MethodPost, path+"/addPassword", passwordBody(displayName, start, end), &pw); err != nil {
		return err
	}
	inv.warnf("%s", credentialWarning)
	tenant, err := c.tenantID(ctx)
	if err != nil {
		return err
	}
	return inv.printResult(map[string]any{"appId": sp["appId"], "password": pw["secretText"], "tenant": tenant}, nil)
}

func adAppCreate(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	app, err := c.createApplication(ctx, inv, inv.flags.str("display-name"))
	if err != nil {
		return err
	}
	return inv.printResult(app, appColumns)
}

// resolveApplication is az's _resolve_application: an app id (else an
// object id) for a GUID, an identifier URI otherwise.
func (c *conn) resolveApplication(ctx context.Context, id string) (string, error) {
	filter := "identifierUris/any(s:s eq " + odataQuote(id) + ")"
	if guidRE.MatchString(id) {
		filter = "appId eq " + odataQuote(id)
	}
	var apps []map[string]any
	if err := c.graph(ctx, http.MethodGet, "/applications"+graphFilter(filter), nil, &apps); err != nil {
		return "", err
	}
	if len(apps) > 0 {
		oid, _ := apps[0]["id"].(string)
		return oid, nil
	}
	if guidRE.MatchString(id) {
		return id, nil
	}
	return "", &ExitError{Code: ExitNotFound, Message: fmt.Sprintf("Application with identifier URI '%s' doesn't exist", id)}
}

func adAppShow(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	oid, err := c.resolveApplication(ctx, inv.flags.str("id"))
	if err != nil {
		return err
	}
	var app map[string]any
	if err := c.graph(ctx, http.MethodGet, "/applications/"+url.PathEscape(oid), nil, &app); err != nil {
		return err
	}
	return inv.printResult(app, appColumns)
}

func adAppList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	var subs []string
	if f := inv.flags.str("filter"); f != "" {
		subs = append(subs, f)
	}
	if v := inv.flags.str("app-id"); v != "" {
		subs = append(subs, "appId eq "+odataQuote(v))
	}
	if v := inv.flags.str("display-name"); v != "" {
		subs = append(subs, "startswith(displayName,"+odataQuote(v)+")")
	}
	if v := inv.flags.str("identifier-uri"); v != "" {
		subs = append(subs, "identifierUris/any(s:s eq "+odataQuote(v)+")")
	}
	q := ""
	if len(subs) > 0 {
		q = graphFilter(strings.Join(subs, " and "))
	}
	var list []map[string]any
	if err := c.graph(ctx, http.MethodGet, "/applications"+q, nil, &list); err != nil {
		return err
	}
	return inv.printResult(toAny(inv.listCapped(list, len(subs) > 0)), appColumns)
}

func adAppDelete(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	oid, err := c.resolveApplication(ctx, inv.flags.str("id"))
	if err != nil {
		return err
	}
	return c.graph(ctx, http.MethodDelete, "/applications/"+url.PathEscape(oid), nil, nil)
}
