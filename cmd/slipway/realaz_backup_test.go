package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// realAzBackup follows azure-cli's BackupWithName test
// (test_webapp_commands.py, test_backup_with_name) and goes on to what it
// cannot check against Azure in a recording, a restore: a container, a
// container SAS with rwdl from `az storage container generate-sas`, and
// `az webapp config backup create --container-url
// https://<account>.blob.core.windows.net/<container>?<SAS>` (the form the
// test builds, which the server answers as its own blob service), then
// `backup list`. The app then changes — a setting, a file under
// /home/data deleted, a new version — and `backup restore --overwrite` brings all
// three back; `backup delete` removes the record and the blob. Refused,
// changing nothing: a restore without --overwrite, a container URL of
// another host, a blob that is not a backup.
func realAzBackup(t *testing.T, cli *realAz, web platformHTTP, rg, app, account string, port int) {
	t.Helper()
	key := strings.TrimSpace(cli.must("storage", "account", "keys", "list", "-g", rg, "-n", account, "--query", "[0].value", "-o", "tsv"))
	cli.must("storage", "container", "create", "--account-name", account, "--account-key", key, "--name", "backups", "-o", "none")
	expiry := time.Now().UTC().Add(27 * time.Hour).Format("2006-01-02T15:04Z")
	token := strings.TrimSpace(cli.must("storage", "container", "generate-sas", "--account-name", account, "--account-key", key, "--name", "backups",
		"--expiry", expiry, "--permissions", "rwdl", "-o", "tsv"))
	containerURL := fmt.Sprintf("https://%s.blob.core.windows.net/backups?%s", account, token)

	user := strings.TrimSpace(cli.must("webapp", "deployment", "list-publishing-credentials", "-g", rg, "-n", app, "--query", "publishingUserName", "-o", "tsv"))
	pass := strings.TrimSpace(cli.must("webapp", "deployment", "list-publishing-credentials", "-g", rg, "-n", app, "--query", "publishingPassword", "-o", "tsv"))
	vfs := fmt.Sprintf("https://%s.scm.localhost:%d/api/vfs/data/kept.txt", app, port)
	if code, body := web.send(t, http.MethodPut, vfs, user, pass, strings.NewReader("before the backup")); code != 201 && code != 204 {
		t.Fatalf("PUT %s = %d %s", vfs, code, body)
	}
	appURL := fmt.Sprintf("https://%s.localhost:%d/", app, port)
	_, before := web.get(t, appURL)
	cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "BACKUP_CHECK=before", "-o", "none")

	out := cli.mustTimeout(5*time.Minute, "webapp", "config", "backup", "create", "-g", rg, "--webapp-name", app, "--backup-name", "realaz-bk1", "--container-url", containerURL, "-o", "json")
	wantJSON(t, out, "blobName", "realaz-bk1")
	wantJSON(t, out, "status", "Succeeded")
	if strings.Contains(out, "sig=") && !strings.Contains(out, "sig=%2A%2A%2A") && !strings.Contains(out, "sig=***") {
		t.Errorf("backup create printed the container SAS's signature:\n%s", out)
	}
	out = cli.must("webapp", "config", "backup", "list", "-g", rg, "--webapp-name", app, "--query", "[].[blobName,status,backupId]", "-o", "tsv")
	fields := strings.Fields(out)
	if len(fields) != 3 || fields[0] != "realaz-bk1" || fields[1] != "Succeeded" {
		t.Fatalf("backup list: %q, want one realaz-bk1, Succeeded", out)
	}
	id := fields[2]
	if n := strings.TrimSpace(cli.must("storage", "blob", "exists", "--account-name", account, "--account-key", key, "-c", "backups", "-n", "realaz-bk1.zip", "--query", "exists", "-o", "tsv")); n != "true" {
		t.Fatalf("the backup's blob realaz-bk1.zip does not exist: %q", n)
	}

	// The app changes.
	cli.must("webapp", "config", "appsettings", "set", "-g", rg, "-n", app, "--settings", "BACKUP_CHECK=after", "-o", "none")
	req, err := http.NewRequest(http.MethodDelete, vfs, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("If-Match", "*") // Kudu's: whatever version is there
	if resp, err := web.client.Do(req); err != nil || resp.StatusCode != 200 && resp.StatusCode != 204 {
		t.Fatalf("DELETE %s: %v %v", vfs, resp, err)
	} else {
		resp.Body.Close()
	}
	z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": "after-backup"})
	cli.mustTimeout(5*time.Minute, "webapp", "deploy", "-g", rg, "-n", app, "--src-path", z, "--type", "zip", "-o", "none")
	if code, body := web.get(t, appURL); code != 200 || body != "hello after-backup" {
		t.Fatalf("after the new deployment, GET %s = %d %q", appURL, code, body)
	}

	// Refusals change nothing.
	if msg := cli.fail("webapp", "config", "backup", "restore", "-g", rg, "--webapp-name", app, "--backup-name", "realaz-bk1", "--container-url", containerURL); !strings.Contains(msg, "overwrite") {
		t.Errorf("restore without --overwrite: %s", msg)
	}
	if msg := cli.fail("webapp", "config", "backup", "create", "-g", rg, "--webapp-name", app, "--backup-name", "x", "--container-url", "https://example.com/backups?"+token); !strings.Contains(msg, "not this server's blob service") {
		t.Errorf("backup create to another host: %s", msg)
	}
	other := zipDir(t, "testdata/apps/hello", nil)
	cli.must("storage", "blob", "upload", "--account-name", account, "--account-key", key, "-c", "backups", "-n", "notabackup.zip", "-f", other, "-o", "none")
	if msg := cli.fail("webapp", "config", "backup", "restore", "-g", rg, "--webapp-name", app, "--backup-name", "notabackup", "--container-url", containerURL, "--overwrite"); !strings.Contains(msg, "not a Slipway backup") {
		t.Errorf("restore of a blob that is not a backup: %s", msg)
	}
	if code, body := web.get(t, appURL); code != 200 || body != "hello after-backup" {
		t.Fatalf("after the refused restores, GET %s = %d %q", appURL, code, body)
	}

	cli.mustTimeout(10*time.Minute, "webapp", "config", "backup", "restore", "-g", rg, "--webapp-name", app, "--backup-name", "realaz-bk1", "--container-url", containerURL, "--overwrite")
	if code, body := web.get(t, appURL); code != 200 || body != before {
		t.Errorf("after the restore, GET %s = %d %q, want %q", appURL, code, body, before)
	}
	if v := strings.TrimSpace(cli.must("webapp", "config", "appsettings", "list", "-g", rg, "-n", app, "--query", "[?name=='BACKUP_CHECK'].value | [0]", "-o", "tsv")); v != "before" {
		t.Errorf("after the restore, BACKUP_CHECK = %q, want before", v)
	}
	if code, body := web.getAuth(t, vfs, user, pass); code != 200 || body != "before the backup" {
		t.Errorf("after the restore, /home/data/kept.txt = %d %q, want \"before the backup\"", code, body)
	}

	// A schedule: none before (az says so), then set and read back.
	if msg := cli.fail("webapp", "config", "backup", "show", "-g", rg, "--webapp-name", app); !strings.Contains(msg, "not found") {
		t.Errorf("backup show without a schedule: %s", msg)
	}
	cli.must("webapp", "config", "backup", "update", "-g", rg, "--webapp-name", app, "--container-url", containerURL,
		"--frequency", "1d", "--retain-one", "true", "--retention", "10", "-o", "none")
	if out := strings.TrimSpace(cli.must("webapp", "config", "backup", "show", "-g", rg, "--webapp-name", app,
		"--query", "[backupSchedule.frequencyInterval, backupSchedule.frequencyUnit, backupSchedule.retentionPeriodInDays, backupSchedule.keepAtLeastOneBackup]", "-o", "tsv")); strings.Join(strings.Fields(out), " ") != "1 Day 10 true" {
		t.Errorf("backup show after update: %q, want 1 Day 10 true", out)
	}

	// App Service's automatic backups (snapshots): none are taken.
	if out := strings.TrimSpace(cli.must("webapp", "config", "snapshot", "list", "-g", rg, "-n", app, "-o", "json")); out != "[]" {
		t.Errorf("config snapshot list printed %q, want []", out)
	}
	theBackup := "length([?backupId==`" + id + "` || blobName=='realaz-bk1'])"
	if out := strings.TrimSpace(cli.must("webapp", "config", "backup", "list", "-g", rg, "--webapp-name", app, "--query", theBackup, "-o", "tsv")); out != "1" {
		t.Errorf("backup list before delete: %q backups with realaz-bk1's id or name, want 1", out)
	}
	cli.must("webapp", "config", "backup", "delete", "-g", rg, "--webapp-name", app, "--backup-id", id, "--yes")
	// The schedule set above is due at once (no start time), so the server's
	// scheduler may have taken a backup of its own by now: only the deleted
	// one must be gone.
	if out := strings.TrimSpace(cli.must("webapp", "config", "backup", "list", "-g", rg, "--webapp-name", app, "--query", theBackup, "-o", "tsv")); out != "0" {
		t.Errorf("backup list after delete: %q backups with the deleted one's id or name, want 0", out)
	}
	if n := strings.TrimSpace(cli.must("storage", "blob", "exists", "--account-name", account, "--account-key", key, "-c", "backups", "-n", "realaz-bk1.zip", "--query", "exists", "-o", "tsv")); n != "false" {
		t.Errorf("the deleted backup's blob still exists: %q", n)
	}
}
