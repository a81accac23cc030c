package store

import (
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// An application's password signs in its service principal (created later,
// with the application's app id); deleting the application deletes the
// service principal and every secret with it.
func TestApplications(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	app, err := s.CreateApplication(ctx, Application{DisplayName: "deployer"})
	if err != nil {
		t.Fatalf("CreateApplication: %v", err)
	}
	if len(app.ObjectID) != 36 || len(app.AppID) != 36 || app.ObjectID == app.AppID {
		t.Fatalf("ids = %q, %q", app.ObjectID, app.AppID)
	}
	if _, err := s.CreateApplication(ctx, Application{DisplayName: " "}); slipway.ErrorCode(err) != slipway.EINVALID {
		t.Fatalf("blank display name: %v", err)
	}
	if _, err := s.CreateApplication(ctx, Application{DisplayName: "x", AppID: toUpper(app.AppID)}); slipway.ErrorCode(err) != slipway.ECONFLICT {
		t.Fatalf("duplicate app id: %v", err)
	}
	now := time.Now()
	ps, err := s.AddApplicationSecret(ctx, app.ObjectID, testSecret, "rbac", now.Add(-time.Minute), now.Add(time.Hour), false)
	if err != nil || ps.Hint != testSecret[:3] {
		t.Fatalf("AddApplicationSecret = %+v, %v", ps, err)
	}
	// No service principal yet: the app id signs nobody in.
	_, err = s.CheckPrincipalSecret(ctx, app.AppID, testSecret, now)
	wantCode(t, err, slipway.ENOTFOUND)
	sp, err := s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, AppID: app.AppID, DisplayName: app.DisplayName})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.CheckPrincipalSecret(ctx, app.AppID, testSecret, now); err != nil || p.ObjectID != sp.ObjectID {
		t.Fatalf("application's secret: %+v, %v", p, err)
	}
	_, err = s.CheckPrincipalSecret(ctx, app.AppID, testSecret[:39]+"y", now)
	wantCode(t, err, slipway.EUNAUTHORIZED)
	// A second principal with the same app id is refused.
	_, err = s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, AppID: app.AppID, DisplayName: "again"})
	wantCode(t, err, slipway.ECONFLICT)
	if err := s.RenameApplication(ctx, app.ObjectID, "renamed"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ApplicationByAppID(ctx, toUpper(app.AppID)); err != nil || got.DisplayName != "renamed" {
		t.Fatalf("ApplicationByAppID = %+v, %v", got, err)
	}
	if err := s.DeleteApplicationSecret(ctx, app.ObjectID, ps.KeyID); err != nil {
		t.Fatal(err)
	}
	_, err = s.CheckPrincipalSecret(ctx, app.AppID, testSecret, now)
	wantCode(t, err, slipway.EUNAUTHORIZED)
	for i := range MaxPrincipalSecrets {
		if _, err := s.AddApplicationSecret(ctx, app.ObjectID, testSecret, "", now, now.Add(time.Hour), false); err != nil {
			t.Fatalf("secret %d: %v", i, err)
		}
	}
	_, err = s.AddApplicationSecret(ctx, app.ObjectID, testSecret, "", now, now.Add(time.Hour), false)
	wantCode(t, err, slipway.ECONFLICT)
	spID, err := s.DeleteApplication(ctx, app.ObjectID)
	if err != nil || spID != sp.ObjectID {
		t.Fatalf("DeleteApplication = %q, %v", spID, err)
	}
	_, err = s.PrincipalByObjectID(ctx, sp.ObjectID)
	wantCode(t, err, slipway.ENOTFOUND)
	if list, err := s.ApplicationSecrets(ctx, app.ObjectID); err != nil || len(list) != 0 {
		t.Fatalf("secrets left: %v, %v", list, err)
	}
	_, err = s.DeleteApplication(ctx, app.ObjectID)
	wantCode(t, err, slipway.ENOTFOUND)
	_, err = s.AddApplicationSecret(ctx, app.ObjectID, testSecret, "", now, now.Add(time.Hour), false)
	wantCode(t, err, slipway.ENOTFOUND)
}
