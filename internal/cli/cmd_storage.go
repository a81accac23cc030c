package cli

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/slipway-dev/slipway"
)

// apiStorage is the Microsoft.Storage api-version the CLI sends (az
// storage account's).
const apiStorage = "2023-05-01"

// Flag definitions of the storage commands.
var (
	fAccountName = flagDef{Names: []string{"--name", "-n"}, Required: true, Help: "The storage account name."}
	fKeyChoice   = flagDef{Names: []string{"--key"}, Help: "The key to use: primary or secondary. Default: primary."}
)

func storageAccountCommands() []command {
	gn := []flagDef{fGroup, fAccountName}
	return []command{
		{path: "storage account create", short: "Create a storage account.", run: storageAccountCreate, flags: withUnsupported([]flagDef{
			fGroup, fAccountName,
			{Names: []string{"--location", "-l"}, Help: "Location. Default: the resource group's."},
			{Names: []string{"--sku"}, Help: "Storage account SKU: Standard_LRS, Standard_GRS, Standard_RAGRS, Standard_ZRS, Premium_LRS, ... Default: Standard_RAGRS."},
			{Names: []string{"--kind"}, Help: "Kind: StorageV2, Storage, BlobStorage, BlockBlobStorage, FileStorage. Default: StorageV2."},
			{Names: []string{"--tags"}, Kind: kindList, Help: "Space-separated tags: key[=value]."},
			{Names: []string{"--allow-blob-public-access"}, Kind: kindBool, Help: "Allow containers with public read access (true; false is not supported yet: public access is set per container)."},
		}, unsupported("Slipway serves the Blob API only (no Files, Queues, Tables, SFTP, NFS or Data Lake)",
			"--enable-sftp", "--enable-local-user", "--enable-nfs-v3", "--enable-hierarchical-namespace --hierarchical-namespace --hns",
			"--enable-files-aadkerb", "--enable-files-aadds", "--enable-files-adds", "--domain-name", "--net-bios-domain-name",
			"--forest-name", "--domain-guid", "--domain-sid", "--sam-account-name", "--account-type", "--azure-storage-sid",
			"--default-share-permission -d", "--enable-large-file-share", "--enable-smb-oauth",
			"--encryption-key-type-for-table -t", "--encryption-key-type-for-queue -q"),
			unsupported("encryption settings are not supported yet",
				"--encryption-services", "--encryption-key-source", "--encryption-key-name", "--encryption-key-vault",
				"--encryption-key-version", "--require-infrastructure-encryption -i",
				"--key-vault-user-identity-id -u", "--key-vault-federated-client-id -f"),
			unsupported("managed identities are not supported yet", "--assign-identity", "--identity-type", "--user-identity-id"),
			unsupported("network rules, routing, custom domains and zones are out of scope",
				"--bypass", "--default-action", "--subnet", "--vnet-name", "--action", "--routing-choice",
				"--publish-microsoft-endpoints", "--publish-internet-endpoints", "--publish-ipv6-endpoint",
				"--public-network-access", "--dns-endpoint-type --endpoint", "--custom-domain", "--edge-zone",
				"--zones", "--zone-placement-policy"),
			unsupported("account security policies are not supported yet",
				"--https-only", "--min-tls-version", "--allow-shared-key-access -k", "--allow-cross-tenant-replication -r",
				"--allowed-copy-scope", "--sas-exp --sas-expiration-period", "--sas-exp-action --sas-expiration-action",
				"--key-exp-days --key-expiration-period-in-days"),
			unsupported("immutability policies are not supported yet",
				"--enable-alw", "--immutability-period --immutability-period-in-days", "--immutability-state",
				"--allow-append --allow-protected-append-writes -w"),
			unsupported("access tiers and geo replication are not supported yet",
				"--access-tier", "--blob-geo-sla --enable-blob-geo-priority-replication"),
			uPolicy)},
		{path: "storage account list", short: "List storage accounts.", run: storageAccountList, flags: []flagDef{fGroupOpt}},
		{path: "storage account show", short: "Show storage account properties.", run: storageAccountShow, flags: withUnsupported(gn,
			unsupported("expanding account properties is not supported yet", "--expand"), uIDs)},
		{path: "storage account delete", short: "Delete a storage account and its data.", run: storageAccountDelete, flags: withUnsupported([]flagDef{fGroup, fAccountName, fYes}, uIDs, uPolicy)},
		{path: "storage account keys list", short: "List the access keys of a storage account.", run: storageKeysList, flags: withUnsupported([]flagDef{
			{Names: []string{"--account-name", "-n"}, Required: true, Help: "The storage account name."}, fGroup,
		}, unsupported("Kerberos keys are not supported", "--expand-key-type"))},
		{path: "storage account keys renew", short: "Regenerate one of the access keys of a storage account.", run: storageKeysRenew, flags: withUnsupported([]flagDef{
			{Names: []string{"--account-name", "-n"}, Required: true, Help: "The storage account name."}, fGroup,
			{Names: []string{"--key"}, Required: true, Help: "The key to regenerate: primary or secondary."},
		}, unsupported("Kerberos keys are not supported", "--key-type"), uPolicy)},
		{path: "storage account show-connection-string", short: "Get the connection string of a storage account.", run: storageShowConnectionString, flags: withUnsupported([]flagDef{
			fGroup, fAccountName, fKeyChoice,
		}, unsupported("the connection string always names the account's own blob endpoint, over its protocol",
			"--protocol", "--blob-endpoint", "--file-endpoint", "--queue-endpoint", "--table-endpoint"),
			unsupported("SAS tokens are not supported yet", "--sas-token"),
			uIDs, uPolicy)},
	}
}

