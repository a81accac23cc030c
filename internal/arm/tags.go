package arm

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
)

// The Tags API (az tag create|update|list|delete --resource-id ID): the
// tags of a resource group or a resource as an extension resource,
// {scope}/providers/Microsoft.Resources/tags/default
// (https://learn.microsoft.com/rest/api/resources/tags). GET reads them,
// PUT replaces them, PATCH merges, replaces or deletes some
// ({"operation":"Merge|Replace|Delete","properties":{"tags":{...}}}), and
// DELETE removes them all; each answers the tags resource. Deploy scripts
// use `az tag update --operation merge` to add a tag without dropping the
// others.
//
// Slipway does what az resource tag does, as the caller: it GETs the
// resource and PUTs it back with the new tags (dispatch), so that the
// caller must be allowed to write the resource itself and the resource's
// own validation of tags applies. Subscription scope is refused: the
// subscription is the installation's and carries no tags. So is a resource
// whose document has no tags member (a site's config, a role assignment, a
// list): a PUT of it would store none and do what a write of it does.

// tagsScope returns the scope of a Tags API path (the segments before
// providers/Microsoft.Resources/tags/default), if segs is one.
func tagsScope(segs []string) ([]string, bool) {
	n := len(segs)
	if n < 4 || !strings.EqualFold(segs[n-4], "providers") || !strings.EqualFold(segs[n-3], "Microsoft.Resources") ||
		!strings.EqualFold(segs[n-2], "tags") || !strings.EqualFold(segs[n-1], "default") {
		return nil, false
	}
	return segs[:n-4], true
}

// taggable says whether scope is a resource group or a resource in one
// that is not itself an extension resource or a Microsoft.Resources one
// (a deployment, or tags: no recursion).
func taggable(scope []string) bool {
	if len(scope) < 4 || !strings.EqualFold(scope[0], "subscriptions") || !strings.EqualFold(scope[2], "resourceGroups") {
		return false
	}
	if len(scope) == 4 {
		return true
	}
	if len(scope) < 8 || !strings.EqualFold(scope[4], "providers") || strings.EqualFold(scope[5], "Microsoft.Resources") {
		return false
	}
	for _, s := range scope[6:] {
		if strings.EqualFold(s, "providers") {
			return false
		}
	}
	return true
}

// serveTags answers the Tags API; handled is false for any other path.
func (h *Handler) serveTags(w http.ResponseWriter, r *http.Request, segs []string) (handled bool, err error) {
	scopeSegs, ok := tagsScope(segs)
	if !ok {
		return false, nil
	}
	scope := "/" + strings.Join(scopeSegs, "/")
	if !taggable(scopeSegs) {
		return true, slipway.Errorf(slipway.EINVALID, "Tags at the scope '%s' are not available in Slipway: tag a resource group or a resource.", scope)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	var body struct {
		Operation  string `json:"operation"`
		Properties struct {
			Tags map[string]string `json:"tags"`
		} `json:"properties"`
	}
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
	case http.MethodPut, http.MethodPatch:
		if err := h.checkReserve(w, r); err != nil {
			return true, err
		}
		if err := readJSON(r, &body); err != nil {
			return true, err
		}
	default:
		return true, errMethodNotAllowed(r.Method)
	}

	doc, err := h.dispatchJSON(w, r, http.MethodGet, scope, nil)
	if doc == nil || err != nil {
		return true, err // the resource's own error was written
	}
	if _, ok := doc["tags"]; !ok {
		// Not a resource that holds tags (a site's config, a role
		// assignment, a list): its PUT would store none and do what a
		// write of it does.
		return true, slipway.Errorf(slipway.EINVALID, "The resource '%s' does not take tags: tag a resource group or a resource that has tags (a site, a slot, a plan, a storage account, a vault...).", scope)
	}
	old := docTags(doc)
	var tags map[string]string
	switch r.Method {
	case http.MethodGet:
		return true, writeTags(w, scope, old)
	case http.MethodDelete:
		tags = map[string]string{}
	case http.MethodPut:
		tags = body.Properties.Tags
	case http.MethodPatch:
		tags, err = patchTags(old, body.Operation, body.Properties.Tags)
		if err != nil {
			return true, err
		}
	}
	if tags == nil {
		tags = map[string]string{}
	}
	doc["tags"] = tags
	put, err := json.Marshal(doc)
	if err != nil {
		return true, fmt.Errorf("encoding %s with new tags: %w", scope, err)
	}
	// What the resource kept, as its answer to the PUT says.
	if doc, err = h.dispatchJSON(w, r, http.MethodPut, scope, put); doc == nil || err != nil {
		return true, err
	}
	return true, writeTags(w, scope, docTags(doc))
}

// docTags are the tags of a resource document (none if it has none).
func docTags(doc map[string]any) map[string]string {
	tags := map[string]string{}
	if t, ok := doc["tags"].(map[string]any); ok {
		for k, v := range t {
			if s, ok := v.(string); ok {
				tags[k] = s
			}
		}
	}
	return tags
}

// patchTags applies a PATCH's operation to the tags old: Merge adds and
// overwrites the given tags, Replace makes them the only ones, Delete
// removes each given name (when its given value is empty or the tag's).
func patchTags(old map[string]string, operation string, given map[string]string) (map[string]string, error) {
	tags := maps.Clone(old)
	switch {
	case strings.EqualFold(operation, "Merge"):
		maps.Copy(tags, given)
	case strings.EqualFold(operation, "Replace"):
		tags = maps.Clone(given)
	case strings.EqualFold(operation, "Delete"):
		for k, v := range given {
			if cur, ok := tags[k]; ok && (v == "" || v == cur) {
				delete(tags, k)
			}
		}
	default:
		return nil, slipway.Errorf(slipway.EINVALID, "The tag operation '%s' is invalid: use Merge, Replace or Delete.", operation)
	}
	return tags, nil
}

// dispatchJSON serves method on scope as the caller (dispatch) and
// returns the resource it answers with. Any other answer than 200 or 201
// is written to w as it came, and the returned document is nil.
func (h *Handler) dispatchJSON(w http.ResponseWriter, r *http.Request, method, scope string, body []byte) (map[string]any, error) {
	status, header, out := h.dispatch(r.Context(), r, method, scope, r.URL.Query().Get("api-version"), body)
	if status != http.StatusOK && status != http.StatusCreated {
		for _, k := range []string{"Content-Type", "Retry-After", "WWW-Authenticate"} {
			if v := header.Get(k); v != "" {
				w.Header().Set(k, v)
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write(out) // the client went away; nothing to do
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("reading %s %s for its tags: %w", method, scope, err)
	}
	if doc, ok := v.(map[string]any); ok {
		return doc, nil
	}
	// A list answered as a bare array (virtualNetworkConnections): no
	// resource, so no tags.
	return map[string]any{}, nil
}

// writeTags answers the tags resource of scope.
func writeTags(w http.ResponseWriter, scope string, tags map[string]string) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"id":         scope + "/providers/Microsoft.Resources/tags/default",
		"name":       "default",
		"type":       "Microsoft.Resources/tags",
		"properties": map[string]any{"tags": tags},
	})
}
