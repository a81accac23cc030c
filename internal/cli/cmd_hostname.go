package cli

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// hostnameCommands are `webapp config hostname add|list|delete|get-external-ip`,
// az's custom-domain commands (custom.py add_hostname, list_hostnames,
// delete_hostname, get_external_ip), over ARM's sites/{app}/hostNameBindings.
func hostnameCommands() []command {
	fWebapp := flagDef{Names: []string{"--webapp-name"}, Required: true, Default: "web", Help: "Name of the web app."}
	fHost := flagDef{Names: []string{"--hostname"}, Required: true, Help: "The custom host name, such as www.contoso.com or *.contoso.com."}
	return []command{
		{path: "webapp config hostname add", short: "Bind a custom host name to a web app (its DNS records must verify).", run: hostnameAdd,
			flags: withUnsupported([]flagDef{fGroup, fWebapp, fHost}, uSlot, uIDs, uPolicy)},
		{path: "webapp config hostname list", short: "List the host names bound to a web app.", run: hostnameList,
			flags: withUnsupported([]flagDef{fGroup, fWebapp}, uSlot)},
		{path: "webapp config hostname delete", short: "Unbind a custom host name from a web app.", run: hostnameDelete,
			flags: withUnsupported([]flagDef{fGroup, fWebapp, fHost}, uSlot, uIDs, uPolicy)},
		{path: "webapp config hostname get-external-ip", short: "Get the IP address A records of custom domains point to.", run: hostnameExternalIP,
			flags: withUnsupported([]flagDef{fGroup, fWebapp}, uIDs, uPolicy)},
	}
}

func (c *conn) bindingsPath(rg, app string) string {
	return c.sitePath(rg, app) + "/hostNameBindings"
}

// bindingOutput is a HostNameBinding as az prints it: the SDK model with
// properties lifted, virtualIP spelled virtualIp, no location, and the
// resourceGroup az's output adds.
func bindingOutput(res map[string]any) map[string]any {
	out := flatten(res)
	delete(out, "location")
	out["virtualIp"] = out["virtualIP"]
	delete(out, "virtualIP")
	for _, k := range []string{"systemData", "kind"} {
		if _, ok := out[k]; !ok {
			out[k] = nil
		}
	}
	if id, ok := res["id"].(string); ok {
		out["resourceGroup"] = resourceGroupOf(id)
	}
	return out
}

func hostnameAdd(ctx context.Context, inv *invocation) error {
	rg, app, host := inv.flags.str("resource-group"), inv.flags.str("webapp-name"), inv.flags.str("hostname")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.getSite(ctx, rg, app) // custom.py: the app must exist, and gives its name's casing
	if err != nil {
		return err
	}
	res, err := c.armMap(ctx, http.MethodPut, c.bindingsPath(rg, str(site, "name"))+"/"+url.PathEscape(host), apiWeb,
		map[string]any{"properties": map[string]any{"siteName": str(site, "name")}})
	if err != nil {
		return err
	}
	return inv.printResult(bindingOutput(res), nil)
}

// hostnameList prints the bindings with their names cut to the host name,
// as az does.
func hostnameList(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("webapp-name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	items, err := c.armList(ctx, c.bindingsPath(rg, app), apiWeb)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		b := bindingOutput(asMap(it))
		if n, ok := b["name"].(string); ok {
			b["name"] = n[strings.LastIndex(n, "/")+1:]
		}
		out = append(out, b)
	}
	return inv.printResult(out, nil)
}

// hostnameDelete prints nothing, as az prints nothing.
func hostnameDelete(ctx context.Context, inv *invocation) error {
	rg, app, host := inv.flags.str("resource-group"), inv.flags.str("webapp-name"), inv.flags.str("hostname")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	_, err = c.arm(ctx, http.MethodDelete, c.bindingsPath(rg, app)+"/"+url.PathEscape(host), apiWeb, nil, nil)
	return err
}

// hostnameExternalIP prints {"ip": ...}: the server's inboundIpAddress
// (its --external-ip), else — as az does — the address the default host
// name resolves to here.
func hostnameExternalIP(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("webapp-name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	site, err := c.getSite(ctx, rg, app)
	if err != nil {
		return err
	}
	if ip := str(site, "properties.inboundIpAddress"); ip != "" {
		return inv.printResult(map[string]any{"ip": ip}, nil)
	}
	host := str(site, "properties.defaultHostName")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	addrs, err := net.DefaultResolver.LookupIP(ctx, "ip4", host)
	if err != nil || len(addrs) == 0 {
		return exitErrorf("Start the server with --external-ip, or make the name resolve here.", "Cannot resolve the default host name %q of %q: %v", host, app, err)
	}
	return inv.printResult(map[string]any{"ip": addrs[0].String()}, nil)
}
