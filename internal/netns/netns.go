// Package netns gives every app instance a network of its own, as every App
// Service container has one: a network namespace with its own loopback, in
// which the app may listen on any port (App Service's image sets PORT=8000,
// https://learn.microsoft.com/azure/app-service/configure-custom-container#configure-port-number),
// joined to the host by a veth pair on a point-to-point link-local /30 (App
// Service's containers also live on 169.254.x.x addresses).
//
// An nftables table per server fences the namespaces in: an instance reaches
// the platform's gateway address only on the platform's own ports (front
// door, blob), never the host's loopback services, never another instance
// (of its own app or of another), and the outside world only when egress is
// allowed (then through masquerade, never to loopback, link-local or
// multicast addresses). Nothing reaches an instance but the host itself,
// where the front door runs. Sockets inside a namespace are invisible to
// other instances and to the host's /proc/net/tcp, so an app can neither
// see, squat nor answer another app's port.
//
// It drives the kernel through iproute2's ip and nftables' nft (both
// well-kept, and what an operator debugging a host would use) and util-linux's
// nsenter. It needs root.
package netns

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultGateway is the address on the host at which instances reach the
// platform's services (the front door, blob). It is added to the host's
// loopback interface.
var DefaultGateway = netip.MustParseAddr("169.254.0.1")

// instancePool is where instance links are numbered from: 169.254.128.0/17,
// in /30 blocks (host .1, instance .2).
var instancePool = netip.MustParsePrefix("169.254.128.0/17")

// Config configures a Manager.
type Config struct {
	// ID is a short server id ([a-z0-9], 1-4 characters) that prefixes
	// interface and namespace names, so that several servers on one host
	// keep apart and a restarted server can sweep what its predecessor left.
	ID string
	// Gateway is the platform's address as instances see it; zero means
	// DefaultGateway.
	Gateway netip.Addr
	// PlatformPorts are the TCP ports on Gateway that instances may reach.
	PlatformPorts []int
	// LoopbackPorts are platform ports that instances also reach on their
	// own 127.0.0.1 (translated to Gateway inside each namespace), so that
	// the addresses the platform hands out for the host — the front door's
	// http://127.0.0.1:8080, Azurite's http://127.0.0.1:10000 of a
	// UseDevelopmentStorage connection string — work unchanged in apps.
	// Each must be one of PlatformPorts.
	LoopbackPorts []int
	// GatewayRedirects maps ports on Gateway to platform ports, inside each
	// namespace: 443 and 80 to the front door, so that https://<name> of a
	// platform or Azure name (resolved to Gateway) reaches it. Targets must
	// be PlatformPorts.
	GatewayRedirects map[int]int
	// Egress lets instances open connections to outside networks (as App
	// Service apps may). It turns on the host's IPv4 forwarding.
	Egress bool
	// Pool is how many namespaces to keep made ahead, so that starting an
	// instance does not wait for ip and nft (they cost tens of
	// milliseconds); 0 makes each on demand.
	Pool   int
	Logger *slog.Logger
}

// Manager creates and removes instance namespaces. Safe for concurrent use.
type Manager struct {
	cfg     Config
	ip, nft string
	nsenter string
	table   string
	log     *slog.Logger

	mu   sync.Mutex
	open map[string]*Namespace

	pool     chan *Namespace // made ahead (Config.Pool)
	stopPool context.CancelFunc
	poolDone chan struct{}
}

var idRE = regexp.MustCompile(`^[a-z0-9]{1,4}$`)

// Available reports whether namespaces can be made here, and why not.
func Available() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "per-instance networks need root (Slipway runs as uid " + strconv.Itoa(os.Geteuid()) + ")"
	}
	for _, tool := range []string{"ip", "nft", "nsenter"} {
		if _, err := lookTool(tool); err != nil {
			return false, err.Error()
		}
	}
	return true, "ip, nft and nsenter found"
}

func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	pkg := map[string]string{"ip": "iproute2", "nft": "nftables", "nsenter": "util-linux"}[name]
	return "", fmt.Errorf("%s not found: install it (apt-get install %s)", name, pkg)
}

