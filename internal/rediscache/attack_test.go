package rediscache

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
			{"PFDEBUG", "GETREG", "hll"},
			{"PFSELFTEST"},
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
	t.Run("a script is held to the same rules", func(t *testing.T) {
		for _, script := range []string{
			"return redis.call('MIGRATE', '127.0.0.1', '6379', 'k', '0', '1000')",
			"return redis.call('CONFIG', 'SET', 'dir', '/tmp')",
			"return redis.call('ACL', 'SETUSER', 'default', '+config')",
		} {
			out, _ := e.cli(t, host, key1, "EVAL", script, "0")
			if !strings.Contains(out, "can't run this command") && !strings.Contains(out, "not allowed from script") {
				t.Errorf("%s: %q", script, out)
			}
		}
		// Lua reaches nothing outside Redis (Debian's CVE-2022-0543 was
		// package.loadlib).
		for _, global := range []string{"package", "io", "os", "require", "dofile", "loadfile", "debug"} {
			out, _ := e.cli(t, host, key1, "EVAL", "return tostring("+global+")", "0")
			if !strings.Contains(out, "nonexistent global variable") {
				t.Errorf("Lua's %s: %q", global, out)
			}
		}
	})
	t.Run("the platform's commands show no secret", func(t *testing.T) {
		c, err := e.m.known("rdt-a")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.command(ctx, "CONFIG", "SET", "slowlog-log-slower-than", "0"); err != nil {
			t.Fatal(err)
		}
		defer c.command(ctx, "CONFIG", "SET", "slowlog-log-slower-than", "10000")
		if err := e.m.SetKeys(ctx, "rdt-a", key1, key2); err != nil {
			t.Fatal(err)
		}
		out, err := e.cli(t, host, key1, "SLOWLOG", "GET", "100")
		if err != nil || !strings.Contains(out, "SETUSER") {
			t.Fatalf("the slow log holds no SETUSER: %v %q", err, out)
		}
		for _, secret := range []string{hash(key1), hash(key2), hash(c.platform), c.platform, key1, key2} {
			if strings.Contains(out, secret) {
				t.Fatalf("the slow log shows %q: %s", secret, out)
			}
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
	t.Run("a name's case names the same cache", func(t *testing.T) {
		// (A final dot is not sent: TLS refuses it, RFC 6066 §3.)
		for _, name := range []string{"RDT-A.Redis.Cache.Windows.Net", "Rdt-A.REDIS.localhost"} {
			if out, err := e.cli(t, name, key1, "PING"); err != nil || out != "PONG" {
				t.Errorf("%s: %v %q", name, err, out)
			}
			if out, _ := e.cli(t, name, otherKey, "PING"); !strings.Contains(out, "WRONGPASS") {
				t.Errorf("%s with the other cache's key: %q", name, out)
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

// A client holding a leaked key must not be able to keep it valid: the
// platform changes the keys even while a client holds the server (a
// script that cannot be killed, a pause of every client).
func TestAttack_KeyRotationOutlastsAHeldCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.m.cmdTimeout = 2 * time.Second
	ctx := context.Background()
	host := e.cache(t, "rdt-held")
	e.busyAfter(t, "rdt-held")
	newKeys := [][2]string{
		{"R3generatedPrimaryKey0123456789abcdefghijkl=", "R3generatedSecondKey0123456789abcdefghijklm="},
		{"Th1rdPrimaryKey0123456789abcdefghijklmnopqr=", "Th1rdSecondaryKey0123456789abcdefghijklmnop="},
	}
	old := [2]string{key1, key2}
	for i, hold := range [][]string{
		// A script that has written cannot be killed (SCRIPT KILL
		// answers UNKILLABLE): only a restart ends it.
		{"EVAL", "redis.call('SET', KEYS[1], 'x') while true do end", "1", "k"},
		{"CLIENT", "PAUSE", "600000", "ALL"},
	} {
		go e.cli(t, host, old[0], hold...)
		time.Sleep(500 * time.Millisecond)
		if err := e.m.SetKeys(ctx, "rdt-held", newKeys[i][0], newKeys[i][1]); err != nil {
			t.Fatalf("%s: SetKeys: %v", hold[0], err)
		}
		for _, k := range old {
			if out, _ := e.cli(t, host, k, "PING"); !strings.Contains(out, "WRONGPASS") {
				t.Fatalf("%s: an old key after SetKeys: %q", hold[0], out)
			}
		}
		if out, err := e.cli(t, host, newKeys[i][1], "PING"); err != nil || out != "PONG" {
			t.Fatalf("%s: the new key: %v %q", hold[0], err, out)
		}
		old = newKeys[i]
	}
}

// A script that only reads is killed, not the server: the data stays.
func TestAttack_KeyRotationKillsABusyScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	host := e.cache(t, "rdt-busy")
	e.busyAfter(t, "rdt-busy")
	if out, err := e.cli(t, host, key1, "SET", "kept", "yes"); err != nil {
		t.Fatal(err, out)
	}
	go e.cli(t, host, key1, "EVAL", "while true do end", "0")
	time.Sleep(time.Second) // past busy-reply-threshold, when Redis answers BUSY
	const key3 = "R3generatedPrimaryKey0123456789abcdefghijkl="
	if err := e.m.SetKeys(ctx, "rdt-busy", key3, key2); err != nil {
		t.Fatal(err)
	}
	if out, err := e.cli(t, host, key3, "GET", "kept"); err != nil || out != "yes" {
		t.Fatalf("the data after the script was killed: %v %q", err, out)
	}
}

// A client that sends commands and never reads their replies would have
// the server buffer them without bound (Redis's default for normal
// clients): past the cache's control group, which kills the server.
func TestAttack_UnreadRepliesAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := e.cache(t, "rdt-hog")
	if out, err := e.cli(t, host, key1, "EVAL", "return redis.call('SET', KEYS[1], string.rep('x', 1048576))", "1", "big"); err != nil {
		t.Fatal(err, out)
	}
	if out, _ := e.cli(t, host, key1, "CLIENT", "NO-EVICT", "on"); !strings.Contains(out, "NOPERM") {
		t.Fatalf("CLIENT NO-EVICT (which would exempt a client from the bound): %q", out)
	}
	c, err := tls.Dial("tcp", e.addr, &tls.Config{ServerName: host, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := resp("AUTH", key1)
	for range 200 { // 200 MB of replies
		req = append(req, resp("GET", "big")...)
	}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var out string
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		out, _ = e.cli(t, host, key1, "CLIENT", "LIST")
		if !strings.Contains(out, "cmd=get") {
			return
		}
	}
	t.Fatalf("the client that reads nothing still holds its replies: %s", out)
}

// cache makes a cache of 32 MB with key1 and key2 and returns its host name.
func (e *env) cache(t *testing.T, name string) string {
	t.Helper()
	if _, err := e.m.CreateCache(context.Background(), name, 32<<20, key1, key2); err != nil {
		t.Fatal(err)
	}
	return name + Suffix
}

// The cache's user owns run/, where the socket is: with code running as
// that user (a flaw in Redis), it could put a link there to any socket on
// the host, which the proxy, as root, would join clients to (another
// cache's, the container runtime's). The proxy talks only to a server
// running as the cache's user.
func TestAttack_SocketLinkLeadsNowhere(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the caches run as users of their own only when Slipway runs as root")
	}
	e := newEnv(t)
	host := e.cache(t, "rdt-link")
	c, err := e.m.known("rdt-link")
	if err != nil {
		t.Fatal(err)
	}
	hostSock := filepath.Join(t.TempDir(), "host.sock")
	l, err := net.Listen("unix", hostSock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 10)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			b := make([]byte, 64)
			n, _ := conn.Read(b)
			got <- string(b[:n])
			conn.Write([]byte("+PONG\r\n"))
			conn.Close()
		}
	}()
	if err := os.Rename(c.socket(), c.socket()+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostSock, c.socket()); err != nil {
		t.Fatal(err)
	}
	out, _ := e.cli(t, host, key1, "PING")
	select {
	case b := <-got:
		if b != "" {
			t.Fatalf("the proxy joined a client to a host socket the link named: it sent %q (client saw %q)", b, out)
		}
	default:
	}
	if out == "PONG" {
		t.Fatalf("the client reached the host socket: %q", out)
	}
}

// What a cache's user leaves in its directory (it may write run/ and
// data/) is removed with the directory, and nothing a link there names.
func TestAttack_LeftoversLeadNowhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	outside := filepath.Join(t.TempDir(), "precious")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "file"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.m.cfg.Dir, "rdt-left")
	for _, d := range []string{"run", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, d, "link")); err != nil {
			t.Fatal(err)
		}
	}
	host := e.cache(t, "rdt-left")
	if out, err := e.cli(t, host, key1, "PING"); err != nil || out != "PONG" {
		t.Fatalf("%v %q", err, out)
	}
	if err := e.m.DeleteCache(context.Background(), "rdt-left"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "file")); err != nil || string(b) != "keep" {
		t.Fatalf("what the links named: %v %q", err, b)
	}
}

