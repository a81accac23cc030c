package pgflex

// The proxy in front of every server, in the place of Azure's gateway: it
// takes a client's connection, insists on TLS (Azure's
// require_secure_transport is on by default), finds the server by the TLS
// server name, checks the server's firewall rules and the role the client
// asks for, then joins the client to the cluster's socket. The startup
// message is read and passed on unchanged; everything after it is copied
// both ways without being looked at — but for a Microsoft Entra
// principal's sign-in, which the proxy takes itself (entra.go) before it
// signs in to the cluster for the client.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/internal/gateway"
)

const (
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	cancelRequestCode = 80877102
	// maxStartup bounds a startup message (PostgreSQL's own limit is
	// 10,000 bytes).
	maxStartup = 10000
	// handshakeTimeout bounds everything before the client is joined to
	// its server: TLS, the startup message.
	handshakeTimeout = 15 * time.Second
	// limits bound the proxy's connections (gateway.Limits), all servers
	// together and per client address.
	// A session signing in holds one of its cluster's connection slots
	// (max_connections 100) before the cluster knows who it is, and anyone
	// the firewall admits may open one — with the 0.0.0.0 rule, any app of
	// any tenant. The proxy lets at most maxSigningIn of a server's
	// sessions from apps, as many from other clients, and
	// maxSigningInPerClient of one client address's, sign in at once,
	// each within handshakeTimeout: the rest of the slots stay for
	// signed-in sessions and the platform's own, and apps cannot shut out
	// the clients a server's own rules name.
	maxSigningIn          = 32
	maxSigningInPerClient = 8
	// maxAuthMessage bounds a message of the cluster while a session
	// signs in (SCRAM's are a few hundred bytes).
	maxAuthMessage = 64 << 10
)

var limits = gateway.Limits{Max: 2000, PerClient: 256, HandshakesPerClient: 32}

// signIn is a client address signing in to a server: an app or not.
type signIn struct {
	server string
	app    bool
	client netip.Addr
}

// Proxy serves PostgreSQL clients for a Manager.
type Proxy struct {
	m    *Manager
	tls  *tls.Config
	gate *gateway.Gate
	mu   sync.Mutex
	// signingIn counts the sessions signing in, by server and client
	// (signIn) and by server and kind of client (signIn with no client).
	signingIn map[signIn]int
}

// NewProxy returns the proxy for m, serving TLS with certificates from
// getCert (the platform's CA: *.postgres.database.azure.com and
// *.postgres.<domain>; another name gets the leaf of servers.postgres.<domain>).
func (m *Manager) NewProxy(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *Proxy {
	cert := gateway.Certificates(getCert, "servers."+Label+"."+strings.ToLower(m.cfg.Domain))
	return &Proxy{m: m, tls: &tls.Config{GetCertificate: cert, MinVersion: tls.VersionTLS12, NextProtos: []string{"postgresql"}},
		gate: gateway.New(limits), signingIn: map[signIn]int{}}
}

// Serve accepts connections on l until it is closed. internal says whether
// its clients are Slipway's apps (the instances' gateway), which Azure's
// 0.0.0.0 rule admits.
func (p *Proxy) Serve(l net.Listener, internal bool) error {
	return p.gate.Serve(l, func(conn net.Conn, _ netip.Addr, handshook func()) { p.serve(conn, internal, handshook) })
}

// Close ends every connection the proxy holds (the listeners are the
// caller's).
func (p *Proxy) Close() error { return p.gate.Close() }

// beginSignIn takes a place for a session of client signing in to
// server, unless the server or the client has its share signing in; the
// returned func gives it back (once).
func (p *Proxy) beginSignIn(server string, client netip.Addr, app bool) (func(), bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	one, all := signIn{server, app, client}, signIn{server: server, app: app}
	if p.signingIn[all] >= maxSigningIn || p.signingIn[one] >= maxSigningInPerClient {
		return nil, false
	}
	p.signingIn[all]++
	p.signingIn[one]++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, k := range []signIn{one, all} {
				if p.signingIn[k]--; p.signingIn[k] <= 0 {
					delete(p.signingIn, k)
				}
			}
		})
	}, true
}

