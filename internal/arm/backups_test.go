package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// fakeBackups stands in for Kudu's side of backups (package scm's
// backup.go, tested there and, with the real blob service and the real
// az, in cmd/slipway's realaz_backup_test.go): it keeps each backup's meta
// by blob name, and records what a restore did.
type fakeBackups struct {
	failWrites bool // WriteBackup fails, as a full container or an expired SAS does
	metas      map[string][]byte
	written    []string
	deleted    []string
	restored   []string // "home", "deploy:<message>"
	// onRestoreHome, if set, runs in RestoreHome with the restore
	// request's context.
	onRestoreHome func(ctx context.Context)
	deployErr     error         // of the context DeployFiles was given
	closed        chan struct{} // if set, told of each Close
}

func (f *fakeBackups) BackupBlobURL(container, blobName string) (*url.URL, error) {
	if !strings.HasPrefix(container, "https://acct.blob.core.windows.net/backups?") {
		return nil, slipway.Errorf(slipway.EINVALID, "not this server's blob service")
	}
	return url.Parse("https://acct.blob.core.windows.net/backups/" + strings.TrimSuffix(blobName, ".zip") + ".zip?sig=s")
}

func (f *fakeBackups) WriteBackup(ctx context.Context, s slipway.Site, u *url.URL, meta []byte) (int64, int64, []string, error) {
	if f.failWrites {
		return 0, 0, nil, slipway.Errorf(slipway.EFORBIDDEN, "the blob service answered 403 AuthenticationFailed")
	}
	f.metas[u.Path] = meta
	f.written = append(f.written, u.Path)
	return int64(len(meta)) + 100, 100, nil, nil
}

func (f *fakeBackups) OpenBackup(ctx context.Context, s slipway.Site, u *url.URL) (OpenedBackup, error) {
	m, ok := f.metas[u.Path]
	if !ok {
		return nil, slipway.Errorf(slipway.ENOTFOUND, "the blob service answered 404 BlobNotFound")
	}
	return &fakeOpened{f: f, meta: m, ctx: ctx}, nil
}

func (f *fakeBackups) DeleteBackupBlob(ctx context.Context, u *url.URL) error {
	f.deleted = append(f.deleted, u.Path)
	delete(f.metas, u.Path)
	return nil
}

type fakeOpened struct {
	f    *fakeBackups
	meta []byte
	ctx  context.Context
}

func (o *fakeOpened) Meta() []byte { return o.meta }
func (o *fakeOpened) RestoreHome() error {
	o.f.restored = append(o.f.restored, "home")
	if o.f.onRestoreHome != nil {
		o.f.onRestoreHome(o.ctx)
	}
	return nil
}
func (o *fakeOpened) DeployFiles(ctx context.Context, message string) (slipway.Deployment, bool, error) {
	o.f.restored = append(o.f.restored, "deploy:"+message)
	o.f.deployErr = ctx.Err()
	return slipway.Deployment{ID: "d", Status: slipway.DeploySuccess}, true, nil
}
func (o *fakeOpened) Close() error {
	if o.f.closed != nil {
		o.f.closed <- struct{}{}
	}
	return nil
}

const backupContainer = "https://acct.blob.core.windows.net/backups?sv=2024&sp=rwdl&sig=secret"

