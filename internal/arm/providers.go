package arm

// Resource providers: what ARM's Providers API
// (https://learn.microsoft.com/rest/api/resources/providers) says about the
// namespaces Slipway serves — each resource type with its locations and
// api-versions, always Registered. az reads it before any command that
// does not know a type's api-version (`az resource show|tag|delete` by id
// without --api-version takes the newest non-preview version listed for
// the top-level type), in `az appservice list-locations` (the geoRegions
// it keeps are those named in Microsoft.Web's "sites" locations) and in
// `az provider show|list|register` (docs/arm.md §5).

import (
	"fmt"
	"net/http"
	"strings"
)

// resourceProvider is one namespace Slipway serves.
type resourceProvider struct {
	namespace string // the casing Azure gives it, whatever a request's
	policy    string // registrationPolicy
	// versions are the api-versions listed for every type, newest first;
	// the first is the one az 2.91's SDKs send for the namespace, which
	// az also picks when it resolves a version itself (docs/arm.md §5).
	// Slipway accepts any well-formed api-version (arm.go
	// checkAPIVersion) and answers each with the one set of shapes its
	// handlers write.
	versions []string
	types    []providerType
}

// providerType is a resource type of a provider, as resourceTypes lists it.
type providerType struct {
	name string // resourceType, e.g. "sites/slots"
	// regional types live in a region: their locations are Slipway's
	// regions; the others are global (locations []).
	regional     bool
	capabilities string // "" is "None"
	// versions, when set, are the type's own api-versions, newest first,
	// in place of the namespace's: az resolves a type's version from its
	// own list.
	versions []string
}

const (
	registrationRequired = "RegistrationRequired"
	registrationFree     = "RegistrationFree" // Microsoft.Resources, Microsoft.Authorization
	trackedCapabilities  = "SupportsTags, SupportsLocation"
)

