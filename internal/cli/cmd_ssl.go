package cli

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// webapp config ssl: App Service certificates (Microsoft.Web/certificates
// in a resource group) and their SNI bindings to an app's host names, as
// az's appservice module does them
// (https://learn.microsoft.com/cli/azure/webapp/config/ssl).

func sslCommands() []command {
	fThumb := flagDef{Names: []string{"--certificate-thumbprint"}, Required: true, Help: "The certificate's thumbprint (upper-case hex SHA-1)."}
	fHost := flagDef{Names: []string{"--hostname"}, Help: "The custom domain name; default: the certificate's names bound to the app."}
	uFlex := unsupported("--name only applies to Flex Consumption function apps on Azure", "--name -n")
	return []command{
		{path: "webapp config ssl upload", short: "Upload an SSL certificate (a password-protected PFX) to a web app's resource group.", run: sslUpload, flags: withUnsupported([]flagDef{fGroup, fApp,
			{Names: []string{"--certificate-file"}, Required: true, Help: "The filepath for the .pfx file."},
			{Names: []string{"--certificate-password"}, Required: true, Help: "The PFX's password."},
			{Names: []string{"--certificate-name"}, Help: "Name of the certificate resource; default <thumbprint>__<location>_<group>, as az."},
		}, uSlot, uIDs, uPolicy)},
		{path: "webapp config ssl list", short: "List SSL certificates of a resource group.", run: sslList, flags: withUnsupported([]flagDef{fGroup}, uFlex)},
		{path: "webapp config ssl show", short: "Show the details of an SSL certificate.", run: sslShow, flags: withUnsupported([]flagDef{fGroup,
			{Names: []string{"--certificate-name"}, Required: true, Help: "The name of the certificate."},
		}, uFlex, uIDs)},
		{path: "webapp config ssl delete", short: "Delete an SSL certificate no binding uses.", run: sslDelete, flags: withUnsupported([]flagDef{fGroup, fThumb}, uFlex, uIDs, uPolicy)},
		{path: "webapp config ssl bind", short: "Bind an SSL certificate to a web app's host names (SNI).", run: sslBind("SniEnabled"), flags: withUnsupported([]flagDef{fGroup, fApp, fThumb, fHost,
			{Names: []string{"--ssl-type"}, Required: true, Help: "SNI. (IP based SSL needs an address per app, which Slipway does not hand out.)"},
		}, uSlot, uIDs, uPolicy)},
		{path: "webapp config ssl unbind", short: "Unbind an SSL certificate from a web app.", run: sslBind("Disabled"), flags: withUnsupported([]flagDef{fGroup, fApp, fThumb, fHost}, uSlot, uIDs, uPolicy)},
		{path: "webapp config ssl create", short: "Create a managed certificate (issued through ACME) for a bound host name.", run: sslCreate, flags: withUnsupported([]flagDef{fGroup, fApp,
			{Names: []string{"--hostname"}, Required: true, Help: "The custom domain name, bound to the app."},
			{Names: []string{"--certificate-name"}, Help: "Name of the certificate resource; default the host name."},
		}, uSlot, uPolicy)},
	}
}

func (c *conn) certPath(rg, name string) string {
	return c.webPath(rg) + "/certificates/" + url.PathEscape(name)
}

func sslUpload(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	file, password := inv.flags.str("certificate-file"), inv.flags.str("certificate-password")
	pfx, err := os.ReadFile(file)
	if err != nil {
		return exitErrorf("", "Cannot read the certificate file: %v", err)
	}
	// az computes the thumbprint locally to name the resource.
	_, leaf, _, err := pkcs12.DecodeChain(pfx, password)
	if err != nil {
		return exitErrorf("", "Failed to get the certificate's thumbprint with error: '%v'. Please double check the certificate password.", err)
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.getSite(ctx, rg, name)
	if err != nil {
		return err
	}
	location, _ := site["location"].(string)
	farm, _ := lookup(site, "properties.serverFarmId").(string)
	certName := inv.flags.str("certificate-name")
	if certName == "" {
		sum := sha1.Sum(leaf.Raw)
		certName = fmt.Sprintf("%X__%s_%s", sum[:], location, rg) // az's _generate_cert_name with no ASE
	}
	res, err := c.armMap(ctx, http.MethodPut, c.certPath(rg, certName), apiWeb, map[string]any{
		"location":   location,
		"properties": map[string]any{"password": password, "pfxBlob": base64.StdEncoding.EncodeToString(pfx), "serverFarmId": farm},
	})
	if err != nil {
		return err
	}
	return inv.printResult(flatten(res), nil)
}

func sslList(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	list, err := c.armList(ctx, c.webPath(inv.flags.str("resource-group"))+"/certificates", apiWeb)
	if err != nil {
		return err
	}
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = flatten(asMap(v))
	}
	return inv.printResult(out, nil)
}