// Open prepares the host: the gateway address on the loopback interface,
// the server's nftables table, forwarding when egress is allowed, and the
// removal of namespaces a previous run of the same server left behind.
func Open(ctx context.Context, cfg Config) (*Manager, error) {
	if !idRE.MatchString(cfg.ID) {
		return nil, fmt.Errorf("opening instance networks: server id %q must be 1-4 of [a-z0-9]", cfg.ID)
	}
	if ok, why := Available(); !ok {
		return nil, fmt.Errorf("opening instance networks: %s", why)
	}
	if !cfg.Gateway.IsValid() {
		cfg.Gateway = DefaultGateway
	}
	for _, p := range cfg.LoopbackPorts {
		if !slices.Contains(cfg.PlatformPorts, p) {
			return nil, fmt.Errorf("opening instance networks: loopback port %d is not a platform port", p)
		}
	}
	for from, to := range cfg.GatewayRedirects {
		if !slices.Contains(cfg.PlatformPorts, to) || from < 1 || from > 65535 {
			return nil, fmt.Errorf("opening instance networks: gateway port %d cannot go to %d, which is not a platform port", from, to)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, table: "slipway_" + cfg.ID, log: cfg.Logger, open: map[string]*Namespace{}}
	m.ip, _ = lookTool("ip")
	m.nft, _ = lookTool("nft")
	m.nsenter, _ = lookTool("nsenter")
	m.sweep(ctx)
	if err := m.run(ctx, nil, m.ip, "addr", "replace", cfg.Gateway.String()+"/32", "dev", "lo"); err != nil {
		return nil, fmt.Errorf("opening instance networks: adding the gateway address: %w", err)
	}
	if err := m.run(ctx, []byte(m.ruleset()), m.nft, "-f", "-"); err != nil {
		return nil, fmt.Errorf("opening instance networks: installing nftables rules: %w", err)
	}
	if cfg.Egress {
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
			m.Close()
			return nil, fmt.Errorf("opening instance networks: turning on IPv4 forwarding for egress: %w", err)
		}
	}
	if cfg.Pool > 0 {
		m.pool = make(chan *Namespace, cfg.Pool)
		ctx, cancel := context.WithCancel(context.Background())
		m.stopPool, m.poolDone = cancel, make(chan struct{})
		go m.fill(ctx)
	}
	return m, nil
}

// fill keeps the pool full until ctx ends.
func (m *Manager) fill(ctx context.Context) {
	defer close(m.poolDone)
	for ctx.Err() == nil {
		n, err := m.create(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("making an instance network ahead", "err", err)
			}
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
			continue
		}
		select {
		case m.pool <- n:
		case <-ctx.Done():
			n.Close()
		}
	}
}

// Gateway returns the platform's address as instances see it.
func (m *Manager) Gateway() netip.Addr { return m.cfg.Gateway }

// prefix is what every interface and namespace name of this server starts with.
func (m *Manager) prefix() string { return "sw" + m.cfg.ID }

// ruleset is the server's nftables table. It is replaced whole (a table
// added and flushed in one transaction), so a restart never doubles rules.
func (m *Manager) ruleset() string {
	in := fmt.Sprintf(`iifname "%s*"`, m.prefix())
	out := fmt.Sprintf(`oifname "%s*"`, m.prefix())
	ports := make([]string, 0, len(m.cfg.PlatformPorts))
	for _, p := range m.cfg.PlatformPorts {
		ports = append(ports, strconv.Itoa(p))
	}
	egress := "reject"
	if m.cfg.Egress {
		egress = "accept"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {}\ndelete table inet %s\ntable inet %s {\n", m.table, m.table, m.table)
	b.WriteString("  chain input {\n    type filter hook input priority filter; policy accept;\n")
	fmt.Fprintf(&b, "    %s ct state established,related accept\n", in)
	if len(ports) > 0 {
		fmt.Fprintf(&b, "    %s ip daddr %s tcp dport { %s } accept\n", in, m.cfg.Gateway, strings.Join(ports, ", "))
	}
	// Refused rather than dropped: an app (or its user) learns at once
	// that the port is closed to it, instead of hanging until a timeout.
	fmt.Fprintf(&b, "    %s meta l4proto tcp reject with tcp reset\n", in)
	fmt.Fprintf(&b, "    %s reject\n  }\n", in)
	b.WriteString("  chain forward {\n    type filter hook forward priority filter; policy accept;\n")
	fmt.Fprintf(&b, "    %s ct state established,related accept\n", out)
	fmt.Fprintf(&b, "    %s drop\n", out)
	fmt.Fprintf(&b, "    %s meta nfproto ipv6 reject\n", in)
	fmt.Fprintf(&b, "    %s ip daddr { 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4, 255.255.255.255 } reject\n", in)
	fmt.Fprintf(&b, "    %s %s\n  }\n", in, egress)
	b.WriteString("  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n")
	fmt.Fprintf(&b, "    %s oifname != \"%s*\" masquerade\n  }\n}\n", in, m.prefix())
	return b.String()
}

// loopbackRules is the nftables table inside each namespace that sends
// LoopbackPorts on 127.0.0.1 to the gateway.
func (m *Manager) loopbackRules() string {
	if len(m.cfg.LoopbackPorts) == 0 && len(m.cfg.GatewayRedirects) == 0 {
		return ""
	}
	var rules []string
	if len(m.cfg.LoopbackPorts) > 0 {
		ports := make([]string, len(m.cfg.LoopbackPorts))
		for i, p := range m.cfg.LoopbackPorts {
			ports[i] = strconv.Itoa(p)
		}
		rules = append(rules, fmt.Sprintf("ip daddr 127.0.0.1 tcp dport { %s } dnat to %s", strings.Join(ports, ", "), m.cfg.Gateway))
	}
	for _, from := range slices.Sorted(maps.Keys(m.cfg.GatewayRedirects)) {
		rules = append(rules, fmt.Sprintf("ip daddr %s tcp dport %d dnat to %s:%d", m.cfg.Gateway, from, m.cfg.Gateway, m.cfg.GatewayRedirects[from]))
	}
	return fmt.Sprintf(`table ip slipway {
  chain output {
    type nat hook output priority -100; policy accept;
    %s
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    ip saddr 127.0.0.0/8 oifname "eth0" masquerade
  }
}
`, strings.Join(rules, "\n    "))
}

// sweep removes namespaces and links a previous run of this server left
// (a server killed with -9 cannot clean up).
func (m *Manager) sweep(ctx context.Context) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), m.prefix()+"-") {
			m.run(ctx, nil, m.ip, "netns", "del", e.Name())
		}
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if strings.HasPrefix(i.Name, m.prefix()) {
			m.run(ctx, nil, m.ip, "link", "del", i.Name)
		}
	}
}