// resourceProviders are the namespaces of routes.go (and of the
// Microsoft.Authorization routes of authorization.go), each type named by
// the path words ActionFor names it by, down to the second level
// (TestResourceProvidersMatchRoutes keeps the two in step), ordered by
// namespace.
var resourceProviders = []resourceProvider{
	{
		namespace: "Microsoft.Authorization", policy: registrationFree,
		versions: []string{"2022-04-01", "2015-07-01"},
		types: []providerType{
			{name: "roleAssignments", capabilities: "SupportsExtension"},
			{name: "roleDefinitions", capabilities: "SupportsExtension"},
		},
	},
	{
		// Azure Cache for Redis (redis.go); az 2.91's SDK sends 2024-11-01.
		namespace: "Microsoft.Cache", policy: registrationRequired,
		versions: []string{"2024-11-01", "2024-03-01", "2023-08-01", "2023-04-01"},
		types: []providerType{
			{name: "Redis", regional: true, capabilities: trackedCapabilities},
			{name: "Redis/firewallRules"},
			{name: "CheckNameAvailability"},
		},
	},
	{
		// PostgreSQL flexible servers (postgres.go); az 2.91's SDK sends
		// 2026-04-01-preview.
		namespace: "Microsoft.DBforPostgreSQL", policy: registrationRequired,
		versions: []string{"2026-04-01-preview", "2025-08-01", "2024-08-01", "2022-12-01"},
		types: []providerType{
			{name: "flexibleServers", regional: true, capabilities: trackedCapabilities},
			{name: "flexibleServers/databases"},
			{name: "flexibleServers/firewallRules"},
			{name: "flexibleServers/administrators"},
			{name: "flexibleServers/capabilities"},
			{name: "flexibleServers/configurations"},
			{name: "flexibleServers/operationStatuses"},
			{name: "flexibleServers/operationResults"},
			{name: "locations", regional: true}, // locations/{loc}/checkNameAvailability
			{name: "locations/capabilities", regional: true},
			{name: "checkNameAvailability"},
		},
	},
	{
		// Azure registers this namespace in lower case (its id and
		// namespace read "microsoft.insights"), as autoscaleID spells it.
		namespace: "microsoft.insights", policy: registrationRequired,
		versions: []string{"2022-10-01", "2015-04-01"},
		types: []providerType{
			{name: "autoscalesettings", regional: true, capabilities: trackedCapabilities},
			// Application Insights components (insights.go): az resource
			// create|show --resource-type Microsoft.Insights/components
			// resolves 2020-02-02 from here, as from Azure's list.
			{name: "components", regional: true, capabilities: trackedCapabilities, versions: []string{"2020-02-02", "2015-05-01"}},
		},
	},
	{
		namespace: "Microsoft.KeyVault", policy: registrationRequired,
		versions: []string{"2026-02-01", "2024-11-01", "2023-07-01", "2023-02-01", "2022-07-01"},
		types: []providerType{
			{name: "vaults", regional: true, capabilities: trackedCapabilities},
			{name: "vaults/accessPolicies", regional: true},
			{name: "vaults/secrets", regional: true},
			{name: "deletedVaults"},
			{name: "deletedManagedHSMs"}, // always empty: Slipway has no managed HSMs
			{name: "locations/deletedVaults", regional: true},
			{name: "checkNameAvailability"},
		},
	},
	{
		namespace: "Microsoft.ManagedIdentity", policy: registrationRequired,
		versions: []string{"2024-11-30", "2023-01-31", "2018-11-30"},
		types: []providerType{
			{name: "identities", capabilities: "SupportsExtension"}, // a site's system-assigned identity (identity.go)
			{name: "userAssignedIdentities", regional: true, capabilities: trackedCapabilities},
			{name: "userAssignedIdentities/federatedIdentityCredentials"}, // always empty (absentfeatures.go)
			{name: "operations"}, // az identity list-operations
		},
	},
	{
		namespace: "Microsoft.Resources", policy: registrationFree,
		versions: []string{"2024-11-01", "2022-12-01", "2022-09-01", "2021-04-01"},
		types: []providerType{
			{name: "tenants"},
			{name: "deployments"},            // templatedeployments.go
			{name: "deployments/operations"}, // templatedeployments.go
			{name: "deployments/operationStatuses"},
			{name: "subscriptions"},
			{name: "subscriptions/providers"},
			{name: "subscriptions/locations"},
			{name: "subscriptions/resources"},
			{name: "subscriptions/resourceGroups"},
			{name: "tags"}, // tags.go
		},
	},
	{
		// Service Connector: connections are extension resources of a
		// site (servicelinkers.go); az 2.91 sends 2024-07-01-preview.
		namespace: "Microsoft.ServiceLinker", policy: registrationRequired,
		versions: []string{"2024-07-01-preview", "2022-05-01"},
		types: []providerType{
			{name: "linkers", capabilities: "SupportsExtension"},
		},
	},
	{
		namespace: "Microsoft.Storage", policy: registrationRequired,
		versions: []string{"2025-08-01", "2024-01-01", "2023-05-01", "2023-01-01", "2022-09-01"},
		types: []providerType{
			{name: "storageAccounts", regional: true, capabilities: trackedCapabilities},
			{name: "storageAccounts/blobServices"}, // the blob service (blobservices.go) and its containers (storagecontainers.go)
			{name: "checkNameAvailability"},
		},
	},
	{
		namespace: "Microsoft.Web", policy: registrationRequired,
		versions: []string{"2025-05-01", "2025-03-01", "2024-11-01", "2024-04-01", "2023-12-01", "2023-01-01", "2022-09-01", "2022-03-01"},
		types: []providerType{
			{name: "sites", regional: true, capabilities: trackedCapabilities},
			{name: "sites/slots", regional: true, capabilities: trackedCapabilities},
			{name: "sites/config", regional: true},
			{name: "sites/instances", regional: true},
			{name: "sites/siteStatus", regional: true}, // runtime status of the instances (sitestatus.go)
			{name: "sites/deployments", regional: true},
			{name: "sites/deploymentStatus", regional: true},
			{name: "sites/extensions", regional: true}, // OneDeploy (onedeploy.go)
			{name: "sites/hostNameBindings", regional: true},
			{name: "sites/backups", regional: true},
			{name: "sites/snapshots", regional: true}, // none: automatic backups are not taken (backups.go)
			{name: "sites/basicPublishingCredentialsPolicies", regional: true},
			{name: "sites/sourcecontrols", regional: true},
			{name: "sites/triggeredwebjobs", regional: true}, // WebJobs (webjobs.go)
			{name: "sites/continuouswebjobs", regional: true},
			{name: "sites/webjobs", regional: true},
			{name: "sites/virtualNetworkConnections", regional: true},
			{name: "sites/networkConfig", regional: true}, // vnet-integration remove: nothing to remove
			{name: "serverFarms", regional: true, capabilities: trackedCapabilities},
			{name: "serverFarms/sites", regional: true}, // the apps on a plan (sites.go)
			{name: "certificates", regional: true, capabilities: trackedCapabilities},
			{name: "checkNameAvailability"},
			{name: "geoRegions"},
			{name: "publishingUsers"},
			{name: "webAppStacks"},
		},
	},
}