// serve takes one client through to its server, or tells it why not;
// handshook is called once it has signed in.
func (p *Proxy) serve(raw net.Conn, internal bool, handshook func()) {
	raw.SetDeadline(time.Now().Add(handshakeTimeout))
	client := gateway.AddrOf(raw.RemoteAddr())
	var conn net.Conn = raw
	var first [8]byte
	// A client may start TLS at once (PostgreSQL 17's sslnegotiation=direct).
	if _, err := io.ReadFull(raw, first[:1]); err != nil {
		return
	}
	direct := first[0] == 0x16
	if !direct {
		if _, err := io.ReadFull(raw, first[1:]); err != nil {
			return
		}
		n, code := binary.BigEndian.Uint32(first[:4]), binary.BigEndian.Uint32(first[4:])
		if n == 8 && code == gssEncRequestCode {
			if _, err := raw.Write([]byte{'N'}); err != nil {
				return
			}
			if _, err := io.ReadFull(raw, first[:]); err != nil {
				return
			}
			n, code = binary.BigEndian.Uint32(first[:4]), binary.BigEndian.Uint32(first[4:])
		}
		if n != 8 || code != sslRequestCode {
			// Not encrypted: read what it asks for, to say it in the
			// refusal, as Azure's server does with
			// require_secure_transport on. A cancel request is dropped.
			if code == cancelRequestCode {
				return
			}
			params, _ := readStartupRest(raw, n, first[4:])
			refuse(raw, "28000", fmt.Sprintf("no pg_hba.conf entry for host %q, user %q, database %q, no encryption", client, params["user"], dbOf(params)))
			return
		}
		if _, err := raw.Write([]byte{'S'}); err != nil {
			return
		}
	}
	var rd io.Reader = raw
	if direct {
		rd = io.MultiReader(bytes.NewReader(first[:1]), raw)
	}
	tc := tls.Server(&prefixed{Conn: raw, r: rd}, p.tls)
	if err := tc.HandshakeContext(context.Background()); err != nil {
		return
	}
	conn = tc
	sni := strings.ToLower(strings.TrimSuffix(tc.ConnectionState().ServerName, "."))
	startup, params, err := readStartup(conn)
	if err != nil {
		if errors.Is(err, errCancel) {
			return
		}
		refuse(conn, "08P01", err.Error())
		return
	}
	user, db := params["user"], dbOf(params)
	name := p.m.serverOf(sni)
	if name == "" {
		if sni == "" {
			refuse(conn, "08004", "this server is found by its name: connect with host=<server>"+Suffix+" (libpq sends the name in TLS from PostgreSQL 14 on), not by an address")
		} else {
			refuse(conn, "08004", fmt.Sprintf("there is no PostgreSQL flexible server at %q", sni))
		}
		return
	}
	c, err := p.m.known(name)
	if err != nil {
		refuse(conn, "08004", fmt.Sprintf("there is no PostgreSQL flexible server at %q", sni))
		return
	}
	if !p.m.allowed(name, client, internal) || reservedRole(user) || user == "" {
		refuse(conn, "28000", fmt.Sprintf("no pg_hba.conf entry for host %q, user %q, database %q, SSL encryption", client, user, db))
		return
	}
	if !c.isRunning() {
		refuse(conn, "57P03", fmt.Sprintf("PostgreSQL server %q is stopped", name))
		return
	}
	// A burst of sessions (an app's workers starting) waits its turn;
	// only a server whose share stays taken until the handshake's
	// deadline refuses.
	app := p.m.isApp(client, internal)
	signedIn, ok := p.beginSignIn(name, client, app)
	for deadline := time.Now().Add(handshakeTimeout / 2); !ok && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		signedIn, ok = p.beginSignIn(name, client, app)
	}
	if !ok {
		refuse(conn, "53300", fmt.Sprintf("too many connections are signing in to PostgreSQL server %q: try again", name))
		return
	}
	defer signedIn()
	// A Microsoft Entra principal's role signs in with a token, which the
	// proxy checks itself (entra.go); others with their password, which
	// the cluster checks.
	auth := p.m.authOf(name)
	var entra *entraRole
	if auth.Entra {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		rec, ok, err := c.lookupEntra(ctx, user)
		cancel()
		if err != nil {
			p.m.cfg.Logger.Error("looking up a Microsoft Entra principal", "server", name, "err", err)
			refuse(conn, "57P03", fmt.Sprintf("PostgreSQL server %q is not taking connections", name))
			return
		}
		if ok {
			entra = &rec
		}
	}
	if entra == nil && !auth.Password {
		refuseHint(conn, "28P01", fmt.Sprintf("password authentication failed for user %q", user),
			"Password authentication is disabled on this server (authConfig.passwordAuth): sign in as a Microsoft Entra principal with an access token for "+EntraAudience+".")
		return
	}
	var password string
	if entra != nil {
		if _, err := conn.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 3}); err != nil {
			return
		}
		token, err := readPassword(conn)
		if err != nil {
			refuse(conn, "08P01", err.Error())
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err = p.m.checkToken(ctx, c, user, *entra, token, auth)
		if err == nil {
			password, err = p.m.entraPassword(ctx, c, user, *entra, "")
		}
		cancel()
		var refused *errEntra
		if errors.As(err, &refused) {
			refuseHint(conn, "28P01", fmt.Sprintf("password authentication failed for user %q", user),
				"Microsoft Entra sign-in: "+refused.hint+".")
			return
		}
		if err != nil {
			p.m.cfg.Logger.Error("signing in a Microsoft Entra principal", "server", name, "role", user, "err", err)
			refuse(conn, "57P03", fmt.Sprintf("PostgreSQL server %q is not taking connections", name))
			return
		}
	}
	var up net.Conn
	for attempt := 0; ; attempt++ {
		var ok bool
		up, ok = p.dialCluster(conn, c)
		if !ok {
			return
		}
		untrack, tracked := p.gate.Track(up)
		defer untrack()
		defer up.Close()
		if !tracked {
			return
		}
		// The client's deadline (raw's) still runs; the cluster's is the same.
		up.SetDeadline(time.Now().Add(handshakeTimeout))
		if _, err := up.Write(startup); err != nil {
			return
		}
		if entra == nil {
			break
		}
		// The proxy signs in for the principal; the client hears only
		// that it has.
		err := signInAs(up, password)
		if err == nil {
			if _, err := conn.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 0}); err != nil {
				return
			}
			break
		}
		var ce *clusterError
		if errors.As(err, &ce) && ce.code == "28P01" && attempt == 0 {
			// Its password is not the one the proxy holds (a start of
			// Slipway, or changed): set it again, once.
			up.Close()
			ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
			password, err = p.m.entraPassword(ctx, c, user, *entra, password)
			cancel()
			var refused *errEntra
			if errors.As(err, &refused) {
				refuseHint(conn, "28P01", fmt.Sprintf("password authentication failed for user %q", user),
					"Microsoft Entra sign-in: "+refused.hint+".")
				return
			}
			if err != nil {
				p.m.cfg.Logger.Error("signing in a Microsoft Entra principal", "server", name, "role", user, "err", err)
				refuse(conn, "57P03", fmt.Sprintf("PostgreSQL server %q is not taking connections", name))
				return
			}
			continue
		}
		if errors.As(err, &ce) {
			conn.Write(ce.raw)
		} else {
			p.m.cfg.Logger.Error("signing in a Microsoft Entra principal", "server", name, "role", user, "err", err)
			refuse(conn, "57P03", fmt.Sprintf("PostgreSQL server %q is not taking connections", name))
		}
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, conn); up.(*net.UnixConn).CloseWrite(); done <- struct{}{} }()
	// The client signs in within the handshake's time: the cluster's
	// messages pass one by one until it says the session is ready.
	if waitReady(conn, up) {
		signedIn()
		handshook()
		raw.SetDeadline(time.Time{})
		up.SetDeadline(time.Time{})
		io.Copy(conn, up)
	}
	conn.Close()
	up.Close()
	<-done
}

