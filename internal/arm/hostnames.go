package arm

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/dnsverify"
)

// HostNameVerifier checks through DNS that whoever adds a custom host name
// controls it (TXT asuid.<name>, CNAME or A). *dnsverify.Verifier
// implements it; it returns the record type that routes the name ("CName"
// or "A") or a *slipway.Error with App Service's message.
type HostNameVerifier interface {
	Verify(ctx context.Context, r dnsverify.Request) (string, error)
}

// siteHostNames is what the site resource shows of its custom domains.
type siteHostNames struct {
	verificationID string
	bindings       []slipway.HostNameBinding
}

// siteHostNames reads the site's bindings and its group's verification ID.
func (h *Handler) siteHostNames(ctx context.Context, s slipway.Site) (siteHostNames, error) {
	id, err := h.verificationID(ctx, s.ResourceGroup)
	if err != nil {
		return siteHostNames{}, err
	}
	bs, err := h.cfg.Store.HostNameBindings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return siteHostNames{}, err
	}
	return siteHostNames{verificationID: id, bindings: bs}, nil
}

// verificationID is the customDomainVerificationId of a resource group's
// sites. Azure has one per subscription; here a subscription is shared by
// tenants that each hold their own groups, so one ID for all would let a
// tenant bind a name whose asuid record another tenant published for its
// app (the record proves who asked, and an A record to the shared address
// or the TXT-only migration case proves nothing more). Each group's ID is
// an HMAC of its lower-cased name and its creation time under the server's
// secret ID, which is never shown: stable across restarts, not derivable
// from another group's, and not inherited by a group created later under a
// deleted one's name, whose tenant's asuid records may still be published.
func (h *Handler) verificationID(ctx context.Context, rg string) (string, error) {
	secret, err := h.cfg.Store.CustomDomainVerificationID(ctx)
	if err != nil {
		return "", err
	}
	g, err := h.cfg.Store.ResourceGroup(ctx, rg)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strings.ToLower(g.Name) + "\x00" + strconv.FormatInt(g.Created.UnixNano(), 10)))
	return strings.ToUpper(hex.EncodeToString(mac.Sum(nil))), nil
}

// hostNameProps sets the site's host name fields (docs/arm.md §1.15): the
// default name first in hostNames and enabledHostNames (clients take [0]
// as the app's URL), then the bound names; the SCM name last in
// enabledHostNames; hostNameSslStates with the default (Standard) and SCM
// (Repository) entries and one Standard entry per bound name with its
// certificate state.
func (h *Handler) hostNameProps(props map[string]any, s slipway.Site, hn siteHostNames) {
	app, scm := h.appHost(s.Name), h.scmHost(s.Name)
	names := []string{app}
	states := []any{map[string]any{"name": app, "sslState": slipway.SSLDisabled, "hostType": "Standard", "virtualIP": nil, "thumbprint": nil, "toUpdate": nil}}
	for _, b := range hn.bindings {
		n := b.HostName + h.cfg.HostSuffix
		names = append(names, n)
		states = append(states, map[string]any{"name": n, "sslState": b.SSLState, "hostType": "Standard", "virtualIP": nil,
			"thumbprint": nullIfEmpty(b.Thumbprint), "toUpdate": nil})
	}
	states = append(states, map[string]any{"name": scm, "sslState": slipway.SSLDisabled, "hostType": "Repository", "virtualIP": nil, "thumbprint": nil, "toUpdate": nil})
	props["hostNames"] = names
	props["enabledHostNames"] = append(append([]string{}, names...), scm)
	props["hostNameSslStates"] = states
	props["customDomainVerificationId"] = hn.verificationID
	props["hostingEnvironmentProfile"] = nil // read by get-external-ip (custom.py): no App Service Environment
	if h.cfg.ExternalIP != "" {
		props["inboundIpAddress"] = h.cfg.ExternalIP
	}
}

