package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Private networking, which Slipway does not have. A site, a storage
// account or a key vault can be told to refuse public networks
// (publicNetworkAccess Disabled: reachable through private endpoints only,
// https://learn.microsoft.com/azure/private-link/private-endpoint-overview)
// or to take traffic from some addresses only (networkAcls: a storage
// account's or a key vault's firewall,
// https://learn.microsoft.com/azure/storage/common/storage-network-security).
// Slipway serves each of them on its front door to every network it
// listens on and filters none of their traffic by address, so such a
// setting is refused with what restricts access instead — never stored
// and shown as if it held. Enabled and an allow-all rule set, what az
// sends by default, are what Slipway does and are taken.

// networkACLs is the networkAcls property of a storage account or a vault.
type networkACLs struct {
	DefaultAction       string            `json:"defaultAction"`
	IPRules             []json.RawMessage `json:"ipRules"`
	VirtualNetworkRules []json.RawMessage `json:"virtualNetworkRules"`
}

// refuseNetworkIsolation refuses publicNetworkAccess Disabled unless the
// resource already had it (was, for records stored before this check:
// az sends the value back on every update), and networkAcls that deny by
// default or name addresses or subnets. what names the resource, instead
// what restricts access to it.
func refuseNetworkIsolation(what, instead string, publicNetworkAccess *string, was string, acls *networkACLs) error {
	if v := publicNetworkAccess; v != nil && strings.EqualFold(*v, "Disabled") && !strings.EqualFold(was, "Disabled") {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(
			"Slipway has no private endpoints and does not filter a %s's traffic by network: publicNetworkAccess can only be Enabled. %s", what, instead)}
	}
	if a := acls; a != nil && (strings.EqualFold(a.DefaultAction, "Deny") || len(a.IPRules) > 0 || len(a.VirtualNetworkRules) > 0) {
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(
			"Slipway does not filter a %s's traffic by network: networkAcls can only allow all (defaultAction Allow, no ipRules or virtualNetworkRules). %s", what, instead)}
	}
	return nil
}

const (
	// What restricts access instead, per resource.
	siteAccessInstead    = "Restrict who reaches the app with access restrictions (az webapp config access-restriction add)."
	storageAccessInstead = "Control access with the account's keys, SAS tokens or RBAC roles (--auth-mode login), and keep containers private."
	vaultAccessInstead   = "Control access with RBAC roles or access policies."
	// A component's telemetry is read with a Reader role on it; sending
	// it can be limited to Microsoft Entra tokens.
	insightsAccessInstead = "Control who may send telemetry with DisableLocalAuth (Microsoft Entra tokens of principals with Monitoring Metrics Publisher) and who may read it with RBAC roles (Reader)."
)