// dialCluster connects to a cluster's socket and checks who answers it;
// on failure the client is told and false returned.
func (p *Proxy) dialCluster(conn net.Conn, c *cluster) (net.Conn, bool) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	up, err := d.DialContext(ctx, "unix", c.socket())
	cancel()
	if err != nil {
		refuse(conn, "57P03", fmt.Sprintf("PostgreSQL server %q is not taking connections", c.name))
		return nil, false
	}
	if err := c.peerIsCluster(up.(*net.UnixConn)); err != nil {
		up.Close()
		p.m.cfg.Logger.Error("a PostgreSQL server's socket is answered by another user", "server", c.name, "err", err)
		refuse(conn, "57P03", fmt.Sprintf("PostgreSQL server %q is not taking connections", c.name))
		return nil, false
	}
	return up, true
}

// waitReady passes the cluster's messages to the client until the session
// is ready for queries (true) or ends (false).
func waitReady(client io.Writer, cluster io.Reader) bool {
	var head [5]byte
	for {
		if _, err := io.ReadFull(cluster, head[:]); err != nil {
			return false
		}
		n := binary.BigEndian.Uint32(head[1:])
		if n < 4 || n > maxAuthMessage {
			return false
		}
		if _, err := client.Write(head[:]); err != nil {
			return false
		}
		if _, err := io.CopyN(client, cluster, int64(n-4)); err != nil {
			return false
		}
		if head[0] == 'Z' {
			return true
		}
	}
}

