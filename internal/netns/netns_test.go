package netns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func needRoot(t *testing.T) {
	t.Helper()
	if ok, why := Available(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("instance networks unavailable under CI: %s", why)
		}
		t.Skip(why)
	}
}

// listen serves a one-line answer on addr until the test ends.
func listen(t *testing.T, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// dialFrom tries a TCP connection from inside n and reports whether it
// connected (bounded: 2 s).
func dialFrom(t *testing.T, n *Namespace, addr string) bool {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	script := fmt.Sprintf("exec 3<>/dev/tcp/%s/%s && head -c 5 <&3", host, port)
	cmd := exec.CommandContext(ctx, "nsenter", "--net="+n.Path(), "--", "timeout", "2", "bash", "-c", script)
	out, err := cmd.CombinedOutput()
	return err == nil && strings.HasPrefix(string(out), "hello")
}

func open(t *testing.T, ports ...int) *Manager {
	t.Helper()
	m, err := Open(context.Background(), Config{ID: "t" + strconv.Itoa(os.Getpid()%1000), PlatformPorts: ports, LoopbackPorts: ports[:1], Pool: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("closing: %v", err)
		}
	})
	return m
}

// The fences of the package doc, each an attack: an instance reaches the
// platform's port on the gateway and nothing else of the host, nor another
// instance; the host reaches the instance.
func TestFences(t *testing.T) {
	needRoot(t)
	platform := listen(t, DefaultGateway.String()+":0")
	m := open(t, platform)
	other := listen(t, DefaultGateway.String()+":0") // a host service on the gateway, not a platform port
	loopback := listen(t, "127.0.0.1:0")             // a host loopback service (a database, say)
	a, err := m.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	if a.Addr() == b.Addr() {
		t.Fatalf("two instances got the same address %s", a.Addr())
	}
	// A server inside b, on the port every App Service app uses.
	srv := exec.Command("nsenter", "--net="+b.Path(), "--", "python3", "-c",
		"import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',8000));s.listen()\nwhile True:\n c,_=s.accept();c.send(b'hello\\n');c.close()")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(b.Addr(), 8000).String(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host cannot reach the instance's server: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	hostEnd := a.HostAddr().String()
	cases := []struct {
		name, addr string
		want       bool
	}{
		{"platform port on the gateway", net.JoinHostPort(DefaultGateway.String(), strconv.Itoa(platform)), true},
		{"platform port on the instance's own 127.0.0.1", net.JoinHostPort("127.0.0.1", strconv.Itoa(platform)), true},
		{"another port on the gateway", net.JoinHostPort(DefaultGateway.String(), strconv.Itoa(other)), false},
		{"host loopback service by 127.0.0.1", net.JoinHostPort("127.0.0.1", strconv.Itoa(loopback)), false},
		{"host service by the host end of the link", net.JoinHostPort(hostEnd, strconv.Itoa(other)), false},
		{"platform port by the host end of the link", net.JoinHostPort(hostEnd, strconv.Itoa(platform)), false},
		{"another instance directly", net.JoinHostPort(b.Addr().String(), "8000"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := dialFrom(t, a, c.addr); got != c.want {
				t.Errorf("connect to %s from an instance: got %v, want %v", c.addr, got, c.want)
			}
		})
	}
	// The instance's sockets are its own: the listening list of b shows
	// :8000, and a's shows nothing.
	lb, err := b.Listening(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(lb) != 1 || lb[0].Port() != 8000 {
		t.Errorf("listening in b = %v, want one socket on port 8000", lb)
	}
	la, err := a.Listening(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(la) != 0 {
		t.Errorf("listening in a = %v, want none (b's sockets must be invisible)", la)
	}
	// Closing removes the namespace and the host's link.
	path, host := a.Path(), a.host
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s still exists after Close", path)
	}
	if _, err := net.InterfaceByName(host); err == nil {
		t.Errorf("link %s still exists after Close", host)
	}
}

func TestParseListening(t *testing.T) {
	text := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000   100        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000   100        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1388 0100007F:A000 01 00000000:00000000 00:00000000 00000000   100        0 3 1 0000000000000000 100 0 0 10 0
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000
`
	got := ParseListening([]byte(text))
	want := []string{"0.0.0.0:8000", "127.0.0.1:5000", "[::]:8080"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("socket %d = %s, want %s", i, got[i], want[i])
		}
	}
}

// Only an instance's end of a link in use is an instance: not the host's
// end, not the gateway, not a block never handed out or handed back.
func TestIsInstance(t *testing.T) {
	block, err := allocate()
	if err != nil {
		t.Fatal(err)
	}
	inst := block.Next().Next()
	for a, want := range map[netip.Addr]bool{
		inst:                                   true,
		netip.AddrFrom16(inst.As16()):          true, // v4-mapped
		block:                                  false,
		block.Next():                           false, // the host's end
		inst.Next():                            false,
		DefaultGateway:                         false,
		netip.MustParseAddr("127.0.0.1"):       false,
		netip.MustParseAddr("169.254.255.254"): false,
	} {
		if got := IsInstance(a); got != want {
			t.Errorf("IsInstance(%s) = %v, want %v", a, got, want)
		}
	}
	release(block)
	if IsInstance(inst) {
		t.Errorf("a released block's instance address is still an instance")
	}
}
