package rediscache

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// What a client holding a cache's key, or anyone reaching the proxy, may
// try.
func TestAttack_Cache(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.m.CreateCache(ctx, "rdt-a", 32<<20, key1, key2); err != nil {
		t.Fatal(err)
	}
	const otherKey = "0therCacheKey0123456789abcdefghijklmnopqrst="
	if _, err := e.m.CreateCache(ctx, "rdt-b", 32<<20, otherKey, otherKey); err != nil {
		t.Fatal(err)
	}
	host := "rdt-a" + Suffix

	t.Run("no command writes files or changes the cache's rules", func(t *testing.T) {
		for _, cmd := range [][]string{
			{"CONFIG", "SET", "dir", "/tmp"},
			{"CONFIG", "GET", "*"},
			{"SAVE"}, {"BGSAVE"}, {"BGREWRITEAOF"},
			{"MODULE", "LOAD", "/tmp/x.so"},
			{"DEBUG", "SLEEP", "0"},
			{"ACL", "SETUSER", "default", "+config"},
			{"ACL", "LIST"},
			{"REPLICAOF", "127.0.0.1", "6379"},
			{"SLAVEOF", "127.0.0.1", "6379"},
			{"MIGRATE", "127.0.0.1", "6379", "k", "0", "1000"},
			{"SHUTDOWN", "NOSAVE"},
			{"MONITOR"},
		} {
			out, _ := e.cli(t, host, key1, cmd...)
			if !strings.Contains(out, "NOPERM") && !strings.Contains(out, "command not allowed") {
				t.Errorf("%s: %q", strings.Join(cmd, " "), out)
			}
		}
		if out, err := e.cli(t, host, key1, "PING"); err != nil || out != "PONG" {
			t.Fatalf("the cache after the attempts: %v %q", err, out)
		}
	})
	t.Run("the platform's user cannot be guessed into", func(t *testing.T) {
		out, _ := e.cli(t, host, "", "AUTH", "slipway", key1)
		if !strings.Contains(out, "WRONGPASS") {
			t.Fatalf("%q", out)
		}
	})
	t.Run("one cache's key does not open another", func(t *testing.T) {
		if out, _ := e.cli(t, "rdt-b"+Suffix, key1, "PING"); !strings.Contains(out, "WRONGPASS") {
			t.Fatalf("%q", out)
		}
		if out, err := e.cli(t, "rdt-b"+Suffix, otherKey, "PING"); err != nil || out != "PONG" {
			t.Fatalf("its own key: %v %q", err, out)
		}
	})
	t.Run("an address or another name is not a cache", func(t *testing.T) {
		for _, name := range []string{"127.0.0.1", "rdt-a.redis.cache.windows.net.evil.example", "rdt--a" + Suffix, "x.rdt-a" + Suffix} {
			out, _ := e.cli(t, name, key1, "PING")
			if out == "PONG" {
				t.Errorf("%s reached a cache", name)
			}
		}
	})
	t.Run("plain connections are not served", func(t *testing.T) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("*1\r\n$4\r\nPING\r\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		if strings.Contains(string(b), "PONG") {
			t.Fatalf("answered in clear: %q", b)
		}
	})
	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		c, err := tls.Dial("tcp", e.addr, &tls.Config{ServerName: host, InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
		if err == nil {
			c.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
	})
}
