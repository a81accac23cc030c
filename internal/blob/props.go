package blob

import (
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serviceProperties is Get/Set Blob Service Properties. Top-level elements
// are kept as raw XML so that a Set naming only some of them leaves the
// others unchanged, as Azure does; Cors is also parsed to be enforced.
type serviceProperties struct {
	XMLName               xml.Name `xml:"StorageServiceProperties"`
	Logging               *rawXML  `xml:"Logging"`
	HourMetrics           *rawXML  `xml:"HourMetrics"`
	MinuteMetrics         *rawXML  `xml:"MinuteMetrics"`
	Cors                  *corsXML `xml:"Cors"`
	DefaultServiceVersion *string  `xml:"DefaultServiceVersion"`
	DeleteRetentionPolicy *rawXML  `xml:"DeleteRetentionPolicy"`
	StaticWebsite         *rawXML  `xml:"StaticWebsite"`
}

type rawXML struct {
	Inner string `xml:",innerxml"`
}

type corsXML struct {
	Rules []corsRule `xml:"CorsRule"`
}

type corsRule struct {
	AllowedOrigins  string `xml:"AllowedOrigins"`
	AllowedMethods  string `xml:"AllowedMethods"`
	AllowedHeaders  string `xml:"AllowedHeaders"`
	ExposedHeaders  string `xml:"ExposedHeaders"`
	MaxAgeInSeconds int    `xml:"MaxAgeInSeconds"`
}

// maxCorsRules is how many CORS rules a service may have.
const maxCorsRules = 5

func defaultServiceProperties() serviceProperties {
	off := `<Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>`
	return serviceProperties{
		Logging:               &rawXML{`<Version>1.0</Version><Delete>false</Delete><Read>false</Read><Write>false</Write><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>`},
		HourMetrics:           &rawXML{off},
		MinuteMetrics:         &rawXML{off},
		Cors:                  &corsXML{},
		DeleteRetentionPolicy: &rawXML{`<Enabled>false</Enabled>`},
		StaticWebsite:         &rawXML{`<Enabled>false</Enabled>`},
	}
}

func (s *Service) loadServiceProperties(ctx context.Context, q queryer, account string) (serviceProperties, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT xml FROM service_properties WHERE account = ?`, account).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return defaultServiceProperties(), nil
	}
	if err != nil {
		return serviceProperties{}, fmt.Errorf("loading service properties: %w", err)
	}
	p := defaultServiceProperties()
	if err := xml.Unmarshal([]byte(raw), &p); err != nil {
		return serviceProperties{}, fmt.Errorf("decoding service properties: %w", err)
	}
	return p, nil
}

func (s *Service) getServiceProperties(rq *req) error {
	p, err := s.loadServiceProperties(rq.r.Context(), s.reader, rq.acct.Name)
	if err != nil {
		return err
	}
	return rq.writeXML(http.StatusOK, p)
}

func (s *Service) setServiceProperties(rq *req) error {
	var in serviceProperties
	if _, err := readXMLBody(rq.r, 1<<20, &in); err != nil {
		return err
	}
	if err := s.storeServiceProperties(rq.r.Context(), rq.acct.Name, in); err != nil {
		return err
	}
	return rq.ok(http.StatusAccepted)
}

// storeServiceProperties validates the elements in names, as Set Blob
// Service Properties does, and stores them over the account's current
// ones; the elements it leaves out stay as they are. The data plane and
// the management plane (mgmtprops.go) both set them here.
func (s *Service) storeServiceProperties(ctx context.Context, account string, in serviceProperties) error {
	if in.Cors != nil {
		if len(in.Cors.Rules) > maxCorsRules {
			return errInvalidXML
		}
		for _, r := range in.Cors.Rules {
			if r.AllowedOrigins == "" || r.AllowedMethods == "" {
				return errInvalidXML
			}
		}
	}
	if v := in.DefaultServiceVersion; v != nil {
		// "Valid values include version 2008-10-27 and all later
		// versions" (Set Blob Service Properties).
		d, err := time.Parse(time.DateOnly, *v)
		if err != nil || d.Before(time.Date(2008, 10, 27, 0, 0, 0, 0, time.UTC)) {
			return errInvalidXMLNode("DefaultServiceVersion")
		}
	}
	if in.DeleteRetentionPolicy != nil {
		p, err := normalizeRetention(in.DeleteRetentionPolicy) // softdelete.go
		if err != nil {
			return err
		}
		in.DeleteRetentionPolicy = p
	}
	site, err := parseWebsite(in.StaticWebsite) // website.go
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if site.Enabled {
			if err := s.ensureWebContainer(ctx, tx, account); err != nil {
				return err
			}
		}
		cur, err := s.loadServiceProperties(ctx, tx, account)
		if err != nil {
			return err
		}
		if in.Logging != nil {
			cur.Logging = in.Logging
		}
		if in.HourMetrics != nil {
			cur.HourMetrics = in.HourMetrics
		}
		if in.MinuteMetrics != nil {
			cur.MinuteMetrics = in.MinuteMetrics
		}
		if in.Cors != nil {
			cur.Cors = in.Cors
		}
		if in.DefaultServiceVersion != nil {
			cur.DefaultServiceVersion = in.DefaultServiceVersion
		}
		if in.DeleteRetentionPolicy != nil {
			cur.DeleteRetentionPolicy = in.DeleteRetentionPolicy
		}
		if in.StaticWebsite != nil {
			cur.StaticWebsite = in.StaticWebsite
		}
		out, err := xml.Marshal(cur)
		if err != nil {
			return fmt.Errorf("encoding service properties: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO service_properties (account, xml) VALUES (?, ?)`, account, string(out))
		if err != nil {
			return fmt.Errorf("storing service properties: %w", err)
		}
		return nil
	})
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// allowsOrigin matches origin against the rule's origins: "*", an exact
// origin (case-insensitive), or a subdomain wildcard such as
// "*.contoso.com" or "http://*.contoso.com" (any non-empty subdomain).
func (c corsRule) allowsOrigin(origin string) bool {
	for _, o := range splitList(c.AllowedOrigins) {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
		if before, after, ok := strings.Cut(o, "*."); ok && !strings.Contains(after, "*") {
			lo := strings.ToLower(origin)
			if strings.HasPrefix(lo, strings.ToLower(before)) && len(lo) > len(before)+len(after)+1 &&
				strings.HasSuffix(lo, "."+strings.ToLower(after)) {
				return true
			}
		}
	}
	return false
}

