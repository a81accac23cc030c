package store

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// TestInsightsComponents: a component gets its keys at creation and keeps
// them through every update, is found by either key in any case, and goes
// with its resource group.
func TestInsightsComponents(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	for _, g := range []string{"rg", "other"} {
		if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: g, Location: "westeurope"}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := s.PutInsightsComponent(ctx, slipway.InsightsComponent{ResourceGroup: "nope", Name: "ai1", Kind: "web", ApplicationType: "web"})
	wantCode(t, err, slipway.ENOTFOUND)
	for _, bad := range []slipway.InsightsComponent{
		{ResourceGroup: "rg", Name: "a/b"},
		{ResourceGroup: "rg", Name: "a."},
		{ResourceGroup: "rg", Name: ""},
		{ResourceGroup: "rg", Name: strings.Repeat("a", 261)},
		{ResourceGroup: "rg", Name: "ok", RetentionInDays: 31},
		{ResourceGroup: "rg", Name: "ok", IngestionMode: "Elsewhere"},
		{ResourceGroup: "rg", Name: "ok", SamplingPercentage: 101},
	} {
		_, _, err := s.PutInsightsComponent(ctx, bad)
		wantCode(t, err, slipway.EINVALID)
	}

	c, created, err := s.PutInsightsComponent(ctx, slipway.InsightsComponent{ResourceGroup: "RG", Name: "ai1", Kind: "web", ApplicationType: "web",
		Tags: map[string]string{"k": "v"}})
	if err != nil || !created {
		t.Fatalf("PutInsightsComponent = %+v, %v, %v", c, created, err)
	}
	want := slipway.InsightsComponent{ResourceGroup: "rg", Name: "ai1", Location: "westeurope", Tags: map[string]string{"k": "v"}, Kind: "web",
		ApplicationType: "web", InstrumentationKey: c.InstrumentationKey, AppID: c.AppID, RetentionInDays: 90, IngestionMode: "ApplicationInsights",
		PublicNetworkAccessForIngestion: "Enabled", PublicNetworkAccessForQuery: "Enabled", Created: c.Created}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("PutInsightsComponent (-want +got):\n%s", diff)
	}
	if len(c.InstrumentationKey) != 36 || len(c.AppID) != 36 || c.InstrumentationKey == c.AppID {
		t.Fatalf("keys = %q, %q; want two different GUIDs", c.InstrumentationKey, c.AppID)
	}
	got, err := s.InsightsComponent(ctx, "rg", "AI1")
	if diff := cmp.Diff(c, got); err != nil || diff != "" {
		t.Fatalf("InsightsComponent (%v) (-put +got):\n%s", err, diff)
	}

	// An update keeps the keys and the creation time, whatever it says.
	up, created, err := s.PutInsightsComponent(ctx, slipway.InsightsComponent{ResourceGroup: "rg", Name: "AI1", Kind: "other", ApplicationType: "other",
		InstrumentationKey: "00000000-0000-0000-0000-000000000000", AppID: "x", RetentionInDays: 30})
	if err != nil || created || up.InstrumentationKey != c.InstrumentationKey || up.AppID != c.AppID || !up.Created.Equal(c.Created) ||
		up.Name != "ai1" || up.RetentionInDays != 30 || up.Kind != "other" {
		t.Fatalf("update = %+v, %v, %v; want the keys kept", up, created, err)
	}

	byKey, err := s.InsightsComponentByKey(ctx, strings.ToUpper(c.InstrumentationKey))
	if err != nil || byKey.Name != "ai1" || byKey.ResourceGroup != "rg" {
		t.Fatalf("InsightsComponentByKey = %+v, %v", byKey, err)
	}
	byApp, err := s.InsightsComponentByAppID(ctx, strings.ToUpper(c.AppID))
	if err != nil || byApp.InstrumentationKey != c.InstrumentationKey {
		t.Fatalf("InsightsComponentByAppID = %+v, %v", byApp, err)
	}
	for _, k := range []string{"", "nope", c.AppID} {
		_, err := s.InsightsComponentByKey(ctx, k)
		wantCode(t, err, slipway.ENOTFOUND)
	}
	_, err = s.InsightsComponentByAppID(ctx, c.InstrumentationKey)
	wantCode(t, err, slipway.ENOTFOUND)

	// A component of the same name in another group is another component.
	o, _, err := s.PutInsightsComponent(ctx, slipway.InsightsComponent{ResourceGroup: "other", Name: "ai1", Kind: "web", ApplicationType: "web"})
	if err != nil || o.InstrumentationKey == c.InstrumentationKey {
		t.Fatalf("other/ai1 = %+v, %v", o, err)
	}
	if l, err := s.InsightsComponents(ctx, ""); err != nil || len(l) != 2 {
		t.Fatalf("InsightsComponents(\"\") = %v, %v", l, err)
	}
	if l, err := s.InsightsComponents(ctx, "other"); err != nil || len(l) != 1 || l[0].ResourceGroup != "other" {
		t.Fatalf("InsightsComponents(other) = %v, %v", l, err)
	}
	_, err = s.InsightsComponents(ctx, "nope")
	wantCode(t, err, slipway.ENOTFOUND)

	wantCode(t, s.DeleteInsightsComponent(ctx, "rg", "nope"), slipway.ENOTFOUND)
	if err := s.DeleteInsightsComponent(ctx, "rg", "AI1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.InsightsComponentByKey(ctx, c.InstrumentationKey)
	wantCode(t, err, slipway.ENOTFOUND)

	// Deleting a group deletes its components.
	if _, err := s.DeleteResourceGroup(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	_, err = s.InsightsComponentByKey(ctx, o.InstrumentationKey)
	wantCode(t, err, slipway.ENOTFOUND)
	if l, err := s.InsightsComponents(ctx, ""); err != nil || len(l) != 0 {
		t.Fatalf("after the group's deletion: %v, %v", l, err)
	}
}