// The cache's directory, its configuration's place and the link its server
// runs as are root's: the cache's user writes only run/ and data/.
func TestAttack_CacheDirIsThePlatforms(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the caches run as users of their own only when Slipway runs as root")
	}
	e := newEnv(t)
	e.cache(t, "rdt-own")
	dir := filepath.Join(e.m.cfg.Dir, "rdt-own")
	for _, p := range []string{e.m.cfg.Dir, dir, filepath.Join(dir, "redis-server"), filepath.Join(dir, "server.log")} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 0 || (fi.Mode().IsDir() && fi.Mode().Perm()&0o022 != 0) {
			t.Errorf("%s: owner %d, mode %s", p, st.Uid, fi.Mode())
		}
	}
}

// Clients that hold every connection a cache takes leave room for the
// platform's own: changing the keys then
// neither fails nor restarts the cache.
func TestAttack_FullCacheLeavesThePlatformRoom(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.m.maxClients = 24
	host := e.cache(t, "rdt-full")
	if out, err := e.cli(t, host, key1, "SET", "kept", "yes"); err != nil {
		t.Fatal(err, out)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range e.m.maxClients + 4 {
		c, err := tls.Dial("tcp", e.addr, &tls.Config{ServerName: host, InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.Write(resp("AUTH", key1))
	}
	time.Sleep(200 * time.Millisecond)
	const key3 = "R3generatedPrimaryKey0123456789abcdefghijkl="
	if err := e.m.SetKeys(context.Background(), "rdt-full", key3, key2); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	if out, err := e.cli(t, host, key3, "GET", "kept"); err != nil || out != "yes" {
		t.Fatalf("the data after changing the keys of a full cache: %v %q", err, out)
	}
}

// Anyone may connect: a client holds a connection to the cache only once
// it has signed in, which its first command must do, within the time
// allowed.
func TestAttack_SignInFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.p.signIn = 500 * time.Millisecond
	host := e.cache(t, "rdt-signin")
	talk := func(t *testing.T, send string, wait time.Duration) string {
		t.Helper()
		c, err := tls.Dial("tcp", e.addr, &tls.Config{ServerName: host, InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if send != "" {
			c.Write([]byte(send))
		}
		c.SetReadDeadline(time.Now().Add(wait))
		b, _ := io.ReadAll(c)
		return string(b)
	}
	for _, tc := range []struct{ name, send, want string }{
		{"nothing", "", ""},
		{"a command before signing in", string(resp("PING")), "-NOAUTH Authentication required.\r\n"},
		{"a wrong key", string(resp("AUTH", "not-the-key")), "-WRONGPASS"},
		{"HELLO without AUTH", string(resp("HELLO", "3")), "-NOAUTH"},
		{"half a command", "*2\r\n$4\r\nAUTH\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Closed by the proxy (EOF) well before the read's own deadline.
			start := time.Now()
			got := talk(t, tc.send, 5*time.Second)
			if !strings.HasPrefix(got, tc.want) || (tc.want == "" && got != "") {
				t.Errorf("got %q, want %q…", got, tc.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the connection stayed open %s", d)
			}
		})
	}
	for _, tc := range []struct{ name, send, want string }{
		{"AUTH, then commands in the same write", string(resp("AUTH", key1)) + string(resp("PING")) + string(resp("PING")), "+OK\r\n+PONG\r\n+PONG\r\n"},
		{"inline", "AUTH " + key2 + "\r\nPING\r\n", "+OK\r\n+PONG\r\n"},
		{"HELLO 3 AUTH", string(resp("HELLO", "3", "AUTH", "default", key1)) + string(resp("PING")), "%7\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := talk(t, tc.send, time.Second)
			if !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, "+PONG\r\n") {
				t.Errorf("got %q, want %q…+PONG", got, tc.want)
			}
		})
	}
}

// busyAfter has a cache's server answer BUSY after a script has run 200 ms
// (not Redis's 5 s), for tests of a busy server.
func (e *env) busyAfter(t *testing.T, name string) {
	t.Helper()
	c, err := e.m.known(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.command(context.Background(), "CONFIG", "SET", "busy-reply-threshold", "200"); err != nil {
		t.Fatal(err)
	}
}