// TestBackups: az webapp config backup create records a backup and hands
// Kudu's side the app's configuration sealed — no setting's value is in
// the clear in it — and list, show and delete work on the records; a
// restore puts the configuration back, after the home's files and before
// the deployment. Refused, changing nothing: the Free tier, databases, a
// schedule, a restore without overwrite or into another app, and a backup
// whose configuration does not open (altered, or another server's).
// Schedules: backupschedule_test.go.
func TestBackups(t *testing.T) {
	fb := &fakeBackups{metas: map[string][]byte{}}
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{}; c.Backups = fb })
	e.seed()
	e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{"DB_PASSWORD":"hunter2-secret","GREETING":"before"}}`)
	list := e.must(200, "GET", sitePath+"/backups", "").json(t)
	if v, ok := list["value"].([]any); !ok || len(v) != 0 {
		t.Fatalf("backups = %v, want an empty list", list)
	}

	item := e.must(200, "POST", sitePath+"/backup", `{"properties":{"backupName":"bk1","storageAccountUrl":"`+backupContainer+`"}}`).json(t)
	props, _ := item["properties"].(map[string]any)
	if props["blobName"] != "bk1" || props["name"] != "bk1" || props["status"] != "Succeeded" || props["id"] != float64(1) ||
		!strings.HasSuffix(item["id"].(string), "/sites/app/backups/1") || item["type"] != "Microsoft.Web/sites/backups" {
		t.Fatalf("backup item = %v", item)
	}
	if u, _ := props["storageAccountUrl"].(string); strings.Contains(u, "secret") {
		t.Errorf("the item shows the SAS's signature: %s", u)
	}
	meta := fb.metas["/backups/bk1.zip"]
	var parsed struct{ Config []byte }
	if err := json.Unmarshal(meta, &parsed); err != nil || len(parsed.Config) == 0 {
		t.Fatalf("the backup's meta has no configuration: %v\n%s", err, meta)
	}
	for _, b := range [][]byte{meta, parsed.Config} {
		if bytes.Contains(b, []byte("hunter2-secret")) || bytes.Contains(b, []byte("GREETING")) {
			t.Fatalf("the backup's meta holds the configuration in the clear:\n%s", b)
		}
	}
	list = e.must(200, "GET", sitePath+"/backups", "").json(t)
	if v, _ := list["value"].([]any); len(v) != 1 {
		t.Fatalf("backups = %v, want one", list)
	}
	e.must(200, "GET", sitePath+"/backups/1", "")
	e.must(404, "GET", sitePath+"/backups/2", "")
	e.must(404, "GET", sitePath+"/backups/x", "")

	// The app changes; refused restores change nothing.
	e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{"GREETING":"after"}}`)
	restore := func(body string) string {
		return `{"properties":{"storageAccountUrl":"` + backupContainer + `","blobName":"bk1.zip"` + body + `}}`
	}
	for _, c := range []struct{ body, want string }{
		{"", "overwrite"},
		{`,"overwrite":true,"siteName":"other"`, "not into 'other'"},
		{`,"overwrite":true,"databases":[{"databaseType":"PostgreSql","name":"db","connectionString":"x"}]`, "does not back up databases"},
	} {
		if r := e.must(400, "POST", sitePath+"/backups/0/restore", restore(c.body)); !strings.Contains(string(r.body), c.want) {
			t.Errorf("restore %s: %s, want %q", c.body, r.body, c.want)
		}
	}
	// Another app cannot open this app's backup, even with its blob.
	e.must(200, "PUT", webPath+"/sites/app2", e.path(`{"location":"West Europe","properties":{"serverFarmId":"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan","siteConfig":{}}}`))
	if r := e.must(400, "POST", webPath+"/sites/app2/backups/0/restore", restore(`,"overwrite":true`)); !strings.Contains(string(r.body), "does not open for app2") {
		t.Errorf("restore of app's backup into app2: %s", r.body)
	}
	// An altered configuration does not open.
	var m map[string]any
	json.Unmarshal(meta, &m)
	sealed, _ := m["config"].(string)
	// (A different first character: "A" for "A..." would alter nothing.)
	first := "A"
	if strings.HasPrefix(sealed, "A") {
		first = "B"
	}
	m["config"] = first + sealed[1:]
	fb.metas["/backups/bk1.zip"], _ = json.Marshal(m)
	if r := e.must(400, "POST", sitePath+"/backups/0/restore", restore(`,"overwrite":true`)); !strings.Contains(string(r.body), "does not open") {
		t.Errorf("restore of an altered backup: %s", r.body)
	}
	if len(fb.restored) != 0 {
		t.Fatalf("refused restores did %v", fb.restored)
	}
	settings := e.must(200, "POST", sitePath+"/config/appsettings/list", "").json(t)["properties"].(map[string]any)
	if settings["GREETING"] != "after" {
		t.Fatalf("refused restores changed the settings: %v", settings)
	}

	fb.metas["/backups/bk1.zip"] = meta
	e.must(200, "POST", sitePath+"/backups/0/restore", restore(`,"overwrite":true`))
	if !strings.HasPrefix(strings.Join(fb.restored, "|"), "home|deploy:Restored from backup bk1 of app, taken 20") || len(fb.restored) != 2 {
		t.Errorf("the restore did %v", fb.restored)
	}
	settings = e.must(200, "POST", sitePath+"/config/appsettings/list", "").json(t)["properties"].(map[string]any)
	if settings["GREETING"] != "before" || settings["DB_PASSWORD"] != "hunter2-secret" {
		t.Errorf("settings after the restore = %v", settings)
	}
	if props := e.must(200, "GET", sitePath+"/backups/1", "").json(t)["properties"].(map[string]any); props["lastRestoreTimeStamp"] == nil {
		t.Errorf("the backup's record does not show the restore: %v", props)
	}

	e.must(200, "DELETE", sitePath+"/backups/1", "")
	if strings.Join(fb.deleted, ",") != "/backups/bk1.zip" {
		t.Errorf("deleted blobs = %v", fb.deleted)
	}
	e.must(404, "GET", sitePath+"/backups/1", "")

	for _, c := range []struct{ method, path, body, want string }{
		{"POST", sitePath + "/backup", `{"properties":{"storageAccountUrl":"` + backupContainer + `","databases":[{"databaseType":"SqlAzure","name":"db","connectionString":"x"}]}}`, "does not back up databases"},
		{"POST", sitePath + "/backup", `{"properties":{"storageAccountUrl":"https://evil.example/c?sig=y"}}`, "not this server's blob service"},
		{"POST", sitePath + "/backup", `{"properties":{}}`, "storageAccountUrl is required"},
		{"PUT", sitePath + "/config/backup", `{"properties":{"storageAccountUrl":"` + backupContainer + `"}}`, "backupSchedule is required"},
	} {
		if r := e.must(400, c.method, c.path, c.body); !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s %s %s: %s, want %q", c.method, c.path, c.body, r.body, c.want)
		}
	}
	if len(fb.written) != 1 {
		t.Errorf("refused backups wrote %v", fb.written)
	}

	// The Free tier has no backups; a slot has its own.
	e.must(200, "PUT", planPath+"?api-version=2025-03-01", `{"location":"westeurope","sku":{"name":"F1","tier":"FREE"},"properties":{"reserved":true}}`)
	if r := e.must(400, "POST", sitePath+"/backup", `{"properties":{"storageAccountUrl":"`+backupContainer+`"}}`); !strings.Contains(string(r.body), "not available in the Free tier") {
		t.Errorf("backup on Free: %s", r.body)
	}
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	if v := e.must(200, "GET", slotPath+"/backups", "").json(t)["value"].([]any); len(v) != 0 {
		t.Errorf("the new slot lists %v", v)
	}
	item = e.must(200, "POST", slotPath+"/backup", `{"properties":{"backupName":"slotbk","storageAccountUrl":"`+backupContainer+`"}}`).json(t)
	if id, _ := item["id"].(string); !strings.HasSuffix(id, "/sites/app/slots/staging/backups/2") || item["type"] != "Microsoft.Web/sites/slots/backups" {
		t.Errorf("the slot's backup = %v", item)
	}
	if v := e.must(200, "GET", sitePath+"/backups", "").json(t)["value"].([]any); len(v) != 0 {
		t.Errorf("the app lists the slot's backup: %v", v)
	}
	// A backup of the slot restores into its app (the same app's), and
	// not into another.
	fb.restored = nil
	slotRestore := `{"properties":{"storageAccountUrl":"` + backupContainer + `","blobName":"slotbk.zip","overwrite":true}}`
	e.must(200, "POST", sitePath+"/backups/0/restore", slotRestore)
	if len(fb.restored) != 2 {
		t.Errorf("restoring the slot's backup into its app did %v", fb.restored)
	}
	if r := e.must(400, "POST", webPath+"/sites/app2/backups/0/restore", slotRestore); !strings.Contains(string(r.body), "does not open for app2") {
		t.Errorf("restore of the slot's backup into app2: %s", r.body)
	}
	// Automatic backups (snapshots): none are taken.
	if v := e.must(200, "GET", sitePath+"/snapshots", "").json(t)["value"].([]any); len(v) != 0 {
		t.Errorf("snapshots = %v, want none", v)
	}
	if r := e.must(400, "POST", sitePath+"/restoreSnapshot", `{"properties":{"snapshotTime":"2026-12-01T00:00:00Z","overwrite":true}}`); !strings.Contains(string(r.body), "no automatic backups") {
		t.Errorf("restoreSnapshot: %s", r.body)
	}
	e.must(404, "GET", webPath+"/sites/nope/snapshots", "")
	e.must(404, "GET", webPath+"/sites/nope/backups", "")
	e.must(404, "POST", webPath+"/sites/nope/backup", "")
}

