package arm

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/certs"
	"github.com/slipway-dev/slipway/internal/store"
)

// Microsoft.Web/certificates: uploaded PFX files (az webapp config ssl
// upload) and managed certificates (ssl create --hostname), in Azure's
// shape as azure-mgmt-web's Certificate model reads it. The PFX and its
// password are never returned; the key stays sealed in the store.
// https://learn.microsoft.com/azure/app-service/configure-ssl-certificate

// Certificates obtains managed certificates and applies certificate
// changes to the TLS listeners. The server implements it.
type Certificates interface {
	// Obtain gets a certificate for hostName from the ACME CA, answering
	// its challenge on the front door; an error says why it failed.
	Obtain(ctx context.Context, hostName string) (*certs.Cert, error)
	// Changed reloads which certificate each bound name serves.
	Changed(ctx context.Context) error
}

func certificateID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Web/certificates/" + name
}

func certificateJSON(sub string, c store.Certificate) map[string]any {
	tags := c.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	hostNames := c.HostNames
	if hostNames == nil {
		hostNames = []string{}
	}
	return map[string]any{
		"id": certificateID(sub, c.ResourceGroup, c.Name), "name": c.Name, "type": "Microsoft.Web/certificates",
		"location": c.Location, "tags": tags,
		"properties": map[string]any{
			"friendlyName":              "",
			"subjectName":               strings.TrimPrefix(c.Subject, "CN="),
			"hostNames":                 hostNames,
			"issuer":                    c.Issuer,
			"issueDate":                 armTime(c.NotBefore),
			"expirationDate":            armTime(c.NotAfter),
			"thumbprint":                c.Thumbprint,
			"valid":                     nil,
			"password":                  nil,
			"pfxBlob":                   nil,
			"serverFarmId":              nullIfEmpty(c.ServerFarm),
			"canonicalName":             nullIfEmpty(c.CanonicalName),
			"keyVaultId":                nil,
			"keyVaultSecretName":        nil,
			"keyVaultSecretStatus":      "Initialized",
			"hostingEnvironmentProfile": nil,
			"domainValidationMethod":    nil,
			"lastRenewalError":          nullIfEmpty(c.LastError),
		},
	}
}

type certificateBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		Password      string `json:"password"`
		PfxBlob       string `json:"pfxBlob"`
		ServerFarmID  string `json:"serverFarmId"`
		CanonicalName string `json:"canonicalName"`
		KeyVaultID    string `json:"keyVaultId"`
	} `json:"properties"`
}

// putCertificate uploads a PFX or, given only canonicalName, obtains a
// managed certificate for a host name bound to an app of the group. Both
// are answered once the certificate is stored, never before.
func (h *Handler) putCertificate(w http.ResponseWriter, r *http.Request, p params) error {
	var body certificateBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	props := body.Properties
	var cert *certs.Cert
	switch {
	case props.KeyVaultID != "":
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "Importing certificates from Key Vault is not supported by Slipway; upload the PFX with az webapp config ssl upload."}
	case props.PfxBlob != "":
		pfx, err := base64.StdEncoding.DecodeString(props.PfxBlob)
		if err != nil {
			return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: "The parameter PfxBlob is not valid base64."}
		}
		if cert, err = h.pfx.Decode(ctx, pfx, props.Password); err != nil {
			return err
		}
		if err := h.thumbprintFree(ctx, p.rg, p.id, cert.Thumbprint, body.Location); err != nil {
			return err
		}
	case props.CanonicalName != "":
		var err error
		if cert, err = h.obtainManaged(ctx, p, props.CanonicalName); err != nil {
			return err
		}
	default:
		return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "Give the certificate's pfxBlob and password, or the canonicalName of a bound host name for a managed certificate."}
	}
	chain, key := cert.PEM()
	stored, err := h.cfg.Store.PutCertificate(ctx, store.Certificate{
		ResourceGroup: p.rg, Name: p.id, Location: normalizeLocation(body.Location), ServerFarm: props.ServerFarmID,
		Thumbprint: cert.Thumbprint, Subject: cert.SubjectName, Issuer: cert.Issuer, HostNames: cert.HostNames,
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, CanonicalName: props.CanonicalName,
		CertPEM: chain, KeyPEM: key, Tags: body.Tags,
	})
	if err != nil {
		return err
	}
	if err := h.certificatesChanged(ctx); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, certificateJSON(p.sub, stored))
}

