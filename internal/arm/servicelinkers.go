package arm

// Service Connector (Microsoft.ServiceLinker/linkers), the extension
// resource `az webapp connection create|show|list|list-configuration|delete`
// manage on a site
// (https://learn.microsoft.com/azure/service-connector/overview-service-connector,
// REST: https://learn.microsoft.com/rest/api/servicelinker/linker). Slipway
// connects a site to the one target service it serves, a storage account's
// Blob service, as Service Connector does for each authentication type
// (https://learn.microsoft.com/azure/service-connector/how-to-integrate-storage-blob):
//
//   - systemAssignedIdentity: the site's system-assigned identity, turned
//     on when it is off, gets "Storage Blob Data Contributor" on the
//     account, and the app setting AZURE_STORAGEBLOB_RESOURCEENDPOINT names
//     the account's Blob endpoint;
//   - userAssignedIdentity: the same for one of the site's user-assigned
//     identities (authInfo.clientId), with AZURE_STORAGEBLOB_CLIENTID;
//   - secret: AZURE_STORAGEBLOB_CONNECTIONSTRING, with the account's key.
//
// Service Connector acts for the caller: the role assignment, the key and
// the site's identity and settings are what the caller could have made
// itself, so each is checked as a linked scope (checkLinked) before
// anything changes. The endpoint is the account's Azure name, which
// resolves to the platform inside instances. Other targets (databases,
// Key Vault, …) are refused: Slipway does not serve them.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rbac"
	"github.com/slipway-dev/slipway/internal/store"
)

const (
	linkerNamespace = "Microsoft.ServiceLinker"
	// storageBlobDataContributor is the role Service Connector grants an
	// identity on a storage account's Blob service.
	storageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

	authSystemIdentity = "systemAssignedIdentity"
	authUserIdentity   = "userAssignedIdentity"
	authSecret         = "secret"

	settingBlobEndpoint = "AZURE_STORAGEBLOB_RESOURCEENDPOINT"
	settingBlobClientID = "AZURE_STORAGEBLOB_CLIENTID"
	settingBlobConnStr  = "AZURE_STORAGEBLOB_CONNECTIONSTRING"
)

// linkerNameRE is Service Connector's rule for a connection's name.
var linkerNameRE = regexp.MustCompile(`^[A-Za-z0-9_.]{1,63}$`)

// blobTargetRE matches a storage account's Blob service id.
var blobTargetRE = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Storage/storageAccounts/([^/]+)/blobServices/default/?$`)

type linkerBody struct {
	Properties struct {
		TargetService *struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"targetService"`
		AuthInfo *struct {
			AuthType string `json:"authType"`
			ClientID string `json:"clientId"`
		} `json:"authInfo"`
		ClientType   string `json:"clientType"`
		VNetSolution *struct {
			Type string `json:"type"`
		} `json:"vNetSolution"`
		SecretStore *struct {
			KeyVaultID string `json:"keyVaultId"`
		} `json:"secretStore"`
		ConfigurationInfo *struct {
			CustomizedKeys map[string]string `json:"customizedKeys"`
			Action         string            `json:"action"`
		} `json:"configurationInfo"`
	} `json:"properties"`
}

func errLinker(format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...)}
}

// linkerSiteID is the id of the site (or slot) a linker path is under: the
// path before its providers/Microsoft.ServiceLinker words.
func linkerSiteID(r *http.Request) string {
	segs := splitPath(r.URL.Path)
	for i := len(segs) - 2; i > 0; i-- {
		if strings.EqualFold(segs[i], "providers") && strings.EqualFold(segs[i+1], linkerNamespace) {
			return "/" + strings.Join(segs[:i], "/")
		}
	}
	return ""
}