// storagePath is the ARM path of a storage account.
func (c *conn) storagePath(rg, name string) string {
	return c.groupPath(rg) + "/providers/Microsoft.Storage/storageAccounts/" + url.PathEscape(name)
}

// storageOutput is a storage account as az prints it: the SDK model with
// properties lifted to the top level, plus resourceGroup.
func storageOutput(m map[string]any) map[string]any {
	out := flatten(m)
	if id, ok := m["id"].(string); ok {
		out["resourceGroup"] = resourceGroupOf(id)
	}
	return out
}

// resourceGroupOf reads the resource group out of an ARM id.
func resourceGroupOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

var storageColumns = []column{{"Name", "name"}, {"ResourceGroup", "resourceGroup"}, {"Location", "location"}, {"Kind", "kind"}, {"Sku", "sku.name"}, {"ProvisioningState", "provisioningState"}}

func storageAccountCreate(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	if err := (slipway.StorageAccount{Name: name}).Validate(); err != nil {
		return exitErrorf("", "%s", slipway.ErrorMessage(err))
	}
	sku := inv.flags.str("sku")
	if sku == "" {
		sku = "Standard_RAGRS" // az storage account create's default
	}
	kind := inv.flags.str("kind")
	if kind == "" {
		kind = "StorageV2"
	}
	tags := map[string]string{}
	for _, t := range inv.flags.list("tags") {
		k, v, _ := strings.Cut(t, "=")
		tags[k] = v
	}
	c, loc, err := inv.connectWithLocation(ctx, rg)
	if err != nil {
		return err
	}
	props := map[string]any{"encryption": map[string]any{"services": map[string]any{"blob": map[string]any{"enabled": true}}, "keySource": "Microsoft.Storage"}}
	if inv.flags.has("allow-blob-public-access") {
		if !inv.flags.boolean("allow-blob-public-access") {
			return exitErrorf("Leave out --allow-blob-public-access, or set it to true; each container's --public-access still decides.", "--allow-blob-public-access false is not supported yet: Slipway's accounts always allow containers with public access.")
		}
		props["allowBlobPublicAccess"] = true
	}
	body := map[string]any{
		"location": loc, "sku": map[string]any{"name": sku}, "kind": kind, "tags": tags,
		"properties": props,
	}
	resp, err := c.arm(ctx, http.MethodPut, c.storagePath(rg, name), apiStorage, nil, body)
	if err != nil {
		return err
	}
	acct := map[string]any{}
	if resp.Status == http.StatusAccepted || len(resp.Body) == 0 {
		// A long-running create: the result is the account once done (docs/arm.md §3.5).
		if acct, err = c.armMap(ctx, http.MethodGet, c.storagePath(rg, name), apiStorage, nil); err != nil {
			return err
		}
	} else if err := decodeBody(resp, &acct); err != nil {
		return err
	}
	return inv.printResult(storageOutput(acct), storageColumns)
}

func storageAccountList(ctx context.Context, inv *invocation) error {
	return listResources(ctx, inv, "/providers/Microsoft.Storage/storageAccounts", apiStorage, storageOutput, storageColumns,
		func(c *conn, rg string) string {
			return c.groupPath(rg) + "/providers/Microsoft.Storage/storageAccounts"
		})
}

func storageAccountShow(ctx context.Context, inv *invocation) error {
	return showResource(ctx, inv, (*conn).storagePath, apiStorage, storageOutput, storageColumns)
}

func storageAccountDelete(ctx context.Context, inv *invocation) error {
	return deleteResource(ctx, inv, (*conn).storagePath, apiStorage)
}

