package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// apiMetadata is the api-version az's `cloud register` reads
// /metadata/endpoints with.
const apiMetadata = "2022-09-01"

// maxGraphPages bounds the nextLinks one Graph list follows.
const maxGraphPages = 100

// graphURL returns the directory's base URL (no trailing slash) as az
// finds it: the microsoftGraphResourceId of the server's
// /metadata/endpoints (internal/graph serves it at graph.<domain>).
func (c *conn) graphURL(ctx context.Context) (string, error) {
	if c.graphBase != "" {
		return c.graphBase, nil
	}
	var doc struct {
		Graph string `json:"microsoftGraphResourceId"`
	}
	if err := c.armJSON(ctx, http.MethodGet, "/metadata/endpoints", apiMetadata, nil, &doc); err != nil {
		return "", fmt.Errorf("finding the directory (Microsoft Graph) endpoint: %w", err)
	}
	u, err := url.Parse(doc.Graph)
	if doc.Graph == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", exitErrorf("Upgrade the server: this one has no directory.",
			"The server at %s publishes no Microsoft Graph endpoint (microsoftGraphResourceId %q).", c.base, doc.Graph)
	}
	c.graphBase = strings.TrimSuffix(doc.Graph, "/")
	return c.graphBase, nil
}

// graph sends one Graph v1.0 request (path is escaped, starting with /)
// with the CLI's bearer token, and decodes a JSON answer into out. A
// list answer's pages are followed and their values gathered when out is
// a *[]map[string]any.
func (c *conn) graph(ctx context.Context, method, path string, body, out any) error {
	base, err := c.graphURL(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, armTimeout)
	defer cancel()
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("encoding the request body: %w", err)
		}
	}
	list, isList := out.(*[]map[string]any)
	next := base + "/v1.0" + path
	for range maxGraphPages {
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, next, rd)
		if err != nil {
			return fmt.Errorf("building %s %s: %w", method, path, err)
		}
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.do(req)
		if err != nil {
			return err
		}
		if !isList {
			return decodeBody(resp, out)
		}
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"@odata.nextLink"`
		}
		if err := decodeBody(resp, &page); err != nil {
			return err
		}
		*list = append(*list, page.Value...)
		if page.NextLink == "" {
			return nil
		}
		// Follow only links to the same directory: the token goes with it.
		if !strings.HasPrefix(page.NextLink, base+"/") {
			return fmt.Errorf("the directory's nextLink %q leaves %s", page.NextLink, base)
		}
		next = page.NextLink
	}
	return fmt.Errorf("the directory's list did not end after %d pages", maxGraphPages)
}

// graphFilter is "?$filter=<filter>", percent-encoded as az's
// _filter_to_query does.
func graphFilter(filter string) string {
	return "?$filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
}

// odataQuote quotes s as an OData string literal.
func odataQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// servicePrincipalsWhere lists the service principals matching filter.
func (c *conn) servicePrincipalsWhere(ctx context.Context, filter string) ([]map[string]any, error) {
	var list []map[string]any
	q := ""
	if filter != "" {
		q = graphFilter(filter)
	}
	err := c.graph(ctx, http.MethodGet, "/servicePrincipals"+q, nil, &list)
	return list, err
}

// resolveServicePrincipal is az's _resolve_service_principal: a service
// principal name (the app id) first, else an object id as given.
func (c *conn) resolveServicePrincipal(ctx context.Context, id string) (string, error) {
	list, err := c.servicePrincipalsWhere(ctx, "servicePrincipalNames/any(c:c eq "+odataQuote(id)+")")
	if err != nil {
		return "", err
	}
	if len(list) > 0 {
		oid, _ := list[0]["id"].(string)
		return oid, nil
	}
	if guidRE.MatchString(id) {
		return id, nil
	}
	return "", &ExitError{Code: ExitNotFound, Message: fmt.Sprintf("Service principal '%s' doesn't exist", id)}
}

// principalTypes maps Graph's @odata.type to ARM's principalType (az's
// ODATA_TYPE_TO_PRINCIPAL_TYPE).
var principalTypes = map[string]string{
	"#microsoft.graph.user":             "User",
	"#microsoft.graph.group":            "Group",
	"#microsoft.graph.servicePrincipal": "ServicePrincipal",
}

// objectStubs is az's _get_object_stubs: directory objects by id.
func (c *conn) objectStubs(ctx context.Context, ids []string) ([]map[string]any, error) {
	var out []map[string]any
	for i := 0; i < len(ids); i += 1000 {
		var page []map[string]any
		body := map[string]any{"ids": ids[i:min(i+1000, len(ids))], "types": []string{"user", "group", "servicePrincipal", "directoryObjectPartnerReference"}}
		if err := c.graph(ctx, http.MethodPost, "/directoryObjects/getByIds", body, &page); err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// resolveAssignee is az's _resolve_object_id_and_type: a user name
// (Slipway's directory has none), a service principal name (its app id),
// or an object id the directory knows. With fallback, an object id the
// directory cannot be asked about is used as given, as az does.
func (c *conn) resolveAssignee(ctx context.Context, inv *invocation, assignee string, fallback bool) (oid, ptype string, err error) {
	oid, ptype, err = c.lookupAssignee(ctx, assignee)
	var ae *apiError
	if err != nil && errors.As(err, &ae) {
		inv.warnf("Failed to query %s by invoking Graph API. If you don't have permission to query Graph API, please specify --assignee-object-id and --assignee-principal-type.", assignee)
		if fallback && guidRE.MatchString(assignee) {
			inv.warnf("Assuming %s as an object ID.", assignee)
			return assignee, "", nil
		}
	}
	return oid, ptype, err
}

func (c *conn) lookupAssignee(ctx context.Context, assignee string) (string, string, error) {
	if strings.Contains(assignee, "@") {
		var users []map[string]any
		if err := c.graph(ctx, http.MethodGet, "/users"+graphFilter("userPrincipalName eq "+odataQuote(assignee)), nil, &users); err != nil {
			return "", "", err
		}
		if len(users) > 0 {
			id, _ := users[0]["id"].(string)
			return id, "User", nil
		}
	}
	sps, err := c.servicePrincipalsWhere(ctx, "servicePrincipalNames/any(c:c eq "+odataQuote(assignee)+")")
	if err != nil {
		return "", "", err
	}
	if len(sps) > 0 {
		id, _ := sps[0]["id"].(string)
		return id, "ServicePrincipal", nil
	}
	if guidRE.MatchString(assignee) {
		objs, err := c.objectStubs(ctx, []string{assignee})
		if err != nil {
			return "", "", err
		}
		if len(objs) > 0 {
			id, _ := objs[0]["id"].(string)
			t, _ := objs[0]["@odata.type"].(string)
			return id, principalTypes[t], nil
		}
	}
	return "", "", exitErrorf("", "Cannot find user or service principal in graph database for '%s'. "+
		"If the assignee is an appId, make sure the corresponding service principal is created with 'az ad sp create --id %s'.", assignee, assignee)
}