func linkerJSON(siteID string, l store.ServiceLinker, sub string) map[string]any {
	auth := map[string]any{"authType": l.AuthType}
	switch l.AuthType {
	case authUserIdentity:
		auth["clientId"], auth["subscriptionId"] = l.ClientID, sub
	case authSecret:
		auth["name"], auth["secretInfo"] = nil, nil
	}
	return map[string]any{
		"id":   siteID + "/providers/Microsoft.ServiceLinker/linkers/" + l.Name,
		"name": l.Name,
		"type": "microsoft.servicelinker/linkers",
		"properties": map[string]any{
			"targetService":         map[string]any{"type": "AzureResource", "id": l.TargetID, "resourceProperties": nil},
			"authInfo":              auth,
			"clientType":            l.ClientType,
			"provisioningState":     "Succeeded",
			"vNetSolution":          nil,
			"secretStore":           nil,
			"scope":                 nil,
			"publicNetworkSolution": nil,
			"configurationInfo":     nil,
		},
	}
}

// linkerSite reads the site a linker route names; slots are refused.
func (h *Handler) linkerSite(ctx context.Context, p params) (slipway.Site, error) {
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return s, err
	}
	if s.SlotOf != "" {
		return s, errLinker("Slipway connects services to an app's production slot only; create the connection without --slot.")
	}
	return s, nil
}

// linkerOf reads the site and the connection a linker route names.
func (h *Handler) linkerOf(ctx context.Context, p params) (slipway.Site, store.ServiceLinker, error) {
	s, err := h.linkerSite(ctx, p)
	if err != nil {
		return s, store.ServiceLinker{}, err
	}
	l, err := h.cfg.Store.ServiceLinker(ctx, s.Name, p.linker)
	return s, l, err
}