// thumbprintFree refuses a second certificate with the same thumbprint in
// a group, as App Service does.
func (h *Handler) thumbprintFree(ctx context.Context, rg, name, thumbprint, location string) error {
	list, err := h.cfg.Store.Certificates(ctx, rg)
	if err != nil {
		return err
	}
	for _, c := range list {
		if strings.EqualFold(c.Thumbprint, thumbprint) && !strings.EqualFold(c.Name, name) {
			return &apiError{Status: http.StatusConflict, Code: "Conflict", Message: fmt.Sprintf(
				"Another certificate exists with same thumbprint %s at location %s in the Resource Group %s.", thumbprint, c.Location, c.ResourceGroup)}
		}
	}
	return nil
}

func (h *Handler) obtainManaged(ctx context.Context, p params, hostName string) (*certs.Cert, error) {
	hostName = strings.ToLower(strings.TrimSuffix(hostName, "."))
	if strings.HasPrefix(hostName, "*") {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: "Managed certificates do not support wildcard host names."}
	}
	if err := h.hostBoundInGroup(ctx, p.rg, hostName); err != nil {
		return nil, err
	}
	if h.cfg.Certificates == nil {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "Managed certificates need an ACME certificate authority: start the server with --acme-directory <URL>."}
	}
	cert, err := h.cfg.Certificates.Obtain(ctx, hostName)
	if err != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: fmt.Sprintf("Creating a managed certificate for %s failed: %v", hostName, err)}
	}
	return cert, nil
}

func (h *Handler) certificatesChanged(ctx context.Context) error {
	if h.cfg.Certificates == nil {
		return nil
	}
	return h.cfg.Certificates.Changed(ctx)
}

func (h *Handler) getCertificate(w http.ResponseWriter, r *http.Request, p params) error {
	c, err := h.cfg.Store.Certificate(r.Context(), p.rg, p.id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, certificateJSON(p.sub, c))
}

func (h *Handler) listCertificates(w http.ResponseWriter, r *http.Request, p params) error {
	list, err := h.cfg.Store.Certificates(r.Context(), p.rg)
	if err != nil {
		return err
	}
	// az filters the subscription's list by plan: $filter=ServerFarmId eq '<id>'.
	farm := ""
	if f := r.URL.Query().Get("$filter"); f != "" {
		if v, ok := strings.CutPrefix(strings.TrimSpace(f), "ServerFarmId eq "); ok {
			farm = strings.Trim(strings.TrimSpace(v), "'")
		}
	}
	out := []any{}
	for _, c := range list {
		if farm != "" && !strings.EqualFold(c.ServerFarm, farm) {
			continue
		}
		out = append(out, certificateJSON(p.sub, c))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": out, "nextLink": nil})
}

// deleteCertificate removes a certificate no binding uses.
func (h *Handler) deleteCertificate(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	c, err := h.cfg.Store.Certificate(ctx, p.rg, p.id)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		w.WriteHeader(http.StatusNoContent)
		return nil
	} else if err != nil {
		return err
	}
	if err := h.certificateUnused(ctx, c); err != nil {
		return err
	}
	if err := h.cfg.Store.DeleteCertificate(ctx, p.rg, p.id); err != nil {
		return err
	}
	if err := h.certificatesChanged(ctx); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// certificateUnused refuses to delete a certificate a host name of its
// group serves.
func (h *Handler) certificateUnused(ctx context.Context, c store.Certificate) error {
	hosts, err := h.cfg.Store.HostNamesUsingCertificate(ctx, c.ResourceGroup, c.Thumbprint)
	if err != nil {
		return err
	}
	if len(hosts) > 0 {
		return &apiError{Status: http.StatusConflict, Code: "Conflict", Message: fmt.Sprintf(
			"Cannot delete certificate %s because it is used for SSL bindings of %s. Unbind it first (az webapp config ssl unbind).",
			c.Name, strings.Join(hosts, ", "))}
	}
	return nil
}

// hostBoundInGroup checks that a managed certificate's host name is bound
// to an app of the resource group, as App Service requires.
func (h *Handler) hostBoundInGroup(ctx context.Context, rg, host string) error {
	site, ok := h.cfg.Store.HostNameOwner(host)
	if ok {
		if s, err := h.cfg.Store.FindSite(ctx, site); err == nil && strings.EqualFold(s.ResourceGroup, rg) {
			return nil
		}
	}
	return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(
		"Hostname (custom domain) '%s' is not bound to an app in resource group '%s'. Add it first with az webapp config hostname add.", host, rg)}
}

