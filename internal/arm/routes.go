package arm

import (
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway/internal/kvref"
)

// params are the names a route captured from the path.
type params struct {
	sub, rg, plan, site, id, policy string
	account                         string // storage account
	host                            string // custom host name (hostNameBindings)
	vault, location, op             string // key vault, deleted-vault location, accessPolicies kind
	identity                        string // user-assigned identity
	slot                            string // deployment slot (slots.go)
	setting                         string // autoscale setting (autoscale.go)
	namespace                       string // resource provider namespace (providers.go)
	linker                          string // Service Connector connection (servicelinkers.go)
	run                             string // a WebJob's run (webjobs.go)
	component                       string // Application Insights component (insights.go)
	pgserver                        string // PostgreSQL flexible server (postgres.go)
	redis                           string // Azure Cache for Redis (redis.go)
}

// route is one method and path pattern. Fixed segments match
// case-insensitively (docs/arm.md §3.1); {x} segments capture.
type route struct {
	method  string
	pattern []string
	fn      func(w http.ResponseWriter, r *http.Request, p params) error
	// filtered marks a list a caller may read in part (filteredlists.go).
	filtered bool
	// anyRole marks a subscription-wide lookup that reveals nothing of
	// any group, which a principal holding any role in the subscription
	// may make (AuthorizeRequest): PostgreSQL's location capabilities and
	// name checks, which az postgres flexible-server create reads first.
	anyRole bool
}

func (rt route) match(segs []string) (params, bool) {
	var p params
	if len(segs) != len(rt.pattern) {
		return p, false
	}
	for i, want := range rt.pattern {
		got := segs[i]
		if strings.HasPrefix(want, "{") {
			switch want {
			case "{s}":
				p.sub = got
			case "{rg}":
				p.rg = got
			case "{plan}":
				p.plan = got
			case "{app}":
				p.site = got
			case "{id}":
				p.id = got
			case "{policy}":
				p.policy = got
			case "{account}":
				p.account = got
			case "{host}":
				p.host = got
			case "{vault}":
				p.vault = got
			case "{loc}":
				p.location = got
			case "{op}":
				p.op = got
			case "{identity}":
				p.identity = got
			case "{slot}":
				p.slot = got
			case "{setting}":
				p.setting = got
			case "{ns}":
				p.namespace = got
			case "{linker}":
				p.linker = got
			case "{run}":
				p.run = got
			case "{component}":
				p.component = got
			case "{pg}":
				p.pgserver = got
			case "{redis}":
				p.redis = got
			}
			continue
		}
		if !strings.EqualFold(want, got) {
			return p, false
		}
	}
	return p, true
}

