package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// apiKeyVault is the Microsoft.KeyVault api-version the CLI sends, and
// apiSecrets the data plane's (az keyvault's azure-keyvault-secrets).
const (
	apiKeyVault = "2024-11-01"
	apiSecrets  = "7.4"
)

var (
	fVaultName   = flagDef{Names: []string{"--name", "-n"}, Required: true, Help: "Name of the key vault."}
	fVaultNameS  = flagDef{Names: []string{"--vault-name"}, Help: "Name of the key vault. Required unless --id is given."}
	fSecretName  = flagDef{Names: []string{"--name", "-n"}, Help: "Name of the secret. Required unless --id is given."}
	fSecretID    = flagDef{Names: []string{"--id"}, Help: "Id of the secret (https://<vault>.vault.<domain>/secrets/<name>[/<version>]). Replaces --vault-name and --name."}
	uHSM         = unsupported("Managed HSMs are not supported", "--hsm-name")
	uVaultNet    = unsupported("network rules are not supported: the vault answers on the platform's network", "--bypass", "--default-action", "--network-acls", "--network-acls-ips", "--network-acls-vnets")
	uVaultFlags  = unsupported("VM, disk-encryption and template deployments are out of scope", "--enabled-for-deployment", "--enabled-for-disk-encryption", "--enabled-for-template-deployment")
	uVaultOthers = unsupported("HSM administrators and vault identities are not supported", "--administrators", "--mi-user-assigned")
)