// Close removes every namespace still open and the server's rules.
func (m *Manager) Close() error {
	if m.stopPool != nil {
		m.stopPool()
		<-m.poolDone
		m.stopPool = nil
	}
	m.mu.Lock()
	open := make([]*Namespace, 0, len(m.open))
	for _, n := range m.open {
		open = append(open, n)
	}
	m.mu.Unlock()
	var errs []error
	for _, n := range open {
		errs = append(errs, n.Close())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.run(ctx, nil, m.nft, "delete", "table", "inet", m.table); err != nil {
		errs = append(errs, fmt.Errorf("removing nftables rules: %w", err))
	}
	return errors.Join(errs...)
}

// Namespace is one instance's network.
type Namespace struct {
	m          *Manager
	name, host string
	block      netip.Addr // first address of the /30
	once       sync.Once
	err        error
}

// Path is the namespace's file, for nsenter --net=.
func (n *Namespace) Path() string { return "/run/netns/" + n.name }

// Name is the namespace's name (ip netns list).
func (n *Namespace) Name() string { return n.name }

// Addr is the instance's address, on which the host reaches it.
func (n *Namespace) Addr() netip.Addr { return n.block.Next().Next() }

// HostAddr is the host's end of the link (the instance's default route).
func (n *Namespace) HostAddr() netip.Addr { return n.block.Next() }

// New returns a namespace with its link to the host: one made ahead when
// the pool has one, else a new one.
func (m *Manager) New(ctx context.Context) (*Namespace, error) {
	select {
	case n := <-m.pool: // a nil channel (no pool) is never ready
		return n, nil
	default:
		return m.create(ctx)
	}
}

func (m *Manager) create(ctx context.Context) (*Namespace, error) {
	suffix := make([]byte, 4)
	rand.Read(suffix)
	tag := hex.EncodeToString(suffix)
	block, err := allocate()
	if err != nil {
		return nil, err
	}
	n := &Namespace{m: m, name: m.prefix() + "-" + tag, host: m.prefix() + tag, block: block}
	peer := "sp" + m.cfg.ID + tag
	hostCmds := strings.Join([]string{
		"netns add " + n.name,
		"link add " + n.host + " type veth peer name " + peer,
		"link set " + peer + " netns " + n.name,
		"addr add " + n.HostAddr().String() + "/30 dev " + n.host,
		"link set " + n.host + " up",
	}, "\n") + "\n"
	nsCmds := strings.Join([]string{
		"link set " + peer + " name eth0",
		"addr add " + n.Addr().String() + "/30 dev eth0",
		"link set eth0 up",
		"link set lo up",
		"route add default via " + n.HostAddr().String(),
	}, "\n") + "\n"
	if err := m.run(ctx, []byte(hostCmds), m.ip, "-batch", "-"); err != nil {
		n.destroy()
		return nil, fmt.Errorf("creating the instance network: %w", err)
	}
	if err := m.run(ctx, []byte(nsCmds), m.ip, "-n", n.name, "-batch", "-"); err != nil {
		n.destroy()
		return nil, fmt.Errorf("configuring the instance network: %w", err)
	}
	if rules := m.loopbackRules(); rules != "" {
		// Locally generated packets to 127.0.0.1 may leave the namespace
		// only with route_localnet on, and masqueraded to its own address.
		if err := m.run(ctx, []byte(rules), m.nsenter, "--net="+n.Path(), "--", "/bin/sh", "-c",
			"echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && exec nft -f -"); err != nil {
			n.destroy()
			return nil, fmt.Errorf("configuring the instance network: %w", err)
		}
	}
	m.mu.Lock()
	m.open[n.name] = n
	m.mu.Unlock()
	return n, nil
}

// Close removes the namespace and its link. Processes still inside lose
// their network; the caller stops them first.
func (n *Namespace) Close() error {
	n.once.Do(func() {
		n.m.mu.Lock()
		delete(n.m.open, n.name)
		n.m.mu.Unlock()
		n.err = n.destroy()
	})
	return n.err
}

func (n *Namespace) destroy() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if _, err := net.InterfaceByName(n.host); err == nil {
		if err := n.m.run(ctx, nil, n.m.ip, "link", "del", n.host); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(n.Path()); err == nil {
		if err := n.m.run(ctx, nil, n.m.ip, "netns", "del", n.name); err != nil {
			errs = append(errs, err)
		}
	}
	release(n.block)
	return errors.Join(errs...)
}

// Listening returns the TCP sockets listening inside the namespace (for
// telling a user which port the app really opened).
func (n *Namespace) Listening(ctx context.Context) ([]netip.AddrPort, error) {
	// /proc/net/* shows the reading process's namespace: read it from inside.
	cmd := exec.CommandContext(ctx, n.m.nsenter, "--net="+n.Path(), "--", "cat", "/proc/net/tcp", "/proc/net/tcp6")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		return nil, fmt.Errorf("listing listening sockets: %w", err)
	}
	return ParseListening(out), nil
}