// TestRestoreOutlivesItsClient: once a restore has begun changing the app
// (its home's files), a client that goes away — az interrupted, a proxy's
// timeout while the deployment builds — must not leave the app half
// restored: the configuration and the deployment follow all the same.
func TestRestoreOutlivesItsClient(t *testing.T) {
	fb := &fakeBackups{metas: map[string][]byte{}, closed: make(chan struct{}, 1)}
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{}; c.Backups = fb })
	e.seed()
	e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{"GREETING":"before"}}`)
	e.must(200, "POST", sitePath+"/backup", `{"properties":{"backupName":"bk1","storageAccountUrl":"`+backupContainer+`"}}`)
	e.must(200, "PUT", sitePath+"/config/appsettings", `{"properties":{"GREETING":"after"}}`)

	ctx, cancel := context.WithCancel(t.Context())
	fb.onRestoreHome = func(server context.Context) {
		cancel() // the client goes away once the home's files are back
		select {
		case <-server.Done():
		case <-time.After(10 * time.Second):
			t.Error("the server did not see the client go")
		}
	}
	req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+e.path(sitePath+"/backups/0/restore")+"?api-version=2024-11-01",
		strings.NewReader(`{"properties":{"storageAccountUrl":"`+backupContainer+`","blobName":"bk1.zip","overwrite":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := e.client.Do(req); err == nil {
		resp.Body.Close()
	}
	// The handler goes on after the client left: wait for its end.
	select {
	case <-fb.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the restore did not end")
	}
	fb.onRestoreHome = nil
	if len(fb.restored) != 2 || !strings.HasPrefix(fb.restored[1], "deploy:") || fb.deployErr != nil {
		t.Fatalf("after the client left, the restore did %v (deployment's context: %v); want the home and the deployment", fb.restored, fb.deployErr)
	}
	settings := e.must(200, "POST", sitePath+"/config/appsettings/list", "").json(t)["properties"].(map[string]any)
	if settings["GREETING"] != "before" {
		t.Errorf("after the client left, GREETING = %v: the home was restored, the configuration not", settings["GREETING"])
	}
}