func keyvaultCommands() []command {
	return []command{
		{path: "keyvault create", short: "Create a key vault.", run: keyvaultCreate, flags: withUnsupported([]flagDef{
			fGroup, fVaultName,
			{Names: []string{"--location", "-l"}, Help: "Location. Default: the resource group's."},
			{Names: []string{"--sku"}, Help: "SKU: standard or premium. Default: standard."},
			{Names: []string{"--enable-rbac-authorization"}, Kind: kindBool, Help: "Authorize data actions with role assignments instead of access policies. Default: true."},
			{Names: []string{"--enable-purge-protection"}, Kind: kindBool, Help: "Forbid purging deleted vaults and secrets before their retention ends. Irreversible."},
			{Names: []string{"--retention-days"}, Help: "Soft-delete retention in days, 7-90. Default: 90."},
			{Names: []string{"--no-self-perms"}, Kind: kindBool, Help: "Give the caller no access policy (access-policy vaults only)."},
			{Names: []string{"--public-network-access"}, Help: "Enabled or Disabled (recorded, not enforced)."},
			{Names: []string{"--tags"}, Kind: kindList, Help: "Space-separated tags: key[=value]."},
		}, uHSM, uVaultNet, uVaultFlags, uVaultOthers, uNoWait, uPolicy)},
		{path: "keyvault list", short: "List key vaults.", run: keyvaultList, flags: []flagDef{fGroupOpt,
			{Names: []string{"--resource-type"}, Help: "vault (the only type Slipway has)."}}},
		{path: "keyvault show", short: "Show a key vault.", run: keyvaultShow, flags: withUnsupported([]flagDef{fGroupOpt, fVaultName}, uHSM)},
		{path: "keyvault delete", short: "Delete a key vault (soft delete: recover or purge it later).", run: keyvaultDelete, flags: withUnsupported([]flagDef{fGroupOpt, fVaultName}, uHSM, uNoWait, uPolicy)},
		{path: "keyvault purge", short: "Permanently delete a deleted key vault.", run: keyvaultPurge, flags: withUnsupported([]flagDef{fVaultName,
			{Names: []string{"--location", "-l"}, Help: "Location of the deleted vault. Default: found by name."}}, uHSM, uNoWait, uPolicy)},
		{path: "keyvault recover", short: "Recover a deleted key vault.", run: keyvaultRecover, flags: withUnsupported([]flagDef{fVaultName, fGroupOpt,
			{Names: []string{"--location", "-l"}, Help: "Location of the deleted vault. Default: found by name."}}, uHSM, uNoWait, uPolicy)},
		{path: "keyvault set-policy", short: "Update the access policy of an identity on a key vault.", run: keyvaultSetPolicy, flags: withUnsupported([]flagDef{
			fGroupOpt, fVaultName,
			{Names: []string{"--object-id"}, Help: "Object id of the identity (user, group or service principal)."},
			{Names: []string{"--spn"}, Help: "Service principal name: its object id, as Slipway has no directory to look names up in."},
			{Names: []string{"--application-id"}, Help: "Application id, for a compound identity."},
			{Names: []string{"--secret-permissions"}, Kind: kindList, Help: "Space-separated secret permissions: all backup delete get list purge recover restore set."},
			{Names: []string{"--key-permissions"}, Kind: kindList, Help: "Key permissions (recorded: Slipway serves no keys yet)."},
			{Names: []string{"--certificate-permissions"}, Kind: kindList, Help: "Certificate permissions (recorded: Slipway serves no certificates yet)."},
			{Names: []string{"--storage-permissions"}, Kind: kindList, Help: "Storage permissions (recorded)."},
		}, unsupported("Slipway has no user directory; give --object-id", "--upn"), uNoWait, uPolicy)},

		{path: "keyvault secret set", short: "Create a secret or a new version of it.", run: secretSet, flags: withUnsupported([]flagDef{
			{Names: []string{"--vault-name"}, Required: true, Help: "Name of the key vault."},
			{Names: []string{"--name", "-n"}, Required: true, Help: "Name of the secret."},
			{Names: []string{"--value"}, Help: "Value of the secret."},
			{Names: []string{"--content-type", "--description"}, Help: "Type of the value, e.g. a MIME type."},
			{Names: []string{"--disabled"}, Kind: kindBool, Help: "Create the secret disabled."},
			{Names: []string{"--expires"}, Help: "Expiry, UTC, e.g. 2030-12-31T23:59:59Z."},
			{Names: []string{"--not-before"}, Help: "Not valid before, UTC."},
			{Names: []string{"--tags"}, Kind: kindList, Help: "Space-separated tags: key[=value]."},
		}, unsupported("reading the value from a file is not supported yet; use --value", "--file -f", "--encoding -e"), uPolicy)},
		{path: "keyvault secret show", short: "Get a secret's value and attributes.", run: secretShow, flags: []flagDef{
			fVaultNameS, fSecretName, fSecretID, {Names: []string{"--version", "-v"}, Help: "Version. Default: the latest."}}},
		{path: "keyvault secret list", short: "List secrets (without values).", run: secretList, flags: withUnsupported([]flagDef{
			fVaultNameS, {Names: []string{"--id"}, Help: "The vault's URI. Replaces --vault-name."},
			{Names: []string{"--maxresults"}, Help: "Maximum number of secrets to list."},
		}, unsupported("Slipway has no managed secrets", "--include-managed"))},
		{path: "keyvault secret delete", short: "Delete a secret (soft delete: recover or purge it later).", run: secretDelete, flags: withUnsupported([]flagDef{fVaultNameS, fSecretName, fSecretID}, uPolicy)},
		{path: "keyvault secret recover", short: "Recover a deleted secret.", run: secretRecover, flags: withUnsupported([]flagDef{fVaultNameS, fSecretName, fSecretID}, uPolicy)},
		{path: "keyvault secret purge", short: "Permanently delete a deleted secret.", run: secretPurge, flags: withUnsupported([]flagDef{fVaultNameS, fSecretName, fSecretID}, uPolicy)},
	}
}

func (c *conn) vaultPath(rg, name string) string {
	return c.groupPath(rg) + "/providers/Microsoft.KeyVault/vaults/" + url.PathEscape(name)
}

// vaultOutput is a vault as az prints it: the SDK model plus resourceGroup.
func vaultOutput(m map[string]any) map[string]any {
	if id, ok := m["id"].(string); ok {
		m["resourceGroup"] = resourceGroupOf(id)
	}
	return m
}

var vaultColumns = []column{{"Location", "location"}, {"Name", "name"}, {"ResourceGroup", "resourceGroup"}}

// findVault finds a vault by name in the subscription (az's show and
// delete take the group as optional).
func (c *conn) findVault(ctx context.Context, rg, name string) (map[string]any, error) {
	if rg != "" {
		return c.armMap(ctx, http.MethodGet, c.vaultPath(rg, name), apiKeyVault, nil)
	}
	list, err := c.armList(ctx, c.subPath()+"/providers/Microsoft.KeyVault/vaults", apiKeyVault)
	if err != nil {
		return nil, err
	}
	for _, it := range list {
		if m, ok := it.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["name"]), name) {
			return m, nil
		}
	}
	return nil, exitErrorf("Check the name with `slipway keyvault list`.", "The vault '%s' was not found in the subscription.", name)
}