// bindingJSON is a HostNameBinding resource in Azure's shape (name
// "<app>/<host>", which `az webapp config hostname list` cuts at the last
// '/'). A slot's binding is a resource of the slot, as ARM names nested
// resources: id …/sites/<app>/slots/<slot>/hostNameBindings/<host>, name
// "<app>/<slot>/<host>", type Microsoft.Web/sites/slots/hostNameBindings.
func (h *Handler) bindingJSON(sub string, s slipway.Site, host, recordType, sslState, thumbprint string) map[string]any {
	name := s.Name + "/" + host
	if s.SlotOf != "" {
		name = s.SlotOf + "/" + s.Slot + "/" + host
	}
	return map[string]any{
		"id":       s.ResourceID(sub) + "/hostNameBindings/" + host,
		"name":     name,
		"type":     siteSubType(s, "hostNameBindings"),
		"location": displayLocation(s.Location),
		"properties": map[string]any{
			"siteName":                    s.Name,
			"domainId":                    nil,
			"azureResourceName":           s.Name,
			"azureResourceType":           "Website",
			"customHostNameDnsRecordType": recordType,
			"hostNameType":                "Verified",
			"sslState":                    sslState,
			"thumbprint":                  nullIfEmpty(thumbprint),
			"virtualIP":                   nil,
		},
	}
}

// defaultHostName is the site's default host name without the port.
func (h *Handler) defaultHostName(site string) string {
	return strings.ToLower(site) + "." + h.cfg.Domain
}

// defaultBinding is the binding of the default host name, which Azure lists
// among a site's bindings.
func (h *Handler) defaultBinding(sub string, s slipway.Site) map[string]any {
	return h.bindingJSON(sub, s, h.defaultHostName(s.Name), "CName", slipway.SSLDisabled, "")
}

// azureServiceDomains are the Azure names apps reach inside their sandboxes,
// which the front door and the platform CA answer for (internal/pki's
// azureNames): no site may bind them, or a name under them, since a
// binding's certificate is served before the platform's.
var azureServiceDomains = []string{
	"core.windows.net",
	"azurewebsites.net",
	"azure.com",
	"microsoftonline.com",
	"azure.net",
}

// hostParam is the {hostName} path segment normalized: lower case, no
// trailing dot.
func hostParam(p params) string {
	return strings.ToLower(strings.TrimSuffix(p.host, "."))
}

