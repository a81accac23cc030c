package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// An app keeps its counter in an Azure Cache for Redis made through ARM,
// with the connection string Service Connector writes
// (rediss://:<key>@<cache>.redis.cache.windows.net:6380/0, the key escaped
// for a URL: Azure's keys are base64): redis-py in the
// app's sandbox reaches the real Redis through the proxy, verifying its
// certificate with the platform root the sandbox trusts; the counter is
// then read from the host with redis-cli, as an operator would.
func TestRedisCacheFromAnApp(t *testing.T) {
	needSandbox(t, "apps reaching <cache>.redis.cache.windows.net need")
	if _, err := exec.LookPath("redis-cli"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-cli is missing: scripts/setup installs redis-tools")
		}
		t.Skip("Redis is not installed")
	}
	s := startServer(t)
	s.createApp("rdapp", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	id := "/subscriptions/" + s.info.SubscriptionID + "/resourceGroups/rg-rdapp/providers/Microsoft.Cache/redis/rdapp-cache"
	const api = "?api-version=2024-11-01"
	code, body := s.arm("PUT", id+api, `{"location":"westeurope","properties":{"sku":{"name":"Basic","family":"C","capacity":0}}}`)
	if code >= 300 {
		t.Fatalf("creating the cache: %d %s", code, body)
	}
	eventually(t, 60*time.Second, "the cache provisioned", func() bool {
		code, body := s.arm("GET", id+api, "")
		var v struct {
			Properties struct {
				ProvisioningState string `json:"provisioningState"`
				HostName          string `json:"hostName"`
				SSLPort           int    `json:"sslPort"`
			} `json:"properties"`
		}
		json.Unmarshal(body, &v)
		return code == 200 && v.Properties.ProvisioningState == "Succeeded" && v.Properties.HostName == "rdapp-cache.redis.cache.windows.net" && v.Properties.SSLPort == 6380
	})
	code, body = s.arm("POST", id+"/listKeys"+api, "")
	var keys struct{ PrimaryKey, SecondaryKey string }
	if err := json.Unmarshal(body, &keys); code != 200 || err != nil || keys.PrimaryKey == "" {
		t.Fatalf("listKeys: %d %s", code, body)
	}
	s.mustCLI("", "webapp", "config", "appsettings", "set", "-g", "rg-rdapp", "-n", "rdapp", "--settings",
		"AZURE_REDIS_CONNECTIONSTRING="+(&url.URL{Scheme: "rediss", User: url.UserPassword("", keys.PrimaryKey), Host: "rdapp-cache.redis.cache.windows.net:6380", Path: "/0"}).String())
	if code := s.deployZip("rdapp", zipDir(t, "testdata/apps/redisapp", nil)); code != "200" {
		user, pass := s.credentials("rdapp")
		t.Fatalf("deploy: %s\n%s", code, s.deploymentLog("rdapp", user, pass, "latest"))
	}
	host := s.host("rdapp")
	for want := 1; want <= 2; want++ {
		if code, out := s.get(host, "/"); code != 200 || out != fmt.Sprint(want) {
			t.Fatalf("GET / = %d %q, want %d", code, out, want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", "--tls", "--cacert", s.info.CAFile, "--sni", "rdapp-cache.redis.localhost",
		"-h", "127.0.0.1", "-p", fmt.Sprint(s.info.RedisPort), "--no-auth-warning", "-a", keys.SecondaryKey, "GET", "hits").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("redis-cli from the host: %v %s", err, out)
	}
}