func tagsFlag(inv *invocation) map[string]string {
	tags := map[string]string{}
	for _, t := range inv.flags.list("tags") {
		k, v, _ := strings.Cut(t, "=")
		tags[k] = v
	}
	return tags
}

func keyvaultCreate(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	if err := slipway.ValidateVaultName(name); err != nil {
		return exitErrorf("", "%s", slipway.ErrorMessage(err))
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	if _, err := c.armMap(ctx, http.MethodGet, c.vaultPath(rg, name), apiKeyVault, nil); err == nil {
		return exitErrorf("", "The specified vault: %s already exists", name)
	}
	loc, err := c.location(ctx, inv, rg)
	if err != nil {
		return err
	}
	tenant, err := c.tenantID(ctx)
	if err != nil {
		return err
	}
	rbac := !inv.flags.has("enable-rbac-authorization") || inv.flags.boolean("enable-rbac-authorization")
	retention := 90
	if s := inv.flags.str("retention-days"); s != "" {
		if retention, err = strconv.Atoi(s); err != nil || retention < 7 || retention > 90 {
			return exitErrorf("", "--retention-days must be an integer from 7 to 90.")
		}
	}
	sku := inv.flags.str("sku")
	if sku == "" {
		sku = "standard"
	}
	props := map[string]any{
		"tenantId": tenant, "sku": map[string]any{"family": "A", "name": sku}, "accessPolicies": []any{},
		"enableRbacAuthorization": rbac, "enableSoftDelete": true, "softDeleteRetentionInDays": retention,
	}
	if inv.flags.boolean("enable-purge-protection") {
		props["enablePurgeProtection"] = true
	}
	if v := inv.flags.str("public-network-access"); v != "" {
		props["publicNetworkAccess"] = v
	}
	if !rbac && !inv.flags.boolean("no-self-perms") {
		return exitErrorf("Give --no-self-perms and then `slipway keyvault set-policy --object-id ...`, or use RBAC authorization.",
			"Slipway cannot look up the caller's object id for an access policy.")
	}
	v, err := c.armMap(ctx, http.MethodPut, c.vaultPath(rg, name), apiKeyVault, map[string]any{"location": loc, "tags": tagsFlag(inv), "properties": props})
	if err != nil {
		return err
	}
	return inv.printResult(vaultOutput(v), vaultColumns)
}

// tenantID reads the subscription's tenant.
func (c *conn) tenantID(ctx context.Context) (string, error) {
	var s struct {
		TenantID string `json:"tenantId"`
	}
	if err := c.armJSON(ctx, http.MethodGet, c.subPath(), apiSubs, nil, &s); err != nil {
		return "", err
	}
	return s.TenantID, nil
}

func keyvaultList(ctx context.Context, inv *invocation) error {
	if t := inv.flags.str("resource-type"); t != "" && t != "vault" {
		return exitErrorf("", "Slipway has no resources of type %q: only vault.", t)
	}
	return listResources(ctx, inv, "/providers/Microsoft.KeyVault/vaults", apiKeyVault, vaultOutput, vaultColumns,
		func(c *conn, rg string) string { return c.groupPath(rg) + "/providers/Microsoft.KeyVault/vaults" })
}

func keyvaultShow(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	v, err := c.findVault(ctx, inv.flags.str("resource-group"), inv.flags.str("name"))
	if err != nil {
		return err
	}
	return inv.printResult(vaultOutput(v), vaultColumns)
}

func keyvaultDelete(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	v, err := c.findVault(ctx, inv.flags.str("resource-group"), inv.flags.str("name"))
	if err != nil {
		return err
	}
	_, err = c.arm(ctx, http.MethodDelete, c.vaultPath(resourceGroupOf(fmt.Sprint(v["id"])), fmt.Sprint(v["name"])), apiKeyVault, nil, nil)
	return err
}

// deletedVault connects and finds the deleted vault --name (in --location,
// if given): its location and group.
func (inv *invocation) deletedVault(ctx context.Context) (c *conn, name, location, rg string, err error) {
	name, loc := inv.flags.str("name"), inv.flags.str("location")
	if c, err = inv.connect(ctx); err != nil {
		return nil, "", "", "", err
	}
	list, err := c.armList(ctx, c.subPath()+"/providers/Microsoft.KeyVault/deletedVaults", apiKeyVault)
	if err != nil {
		return nil, "", "", "", err
	}
	for _, it := range list {
		m, _ := it.(map[string]any)
		p, _ := m["properties"].(map[string]any)
		if m == nil || p == nil || !strings.EqualFold(fmt.Sprint(m["name"]), name) {
			continue
		}
		if loc == "" || strings.EqualFold(fmt.Sprint(p["location"]), normalizeLocation(loc)) {
			return c, name, fmt.Sprint(p["location"]), resourceGroupOf(fmt.Sprint(p["vaultId"])), nil
		}
	}
	return nil, "", "", "", exitErrorf("", "The deleted vault '%s' was not found.", name)
}

func keyvaultPurge(ctx context.Context, inv *invocation) error {
	c, name, loc, _, err := inv.deletedVault(ctx)
	if err != nil {
		return err
	}
	_, err = c.arm(ctx, http.MethodPost, c.subPath()+"/providers/Microsoft.KeyVault/locations/"+url.PathEscape(loc)+"/deletedVaults/"+url.PathEscape(name)+"/purge", apiKeyVault, nil, nil)
	return err
}

func keyvaultRecover(ctx context.Context, inv *invocation) error {
	c, name, loc, rg, err := inv.deletedVault(ctx)
	if err != nil {
		return err
	}
	if g := inv.flags.str("resource-group"); g != "" {
		rg = g
	}
	tenant, err := c.tenantID(ctx)
	if err != nil {
		return err
	}
	v, err := c.armMap(ctx, http.MethodPut, c.vaultPath(rg, name), apiKeyVault, map[string]any{"location": loc,
		"properties": map[string]any{"tenantId": tenant, "sku": map[string]any{"family": "A", "name": "standard"}, "createMode": "recover"}})
	if err != nil {
		return err
	}
	return inv.printResult(vaultOutput(v), vaultColumns)
}

// keyvaultSetPolicy reads the vault, merges the identity's permissions as
// az does (a permission list given replaces that list; one not given is
// kept) and puts the vault back.
func keyvaultSetPolicy(ctx context.Context, inv *invocation) error {
	oid := inv.flags.str("object-id")
	if oid == "" {
		oid = inv.flags.str("spn")
	}
	if oid == "" {
		return exitErrorf("", "Give --object-id (or --spn with the service principal's object id).")
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	v, err := c.findVault(ctx, inv.flags.str("resource-group"), inv.flags.str("name"))
	if err != nil {
		return err
	}
	props, _ := v["properties"].(map[string]any)
	if props == nil {
		return exitErrorf("", "The server answered a vault without properties.")
	}
	if rbac, _ := props["enableRbacAuthorization"].(bool); rbac {
		return exitErrorf("", "Cannot set policies to a vault with '--enable-rbac-authorization' specified")
	}
	tenant := fmt.Sprint(props["tenantId"])
	app := inv.flags.str("application-id")
	pols, _ := props["accessPolicies"].([]any)
	var mine map[string]any
	for _, p := range pols {
		m, _ := p.(map[string]any)
		if m != nil && strings.EqualFold(fmt.Sprint(m["objectId"]), oid) && strings.EqualFold(fmt.Sprint(m["tenantId"]), tenant) &&
			strings.EqualFold(strOr(m["applicationId"]), app) {
			mine = m
		}
	}
	if mine == nil {
		mine = map[string]any{"tenantId": tenant, "objectId": oid, "permissions": map[string]any{}}
		if app != "" {
			mine["applicationId"] = app
		}
		pols = append(pols, mine)
	}
	perms, _ := mine["permissions"].(map[string]any)
	if perms == nil {
		perms = map[string]any{}
		mine["permissions"] = perms
	}
	for flag, key := range map[string]string{"secret-permissions": "secrets", "key-permissions": "keys", "certificate-permissions": "certificates", "storage-permissions": "storage"} {
		if inv.flags.has(flag) {
			perms[key] = inv.flags.list(flag)
		}
	}
	props["accessPolicies"] = pols
	out, err := c.armMap(ctx, http.MethodPut, c.vaultPath(resourceGroupOf(fmt.Sprint(v["id"])), fmt.Sprint(v["name"])), apiKeyVault,
		map[string]any{"location": v["location"], "tags": v["tags"], "properties": props})
	if err != nil {
		return err
	}
	return inv.printResult(vaultOutput(out), vaultColumns)
}

func strOr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// dataPlaneToken is the bearer token the secret commands send to a
// vault's data plane for resource (the vault's audience, e.g.
// https://vault.localhost). SEAM for the integrator: it is the admin token
// for now; replace it with a token for that audience when the identity
// part issues them.
func (c *conn) dataPlaneToken(_ context.Context, resource string) (string, error) {
	_ = resource
	if c.token == "" {
		return "", exitErrorf("Set SLIPWAY_TOKEN.", "No token for the key vault's data plane.")
	}
	return c.token, nil
}

// secretTarget resolves --id or --vault-name/--name to the vault's base
// URL, the secret name and version.
func (inv *invocation) secretTarget(ctx context.Context, c *conn, withName bool) (base, name, version string, err error) {
	if id := inv.flags.str("id"); id != "" {
		u, perr := url.Parse(id)
		if perr != nil || u.Scheme != "https" || u.Host == "" {
			return "", "", "", exitErrorf("", "--id %q is not a vault or secret URL.", id)
		}
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		if withName {
			if len(segs) < 2 || segs[0] != "secrets" {
				return "", "", "", exitErrorf("", "--id %q is not a secret id (https://<vault>/secrets/<name>[/<version>]).", id)
			}
			name = segs[1]
			if len(segs) > 2 {
				version = segs[2]
			}
		}
		return "https://" + u.Host, name, version, nil
	}
	vault := inv.flags.str("vault-name")
	name = inv.flags.str("name")
	if vault == "" || (withName && name == "") {
		return "", "", "", exitErrorf("", "Give --id, or --vault-name and --name.")
	}
	v, err := c.findVault(ctx, "", vault)
	if err != nil {
		return "", "", "", err
	}
	props, _ := v["properties"].(map[string]any)
	base = strings.TrimRight(strOr(props["vaultUri"]), "/")
	if base == "" {
		return "", "", "", exitErrorf("", "The server reported no vaultUri for %s.", vault)
	}
	return base, name, inv.flags.str("version"), nil
}

// secrets sends one data-plane request and decodes its JSON answer.
func (c *conn) secrets(ctx context.Context, method, base, path string, query url.Values, body any, out any) error {
	ctx, cancel := context.WithTimeout(ctx, armTimeout)
	defer cancel()
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	_, audience, _ := strings.Cut(u.Host, ".") // kv1.vault.localhost -> vault.localhost
	tok, err := c.dataPlaneToken(ctx, "https://"+audience)
	if err != nil {
		return err
	}
	if query == nil {
		query = url.Values{}
	}
	query.Set("api-version", apiSecrets)
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path+"?"+query.Encode(), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	if out == nil || len(resp.Body) == 0 {
		return nil
	}
	return decodeBody(resp, out)
}

// secretOutput is a secret bundle as az prints it: Unix times as ISO
// strings, the name beside the id.
func secretOutput(m map[string]any) map[string]any {
	out := map[string]any{"contentType": m["contentType"], "id": m["id"], "kid": m["kid"], "managed": m["managed"], "tags": m["tags"]}
	if v, ok := m["value"]; ok {
		out["value"] = v
	}
	for _, k := range []string{"recoveryId", "deletedDate", "scheduledPurgeDate"} {
		if v, ok := m[k]; ok {
			out[k] = unixISO(v)
		}
	}
	if id, ok := m["id"].(string); ok {
		if u, err := url.Parse(id); err == nil {
			segs := strings.Split(strings.Trim(u.Path, "/"), "/")
			if len(segs) >= 2 {
				out["name"] = segs[1]
			}
		}
	}
	if a, ok := m["attributes"].(map[string]any); ok {
		attrs := map[string]any{"enabled": a["enabled"], "recoverableDays": a["recoverableDays"], "recoveryLevel": a["recoveryLevel"]}
		for wire, az := range map[string]string{"created": "created", "updated": "updated", "exp": "expires", "nbf": "notBefore"} {
			attrs[az] = unixISO(a[wire])
		}
		out["attributes"] = attrs
	}
	return out
}

func unixISO(v any) any {
	if f, ok := v.(float64); ok {
		return time.Unix(int64(f), 0).UTC().Format("2006-01-02T15:04:05+00:00")
	}
	return v
}

var secretColumns = []column{{"Name", "name"}, {"Id", "id"}, {"ContentType", "contentType"}}

func parseAzTime(flag, s string) (int64, error) {
	for _, f := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(f, s); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, exitErrorf("", "--%s %q is not a date and time; use e.g. 2030-12-31T23:59:59Z.", flag, s)
}

func secretSet(ctx context.Context, inv *invocation) error {
	if !inv.flags.has("value") {
		return exitErrorf("", "Give the value with --value.")
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	base, name, _, err := inv.secretTarget(ctx, c, true)
	if err != nil {
		return err
	}
	attrs := map[string]any{"enabled": !inv.flags.boolean("disabled")}
	for flag, key := range map[string]string{"expires": "exp", "not-before": "nbf"} {
		if s := inv.flags.str(flag); s != "" {
			t, err := parseAzTime(flag, s)
			if err != nil {
				return err
			}
			attrs[key] = t
		}
	}
	body := map[string]any{"value": inv.flags.str("value"), "attributes": attrs, "tags": tagsFlag(inv)}
	if ct := inv.flags.str("content-type"); ct != "" {
		body["contentType"] = ct
	}
	out := map[string]any{}
	if err := c.secrets(ctx, http.MethodPut, base, "/secrets/"+url.PathEscape(name), nil, body, &out); err != nil {
		return err
	}
	return inv.printResult(secretOutput(out), secretColumns)
}

func secretShow(ctx context.Context, inv *invocation) error {
	return secretAction(ctx, inv, http.MethodGet, func(n, v string) string { return "/secrets/" + n + "/" + v }, true)
}

func secretList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	base, _, _, err := inv.secretTarget(ctx, c, false)
	if err != nil {
		return err
	}
	limit := -1
	if s := inv.flags.str("maxresults"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
			return exitErrorf("", "--maxresults must be a positive integer.")
		}
	}
	items := []any{}
	var next string
	for range 10000 { // bounded: 25 a page
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink *string          `json:"nextLink"`
		}
		var q url.Values
		path := "/secrets"
		if next != "" {
			nu, err := url.Parse(next)
			if err != nil {
				return err
			}
			q = nu.Query()
		}
		if err := c.secrets(ctx, http.MethodGet, base, path, q, nil, &page); err != nil {
			return err
		}
		for _, it := range page.Value {
			if limit >= 0 && len(items) == limit {
				break
			}
			items = append(items, secretOutput(it))
		}
		if page.NextLink == nil || (limit >= 0 && len(items) == limit) {
			break
		}
		next = *page.NextLink
	}
	return inv.printResult(items, secretColumns)
}

func secretDelete(ctx context.Context, inv *invocation) error {
	return secretAction(ctx, inv, http.MethodDelete, func(n, _ string) string { return "/secrets/" + n }, true)
}

func secretRecover(ctx context.Context, inv *invocation) error {
	return secretAction(ctx, inv, http.MethodPost, func(n, _ string) string { return "/deletedsecrets/" + n + "/recover" }, true)
}

func secretPurge(ctx context.Context, inv *invocation) error {
	return secretAction(ctx, inv, http.MethodDelete, func(n, _ string) string { return "/deletedsecrets/" + n }, false)
}

// secretAction sends one request about one secret; path gets the escaped
// name and version.
func secretAction(ctx context.Context, inv *invocation, method string, path func(name, version string) string, print bool) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	base, name, version, err := inv.secretTarget(ctx, c, true)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if err := c.secrets(ctx, method, base, path(url.PathEscape(name), url.PathEscape(version)), nil, nil, &out); err != nil || !print {
		return err
	}
	return inv.printResult(secretOutput(out), secretColumns)
}
