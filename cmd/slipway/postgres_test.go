package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Django tutorial's path with a flexible server: the server, its
// database and the "allow Azure services" rule made through ARM, the
// example app deployed with a PostgreSQL driver and an App Service
// connection string naming <server>.postgres.database.azure.com with
// sslmode=require, as Azure's portal writes it. The release step's
// migrations and the app's requests go to the real PostgreSQL cluster
// through the proxy, from inside the app's sandbox; the rows are then read
// from the host with psql, as an operator would.
func TestPostgresFlexibleServerDjango(t *testing.T) {
	needSandbox(t, "apps reaching <server>.postgres.database.azure.com need")
	if _, err := exec.LookPath("psql"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("psql is missing: scripts/setup installs postgresql")
		}
		t.Skip("PostgreSQL is not installed")
	}
	s := startServer(t)
	const pw = "Tut0rial-Passw0rd!"
	s.createApp("pgtodo", "SCM_DO_BUILD_DURING_DEPLOYMENT=true", "DJANGO_SECRET_KEY=not-a-secret-for-this-test-only-0123456789")
	sub := "/subscriptions/" + s.info.SubscriptionID + "/resourceGroups/rg-pgtodo/providers/Microsoft.DBforPostgreSQL/flexibleServers/pgtodo-db"
	const api = "?api-version=2024-08-01"
	code, body := s.arm("PUT", sub+api, `{"location":"westeurope","sku":{"name":"Standard_B1ms","tier":"Burstable"},
		"properties":{"administratorLogin":"myadmin","administratorLoginPassword":"`+pw+`","version":"16","storage":{"storageSizeGB":32}}}`)
	if code != 200 && code != 201 && code != 202 {
		t.Fatalf("creating the server: %d %s", code, body)
	}
	if strings.Contains(string(body), pw) {
		t.Fatalf("the password in ARM's answer: %s", body)
	}
	last := ""
	eventually(t, 60*time.Second, "the server Ready", func() bool {
		code, body := s.arm("GET", sub+api, "")
		var v struct {
			Properties struct {
				State string `json:"state"`
				FQDN  string `json:"fullyQualifiedDomainName"`
			} `json:"properties"`
		}
		json.Unmarshal(body, &v)
		last = fmt.Sprintf("%d %s", code, body)
		return code == 200 && v.Properties.State == "Ready" && v.Properties.FQDN == "pgtodo-db.postgres.database.azure.com"
	})
	t.Log(last)
	for _, r := range []struct{ path, body string }{
		{"/firewallRules/AllowAllAzureServicesAndResourcesWithinAzureIps", `{"properties":{"startIpAddress":"0.0.0.0","endIpAddress":"0.0.0.0"}}`},
		{"/firewallRules/operator", `{"properties":{"startIpAddress":"127.0.0.1","endIpAddress":"127.0.0.1"}}`},
		{"/databases/restaurant", `{"properties":{"charset":"utf8","collation":"en_US.utf8"}}`},
	} {
		if code, body := s.arm("PUT", sub+r.path+api, r.body); code >= 300 && code != 202 {
			t.Fatalf("PUT %s: %d %s", r.path, code, body)
		}
	}

	// The app's settings as the tutorial gives them, restarting it: the
	// server's name now resolves in its sandbox.
	s.mustCLI("", "webapp", "config", "connection-string", "set", "-g", "rg-pgtodo", "-n", "pgtodo", "-t", "PostgreSQL", "--settings",
		"default=Server=pgtodo-db.postgres.database.azure.com;Database=restaurant;Port=5432;User Id=myadmin;Password="+pw+";Ssl Mode=Require;")
	project := filepath.Join(t.TempDir(), "todo")
	if err := os.CopyFS(project, os.DirFS("../../examples/todo")); err != nil {
		t.Fatal(err)
	}
	req, _ := os.ReadFile(filepath.Join(project, "requirements.txt"))
	z := zipDir(t, project, map[string]string{"requirements.txt": string(req) + "psycopg[binary]==3.3.9\n"})
	if code := s.deployZip("pgtodo", z); code != "200" {
		user, pass := s.credentials("pgtodo")
		t.Fatalf("deploy: %s\n%s", code, s.deploymentLog("pgtodo", user, pass, "latest"))
	}
	host := s.host("pgtodo")
	if status := s.postTodo(host, "Book the table", "", "", ""); status != 302 {
		t.Fatalf("POST /todos/new/ = %d, want 302", status)
	}
	if code, page := s.get(host, "/"); code != 200 || !strings.Contains(page, "Book the table") {
		t.Fatalf("GET / = %d; the new todo is not listed", code)
	}

	// The row is in PostgreSQL, read from the host through the proxy.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := fmt.Sprintf("host=pgtodo-db.postgres.localhost hostaddr=127.0.0.1 port=%d user=myadmin dbname=restaurant sslmode=require", s.info.PostgresPort)
	cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-A", "-t", conn, "-c", "SELECT title FROM todos_todo")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pw)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "Book the table" {
		t.Fatalf("psql: %v %s", err, out)
	}
}