// Wire shapes (Resources 2024-11-01, Provider and ProviderResourceType).
type providerJSON struct {
	ID                 string             `json:"id"`
	Namespace          string             `json:"namespace"`
	RegistrationState  string             `json:"registrationState"`
	RegistrationPolicy string             `json:"registrationPolicy"`
	ResourceTypes      []resourceTypeJSON `json:"resourceTypes"`
}

type resourceTypeJSON struct {
	ResourceType string   `json:"resourceType"`
	Locations    []string `json:"locations"`
	APIVersions  []string `json:"apiVersions"`
	Capabilities string   `json:"capabilities"`
}

// regionDisplayNames are Slipway's regions as providers list them: by
// display name, as Azure does; az matches geoRegions' names ("West
// Europe") against them.
func regionDisplayNames() []string {
	out := make([]string, len(regions))
	for i, r := range regions {
		out[i] = r.DisplayName
	}
	return out
}

func (rp resourceProvider) json(sub string) providerJSON {
	regional := regionDisplayNames()
	types := make([]resourceTypeJSON, len(rp.types))
	for i, t := range rp.types {
		locs, caps := []string{}, t.capabilities
		if t.regional {
			locs = regional
		}
		if caps == "" {
			caps = "None"
		}
		versions := rp.versions
		if t.versions != nil {
			versions = t.versions
		}
		types[i] = resourceTypeJSON{ResourceType: t.name, Locations: locs, APIVersions: versions, Capabilities: caps}
	}
	return providerJSON{
		ID: "/subscriptions/" + sub + "/providers/" + rp.namespace, Namespace: rp.namespace,
		RegistrationState: "Registered", RegistrationPolicy: rp.policy, ResourceTypes: types,
	}
}

// providers are the namespaces this handler serves: resourceProviders,
// without Microsoft.DBforPostgreSQL (postgres.go) nor Microsoft.Cache
// (redis.go) when it has no backend for them.
func (h *Handler) providers() []resourceProvider {
	var out []resourceProvider
	for _, rp := range resourceProviders {
		if (rp.namespace != postgresNamespace || h.cfg.Postgres != nil) && (rp.namespace != redisNamespace || h.cfg.Redis != nil) {
			out = append(out, rp)
		}
	}
	return out
}

// findProvider returns the namespace, named in any casing; an unknown one
// is ARM's 404 InvalidResourceNamespace.
func (h *Handler) findProvider(namespace string) (resourceProvider, error) {
	for _, rp := range h.providers() {
		if strings.EqualFold(rp.namespace, namespace) {
			return rp, nil
		}
	}
	return resourceProvider{}, &apiError{Status: http.StatusNotFound, Code: "InvalidResourceNamespace",
		Message: fmt.Sprintf("The resource namespace '%s' is invalid.", namespace)}
}

// listProviders answers GET /subscriptions/{s}/providers (`az provider
// list`). $expand (aliases, which Slipway has none of) is ignored.
func (h *Handler) listProviders(w http.ResponseWriter, r *http.Request, p params) error {
	rps := h.providers()
	vs := make([]any, len(rps))
	for i, rp := range rps {
		vs[i] = rp.json(p.sub)
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// getProvider answers GET /subscriptions/{s}/providers/{namespace} (`az
// provider show`, and az resolving an api-version).
func (h *Handler) getProvider(w http.ResponseWriter, r *http.Request, p params) error {
	rp, err := h.findProvider(p.namespace)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rp.json(p.sub))
}

// registerProvider answers POST .../providers/{namespace}/register (`az
// provider register`, step one of many tutorials): every namespace is
// always registered, so it only answers the provider, Registered, which
// az takes as done. The caller needs {namespace}/register/action at the
// subscription (Contributor, Owner), as on Azure.
func (h *Handler) registerProvider(w http.ResponseWriter, r *http.Request, p params) error {
	return h.getProvider(w, r, p)
}

// unregisterProvider refuses POST .../providers/{namespace}/unregister:
// Slipway's namespaces cannot be switched off. Answering the provider
// still Registered would make `az provider unregister` print
// "Unregistering is still on-going" and succeed, and with --wait poll
// every 10 s for ever; a 409 ends it with the reason.
func (h *Handler) unregisterProvider(w http.ResponseWriter, r *http.Request, p params) error {
	rp, err := h.findProvider(p.namespace)
	if err != nil {
		return err
	}
	return &apiError{Status: http.StatusConflict, Code: "Conflict",
		Message: fmt.Sprintf("The resource provider '%s' is part of Slipway and cannot be unregistered; it stays registered.", rp.namespace)}
}