// storageKeys is one key of listKeys' answer.
type storageKey struct {
	KeyName      string `json:"keyName"`
	Value        string `json:"value"`
	Permissions  string `json:"permissions"`
	CreationTime string `json:"creationTime"`
}

// listStorageKeys POSTs listKeys and returns the keys in order (key1, key2).
func (c *conn) listStorageKeys(ctx context.Context, rg, name string) ([]storageKey, error) {
	var res struct {
		Keys []storageKey `json:"keys"`
	}
	q := url.Values{"$expand": {"kerb"}}
	resp, err := c.arm(ctx, http.MethodPost, c.storagePath(rg, name)+"/listKeys", apiStorage, q, nil)
	if err != nil {
		return nil, err
	}
	if err := decodeBody(resp, &res); err != nil {
		return nil, err
	}
	if len(res.Keys) == 0 {
		return nil, exitErrorf("", "The server listed no keys for storage account %s.", name)
	}
	return res.Keys, nil
}

func keysOutput(keys []storageKey) []any {
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]any{"keyName": k.KeyName, "value": k.Value, "permissions": k.Permissions, "creationTime": k.CreationTime})
	}
	return out
}

var keyColumns = []column{{"CreationTime", "creationTime"}, {"KeyName", "keyName"}, {"Permissions", "permissions"}, {"Value", "value"}}

func storageKeysList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	keys, err := c.listStorageKeys(ctx, inv.flags.str("resource-group"), inv.flags.str("account-name"))
	if err != nil {
		return err
	}
	return inv.printResult(keysOutput(keys), keyColumns)
}

// keyName maps az's --key choice (primary|secondary) to the ARM key name.
func keyName(cmdPath, choice string) (string, error) {
	switch strings.ToLower(choice) {
	case "", "primary":
		return "key1", nil
	case "secondary":
		return "key2", nil
	}
	return "", usageErrorf(cmdPath, "argument --key: invalid choice: '%s' (choose from 'primary', 'secondary')", choice)
}

func storageKeysRenew(ctx context.Context, inv *invocation) error {
	kn, err := keyName(inv.cmd.path, inv.flags.str("key"))
	if err != nil {
		return err
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	var res struct {
		Keys []storageKey `json:"keys"`
	}
	rg, name := inv.flags.str("resource-group"), inv.flags.str("account-name")
	if err := c.armJSON(ctx, http.MethodPost, c.storagePath(rg, name)+"/regenerateKey", apiStorage, map[string]any{"keyName": kn}, &res); err != nil {
		return err
	}
	return inv.printResult(keysOutput(res.Keys), keyColumns)
}

// accountConnectionString reads the account and its keys and builds the
// connection string az's show-connection-string prints for it, with the
// blob endpoint the server reports.
func (c *conn) accountConnectionString(ctx context.Context, rg, name, kn string) (string, map[string]any, error) {
	acct, err := c.armMap(ctx, http.MethodGet, c.storagePath(rg, name), apiStorage, nil)
	if err != nil {
		return "", nil, err
	}
	endpoint, _ := lookup(acct, "properties.primaryEndpoints.blob").(string)
	if endpoint == "" {
		return "", nil, exitErrorf("", "The server reports no blob endpoint for storage account %s.", name)
	}
	keys, err := c.listStorageKeys(ctx, rg, name)
	if err != nil {
		return "", nil, err
	}
	key := keys[0].Value
	for _, k := range keys {
		if k.KeyName == kn {
			key = k.Value
		}
	}
	acctName, _ := acct["name"].(string)
	return buildConnectionString(acctName, key, endpoint), acct, nil
}

// buildConnectionString is the account-key connection string for a blob
// endpoint, e.g. "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:10000/a;".
func buildConnectionString(account, key, endpoint string) string {
	proto := "https"
	if u, err := url.Parse(endpoint); err == nil && u.Scheme != "" {
		proto = u.Scheme
	}
	return "DefaultEndpointsProtocol=" + proto + ";AccountName=" + account + ";AccountKey=" + key + ";BlobEndpoint=" + strings.TrimSuffix(endpoint, "/") + ";"
}

func storageShowConnectionString(ctx context.Context, inv *invocation) error {
	kn, err := keyName(inv.cmd.path, inv.flags.str("key"))
	if err != nil {
		return err
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	cs, _, err := c.accountConnectionString(ctx, inv.flags.str("resource-group"), inv.flags.str("name"), kn)
	if err != nil {
		return err
	}
	return inv.printResult(map[string]any{"connectionString": cs}, []column{{"ConnectionString", "connectionString"}})
}
