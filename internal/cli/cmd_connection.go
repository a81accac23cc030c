package cli

import (
	"context"
	"sort"
	"strings"
)

// The one-step connection of a storage account to an app, shaped like az's
// Service Connector (`az webapp connection create storage-blob`): it makes
// sure the container exists and sets the app settings the app reads.

// Settings `webapp connection create storage-blob` sets.
const (
	// settingConnString is what examples/todo and django-storages read.
	settingConnString = "AZURE_STORAGE_CONNECTION_STRING"
	// settingLinkerConnString is Service Connector's name for the secret.
	settingLinkerConnString = "AZURE_STORAGEBLOB_CONNECTIONSTRING"
	// settingContainer names the container (django-storages' AZURE_CONTAINER).
	settingContainer = "AZURE_CONTAINER"
)

func connectionCommands() []command {
	return []command{
		{path: "webapp connection create storage-blob", short: "Connect a web app to a storage account's blob service: create the container and set the app settings.", run: connectionCreateStorageBlob, flags: withUnsupported([]flagDef{
			fGroup,
			{Names: []string{"--name", "-n"}, Required: true, Help: "Name of the web app."},
			{Names: []string{"--target-resource-group", "--tg"}, Required: true, Help: "The resource group of the storage account."},
			{Names: []string{"--account"}, Required: true, Help: "Name of the storage account."},
			{Names: []string{"--secret"}, Kind: kindBool, Help: "Authenticate with the account key (the only type Slipway supports; the default)."},
			{Names: []string{"--container"}, Help: "The container the app keeps its files in. Default: media."},
			{Names: []string{"--public-access"}, Help: "Anonymous read access to a container it creates: off (default), blob or container."},
			{Names: []string{"--connection"}, Help: "Name of the connection. Default: storageblob."},
			{Names: []string{"--client-type"}, Help: "The app's client type. Default: python."},
		}, unsupported("Slipway has no deployment slots", "--slot"),
			unsupported("resource IDs are not parsed yet; give the groups and names", "--source-id", "--target-id"),
			unsupported("only --secret (account key) authentication is supported", "--user-identity", "--system-identity", "--service-principal"),
			unsupported("the secret is stored only in the app's settings", "--vault-id", "--appconfig-id"),
			unsupported("virtual networks are out of scope", "--service-endpoint", "--private-endpoint"),
			unsupported("the setting names and configuration steps are fixed", "--customized-keys", "--opt-out", "--connstr-props"),
			unsupported("the storage account must exist; create it with `storage account create`", "--new"),
			unsupported("the connection is always written again", "--no-recreate"),
			uNoWait, uPolicy)},
	}
}

func connectionCreateStorageBlob(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	trg, account := inv.flags.str("target-resource-group"), inv.flags.str("account")
	containerName := inv.flags.str("container")
	if containerName == "" {
		containerName = "media"
	}
	connName := inv.flags.str("connection")
	if connName == "" {
		connName = "storageblob"
	}
	clientType := inv.flags.str("client-type")
	if clientType == "" {
		clientType = "python"
	}
	if inv.flags.has("secret") && !inv.flags.boolean("secret") {
		return usageErrorf(inv.cmd.path, "Slipway connects storage accounts with the account key only: use --secret.")
	}
	access, err := publicAccess(inv.cmd.path, inv.flags.str("public-access"))
	if err != nil {
		return err
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.getSite(ctx, rg, app)
	if err != nil {
		return err
	}
	cs, acct, err := c.accountConnectionString(ctx, trg, account, "key1")
	if err != nil {
		return err
	}
	creds, err := parseConnectionString(cs)
	if err != nil {
		return err
	}
	client, _, err := inv.blobClientFor(creds)
	if err != nil {
		return err
	}
	created, err := ensureContainer(ctx, client, containerName, access)
	if err != nil {
		return err
	}
	if created {
		inv.warnf("Created container '%s' in storage account '%s'.", containerName, str(acct, "name"))
	}

	rg = siteGroup(site)
	props, err := c.listDict(ctx, rg, app, "appsettings")
	if err != nil {
		return err
	}
	set := map[string]string{settingConnString: cs, settingLinkerConnString: cs, settingContainer: containerName}
	for k, v := range set {
		props[k] = v
	}
	if _, err := c.putDict(ctx, rg, app, "appsettings", props); err != nil {
		return err
	}

	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	configs := make([]any, 0, len(names))
	for _, k := range names {
		var v any // secrets are redacted, as az prints them
		if k == settingContainer {
			v = containerName
		}
		configs = append(configs, map[string]any{"name": k, "value": v})
	}
	siteID, _ := site["id"].(string)
	acctID, _ := acct["id"].(string)
	inv.warnf("App settings have been redacted. Use `slipway webapp config appsettings list` to view.")
	return inv.printResult(map[string]any{
		"id":                siteID + "/providers/Microsoft.ServiceLinker/linkers/" + connName,
		"name":              connName,
		"type":              "microsoft.servicelinker/linkers",
		"resourceGroup":     rg,
		"provisioningState": "Succeeded",
		"authInfo":          map[string]any{"authType": "secret"},
		"clientType":        strings.ToLower(clientType),
		"targetService":     map[string]any{"id": acctID + "/blobServices/default", "type": "AzureResource"},
		"configurations":    configs,
	}, []column{{"Name", "name"}, {"AuthType", "authInfo.authType"}, {"ClientType", "clientType"}, {"ProvisioningState", "provisioningState"}})
}