// ParseListening reads /proc/net/tcp{,6} text and returns its listening
// sockets, sorted and without duplicates.
func ParseListening(procNet []byte) []netip.AddrPort {
	var out []netip.AddrPort
	sc := bufio.NewScanner(bytes.NewReader(procNet))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[3] != "0A" { // TCP_LISTEN
			continue
		}
		host, port, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil {
			continue
		}
		raw, err := hex.DecodeString(host)
		if err != nil {
			continue
		}
		var addr netip.Addr
		switch len(raw) {
		case 4:
			addr = netip.AddrFrom4([4]byte{raw[3], raw[2], raw[1], raw[0]})
		case 16:
			var b [16]byte
			for i := 0; i < 16; i += 4 { // four host-order 32-bit words
				b[i], b[i+1], b[i+2], b[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
			}
			addr = netip.AddrFrom16(b).Unmap()
		default:
			continue
		}
		ap := netip.AddrPortFrom(addr, uint16(p))
		if !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out
}

func (m *Manager) run(ctx context.Context, stdin []byte, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(argv[0]), strings.Join(argv[1:], " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// The host's link-local pool is one per process: every server in it (tests
// run several) draws from the same address space, which is the host's.
var (
	poolMu   sync.Mutex
	poolUsed = map[netip.Addr]bool{}
)

// allocate picks a free /30 block of the pool: free in this process and
// not on any interface of the host (another process's server).
func allocate() (netip.Addr, error) {
	poolMu.Lock()
	defer poolMu.Unlock()
	onHost := map[netip.Addr]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				onHost[p.Masked().Addr()] = true
				onHost[p.Addr()] = true
			}
		}
	}
	base := binary.BigEndian.Uint32(instancePool.Addr().AsSlice())
	blocks := uint32(1) << (32 - instancePool.Bits() - 2)
	var r [4]byte
	rand.Read(r[:])
	start := binary.BigEndian.Uint32(r[:]) % blocks
	for i := uint32(0); i < blocks; i++ {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], base+((start+i)%blocks)*4)
		a := netip.AddrFrom4(b)
		if poolUsed[a] || onHost[a] || onHost[a.Next()] || onHost[a.Next().Next()] {
			continue
		}
		poolUsed[a] = true
		return a, nil
	}
	return netip.Addr{}, errors.New("creating the instance network: no free address block left in " + instancePool.String())
}

// IsInstance reports whether a is the address of an instance whose link
// this process numbered (the instance's end of a /30 block in use), and so
// a connection from it comes from inside an instance: the host's end of a
// link, the gateway and every other address are the host's or beyond.
func IsInstance(a netip.Addr) bool {
	a = a.Unmap()
	if !a.Is4() || !instancePool.Contains(a) {
		return false
	}
	b := a.As4()
	if b[3]&3 != 2 {
		return false
	}
	b[3] &^= 3
	poolMu.Lock()
	defer poolMu.Unlock()
	return poolUsed[netip.AddrFrom4(b)]
}

func release(a netip.Addr) {
	poolMu.Lock()
	delete(poolUsed, a)
	poolMu.Unlock()
}
