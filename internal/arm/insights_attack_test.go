package arm

import (
	"strings"
	"testing"
)

// TestAttack_InsightsPrivateNotFaked: a component told to take telemetry
// or queries from private networks only (publicNetworkAccessForIngestion
// or publicNetworkAccessForQuery Disabled, az monitor app-insights
// component update --ingestion-access / --query-access Disabled) was
// answered 200 and stayed open to every network: its owner believed it
// private. Slipway has no private endpoints, so each is refused saying so
// and what restricts access instead, as for sites, accounts and vaults;
// nothing of the refused body is stored.
func TestAttack_InsightsPrivateNotFaked(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	e.must(200, "PUT", aiPath+"/ai1"+aiAPI, `{"location":"westeurope","properties":{"Application_Type":"web"}}`)
	for _, body := range []string{
		`{"location":"westeurope","properties":{"Application_Type":"web","publicNetworkAccessForIngestion":"Disabled"}}`,
		`{"location":"westeurope","properties":{"Application_Type":"web","publicNetworkAccessForQuery":"Disabled"}}`,
	} {
		for _, name := range []string{"/ai1", "/private"} {
			r := e.do("PUT", aiPath+name+aiAPI, body)
			if r.status != 400 || !strings.Contains(string(r.body), "network") || !strings.Contains(string(r.body), "DisableLocalAuth") {
				t.Errorf("PUT %s %s: %d %s; want 400 saying Slipway does not filter by network", name, body, r.status, r.body)
			}
		}
	}
	e.must(404, "GET", aiPath+"/private"+aiAPI, "")
	if got := componentProps(t, e.must(200, "GET", aiPath+"/ai1"+aiAPI, "").json(t)); got["publicNetworkAccessForIngestion"] != "Enabled" ||
		got["publicNetworkAccessForQuery"] != "Enabled" {
		t.Errorf("after the refusals: %v", got)
	}
	e.must(200, "PUT", aiPath+"/ai1"+aiAPI, `{"location":"westeurope","properties":{"Application_Type":"web","publicNetworkAccessForIngestion":"Enabled","publicNetworkAccessForQuery":"Enabled"}}`)
}