func (c corsRule) allowsMethod(m string) bool {
	for _, v := range splitList(c.AllowedMethods) {
		if strings.EqualFold(v, m) {
			return true
		}
	}
	return false
}

func headerAllowed(patterns []string, h string) bool {
	h = strings.ToLower(strings.TrimSpace(h))
	for _, p := range patterns {
		p = strings.ToLower(p)
		if p == "*" || p == h || (strings.HasSuffix(p, "*") && strings.HasPrefix(h, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

func (c corsRule) wildcardOrigin() bool {
	for _, o := range splitList(c.AllowedOrigins) {
		if o == "*" {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight (OPTIONS) from the account's CORS
// rules; preflights are not authenticated.
func (s *Service) preflight(rq *req) error {
	origin := rq.r.Header.Get("Origin")
	method := rq.r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		return newError(400, "InvalidHeaderValue", "A required CORS header is not present.")
	}
	p, err := s.loadServiceProperties(rq.r.Context(), s.reader, rq.acct.Name)
	if err != nil {
		return err
	}
	var reqHeaders []string
	for _, v := range rq.r.Header.Values("Access-Control-Request-Headers") {
		reqHeaders = append(reqHeaders, splitList(v)...)
	}
	for _, rule := range p.Cors.Rules {
		if !rule.allowsOrigin(origin) || !rule.allowsMethod(method) {
			continue
		}
		allowed := splitList(rule.AllowedHeaders)
		ok := true
		for _, h := range reqHeaders {
			if !headerAllowed(allowed, h) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		h := rq.w.Header()
		if rule.wildcardOrigin() {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Vary", "Origin")
		}
		h.Set("Access-Control-Allow-Methods", strings.ToUpper(method))
		if len(reqHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ","))
		}
		if rule.MaxAgeInSeconds > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(rule.MaxAgeInSeconds))
		}
		return rq.ok(http.StatusOK)
	}
	return errCorsPreflight
}

// corsHeaders adds the CORS response headers of the first rule matching
// the request's Origin and method.
func (s *Service) corsHeaders(rq *req) error {
	p, err := s.loadServiceProperties(rq.r.Context(), s.reader, rq.acct.Name)
	if err != nil {
		return err
	}
	origin := rq.r.Header.Get("Origin")
	h := rq.w.Header()
	for _, rule := range p.Cors.Rules {
		if !rule.allowsOrigin(origin) || !rule.allowsMethod(rq.r.Method) {
			continue
		}
		// Azure: Vary: Origin unless the matching rule allows every
		// origin (the answer then does not depend on it).
		if rule.wildcardOrigin() {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Vary", "Origin")
		}
		if rule.ExposedHeaders != "" {
			h.Set("Access-Control-Expose-Headers", rule.ExposedHeaders)
		}
		return nil
	}
	if len(p.Cors.Rules) > 0 {
		// Rules exist but none matches: still Vary on Origin.
		h.Set("Vary", "Origin")
	}
	return nil
}