func sslShow(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	res, err := c.armMap(ctx, http.MethodGet, c.certPath(inv.flags.str("resource-group"), inv.flags.str("certificate-name")), apiWeb, nil)
	if err != nil {
		return err
	}
	return inv.printResult(flatten(res), nil)
}

// findCert finds a certificate of the group by thumbprint, as az does.
func (c *conn) findCert(ctx context.Context, rg, thumbprint string) (map[string]any, error) {
	list, err := c.armList(ctx, c.webPath(rg)+"/certificates", apiWeb)
	if err != nil {
		return nil, err
	}
	for _, v := range list {
		m := asMap(v)
		if t, _ := lookup(m, "properties.thumbprint").(string); strings.EqualFold(t, thumbprint) {
			return m, nil
		}
	}
	return nil, &ExitError{Code: ExitNotFound, Message: fmt.Sprintf("Certificate for thumbprint '%s' not found", thumbprint)}
}

func sslDelete(ctx context.Context, inv *invocation) error {
	rg := inv.flags.str("resource-group")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	cert, err := c.findCert(ctx, rg, inv.flags.str("certificate-thumbprint"))
	if err != nil {
		return err
	}
	name, _ := cert["name"].(string)
	_, err = c.arm(ctx, http.MethodDelete, c.certPath(rg, name), apiWeb, nil, nil)
	return err
}

// sslBind sets the SSL state of the certificate's host names on the app
// (hostNameSslStates with toUpdate, as az sends them), then shows the app.
func sslBind(state string) func(context.Context, *invocation) error {
	return func(ctx context.Context, inv *invocation) error {
		rg, name, thumb := inv.flags.str("resource-group"), inv.flags.str("name"), inv.flags.str("certificate-thumbprint")
		if state != "Disabled" {
			switch t := inv.flags.str("ssl-type"); {
			case strings.EqualFold(t, "SNI"):
			case strings.EqualFold(t, "IP"):
				return exitErrorf("Use --ssl-type SNI.", "IP based SSL is not supported by Slipway: it needs an address per app.")
			default:
				return exitErrorf("", "argument --ssl-type: invalid choice: '%s' (choose from 'SNI', 'IP')", t)
			}
		}
		c, err := inv.connect(ctx)
		if err != nil {
			return err
		}
		site, err := c.getSite(ctx, rg, name)
		if err != nil {
			return err
		}
		cert, err := c.findCert(ctx, rg, thumb)
		if err != nil {
			return err
		}
		hosts := []string{}
		if h := inv.flags.str("hostname"); h != "" {
			hosts = append(hosts, h)
		} else {
			certHosts, _ := lookup(cert, "properties.hostNames").([]any)
			bound, _ := lookup(site, "properties.hostNames").([]any)
			for _, ch := range certHosts {
				pattern, _ := ch.(string)
				for _, b := range bound {
					if h, _ := b.(string); certNameMatches(pattern, h) {
						hosts = append(hosts, h)
					}
				}
			}
		}
		location, _ := site["location"].(string)
		for _, h := range hosts {
			if _, err := c.armMap(ctx, http.MethodPut, c.sitePath(rg, name), apiWeb, map[string]any{
				"location": location, "tags": site["tags"],
				"properties": map[string]any{"hostNameSslStates": []any{map[string]any{
					"name": h, "sslState": state, "thumbprint": thumb, "toUpdate": true}}},
			}); err != nil {
				return err
			}
		}
		return webappShow(ctx, inv)
	}
}

// certNameMatches reports whether a certificate name (possibly *.x) covers host.
func certNameMatches(pattern, host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h // the site lists names with the front door's port
	}
	pattern, host = strings.ToLower(pattern), strings.ToLower(host)
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		_, hostRest, found := strings.Cut(host, ".")
		return found && hostRest == rest
	}
	return pattern == host
}

func sslCreate(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	host := strings.ToLower(inv.flags.str("hostname"))
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.getSite(ctx, rg, name)
	if err != nil {
		return err
	}
	bound := false
	hostNames, _ := lookup(site, "properties.hostNames").([]any)
	for _, h := range hostNames {
		if s, _ := h.(string); certNameMatches(host, s) {
			bound = true
		}
	}
	if !bound {
		return exitErrorf("", "Hostname (custom domain) '%s' is not registered with %s. Use 'az webapp config hostname add --resource-group %s --webapp-name %s --hostname %s' to register the hostname.",
			host, name, rg, name, host)
	}
	certName := inv.flags.str("certificate-name")
	if certName == "" {
		certName = host
	}
	location, _ := site["location"].(string)
	farm, _ := lookup(site, "properties.serverFarmId").(string)
	res, err := c.armMap(ctx, http.MethodPut, c.certPath(rg, certName), apiWeb, map[string]any{
		"location": location, "properties": map[string]any{"canonicalName": host, "serverFarmId": farm, "password": ""},
	})
	if err != nil {
		return err
	}
	return inv.printResult(flatten(res), nil)
}
