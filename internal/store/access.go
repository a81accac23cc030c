package store

// A site's access restrictions in the sites table (migration 0017): each
// rule list a JSON array, the settings beside it; and its platform CORS
// (migration 0021), a JSON object.

import (
	"encoding/json"
	"fmt"

	"github.com/slipway-dev/slipway"
)

// accessRuleJSON is one stored rule.
type accessRuleJSON struct {
	IPAddress   string `json:"ipAddress"`
	Action      string `json:"action"`
	Priority    int    `json:"priority"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// encodeAccessRules is a rule list as its column holds it ("[]" for none).
func encodeAccessRules(rs []slipway.IPRestriction) string {
	out := make([]accessRuleJSON, len(rs))
	for i, r := range rs {
		out[i] = accessRuleJSON(r)
	}
	b, _ := json.Marshal(out) // plain strings and ints: cannot fail
	return string(b)
}

// decodeAccessRules reads a rule list column; nil for none.
func decodeAccessRules(doc string) ([]slipway.IPRestriction, error) {
	if doc == "" {
		return nil, nil
	}
	var in []accessRuleJSON
	if err := json.Unmarshal([]byte(doc), &in); err != nil {
		return nil, fmt.Errorf("decoding access restrictions: %w", err)
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]slipway.IPRestriction, len(in))
	for i, r := range in {
		out[i] = slipway.IPRestriction(r)
	}
	return out, nil
}

// accessColumns are the scanned access restriction columns of a site row.
type accessColumns struct {
	main, scm               string
	useMain                 bool
	mainDefault, scmDefault string
}

func (c accessColumns) restrictions() (slipway.AccessRestrictions, error) {
	a := slipway.AccessRestrictions{SCMUseMain: c.useMain, MainDefault: c.mainDefault, SCMDefault: c.scmDefault}
	var err error
	if a.Main, err = decodeAccessRules(c.main); err != nil {
		return a, err
	}
	if a.SCM, err = decodeAccessRules(c.scm); err != nil {
		return a, err
	}
	return a, nil
}

// corsJSON is a site's platform CORS as its column holds it.
type corsJSON struct {
	AllowedOrigins     []string `json:"allowedOrigins"`
	SupportCredentials bool     `json:"supportCredentials"`
}

// encodeCORS is the cors column: "" for none.
func encodeCORS(c slipway.CORS) string {
	if c.AllowedOrigins == nil && !c.SupportCredentials {
		return "" // never set; an empty list set is kept as one
	}
	b, _ := json.Marshal(corsJSON(c)) // strings and a bool: cannot fail
	return string(b)
}

// decodeCORS reads the cors column.
func decodeCORS(doc string) (slipway.CORS, error) {
	if doc == "" {
		return slipway.CORS{}, nil
	}
	var in corsJSON
	if err := json.Unmarshal([]byte(doc), &in); err != nil {
		return slipway.CORS{}, fmt.Errorf("decoding CORS: %w", err)
	}
	return slipway.CORS(in), nil
}