// hostNameSSLState is an entry of a site's hostNameSslStates as az's
// `webapp config ssl bind|unbind` sends it (toUpdate: true).
type hostNameSSLState struct {
	Name       string `json:"name"`
	SSLState   string `json:"sslState"`
	Thumbprint string `json:"thumbprint"`
	ToUpdate   *bool  `json:"toUpdate"`
}

// applySSLStates binds or unbinds certificates on the site's custom host
// names. Every entry is checked before any is stored: the name must be
// bound to the site, and an SNI binding needs a certificate of the site's
// resource group that covers the name and is within its dates.
func (h *Handler) applySSLStates(ctx context.Context, s slipway.Site, states []hostNameSSLState) error {
	type change struct{ host, state, thumb string }
	var changes []change
	for _, st := range states {
		if st.ToUpdate == nil || !*st.ToUpdate {
			continue // az sends the site's current states back unchanged
		}
		host := st.Name
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h // hostNameSslStates names carry the front door's port
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		if host == h.defaultHostName(s.Name) {
			// App Service lets a certificate be bound to the default name;
			// Slipway serves default names with the platform's own
			// certificate (docs/https.md), so it says so rather than
			// pointing at hostname add, which takes no default name.
			return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(
				"'%s' is the default host name of '%s', which Slipway serves with the platform's certificate: bind the certificate to a custom domain of the app (az webapp config hostname add).", host, s.Name)}
		}
		if _, err := h.cfg.Store.HostNameBinding(ctx, s.ResourceGroup, s.Name, host); err != nil {
			return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(
				"Hostname '%s' is not bound to site '%s'. Add it first with az webapp config hostname add.", st.Name, s.Name)}
		}
		switch {
		case strings.EqualFold(st.SSLState, slipway.SSLDisabled):
			changes = append(changes, change{host, slipway.SSLDisabled, ""})
		case strings.EqualFold(st.SSLState, slipway.SSLSniEnabled):
			cert, err := h.certificateByThumbprint(ctx, s.ResourceGroup, st.Thumbprint)
			if err != nil {
				return err
			}
			if err := cert.CanBind(host, h.cfg.Now()); err != nil {
				return err
			}
			changes = append(changes, change{host, slipway.SSLSniEnabled, cert.Thumbprint})
		case strings.EqualFold(st.SSLState, slipway.SSLIPBasedEnabled):
			return &apiError{Status: http.StatusBadRequest, Code: "BadRequest",
				Message: "IP based SSL is not supported by Slipway (it needs an address per app): bind the certificate with SNI."}
		default:
			return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(
				"The sslState '%s' of '%s' is not valid: use SniEnabled or Disabled.", st.SSLState, st.Name)}
		}
	}
	if len(changes) == 0 {
		return nil
	}
	for _, c := range changes {
		if _, err := h.cfg.Store.SetHostNameSSL(ctx, s.ResourceGroup, s.Name, c.host, c.state, c.thumb); err != nil {
			return err
		}
	}
	return h.certificatesChanged(ctx)
}

// certificateByThumbprint finds a certificate of the group by thumbprint.
func (h *Handler) certificateByThumbprint(ctx context.Context, rg, thumbprint string) (*certs.Cert, error) {
	list, err := h.cfg.Store.Certificates(ctx, rg)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if thumbprint != "" && strings.EqualFold(c.Thumbprint, thumbprint) {
			return certs.FromPEM(c.CertPEM, c.KeyPEM)
		}
	}
	return nil, &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(
		"Certificate for thumbprint '%s' not found in resource group '%s'. Upload it first with az webapp config ssl upload.", thumbprint, rg)}
}