// putLinker answers PUT {site}/providers/Microsoft.ServiceLinker/linkers/{linker}.
func (h *Handler) putLinker(w http.ResponseWriter, r *http.Request, p params) error {
	if !linkerNameRE.MatchString(p.linker) {
		return errLinker("The connection name '%s' is invalid: use 1-63 letters, digits, '_' or '.'.", p.linker)
	}
	var body linkerBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	props := body.Properties
	switch {
	case props.TargetService == nil || props.TargetService.ID == "":
		return errLinker("properties.targetService.id is required.")
	case props.AuthInfo == nil || props.AuthInfo.AuthType == "":
		return errLinker("properties.authInfo.authType is required.")
	case props.VNetSolution != nil && props.VNetSolution.Type != "":
		return errLinker("Slipway has no virtual networks: connect without --service-endpoint or --private-endpoint.")
	case props.SecretStore != nil && props.SecretStore.KeyVaultID != "":
		return errLinker("Slipway keeps a connection's secret in the app's settings only: connect without --vault-id.")
	case props.ConfigurationInfo != nil && (len(props.ConfigurationInfo.CustomizedKeys) > 0 || props.ConfigurationInfo.Action != ""):
		return errLinker("Slipway writes Service Connector's own setting names: connect without --customized-keys or --opt-out.")
	}
	m := blobTargetRE.FindStringSubmatch(props.TargetService.ID)
	if m == nil {
		return errLinker("Slipway connects apps to a storage account's Blob service only (…/storageAccounts/<account>/blobServices/default); '%s' is a service it does not have.", props.TargetService.ID)
	}
	if !strings.EqualFold(m[1], p.sub) {
		return errLinker("The storage account must be in the app's subscription '%s'.", p.sub)
	}
	authType := props.AuthInfo.AuthType
	if !slices.Contains([]string{authSystemIdentity, authUserIdentity, authSecret}, authType) {
		return errLinker("Slipway connects to Blob storage with a system-assigned identity, a user-assigned identity or the account key (secret); authType '%s' is not one of them.", authType)
	}
	clientType := strings.ToLower(props.ClientType)
	if clientType == "" {
		clientType = "none"
	}

	ctx := r.Context()
	s, err := h.linkerSite(ctx, p)
	if err != nil {
		return err
	}
	site := siteID(p.sub, s.ResourceGroup, s.Name)
	linkerAction, linkerScope := rbac.ActionFor(r.Method, r.URL.Path)

	// What Service Connector does for the caller, each checked first, the
	// account's scope as named (before it is looked up: a scope the
	// caller has no role on tells nothing of what exists there).
	named := storageAccountID(p.sub, m[2], m[3])
	linked := [][2]string{{"Microsoft.Web/sites/config/write", site}}
	switch authType {
	case authSecret:
		linked = append(linked, [2]string{"Microsoft.Storage/storageAccounts/listKeys/action", named})
	case authSystemIdentity:
		linked = append(linked, [2]string{"Microsoft.Authorization/roleAssignments/write", named}, [2]string{"Microsoft.Web/sites/write", site})
	case authUserIdentity:
		linked = append(linked, [2]string{"Microsoft.Authorization/roleAssignments/write", named})
	}
	for _, l := range linked {
		if err := h.checkLinked(r, linkerAction, linkerScope, l[0], l[1]); err != nil {
			return err
		}
	}
	acct, err := h.cfg.Store.StorageAccount(ctx, m[2], m[3])
	if err != nil {
		return err
	}
	accountID := storageAccountID(p.sub, acct.ResourceGroup, acct.Name)
	target := accountID + "/blobServices/default"

	settings := map[string]string{}
	var clientID string
	if authType == authSecret {
		key1, _, err := h.cfg.Store.StorageAccountKeys(ctx, acct.ResourceGroup, acct.Name)
		if err != nil {
			return err
		}
		settings[settingBlobConnStr] = "DefaultEndpointsProtocol=https;AccountName=" + acct.Name + ";AccountKey=" + key1 + ";EndpointSuffix=core.windows.net"
	} else {
		settings[settingBlobEndpoint] = "https://" + acct.Name + ".blob.core.windows.net/"
	}
	var principal, principalType string
	switch authType {
	case authSystemIdentity:
		if principal, err = h.ensureSystemIdentity(ctx, p.sub, s); err != nil {
			return err
		}
		principalType = "ServicePrincipal"
	case authUserIdentity:
		clientID = props.AuthInfo.ClientID
		ids, err := h.cfg.Store.SiteUserAssignedIdentities(ctx, s.Name)
		if err != nil {
			return err
		}
		for _, i := range ids {
			if clientID != "" && strings.EqualFold(i.ClientID, clientID) {
				principal, clientID = i.PrincipalID, i.ClientID
			}
		}
		if principal == "" {
			return errLinker("The user-assigned identity with client id '%s' is not assigned to the app '%s': assign it first (az webapp identity assign --identities <id>).", clientID, s.Name)
		}
		principalType = "ServicePrincipal"
		settings[settingBlobClientID] = clientID
	}
	if principal != "" {
		_, _, err := h.cfg.RBAC.Create(ctx, rbac.Assignment{
			Name: newGUID(), Scope: accountID, RoleDefinitionID: storageBlobDataContributor,
			PrincipalID: principal, PrincipalType: principalType,
		}, h.callerID(r))
		if err != nil && !errors.Is(err, rbac.ErrRoleAssignmentExists) {
			return fmt.Errorf("granting Storage Blob Data Contributor on %s: %w", acct.Name, err)
		}
	}

	names := slices.Sorted(maps.Keys(settings))
	if err := h.cfg.Store.MergeSettings(ctx, s.ResourceGroup, s.Name, settings, nil); err != nil {
		return err
	}
	l := store.ServiceLinker{Site: s.Name, Name: p.linker, TargetID: target, AuthType: authType,
		ClientType: clientType, ClientID: clientID, Settings: names}
	created, err := h.cfg.Store.PutServiceLinker(ctx, l)
	if err != nil {
		return err
	}
	if err := h.restartWarning(w, h.cfg.Controller.SiteConfigChanged(ctx, s.ResourceGroup, s.Name)); err != nil {
		return fmt.Errorf("applying the connection's settings to %s: %w", s.Name, err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, linkerJSON(linkerSiteID(r), l, p.sub))
}

// ensureSystemIdentity turns the site's system-assigned identity on when it
// is off, keeping its user-assigned ones, and returns its principal id.
func (h *Handler) ensureSystemIdentity(ctx context.Context, sub string, s slipway.Site) (string, error) {
	find := func() (string, error) { return h.systemIdentityOf(ctx, sub, s) }
	if oid, err := find(); err != nil || oid != "" {
		return oid, err
	}
	user, err := h.currentIdentityRefs(ctx, s.Name)
	if err != nil {
		return "", err
	}
	if err := h.applyIdentity(ctx, sub, s, &identityChange{system: true, user: user}); err != nil {
		return "", fmt.Errorf("assigning the system identity of %s: %w", s.Name, err)
	}
	oid, err := find()
	if err == nil && oid == "" {
		err = fmt.Errorf("the system identity of %s was not created", s.Name)
	}
	return oid, err
}

func (h *Handler) callerID(r *http.Request) string {
	if h.cfg.CallerObjectID == nil {
		return ""
	}
	return h.cfg.CallerObjectID(r)
}

func (h *Handler) getLinker(w http.ResponseWriter, r *http.Request, p params) error {
	_, l, err := h.linkerOf(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, linkerJSON(linkerSiteID(r), l, p.sub))
}

func (h *Handler) listLinkers(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, err := h.linkerSite(ctx, p)
	if err != nil {
		return err
	}
	ls, err := h.cfg.Store.ServiceLinkers(ctx, s.Name)
	if err != nil {
		return err
	}
	base := linkerSiteID(r)
	vs := make([]any, len(ls))
	for i, l := range ls {
		vs[i] = linkerJSON(base, l, p.sub)
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// deleteLinker deletes the connection and the settings it wrote, as
// Service Connector does; the identity and its role stay (the identity may
// serve other connections).
func (h *Handler) deleteLinker(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, l, err := h.linkerOf(ctx, p)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		w.WriteHeader(http.StatusNoContent)
		return nil
	} else if err != nil {
		return err
	}
	if err := h.cfg.Store.MergeSettings(ctx, s.ResourceGroup, s.Name, nil, l.Settings); err != nil {
		return err
	}
	if err := h.cfg.Store.DeleteServiceLinker(ctx, s.Name, l.Name); err != nil {
		return err
	}
	if err := h.restartWarning(w, h.cfg.Controller.SiteConfigChanged(ctx, s.ResourceGroup, s.Name)); err != nil {
		return fmt.Errorf("removing the connection's settings from %s: %w", s.Name, err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// listLinkerConfigurations answers POST …/linkers/{linker}/listConfigurations
// (`az webapp connection list-configuration`): the settings the connection
// wrote, with their current values.
func (h *Handler) listLinkerConfigurations(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, l, err := h.linkerOf(ctx, p)
	if err != nil {
		return err
	}
	current, err := h.cfg.Store.Settings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	configs := make([]any, 0, len(l.Settings))
	for _, k := range l.Settings {
		if v, ok := current[k]; ok {
			configs = append(configs, map[string]any{"name": k, "value": v, "configType": "Default"})
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"configurations": configs})
}

// validateLinker answers POST …/linkers/{linker}/validateLinker (`az webapp
// connection validate`): whether the connection still works, each check
// with its result, as Service Connector's ValidateOperationResult
// (https://learn.microsoft.com/rest/api/servicelinker/linker/validate): the
// target account exists, the settings the connection wrote are still the
// app's, and, for an identity, the identity still holds a role that reads
// the account's blobs.
func (h *Handler) validateLinker(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	started := h.cfg.Now().UTC()
	s, l, err := h.linkerOf(ctx, p)
	if err != nil {
		return err
	}
	var details []any
	available := true
	check := func(name, description string, failure string) {
		item := map[string]any{"name": name, "description": description, "result": "success", "errorMessage": nil, "errorCode": nil}
		if failure != "" {
			item["result"], item["errorMessage"], item["errorCode"] = "failure", failure, name+"Failed"
			available = false
		}
		details = append(details, item)
	}

	m := blobTargetRE.FindStringSubmatch(l.TargetID)
	var acct slipway.StorageAccount
	if m != nil {
		acct, err = h.cfg.Store.StorageAccount(ctx, m[2], m[3])
	}
	switch {
	case m == nil || slipway.ErrorCode(err) == slipway.ENOTFOUND:
		check("TargetExistence", "The target service exists.", fmt.Sprintf("The target '%s' does not exist.", l.TargetID))
	case err != nil:
		return err
	default:
		check("TargetExistence", "The target service exists.", "")
	}

	current, err := h.cfg.Store.Settings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	var missing []string
	for _, k := range l.Settings {
		if _, ok := current[k]; !ok {
			missing = append(missing, k)
		}
	}
	failure := ""
	if len(missing) > 0 {
		failure = fmt.Sprintf("The app setting(s) %s the connection wrote are gone: create the connection again.", strings.Join(missing, ", "))
	}
	check("ConfigurationExistence", "The app settings the connection wrote are the app's.", failure)

	if l.AuthType != authSecret && acct.Name != "" {
		principal, err := h.linkerPrincipal(ctx, p.sub, s, l)
		if err != nil {
			return err
		}
		failure := ""
		if principal == "" {
			failure = "The connection's identity is no longer the app's: assign it again, or create the connection again."
		} else if err := h.cfg.RBAC.Check(ctx, principal, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
			storageAccountID(p.sub, acct.ResourceGroup, acct.Name)+"/blobServices/default/containers/c/blobs/b", true); err != nil {
			failure = fmt.Sprintf("The connection's identity holds no role that reads the blobs of '%s': grant it Storage Blob Data Contributor again, or create the connection again.", acct.Name)
		}
		check("TargetAuthentication", "The connection's identity may use the target.", failure)
	}

	source := linkerSiteID(r)
	return writeJSON(w, http.StatusOK, map[string]any{
		"id":     source + "/providers/Microsoft.ServiceLinker/linkers/" + l.Name + "/validateLinker",
		"status": "Succeeded",
		"properties": map[string]any{
			"linkerName":            l.Name,
			"isConnectionAvailable": available,
			"reportStartTimeUtc":    started.Format(time.RFC3339Nano),
			"reportEndTimeUtc":      h.cfg.Now().UTC().Format(time.RFC3339Nano),
			"sourceId":              source,
			"targetId":              l.TargetID,
			"authType":              l.AuthType,
			"validationDetail":      details,
		},
	})
}

// linkerPrincipal is the object id of the identity an identity connection
// uses, "" when the app no longer has it.
func (h *Handler) linkerPrincipal(ctx context.Context, sub string, s slipway.Site, l store.ServiceLinker) (string, error) {
	if l.AuthType == authUserIdentity {
		ids, err := h.cfg.Store.SiteUserAssignedIdentities(ctx, s.Name)
		if err != nil {
			return "", err
		}
		for _, i := range ids {
			if strings.EqualFold(i.ClientID, l.ClientID) {
				return i.PrincipalID, nil
			}
		}
		return "", nil
	}
	return h.systemIdentityOf(ctx, sub, s)
}

// systemIdentityOf is the object id of the site's system-assigned
// identity, "" when it has none.
func (h *Handler) systemIdentityOf(ctx context.Context, sub string, s slipway.Site) (string, error) {
	ps, err := h.cfg.Store.PrincipalsByResource(ctx, siteID(sub, s.ResourceGroup, s.Name))
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		if p.Kind == store.SystemAssignedIdentity {
			return p.ObjectID, nil
		}
	}
	return "", nil
}
