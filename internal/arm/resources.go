package arm

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// genericResource is a resource as Microsoft.Resources lists it
// (GET /subscriptions/{s}/resources, `az resource list`): the envelope every
// resource type shares, without properties.
type genericResource struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Kind     string            `json:"kind,omitempty"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	SKU      map[string]any    `json:"sku,omitempty"`

	resourceGroup string // for the resourceGroup filter
}

// listResources answers GET /subscriptions/{s}/resources and
// GET /subscriptions/{s}/resourceGroups/{rg}/resources: every plan, site,
// slot, storage account, key vault, user-assigned identity, autoscale
// setting, Application Insights component and PostgreSQL flexible server
// (resource groups are not resources), narrowed by
// $filter and $top. See
// https://learn.microsoft.com/rest/api/resources/resources/list.
func (h *Handler) listResources(w http.ResponseWriter, r *http.Request, p params) error {
	q := r.URL.Query()
	match, err := parseResourceFilter(q.Get("$filter"))
	if err != nil {
		return err
	}
	top := -1
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequestParameter",
				Message: fmt.Sprintf("The value '%s' of $top is not a non-negative integer.", v)}
		}
		top = n
	}
	ctx := r.Context()
	// Separate reads, not one snapshot: a resource created or deleted
	// meanwhile may be missing or listed, as ARM's own lists are
	// eventually consistent.
	plans, err := h.cfg.Store.Plans(ctx, p.rg)
	if err != nil {
		return err
	}
	sites, err := h.cfg.Store.Sites(ctx, p.rg)
	if err != nil {
		return err
	}
	linux := map[string]bool{}
	allPlans := plans
	if p.rg != "" { // a site's plan may be in another group
		if allPlans, err = h.cfg.Store.Plans(ctx, ""); err != nil {
			return err
		}
	}
	for _, pl := range allPlans {
		linux[strings.ToLower(pl.ResourceGroup+"/"+pl.Name)] = pl.Linux
	}
	accounts, err := h.cfg.Store.StorageAccounts(ctx, p.rg)
	if err != nil {
		return err
	}
	vaults, err := h.cfg.Store.Vaults(ctx, p.rg)
	if err != nil {
		return err
	}
	identities, err := h.cfg.Store.UserAssignedIdentities(ctx, p.rg)
	if err != nil {
		return err
	}
	autoscales, err := h.cfg.Store.AutoscaleSettings(ctx, p.rg)
	if err != nil {
		return err
	}
	components, err := h.cfg.Store.InsightsComponents(ctx, p.rg)
	if err != nil {
		return err
	}
	servers, err := h.cfg.Store.PostgresServersIn(ctx, p.rg)
	if err != nil {
		return err
	}
	caches, err := h.cfg.Store.RedisCachesIn(ctx, p.rg)
	if err != nil {
		return err
	}
	var all []genericResource
	for _, c := range caches {
		all = append(all, genericResource{
			ID: redisCacheID(p.sub, c.ResourceGroup, c.Name), Name: c.Name, Type: redisType,
			Location: c.Location, Tags: c.Tags, resourceGroup: c.ResourceGroup,
		})
	}
	for _, s := range servers {
		all = append(all, genericResource{
			ID: postgresServerID(p.sub, s.ResourceGroup, s.Name), Name: s.Name, Type: postgresType,
			Location: s.Location, Tags: s.Tags, resourceGroup: s.ResourceGroup,
		})
	}
	for _, c := range components {
		all = append(all, genericResource{
			ID: componentID(p.sub, c.ResourceGroup, c.Name), Name: c.Name, Type: componentsType,
			Kind: c.Kind, Location: c.Location, Tags: c.Tags, resourceGroup: c.ResourceGroup,
		})
	}
	for _, i := range identities {
		all = append(all, genericResource{
			ID: identityID(p.sub, i.ResourceGroup, i.Name), Name: i.Name, Type: "Microsoft.ManagedIdentity/userAssignedIdentities",
			Location: i.Location, Tags: i.Tags, resourceGroup: i.ResourceGroup,
		})
	}
	for _, a := range autoscales {
		all = append(all, genericResource{
			ID: autoscaleID(p.sub, a.ResourceGroup, a.Name), Name: a.Name, Type: "Microsoft.Insights/autoscaleSettings",
			Location: a.Location, Tags: a.Tags, resourceGroup: a.ResourceGroup,
		})
	}
	for _, v := range vaults {
		all = append(all, genericResource{
			ID: vaultID(p.sub, v.ResourceGroup, v.Name), Name: v.Name, Type: "Microsoft.KeyVault/vaults",
			Location: v.Location, Tags: v.Tags, resourceGroup: v.ResourceGroup,
		})
	}
	for _, pl := range plans {
		kind := "app"
		if pl.Linux {
			kind = "linux"
		}
		all = append(all, genericResource{
			ID: planID(p.sub, pl.ResourceGroup, pl.Name), Name: pl.Name, Type: "Microsoft.Web/serverFarms",
			Kind: kind, Location: pl.Location, Tags: pl.Tags, resourceGroup: pl.ResourceGroup,
			SKU: map[string]any{"name": pl.SKU.Name, "tier": tierJSON(pl), "size": pl.SKU.Name,
				"family": skuFamily(pl.SKU.Name), "capacity": pl.SKU.Capacity},
		})
	}
	for _, s := range sites {
		kind := "app"
		if linux[strings.ToLower(s.PlanResourceGroup()+"/"+s.Plan)] {
			kind = "app,linux"
		}
		id, name, typ := s.ResourceID(p.sub), s.Name, "Microsoft.Web/sites"
		if s.SlotOf != "" {
			name, typ = s.SlotOf+"/"+s.Slot, "Microsoft.Web/sites/slots"
		}
		all = append(all, genericResource{
			ID: id, Name: name, Type: typ,
			Kind: kind, Location: s.Location, Tags: s.Tags, resourceGroup: s.ResourceGroup,
		})
	}
	for _, a := range accounts {
		tier, _, _ := strings.Cut(a.SKU, "_")
		all = append(all, genericResource{
			ID: storageAccountID(p.sub, a.ResourceGroup, a.Name), Name: a.Name, Type: "Microsoft.Storage/storageAccounts",
			Kind: a.Kind, Location: a.Location, Tags: a.Tags, resourceGroup: a.ResourceGroup,
			SKU: map[string]any{"name": a.SKU, "tier": tier},
		})
	}
	sort.Slice(all, func(i, j int) bool { return strings.ToLower(all[i].ID) < strings.ToLower(all[j].ID) })
	vs := []any{}
	for _, res := range all {
		if top >= 0 && len(vs) == top {
			break
		}
		if !match(res) {
			continue
		}
		if res.Tags == nil {
			res.Tags = map[string]string{}
		}
		vs = append(vs, res)
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// parseResourceFilter parses the $filter of a resource list in the forms
// the az CLI sends — `field eq 'value'` terms joined by `and`, for the
// fields resourceGroup, resourceType, name, location, tagName and
// tagValue, and `startswith(tagName, 'prefix')` — and returns the
// predicate. Names, types, groups and tag names compare without case, as
// ARM's do; tag values exactly. Anything else is a 400 rather than a list
// that silently ignores part of the filter.
func parseResourceFilter(filter string) (func(genericResource) bool, error) {
	var preds []func(genericResource) bool
	if strings.TrimSpace(filter) == "" {
		return func(genericResource) bool { return true }, nil
	}
	bad := func(why string) error {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidFilterInQueryString",
			Message: fmt.Sprintf("The $filter '%s' is not supported: %s. Slipway supports terms of the form \"<field> eq '<value>'\" joined by 'and', for resourceGroup, resourceType, name, location, tagName and tagValue, and \"startswith(tagName, '<prefix>')\".", filter, why)}
	}
	sc := filterScanner{s: filter}
	var tagName, tagPrefix *string
	var tagValue *string
	for {
		sc.space()
		if sc.keyword("startswith(") {
			sc.space()
			field := sc.ident()
			sc.space()
			if !strings.EqualFold(field, "tagName") || !sc.lit(",") {
				return nil, bad("startswith is supported on tagName only")
			}
			sc.space()
			v, ok := sc.quoted()
			sc.space()
			if !ok || !sc.lit(")") {
				return nil, bad("startswith needs a quoted prefix and a closing parenthesis")
			}
			tagPrefix = &v
		} else {
			field := sc.ident()
			if field == "" {
				return nil, bad(fmt.Sprintf("a field name is expected at offset %d", sc.i))
			}
			if !sc.space() || !sc.keyword("eq") || !sc.space() {
				return nil, bad(fmt.Sprintf("only the 'eq' operator is supported (after '%s')", field))
			}
			v, ok := sc.quoted()
			if !ok {
				return nil, bad(fmt.Sprintf("the value for '%s' must be a single-quoted string", field))
			}
			switch strings.ToLower(field) {
			case "resourcegroup":
				preds = append(preds, func(r genericResource) bool { return strings.EqualFold(r.resourceGroup, v) })
			case "resourcetype":
				preds = append(preds, func(r genericResource) bool { return strings.EqualFold(r.Type, v) })
			case "name":
				preds = append(preds, func(r genericResource) bool { return strings.EqualFold(r.Name, v) })
			case "location":
				preds = append(preds, func(r genericResource) bool { return normalizeLocation(r.Location) == normalizeLocation(v) })
			case "tagname":
				tagName = &v
			case "tagvalue":
				tagValue = &v
			default:
				return nil, bad(fmt.Sprintf("the field '%s' cannot be filtered on", field))
			}
		}
		if !sc.space() && !sc.done() {
			return nil, bad(fmt.Sprintf("unexpected text at offset %d", sc.i))
		}
		if sc.done() {
			break
		}
		if !sc.keyword("and") || !sc.space() {
			return nil, bad(fmt.Sprintf("terms must be joined by 'and' (offset %d)", sc.i))
		}
	}
	switch {
	case tagValue != nil && tagName == nil:
		return nil, bad("tagValue needs a tagName term")
	case tagName != nil && tagPrefix != nil:
		return nil, bad("use either tagName eq or startswith(tagName, ...), not both")
	case tagName != nil:
		name, value := *tagName, tagValue
		preds = append(preds, func(r genericResource) bool {
			for k, v := range r.Tags {
				if strings.EqualFold(k, name) && (value == nil || v == *value) {
					return true
				}
			}
			return false
		})
	case tagPrefix != nil:
		prefix := strings.ToLower(*tagPrefix)
		preds = append(preds, func(r genericResource) bool {
			for k := range r.Tags {
				if strings.HasPrefix(strings.ToLower(k), prefix) {
					return true
				}
			}
			return false
		})
	}
	return func(r genericResource) bool {
		for _, p := range preds {
			if !p(r) {
				return false
			}
		}
		return true
	}, nil
}

// filterScanner reads an OData $filter left to right.
type filterScanner struct {
	s string
	i int
}

func (f *filterScanner) done() bool { return f.i >= len(f.s) }

// space skips blanks and reports whether there were any.
func (f *filterScanner) space() bool {
	start := f.i
	for f.i < len(f.s) && (f.s[f.i] == ' ' || f.s[f.i] == '\t') {
		f.i++
	}
	return f.i > start
}

// keyword consumes kw, case-insensitively.
func (f *filterScanner) keyword(kw string) bool {
	if len(f.s)-f.i >= len(kw) && strings.EqualFold(f.s[f.i:f.i+len(kw)], kw) {
		f.i += len(kw)
		return true
	}
	return false
}

func (f *filterScanner) lit(s string) bool {
	if strings.HasPrefix(f.s[f.i:], s) {
		f.i += len(s)
		return true
	}
	return false
}

func (f *filterScanner) ident() string {
	start := f.i
	for f.i < len(f.s) {
		c := f.s[f.i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '/' || c == '.' {
			f.i++
			continue
		}
		break
	}
	return f.s[start:f.i]
}

// quoted reads a single-quoted string, where ” stands for one quote.
func (f *filterScanner) quoted() (string, bool) {
	if !f.lit("'") {
		return "", false
	}
	var b strings.Builder
	for f.i < len(f.s) {
		c := f.s[f.i]
		f.i++
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if f.i < len(f.s) && f.s[f.i] == '\'' {
			b.WriteByte('\'')
			f.i++
			continue
		}
		return b.String(), true
	}
	return "", false
}