// routeTable lists every route. Paths are written with ARM's canonical
// casing for reading; matching ignores case.
func (h *Handler) routeTable() []route {
	const (
		sub  = "subscriptions/{s}"
		rg   = sub + "/resourceGroups/{rg}"
		web  = rg + "/providers/Microsoft.Web"
		site = web + "/sites/{app}"
		stg  = rg + "/providers/Microsoft.Storage/storageAccounts"
		kv   = rg + "/providers/Microsoft.KeyVault/vaults"
		kvs  = sub + "/providers/Microsoft.KeyVault"
		msi  = rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
		as   = rg + "/providers/Microsoft.Insights/autoscalesettings"
		ai   = rg + "/providers/Microsoft.Insights/components"
	)
	r := func(method, pattern string, fn func(http.ResponseWriter, *http.Request, params) error) route {
		return route{method: method, pattern: strings.Split(pattern, "/"), fn: fn}
	}
	// list is a GET of a subscription's or a group's resources of a type,
	// answered with what the caller may read (filteredlists.go).
	list := func(pattern string, fn func(http.ResponseWriter, *http.Request, params) error) route {
		rt := r(http.MethodGet, pattern, fn)
		rt.filtered = true
		return rt
	}
	return append(h.withSlotRoutes(site, []route{
		// Microsoft.Resources and subscription scope (docs/arm.md §1.2, §1.3, §1.15).
		r(http.MethodGet, "subscriptions", h.listSubscriptions),
		r(http.MethodGet, sub, h.getSubscription),
		r(http.MethodGet, "tenants", h.listTenants),
		r(http.MethodGet, sub+"/locations", h.listLocations),
		r(http.MethodGet, "providers/Microsoft.Web/webAppStacks", h.webAppStacks),
		r(http.MethodGet, "providers/Microsoft.Web/publishingUsers/web", h.getPublishingUser),
		r(http.MethodPut, "providers/Microsoft.Web/publishingUsers/web", h.putPublishingUser),
		r(http.MethodPost, sub+"/providers/Microsoft.Web/checknameavailability", h.checkNameAvailability),
		r(http.MethodGet, sub+"/providers/Microsoft.Web/geoRegions", h.geoRegions),
		list(sub+"/providers/Microsoft.Web/sites", h.listSites),
		list(sub+"/providers/Microsoft.Web/serverfarms", h.listPlans),

		// Resource providers (providers.go).
		r(http.MethodGet, sub+"/providers", h.listProviders),
		r(http.MethodGet, sub+"/providers/{ns}", h.getProvider),
		r(http.MethodPost, sub+"/providers/{ns}/register", h.registerProvider),
		r(http.MethodPost, sub+"/providers/{ns}/unregister", h.unregisterProvider),

		list(sub+"/resources", h.listResources),
		list(rg+"/resources", h.listResources),

		list(sub+"/resourcegroups", h.listGroups),
		r(http.MethodPut, rg, h.putGroup),
		r(http.MethodGet, rg, h.getGroup),
		r(http.MethodHead, rg, h.headGroup),
		r(http.MethodDelete, rg, h.deleteGroup),

		// App Service plans (docs/arm.md §1.4).
		list(web+"/serverfarms", h.listPlans),
		r(http.MethodPut, web+"/serverfarms/{plan}", h.putPlan),
		r(http.MethodGet, web+"/serverfarms/{plan}", h.getPlan),
		r(http.MethodPatch, web+"/serverfarms/{plan}", h.patchPlan),
		r(http.MethodGet, web+"/serverfarms/{plan}/sites", h.listPlanSites),
		r(http.MethodDelete, web+"/serverfarms/{plan}", h.deletePlan),

		// Sites (docs/arm.md §1.5, §1.6, §1.13).
		list(web+"/sites", h.listSites),
		r(http.MethodPut, site, h.putSite),
		r(http.MethodGet, site, h.getSite),
		r(http.MethodPatch, site, h.patchSite),
		r(http.MethodDelete, site, h.deleteSite),
		r(http.MethodPost, site+"/restart", h.siteAction),
		r(http.MethodPost, site+"/stop", h.siteAction),
		r(http.MethodPost, site+"/start", h.siteAction),
		r(http.MethodGet, site+"/instances", h.listInstances),
		r(http.MethodGet, site+"/instances/{id}", h.getInstance),
		r(http.MethodGet, site+"/siteStatus", h.getSiteStatus), // sitestatus.go
		r(http.MethodGet, site+"/siteStatus/{id}", h.getSiteStatus),
		r(http.MethodGet, site+"/instances/{id}/deployments", h.listInstanceDeployments), // onedeploy.go
		r(http.MethodPut, site+"/instances/{id}/extensions/onedeploy", h.putOneDeploy),
		r(http.MethodPut, site+"/extensions/onedeploy", h.putOneDeploy),
		r(http.MethodGet, site+"/deploymentStatus/{id}", h.deploymentStatus),
		r(http.MethodGet, site+"/deployments", h.listDeployments),
		r(http.MethodGet, site+"/deployments/{id}", h.getDeployment),

		// Site config (docs/arm.md §1.7–§1.10).
		r(http.MethodGet, site+"/config", h.listSiteConfigs),
		r(http.MethodGet, site+"/config/web", h.getSiteConfig),
		r(http.MethodPut, site+"/config/web", h.putSiteConfig),
		r(http.MethodPatch, site+"/config/web", h.putSiteConfig),
		r(http.MethodPost, site+"/config/appsettings/list", h.listAppSettings),
		r(http.MethodPut, site+"/config/appsettings", h.putAppSettings),
		// Service Connector connections of a site (servicelinkers.go).
		r(http.MethodGet, site+"/providers/Microsoft.ServiceLinker/linkers", h.listLinkers),
		r(http.MethodPut, site+"/providers/Microsoft.ServiceLinker/linkers/{linker}", h.putLinker),
		r(http.MethodGet, site+"/providers/Microsoft.ServiceLinker/linkers/{linker}", h.getLinker),
		r(http.MethodDelete, site+"/providers/Microsoft.ServiceLinker/linkers/{linker}", h.deleteLinker),
		r(http.MethodPost, site+"/providers/Microsoft.ServiceLinker/linkers/{linker}/listConfigurations", h.listLinkerConfigurations),
		r(http.MethodPost, site+"/providers/Microsoft.ServiceLinker/linkers/{linker}/validateLinker", h.validateLinker),
		r(http.MethodPost, site+"/config/connectionstrings/list", h.listConnectionStrings),
		r(http.MethodPut, site+"/config/connectionstrings", h.putConnectionStrings),
		r(http.MethodGet, site+"/config/configreferences/appsettings", h.configReferences(kvref.AppSetting)),
		r(http.MethodGet, site+"/config/configreferences/appsettings/{id}", h.configReferences(kvref.AppSetting)),
		r(http.MethodPost, site+"/config/configreferences/appsettings/refresh", h.refreshConfigReferences),
		r(http.MethodGet, site+"/config/configreferences/connectionstrings", h.configReferences(kvref.ConnectionString)),
		r(http.MethodGet, site+"/config/configreferences/connectionstrings/{id}", h.configReferences(kvref.ConnectionString)),
		r(http.MethodGet, site+"/config/slotConfigNames", h.getSlotConfigNames),
		r(http.MethodPut, site+"/config/slotConfigNames", h.putSlotConfigNames),
		r(http.MethodGet, site+"/config/logs", h.getLogsConfig),
		r(http.MethodPut, site+"/config/logs", h.putLogsConfig),
		r(http.MethodPost, site+"/config/publishingcredentials/list", h.listPublishingCredentials),
		r(http.MethodPost, site+"/config/authsettings/list", h.listAuthSettings), // authsettings.go
		r(http.MethodPut, site+"/config/authsettings", h.putAuthSettings),
		r(http.MethodGet, site+"/config/authsettingsV2", h.getAuthSettingsV2),
		r(http.MethodGet, site+"/config/authsettingsV2/list", h.getAuthSettingsV2),
		r(http.MethodPut, site+"/config/authsettingsV2", h.putAuthSettingsV2),
		r(http.MethodPost, site+"/config/azurestorageaccounts/list", h.listAbsent(storageMounts)), // absentfeatures.go
		r(http.MethodPut, site+"/config/azurestorageaccounts", h.putAbsent(storageMounts)),
		r(http.MethodGet, site+"/virtualNetworkConnections", h.listVnetConnections),
		r(http.MethodDelete, site+"/networkConfig/virtualNetwork", h.deleteSwiftVnet),
		r(http.MethodGet, site+"/providers/Microsoft.ManagedIdentity/identities/default", h.getSystemAssignedIdentity), // identity.go
		r(http.MethodGet, site+"/basicPublishingCredentialsPolicies", h.listBasicAuthPolicies),
		r(http.MethodGet, site+"/basicPublishingCredentialsPolicies/{policy}", h.getBasicAuthPolicy),
		r(http.MethodPut, site+"/basicPublishingCredentialsPolicies/{policy}", h.putBasicAuthPolicy),
		r(http.MethodPost, site+"/publishxml", h.publishXML),
		r(http.MethodPost, site+"/newpassword", h.newPassword),

		// Backups (backups.go).
		r(http.MethodGet, site+"/backups", h.listBackups),
		r(http.MethodGet, site+"/backups/{id}", h.getBackup),
		r(http.MethodDelete, site+"/backups/{id}", h.deleteBackup),
		r(http.MethodPost, site+"/backup", h.createBackup),
		r(http.MethodPut, site+"/config/backup", h.putBackupSchedule),
		r(http.MethodPost, site+"/config/backup/list", h.getBackupSchedule),
		r(http.MethodDelete, site+"/config/backup", h.deleteBackupSchedule),
		r(http.MethodPost, site+"/backups/{id}/restore", h.restoreBackup),
		r(http.MethodGet, site+"/snapshots", h.listSnapshots),
		r(http.MethodPost, site+"/restoreSnapshot", h.refuseSnapshotRestore),

		// WebJobs (webjobs.go).
		r(http.MethodGet, site+"/webjobs", h.listWebJobs("webjobs")),
		r(http.MethodGet, site+"/webjobs/{id}", h.getWebJob("webjobs")),
		r(http.MethodGet, site+"/triggeredwebjobs", h.listWebJobs("triggeredwebjobs")),
		r(http.MethodGet, site+"/triggeredwebjobs/{id}", h.getWebJob("triggeredwebjobs")),
		r(http.MethodDelete, site+"/triggeredwebjobs/{id}", h.deleteWebJob("triggeredwebjobs")),
		r(http.MethodPost, site+"/triggeredwebjobs/{id}/run", h.runWebJob()),
		r(http.MethodGet, site+"/triggeredwebjobs/{id}/history", h.webJobHistory),
		r(http.MethodGet, site+"/triggeredwebjobs/{id}/history/{run}", h.webJobRun),
		r(http.MethodGet, site+"/continuouswebjobs", h.listWebJobs("continuouswebjobs")),
		r(http.MethodGet, site+"/continuouswebjobs/{id}", h.getWebJob("continuouswebjobs")),
		r(http.MethodDelete, site+"/continuouswebjobs/{id}", h.deleteWebJob("continuouswebjobs")),
		r(http.MethodPost, site+"/continuouswebjobs/{id}/start", h.continuousAction(true)),
		r(http.MethodPost, site+"/continuouswebjobs/{id}/stop", h.continuousAction(false)),

		// Source control: Local Git (localgit.go).
		r(http.MethodGet, site+"/sourcecontrols/web", h.getSourceControl),
		r(http.MethodPut, site+"/sourcecontrols/web", h.putSourceControl),
		r(http.MethodDelete, site+"/sourcecontrols/web", h.deleteSourceControl),

		// Custom host names (hostnames.go).
		r(http.MethodGet, site+"/hostNameBindings", h.listHostNameBindings),
		r(http.MethodGet, site+"/hostNameBindings/{host}", h.getHostNameBinding),
		r(http.MethodPut, site+"/hostNameBindings/{host}", h.putHostNameBinding),
		r(http.MethodDelete, site+"/hostNameBindings/{host}", h.deleteHostNameBinding),

		// Microsoft.Web/certificates (az webapp config ssl).
		list(web+"/certificates", h.listCertificates),
		list(sub+"/providers/Microsoft.Web/certificates", h.listCertificates),
		r(http.MethodGet, web+"/certificates/{id}", h.getCertificate),
		r(http.MethodPut, web+"/certificates/{id}", h.putCertificate),
		r(http.MethodDelete, web+"/certificates/{id}", h.deleteCertificate),

		// Storage accounts (Microsoft.Storage, storage.go).
		r(http.MethodPost, sub+"/providers/Microsoft.Storage/checkNameAvailability", h.checkStorageNameAvailability),
		list(sub+"/providers/Microsoft.Storage/storageAccounts", h.listStorageAccounts),
		list(stg, h.listStorageAccounts),
		r(http.MethodPut, stg+"/{account}", h.putStorageAccount),
		r(http.MethodPatch, stg+"/{account}", h.patchStorageAccount),
		r(http.MethodGet, stg+"/{account}", h.getStorageAccount),
		r(http.MethodDelete, stg+"/{account}", h.deleteStorageAccount),
		r(http.MethodPost, stg+"/{account}/listKeys", h.listStorageKeys),
		r(http.MethodPost, stg+"/{account}/regenerateKey", h.regenerateStorageKey),
		r(http.MethodGet, stg+"/{account}/blobServices", h.listBlobServices), // blobservices.go
		r(http.MethodGet, stg+"/{account}/blobServices/{policy}", h.getBlobService),
		r(http.MethodPut, stg+"/{account}/blobServices/{policy}", h.putBlobService),
		r(http.MethodPatch, stg+"/{account}/blobServices/{policy}", h.putBlobService),
		r(http.MethodGet, stg+"/{account}/blobServices/{policy}/containers", h.listContainers), // storagecontainers.go
		r(http.MethodPut, stg+"/{account}/blobServices/{policy}/containers/{id}", h.putContainer),
		r(http.MethodGet, stg+"/{account}/blobServices/{policy}/containers/{id}", h.getContainer),
		r(http.MethodPatch, stg+"/{account}/blobServices/{policy}/containers/{id}", h.patchContainer),
		r(http.MethodDelete, stg+"/{account}/blobServices/{policy}/containers/{id}", h.deleteContainer),

		// Key vaults (Microsoft.KeyVault, keyvault.go).
		r(http.MethodPost, kvs+"/checkNameAvailability", h.checkVaultNameAvailability),
		list(kvs+"/vaults", h.listVaults),
		r(http.MethodGet, kvs+"/deletedVaults", h.listDeletedVaults),
		r(http.MethodGet, kvs+"/deletedManagedHSMs", h.listDeletedManagedHSMs),
		r(http.MethodGet, kvs+"/locations/{loc}/deletedVaults/{vault}", h.getDeletedVault),
		r(http.MethodPost, kvs+"/locations/{loc}/deletedVaults/{vault}/purge", h.purgeDeletedVault),
		list(kv, h.listVaults),
		r(http.MethodPut, kv+"/{vault}", h.putVault),
		r(http.MethodPatch, kv+"/{vault}", h.patchVault),
		r(http.MethodGet, kv+"/{vault}", h.getVault),
		r(http.MethodDelete, kv+"/{vault}", h.deleteVault),
		r(http.MethodPut, kv+"/{vault}/accessPolicies/{op}", h.updateAccessPolicy),
		r(http.MethodGet, kv+"/{vault}/secrets", h.listVaultSecrets), // vaultsecrets.go
		r(http.MethodPut, kv+"/{vault}/secrets/{id}", h.putVaultSecret),
		r(http.MethodGet, kv+"/{vault}/secrets/{id}", h.getVaultSecret),

		// User-assigned managed identities (identity.go).
		r(http.MethodGet, "providers/Microsoft.ManagedIdentity/operations", h.listManagedIdentityOperations),
		list(sub+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", h.listIdentities),
		list(msi, h.listIdentities),
		r(http.MethodPut, msi+"/{identity}", h.putIdentity),
		r(http.MethodPatch, msi+"/{identity}", h.patchIdentity),
		r(http.MethodGet, msi+"/{identity}", h.getIdentity),
		r(http.MethodDelete, msi+"/{identity}", h.deleteIdentity),
		r(http.MethodPost, msi+"/{identity}/listAssociatedResources", h.listAssociatedResources),
		r(http.MethodGet, msi+"/{identity}/federatedIdentityCredentials", h.listFederatedCredentials), // absentfeatures.go
		r(http.MethodGet, msi+"/{identity}/federatedIdentityCredentials/{id}", h.getFederatedCredential),
		r(http.MethodPut, msi+"/{identity}/federatedIdentityCredentials/{id}", h.putFederatedCredential),
		r(http.MethodDelete, msi+"/{identity}/federatedIdentityCredentials/{id}", h.deleteFederatedCredential),

		// Autoscale settings of plans (Microsoft.Insights, autoscale.go).
		list(sub+"/providers/Microsoft.Insights/autoscalesettings", h.listAutoscale),
		list(as, h.listAutoscale),
		r(http.MethodPut, as+"/{setting}", h.putAutoscale),
		r(http.MethodPatch, as+"/{setting}", h.patchAutoscale),
		r(http.MethodGet, as+"/{setting}", h.getAutoscale),
		r(http.MethodDelete, as+"/{setting}", h.deleteAutoscale),

		// Application Insights components (Microsoft.Insights, insights.go).
		list(sub+"/providers/Microsoft.Insights/components", h.listComponents),
		list(ai, h.listComponents),
		r(http.MethodPut, ai+"/{component}", h.putComponent),
		r(http.MethodPatch, ai+"/{component}", h.patchComponent),
		r(http.MethodGet, ai+"/{component}", h.getComponent),
		r(http.MethodDelete, ai+"/{component}", h.deleteComponent),
	}), append(append(h.postgresRoutes(sub, rg, r, list), // PostgreSQL flexible servers (postgres.go)
		h.redisRoutes(sub, rg, r, list)...), // Azure Cache for Redis (redis.go)
		h.deploymentRoutes(rg, r)...)...) // template deployments (templatedeployments.go)
}