// listHostNameBindings answers GET sites/{app}/hostNameBindings: the
// default name, then the bound names.
func (h *Handler) listHostNameBindings(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	bs, err := h.cfg.Store.HostNameBindings(r.Context(), s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	vs := []any{h.defaultBinding(p.sub, s)}
	for _, b := range bs {
		vs = append(vs, h.bindingJSON(p.sub, s, b.HostName, b.RecordType, b.SSLState, b.Thumbprint))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": vs, "nextLink": nil})
}

// getHostNameBinding answers GET sites/{app}/hostNameBindings/{hostName}.
func (h *Handler) getHostNameBinding(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	host := hostParam(p)
	if host == h.defaultHostName(s.Name) {
		return writeJSON(w, http.StatusOK, h.defaultBinding(p.sub, s))
	}
	b, err := h.cfg.Store.HostNameBinding(r.Context(), s.ResourceGroup, s.Name, host)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.bindingJSON(p.sub, s, b.HostName, b.RecordType, b.SSLState, b.Thumbprint))
}

// putHostNameBinding answers PUT sites/{app}/hostNameBindings/{hostName}
// (`az webapp config hostname add`, body {"properties":{"siteName":..}}):
// the plan must not be Free, the name must not be bound to another site
// and its DNS records must pass App Service's verification
// (https://learn.microsoft.com/azure/app-service/app-service-web-tutorial-custom-domain).
// Certificates are bound elsewhere: a body asking for an SSL state other
// than Disabled is refused rather than ignored.
func (h *Handler) putHostNameBinding(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties struct {
			SSLState   string `json:"sslState"`
			Thumbprint string `json:"thumbprint"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return err
	}
	host := hostParam(p)
	if host == h.defaultHostName(s.Name) {
		return writeJSON(w, http.StatusOK, h.defaultBinding(p.sub, s))
	}
	if st := body.Properties.SSLState; (st != "" && !strings.EqualFold(st, slipway.SSLDisabled)) || body.Properties.Thumbprint != "" {
		return slipway.Errorf(slipway.EINVALID, "Slipway cannot bind a certificate to '%s' through the host name binding yet: add the host name without sslState and thumbprint.", host)
	}
	if err := dnsverify.CheckHostName(host); err != nil {
		return err
	}
	if d := strings.ToLower(h.cfg.Domain); host == d || strings.HasSuffix(host, "."+d) {
		return slipway.Errorf(slipway.EINVALID, "The host name '%s' is in the platform's own domain '%s', whose names Slipway gives to apps itself: bind a domain you own.", host, d)
	}
	for _, d := range azureServiceDomains {
		if n := strings.TrimPrefix(host, "*."); n == d || strings.HasSuffix(n, "."+d) {
			return slipway.Errorf(slipway.EINVALID, "The host name '%s' is an Azure service name that Slipway answers for itself inside apps' sandboxes: bind a domain you own.", host)
		}
	}
	plan, err := h.cfg.Store.Plan(ctx, s.PlanResourceGroup(), s.Plan)
	if err != nil {
		return fmt.Errorf("reading plan of site %s: %w", s.Name, err)
	}
	if plan.SKU.Tier == "Free" {
		// Custom domains need a paid tier: "The web app's App Service plan
		// must be a paid tier and not Free (F1)" (the custom-domain tutorial
		// above). ⚠ The API's own wording was not found; this says the same.
		return slipway.Errorf(slipway.EINVALID, "Custom domains are not supported on the Free (F1) tier: the App Service plan '%s' of '%s' must be a paid tier. Scale it up first (az appservice plan update --sku B1).", plan.Name, s.Name)
	}
	if owner, ok := h.cfg.Store.HostNameOwner(host); ok && !strings.EqualFold(owner, s.Name) {
		// Checked before DNS so the answer names the conflict, not a record;
		// the store checks again when it adds the binding.
		return slipway.Errorf(slipway.ECONFLICT, "Hostname '%s' already exists: it is bound to another app. Delete it from that app first (az webapp config hostname delete).", host)
	}
	if h.cfg.Verifier == nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "This server cannot verify custom domains: it has no DNS resolver configured.")
	}
	id, err := h.verificationID(ctx, s.ResourceGroup)
	if err != nil {
		return err
	}
	recordType, err := h.cfg.Verifier.Verify(ctx, dnsverify.Request{
		HostName: host, VerificationID: id, DefaultHostName: h.defaultHostName(s.Name), ExternalIP: h.cfg.ExternalIP,
	})
	if err != nil {
		return err
	}
	b, _, err := h.cfg.Store.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: s.ResourceGroup, Site: s.Name, HostName: host, RecordType: recordType})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.bindingJSON(p.sub, s, b.HostName, b.RecordType, b.SSLState, b.Thumbprint))
}

// deleteHostNameBinding answers DELETE sites/{app}/hostNameBindings/{hostName}:
// 200 when deleted, 204 when there was none (ARM's convention for deletes).
// The default host name cannot be deleted. The TLS listeners stop serving
// the name's certificate at once (as when its site or group is deleted).
func (h *Handler) deleteHostNameBinding(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	host := hostParam(p)
	if host == h.defaultHostName(s.Name) {
		return slipway.Errorf(slipway.EINVALID, "'%s' is the default host name of '%s' and cannot be deleted.", host, s.Name)
	}
	err = h.cfg.Store.DeleteHostNameBinding(r.Context(), s.ResourceGroup, s.Name, host)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return writeEmpty(w, http.StatusNoContent)
	}
	if err != nil {
		return err
	}
	if err := h.certificatesChanged(r.Context()); err != nil { // its certificate stops serving the name
		return err
	}
	return writeEmpty(w, http.StatusOK)
}