// serverOf is the server a TLS server name names: <name>.postgres.database.azure.com
// or <name>.postgres.<domain>; "" for anything else.
func (m *Manager) serverOf(sni string) string {
	for _, suffix := range []string{Suffix, "." + Label + "." + strings.ToLower(m.cfg.Domain)} {
		if name, ok := strings.CutSuffix(sni, suffix); ok && serverNameRE.MatchString(name) {
			return name
		}
	}
	return ""
}

var errCancel = errors.New("cancel request")

// readStartup reads a startup message (after TLS) and returns its bytes and
// parameters.
func readStartup(r io.Reader) ([]byte, map[string]string, error) {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, nil, fmt.Errorf("reading the startup message: %w", err)
	}
	n := binary.BigEndian.Uint32(head[:4])
	code := binary.BigEndian.Uint32(head[4:])
	if code == cancelRequestCode {
		return nil, nil, errCancel
	}
	if code>>16 != 3 {
		return nil, nil, fmt.Errorf("unsupported frontend protocol %d.%d: this server speaks 3", code>>16, code&0xffff)
	}
	params, body := readStartupRest(r, n, head[4:])
	if params == nil {
		return nil, nil, errors.New("invalid startup packet layout")
	}
	return append(head[:], body...), params, nil
}

// readStartupRest reads the rest of a startup message of n bytes whose
// first four after the length (code) are read, and parses its parameters.
// It returns nil parameters for a malformed message.
func readStartupRest(r io.Reader, n uint32, code []byte) (map[string]string, []byte) {
	if n < 8 || n > maxStartup {
		return nil, nil
	}
	body := make([]byte, n-8)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, nil
	}
	if binary.BigEndian.Uint32(code)>>16 != 3 || len(body) == 0 || body[len(body)-1] != 0 {
		return nil, nil
	}
	params := map[string]string{}
	fields := strings.Split(string(body[:len(body)-1]), "\x00")
	if len(fields)%2 == 1 {
		fields = fields[:len(fields)-1]
	}
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "" {
			return nil, nil
		}
		params[fields[i]] = fields[i+1]
	}
	return params, body
}

// dbOf is the database a startup message asks for: "database", else the
// user's name, as PostgreSQL takes it.
func dbOf(params map[string]string) string {
	if db := params["database"]; db != "" {
		return db
	}
	return params["user"]
}

// refuse sends a FATAL ErrorResponse, as PostgreSQL's server does before
// it closes.
func refuse(w io.Writer, code, msg string) { refuseHint(w, code, msg, "") }

// refuseHint is refuse with a hint (the ErrorResponse's H field).
func refuseHint(w io.Writer, code, msg, hint string) {
	fields := []struct {
		t byte
		v string
	}{{'S', "FATAL"}, {'V', "FATAL"}, {'C', code}, {'M', msg}}
	if hint != "" {
		fields = append(fields, struct {
			t byte
			v string
		}{'H', hint})
	}
	var b bytes.Buffer
	for _, f := range fields {
		b.WriteByte(f.t)
		b.WriteString(f.v)
		b.WriteByte(0)
	}
	b.WriteByte(0)
	out := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(4+b.Len()))
	w.Write(append(out, b.Bytes()...))
}

// prefixed is a connection whose reads start with bytes already taken.
type prefixed struct {
	net.Conn
	r io.Reader
}

func (p *prefixed) Read(b []byte) (int, error) { return p.r.Read(b) }
