package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

var errMethod = gerr(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")

// route dispatches /v1.0/<segs...>.
func (h *Handler) route(w http.ResponseWriter, r *http.Request, c caller, segs []string) error {
	if len(segs) == 0 || segs[0] == "" {
		return gerr(http.StatusBadRequest, "BadRequest", "Give a resource, e.g. /v1.0/servicePrincipals.")
	}
	switch strings.ToLower(segs[0]) {
	case "applications":
		return h.applications(w, r, c, segs[1:])
	case "serviceprincipals":
		return h.servicePrincipals(w, r, c, segs[1:])
	case "directoryobjects":
		return h.directoryObjects(w, r, segs[1:])
	case "me":
		// Graph's answer to /me with an application's token; az then
		// looks the principal up by its servicePrincipalNames.
		return gerr(http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
	case "users":
		return h.users(w, r, c, segs[1:])
	case "groups":
		// The directory has no groups.
		if len(segs) != 1 {
			return errNotFound(strings.Join(segs[1:], "/"))
		}
		if r.Method != http.MethodGet {
			return errMethod
		}
		return h.writeList(w, segs[0], []any{}, "")
	}
	return gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", segs[0])
}

// objectID validates an object id path segment.
func objectID(seg string) (string, error) {
	if !isGUID(seg) {
		return "", errBadRequest("Invalid object identifier '%s'.", seg)
	}
	return strings.ToLower(seg), nil
}

// settable accepts a create or update body: the properties handled by
// the caller are in known; every other property must be unset (null, "",
// false, [] or {}), as az sends the properties it has no value for.
// Anything else is refused by name rather than dropped. Known names are
// matched exactly, as the callers read them: {"AccountEnabled": false}
// would otherwise pass here and never be read, and a 204 would say a user
// was disabled who was not.
func settable(body map[string]json.RawMessage, known ...string) error {
	for k, v := range body {
		if k == "@odata.type" || slices.Contains(known, k) {
			continue
		}
		if containsFold(known, k) {
			for _, n := range known {
				if strings.EqualFold(n, k) {
					return errBadRequest("Property '%s' is not known: property names are case-sensitive; did you mean '%s'?", k, n)
				}
			}
		}
		switch strings.TrimSpace(string(v)) {
		case "null", `""`, "false", "[]", "{}":
			continue
		}
		return errBadRequest("Property '%s' is not supported by Slipway's directory: give only displayName (and appId for a service principal).", k)
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// stringProp reads an optional string property of at most 256 characters.
func stringProp(body map[string]json.RawMessage, name string) (string, bool, error) {
	v, ok := body[name]
	if !ok || string(v) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, errBadRequest("Property '%s' must be a string.", name)
	}
	if len(s) > 256 {
		return "", false, errBadRequest("Property '%s' is longer than 256 characters.", name)
	}
	return s, true, nil
}

func (h *Handler) applications(w http.ResponseWriter, r *http.Request, c caller, rest []string) error {
	return serveCollection(h, w, r, c, rest, collection[store.Application]{
		name:   "applications",
		list:   h.listApplications,
		create: h.createApplication,
		find:   byObjectID(h.cfg.Store.ApplicationByObjectID),
		json:   h.appJSON,
		update: h.updateApplication,
		delete: func(ctx context.Context, a store.Application) error {
			_, err := h.cfg.Store.DeleteApplication(ctx, a.ObjectID)
			return err
		},
		action: func(w http.ResponseWriter, r *http.Request, c caller, rest []string, a store.Application) error {
			return h.objectAction(w, r, c, rest, a.ObjectID, passwords{add: h.cfg.Store.AddApplicationSecret, remove: h.cfg.Store.DeleteApplicationSecret})
		},
	})
}

func (h *Handler) listApplications(w http.ResponseWriter, r *http.Request) error {
	all, err := h.cfg.Store.Applications(r.Context())
	if err != nil {
		return err
	}
	return listObjects(h, w, r, "applications", all, appObject, h.appJSON)
}

func (h *Handler) createApplication(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := h.mayWrite(r.Context(), c); err != nil {
		return err
	}
	var body map[string]json.RawMessage
	if err := readBody(r, &body, false); err != nil {
		return err
	}
	if err := settable(body, append([]string{"displayName", "signInAudience"}, signInProps...)...); err != nil {
		return err
	}
	if aud, _, err := stringProp(body, "signInAudience"); err != nil || (aud != "" && aud != "AzureADMyOrg") {
		return errBadRequest("signInAudience must be AzureADMyOrg: Slipway's directory is a single tenant.")
	}
	name, ok, err := stringProp(body, "displayName")
	if err != nil {
		return err
	}
	if !ok || strings.TrimSpace(name) == "" {
		return errBadRequest("Property displayName is required.")
	}
	var si store.SignIn
	if err := readSignIn(body, &si); err != nil {
		return err
	}
	a, err := h.cfg.Store.CreateApplication(r.Context(), store.Application{DisplayName: name, SignIn: si})
	if err != nil {
		return err
	}
	m, err := h.appJSON(r.Context(), a)
	if err != nil {
		return err
	}
	m["@odata.context"] = h.context("applications/$entity")
	w.Header().Set("Location", h.cfg.BaseURL+"/v1.0/applications/"+a.ObjectID)
	return writeJSON(w, http.StatusCreated, m)
}

func (h *Handler) updateApplication(w http.ResponseWriter, r *http.Request, c caller, a store.Application) error {
	if err := h.mayWrite(r.Context(), c); err != nil {
		return err
	}
	var body map[string]json.RawMessage
	if err := readBody(r, &body, false); err != nil {
		return err
	}
	if err := settable(body, append([]string{"displayName"}, signInProps...)...); err != nil {
		return err
	}
	name, ok, err := stringProp(body, "displayName")
	if err != nil {
		return err
	}
	si := a.SignIn
	if err := readSignIn(body, &si); err != nil {
		return err
	}
	if ok {
		if err := h.cfg.Store.RenameApplication(r.Context(), a.ObjectID, name); err != nil {
			return err
		}
	}
	if err := h.cfg.Store.SetApplicationSignIn(r.Context(), a.ObjectID, si); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// owners answers an object's owners: Slipway's directory records none.
func (h *Handler) owners(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return gerr(http.StatusBadRequest, "Request_BadRequest", "Slipway's directory does not record owners of applications or service principals.")
	}
	return h.writeList(w, "directoryObjects", []any{}, "")
}

// passwords are the store's functions for one kind of password owner.
type passwords struct {
	add    func(ctx context.Context, objectID, secret, displayName string, start, end time.Time, replace bool) (store.PrincipalSecret, error)
	remove func(ctx context.Context, objectID, keyID string) error
}

// addPassword generates a password for the object and returns it once, in
// secretText (https://learn.microsoft.com/graph/api/application-addpassword).
// Without dates it is valid from now for two years, as Graph's are.
func (h *Handler) addPassword(w http.ResponseWriter, r *http.Request, c caller, objectID string, pw passwords) error {
	if r.Method != http.MethodPost {
		return errMethod
	}
	if err := h.mayWrite(r.Context(), c); err != nil {
		return err
	}
	var body struct {
		PasswordCredential *struct {
			DisplayName   *string `json:"displayName"`
			StartDateTime *string `json:"startDateTime"`
			EndDateTime   *string `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if err := readBody(r, &body, true); err != nil {
		return err
	}
	now := h.cfg.Now().UTC().Truncate(time.Second)
	start, end, name := now, now.AddDate(2, 0, 0), ""
	if p := body.PasswordCredential; p != nil {
		var err error
		if p.StartDateTime != nil {
			if start, err = parseTime("startDateTime", *p.StartDateTime); err != nil {
				return err
			}
			end = start.AddDate(2, 0, 0)
		}
		if p.EndDateTime != nil {
			if end, err = parseTime("endDateTime", *p.EndDateTime); err != nil {
				return err
			}
		}
		if p.DisplayName != nil {
			name = *p.DisplayName
		}
	}
	if len(name) > 256 {
		return errBadRequest("Property 'displayName' is longer than 256 characters.")
	}
	if !end.After(start) || end.Sub(start) > maxSecretLife {
		return errBadRequest("Invalid value specified for property 'endDateTime' of resource 'PasswordCredential': it must be after startDateTime and within %d years of it.", int(maxSecretLife.Hours()/24/365))
	}
	secret, err := h.cfg.NewSecret()
	if err != nil {
		return err
	}
	ps, err := pw.add(r.Context(), objectID, secret, name, start, end, false)
	if err != nil {
		return err
	}
	m := passwordJSON(ps, secret)
	m["@odata.context"] = h.context("microsoft.graph.passwordCredential")
	return writeJSON(w, http.StatusOK, m)
}

func parseTime(prop, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errBadRequest("Invalid value specified for property '%s' of resource 'PasswordCredential': '%s' is not an ISO 8601 date and time.", prop, v)
	}
	return t.UTC(), nil
}

func (h *Handler) removePassword(w http.ResponseWriter, r *http.Request, c caller, objectID string, pw passwords) error {
	if r.Method != http.MethodPost {
		return errMethod
	}
	if err := h.mayWrite(r.Context(), c); err != nil {
		return err
	}
	var body struct {
		KeyID string `json:"keyId"`
	}
	if err := readBody(r, &body, false); err != nil {
		return err
	}
	if !isGUID(body.KeyID) {
		return errBadRequest("Invalid value specified for property 'keyId': give the keyId of a password credential.")
	}
	if err := pw.remove(r.Context(), objectID, body.KeyID); err != nil {
		if slipway.ErrorCode(err) == slipway.ENOTFOUND {
			return errBadRequest("No password credential found with keyId '%s'.", body.KeyID)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) servicePrincipals(w http.ResponseWriter, r *http.Request, c caller, rest []string) error {
	return serveCollection(h, w, r, c, rest, collection[store.Principal]{
		name:   "servicePrincipals",
		list:   h.listServicePrincipals,
		create: h.createServicePrincipal,
		find:   byObjectID(h.cfg.Store.PrincipalByObjectID),
		json:   h.spJSON,
		update: func(w http.ResponseWriter, r *http.Request, c caller, _ store.Principal) error {
			// Nothing of a service principal is settable: an empty
			// update passes, any property is refused.
			if err := h.mayWrite(r.Context(), c); err != nil {
				return err
			}
			var body map[string]json.RawMessage
			if err := readBody(r, &body, true); err != nil {
				return err
			}
			if err := settable(body); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		},
		delete: func(ctx context.Context, p store.Principal) error {
			if p.Kind != store.ServicePrincipal {
				return errBadRequest("'%s' is a managed identity: it is deleted with its resource (or when the resource's identity is turned off).", p.ObjectID)
			}
			return h.cfg.Store.DeletePrincipal(ctx, p.ObjectID)
		},
		action: func(w http.ResponseWriter, r *http.Request, c caller, rest []string, p store.Principal) error {
			return h.objectAction(w, r, c, rest, p.ObjectID, passwords{add: h.cfg.Store.AddPrincipalSecret, remove: h.cfg.Store.DeletePrincipalSecret})
		},
	})
}

// collection is one of Graph's collections of directory objects, as
// serveCollection serves it.
type collection[T any] struct {
	name   string // as in the path and @odata.context: "users"
	list   func(w http.ResponseWriter, r *http.Request) error
	create func(w http.ResponseWriter, r *http.Request, c caller) error
	// find resolves the path segment that names one object; its errors
	// are the answer (400 for a malformed id, 404 for none).
	find   func(ctx context.Context, seg string) (T, error)
	json   func(ctx context.Context, v T) (map[string]any, error)
	update func(w http.ResponseWriter, r *http.Request, c caller, v T) error
	// delete runs after the caller's right to write was checked.
	delete func(ctx context.Context, v T) error
	// action serves the segments below an object (nil: none).
	action func(w http.ResponseWriter, r *http.Request, c caller, rest []string, v T) error
}

// byObjectID is a collection's find for objects named by their object id
// only: a malformed id is a 400, an unknown one a 404.
func byObjectID[T any](lookup func(ctx context.Context, id string) (T, error)) func(ctx context.Context, seg string) (T, error) {
	return func(ctx context.Context, seg string) (T, error) {
		var zero T
		id, err := objectID(seg)
		if err != nil {
			return zero, err
		}
		v, err := lookup(ctx, id)
		if slipway.ErrorCode(err) == slipway.ENOTFOUND {
			return zero, errNotFound(id)
		}
		return v, err
	}
}

// serveCollection serves rest (the path below the collection): GET (list)
// and POST (create) at its root; GET, PATCH and DELETE of one object;
// the object's actions below it.
func serveCollection[T any](h *Handler, w http.ResponseWriter, r *http.Request, c caller, rest []string, col collection[T]) error {
	ctx := r.Context()
	if len(rest) == 0 {
		switch r.Method {
		case http.MethodGet:
			return col.list(w, r)
		case http.MethodPost:
			return col.create(w, r, c)
		}
		return errMethod
	}
	v, err := col.find(ctx, rest[0])
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		if col.action == nil {
			return gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", rest[len(rest)-1])
		}
		return col.action(w, r, c, rest, v)
	}
	switch r.Method {
	case http.MethodGet:
		m, err := col.json(ctx, v)
		if err != nil {
			return err
		}
		m["@odata.context"] = h.context(col.name + "/$entity")
		return writeJSON(w, http.StatusOK, m)
	case http.MethodPatch:
		return col.update(w, r, c, v)
	case http.MethodDelete:
		if err := h.mayWrite(ctx, c); err != nil {
			return err
		}
		if err := col.delete(ctx, v); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return errMethod
}

// objectAction serves an application's or service principal's actions
// (addPassword, removePassword, owners) with that kind's password store.
func (h *Handler) objectAction(w http.ResponseWriter, r *http.Request, c caller, rest []string, objectID string, pw passwords) error {
	if len(rest) == 2 {
		switch strings.ToLower(rest[1]) {
		case "addpassword":
			return h.addPassword(w, r, c, objectID, pw)
		case "removepassword":
			return h.removePassword(w, r, c, objectID, pw)
		case "owners":
			return h.owners(w, r)
		}
	}
	return gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", rest[len(rest)-1])
}

func (h *Handler) listServicePrincipals(w http.ResponseWriter, r *http.Request) error {
	all, err := h.cfg.Store.Principals(r.Context())
	if err != nil {
		return err
	}
	return listObjects(h, w, r, "servicePrincipals", all, spObject, h.spJSON)
}

// listObjects answers a collection GET: the $filter applied to every
// object, one page of the matches as JSON, and the next link.
func listObjects[T any](h *Handler, w http.ResponseWriter, r *http.Request, collection string, all []T,
	object func(T) object, toJSON func(context.Context, T) (map[string]any, error)) error {
	f, err := parseFilter(r.URL.Query().Get("$filter"), collection)
	if err != nil {
		return err
	}
	var match []T
	for _, o := range all {
		if f.matches(object(o)) {
			match = append(match, o)
		}
	}
	start, end, next, err := h.page(r, len(match))
	if err != nil {
		return err
	}
	values := []any{}
	for _, o := range match[start:end] {
		m, err := toJSON(r.Context(), o)
		if err != nil {
			return err
		}
		values = append(values, m)
	}
	return h.writeList(w, collection, values, next)
}

// createServicePrincipal creates the service principal of an application
// (az sends {"appId", "accountEnabled": true}).
func (h *Handler) createServicePrincipal(w http.ResponseWriter, r *http.Request, c caller) error {
	ctx := r.Context()
	if err := h.mayWrite(ctx, c); err != nil {
		return err
	}
	var body map[string]json.RawMessage
	if err := readBody(r, &body, false); err != nil {
		return err
	}
	if err := settable(body, "appId", "accountEnabled"); err != nil {
		return err
	}
	if v, ok := body["accountEnabled"]; ok && string(v) != "true" && string(v) != "null" {
		return errBadRequest("A disabled service principal (accountEnabled false) is not supported by Slipway's directory.")
	}
	appID, _, err := stringProp(body, "appId")
	if err != nil {
		return err
	}
	if !isGUID(appID) {
		return errBadRequest("Property appId is required: the application's appId.")
	}
	a, err := h.cfg.Store.ApplicationByAppID(ctx, appID)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return errBadRequest("The appId '%s' of the service principal does not reference a valid application object.", appID)
	} else if err != nil {
		return err
	}
	p, err := h.cfg.Store.CreatePrincipal(ctx, store.Principal{Kind: store.ServicePrincipal, AppID: a.AppID, DisplayName: a.DisplayName})
	if slipway.ErrorCode(err) == slipway.ECONFLICT {
		return gerr(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property servicePrincipalNames already exists.")
	} else if err != nil {
		return err
	}
	m, err := h.spJSON(ctx, p)
	if err != nil {
		return err
	}
	m["@odata.context"] = h.context("servicePrincipals/$entity")
	w.Header().Set("Location", h.cfg.BaseURL+"/v1.0/servicePrincipals/"+p.ObjectID)
	return writeJSON(w, http.StatusCreated, m)
}

// directoryObjects serves getByIds (az's role assignment list and create
// resolve principals with it) and GET /directoryObjects/{id}.
func (h *Handler) directoryObjects(w http.ResponseWriter, r *http.Request, rest []string) error {
	if len(rest) != 1 {
		return gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment 'directoryObjects'.")
	}
	if strings.EqualFold(rest[0], "getByIds") {
		if r.Method != http.MethodPost {
			return errMethod
		}
		return h.getByIDs(w, r)
	}
	if r.Method != http.MethodGet {
		return errMethod
	}
	id, err := objectID(rest[0])
	if err != nil {
		return err
	}
	objs, err := h.lookup(r.Context(), []string{id}, nil)
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		return errNotFound(id)
	}
	m := objs[0]
	m["@odata.context"] = h.context("directoryObjects/$entity")
	return writeJSON(w, http.StatusOK, m)
}

func (h *Handler) getByIDs(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		IDs   []string `json:"ids"`
		Types []string `json:"types"`
	}
	if err := readBody(r, &body, false); err != nil {
		return err
	}
	if len(body.IDs) == 0 || len(body.IDs) > maxIDs {
		return errBadRequest("Give between 1 and %d ids.", maxIDs)
	}
	if len(body.Types) > 16 {
		return errBadRequest("Too many types.")
	}
	for _, id := range body.IDs {
		if !isGUID(id) {
			return errBadRequest("Invalid object identifier '%s'.", id)
		}
	}
	objs, err := h.lookup(r.Context(), body.IDs, body.Types)
	if err != nil {
		return err
	}
	values := make([]any, len(objs))
	for i, o := range objs {
		values[i] = o
	}
	return h.writeList(w, "directoryObjects", values, "")
}

// lookup finds service principals and applications by object id, each
// with its @odata.type, limited to types when given.
func (h *Handler) lookup(ctx context.Context, ids, types []string) ([]map[string]any, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[strings.ToLower(id)] = true
	}
	wantType := func(t string) bool { return len(types) == 0 || containsFold(types, t) }
	var out []map[string]any
	if wantType("servicePrincipal") {
		all, err := h.cfg.Store.Principals(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range all {
			if want[p.ObjectID] {
				m, err := h.spJSON(ctx, p)
				if err != nil {
					return nil, err
				}
				m["@odata.type"] = "#microsoft.graph.servicePrincipal"
				out = append(out, m)
			}
		}
	}
	if wantType("application") {
		all, err := h.cfg.Store.Applications(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range all {
			if want[a.ObjectID] {
				m, err := h.appJSON(ctx, a)
				if err != nil {
					return nil, err
				}
				m["@odata.type"] = "#microsoft.graph.application"
				out = append(out, m)
			}
		}
	}
	return out, nil
}
