package arm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/slipway-dev/slipway/internal/rbac"
)

// Lists a caller may read in part. ARM answers a list of a subscription's
// or a group's resources (az webapp list, az group list, az resource list,
// the lookup az webapp up makes) with the resources the caller may read,
// not with 403: a service principal that holds Contributor on one group —
// the usual identity of a deploy pipeline — lists that group's apps. Such a
// list is let through for a caller that holds a role somewhere below its
// scope (never to one with no role there), and its items are then kept
// only where the caller may read them, each checked as a GET of its id.

// filteredList reports whether r is a GET of one of the lists above.
func (h *Handler) filteredList(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	segs := splitPath(r.URL.Path)
	for _, rt := range h.routes {
		if _, ok := rt.match(segs); ok && rt.filtered && rt.method == http.MethodGet {
			return true
		}
	}
	return false
}

// serveFiltered runs a list route whose caller may not read the whole
// collection, and writes the list with only the items the caller may
// read (the items' order, fields and nextLink kept).
func (h *Handler) serveFiltered(w http.ResponseWriter, r *http.Request, rt route, p params) error {
	rec := &listRecorder{header: http.Header{}, status: http.StatusOK}
	if err := rt.fn(rec, r, p); err != nil {
		return err
	}
	if rec.status != http.StatusOK {
		return errors.New("filtering a list: the list did not answer 200")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(rec.body.Bytes(), &top); err != nil {
		return fmt.Errorf("filtering a list: %w", err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(top["value"], &items); err != nil {
		return fmt.Errorf("filtering a list: %w", err)
	}
	kept := make([]json.RawMessage, 0, len(items))
	for _, it := range items {
		var id struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(it, &id); err != nil || id.ID == "" {
			continue // what cannot be checked is not shown
		}
		action, scope := rbac.ActionFor(http.MethodGet, id.ID)
		if _, ok, err := h.callerMay(r, action, scope); err != nil {
			return err
		} else if ok {
			kept = append(kept, it)
		}
	}
	v, err := json.Marshal(kept)
	if err != nil {
		return err
	}
	top["value"] = v
	for k, vs := range rec.header {
		w.Header()[k] = vs
	}
	w.Header().Del("Content-Length")
	return writeJSON(w, http.StatusOK, top)
}

// listRecorder holds a list route's answer for serveFiltered.
type listRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (l *listRecorder) Header() http.Header         { return l.header }
func (l *listRecorder) WriteHeader(status int)      { l.status = status }
func (l *listRecorder) Write(p []byte) (int, error) { return l.body.Write(p) }
