package scm

// Kudu's tunnel to an app's SSH server, /AppServiceTunnel/Tunnel.ashx, as
// `az webapp ssh` and `az webapp create-remote-connection` use it
// (https://learn.microsoft.com/azure/app-service/configure-linux-open-ssh-session):
//
//   - GET ?GetStatus&GetStatusAPIVer=2 tells whether the app runs and its
//     SSH server can be reached: az reads "state" (STARTED, STARTING,
//     STOPPED) and "canReachPort", and refuses to go on otherwise, with
//     its own message for each.
//   - A WebSocket to the same path carries one SSH connection's bytes in
//     binary messages, both ways; az relays a local TCP port's to it. Here
//     the SSH server (ssh.go) runs on the WebSocket's stream itself.
//
// The tunnel is a Kudu request like any other: the app's publishing
// credentials or a deployment user allowed to deploy it, over HTTPS. The
// WebSocket's Origin, when a client sends one, must be the Kudu site
// itself, so that no other site's page can open a tunnel with credentials
// a browser holds.

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/every"
)

// tunnelRecheck is how often an open tunnel checks that what opened it
// still holds (watchTunnel; a variable for tests).
var tunnelRecheck = 15 * time.Second

// tunnelStatus is GetStatus's answer.
type tunnelStatus struct {
	Port         int    `json:"port"`
	State        string `json:"state"`
	CanReachPort bool   `json:"canReachPort"`
	Msg          string `json:"msg"`
}

// sshPort is the port App Service's containers run SSH on; reported, not
// opened (the server runs on the tunnel).
const sshPort = 2222

func (h *Handler) tunnel(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if _, ok := r.URL.Query()["GetStatus"]; ok {
		st := tunnelStatus{Port: sshPort, State: "STARTED", CanReachPort: h.ssh != nil,
			Msg: "SSH is available: log in as root with the password Docker! through this tunnel."}
		switch {
		case !s.Enabled:
			st.State, st.CanReachPort = "STOPPED", false
			st.Msg = "The app is stopped; start it (az webapp start) to open an SSH session."
		case h.ssh == nil:
			st.Msg = "SSH is not available on this server."
		}
		return writeJSON(w, http.StatusOK, st)
	}
	if h.ssh == nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "SSH is not available on this server: it has no sandbox to run sessions in.")
	}
	if !s.Enabled {
		return slipway.Errorf(slipway.ECONFLICT, "The app '%s' is stopped; start it (az webapp start) to open an SSH session.", s.Name)
	}
	leave, err := h.enter("SSH tunnels", s, maxTunnels)
	if err != nil {
		return err
	}
	defer leave()
	c := acceptLong(w, r)
	if c == nil {
		return nil // Accept has answered
	}
	// No read limit (websocket.NetConn lifts it): a message is streamed to
	// the SSH server as it comes, never held whole.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go h.watchTunnel(ctx, cancel, r, s)
	conn := websocket.NetConn(ctx, c, websocket.MessageBinary)
	lc := &lateClose{Conn: conn}
	h.serveSSH(ctx, idleConn{lc, tunnelIdle}, s, affinity(r))
	// The SSH connection has ended (the client disconnected, or it
	// failed). The client closes the WebSocket first, within
	// tunnelLinger: az's tunnel (appservice/tunnel.py) serves one local
	// connection at a time, and a WebSocket closed from this side while
	// its thread still reads the local SSH client can leave it stuck,
	// with every later connection waiting behind it.
	lc.Close()
	io.Copy(io.Discard, conn)
	conn.Close()
	return nil
}

// affinity is the instance a request's ARRAffinity cookie names, as App
// Service's front ends route on it (`az webapp ssh --instance`, `az webapp
// exec --instance` send it); "" when it names none that could be one.
func affinity(r *http.Request) string {
	c, err := r.Cookie("ARRAffinity")
	if err != nil || len(c.Value) == 0 || len(c.Value) > 128 {
		return ""
	}
	for _, b := range []byte(c.Value) {
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return ""
		}
	}
	return c.Value
}

// tunnelLinger is how long an ended tunnel waits for its client to close
// the WebSocket (a variable for tests).
var tunnelLinger = 5 * time.Second

// lateClose is the tunnel's connection as the SSH server has it: its
// Close ends reads within tunnelLinger (a handshake that timed out, a
// connection ended) but leaves the WebSocket open for its client to close
// first; the tunnel closes it then.
type lateClose struct {
	net.Conn
	mu      sync.Mutex
	closing bool
}

func (c *lateClose) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	return c.Conn.SetReadDeadline(time.Now().Add(tunnelLinger))
}

// SetReadDeadline moves the deadline until Close; then Close's stands.
func (c *lateClose) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

// acceptLong accepts a WebSocket that lasts as long as its session: the
// server's timeouts for requests would end it. It refuses a foreign
// Origin; nil when it has answered the request otherwise.
func acceptLong(w http.ResponseWriter, r *http.Request) *websocket.Conn {
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(r, o) {
		// coder/websocket's own check compares hosts, not schemes.
		http.Error(w, "A page of another origin opened this WebSocket: Kudu's sessions are opened from its own pages (over HTTPS) and from tools.", http.StatusForbidden)
		return nil
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil
	}
	return c
}

// watchTunnel ends the tunnel opened by r for s (cancel: its connection
// and its sessions' commands) once what allowed it no longer holds: its
// credentials (a publishing password reset, a deployment user's role
// removed), or the app itself — stopped, deleted, or its name taken by a
// new app. A tunnel lasts as long as its client sends a byte an hour;
// without this it would go on running code as the app on grounds long
// gone. Checked every tunnelRecheck; a store that fails otherwise is asked
// again at the next.
func (h *Handler) watchTunnel(ctx context.Context, cancel context.CancelFunc, r *http.Request, s slipway.Site) {
	every.Run(ctx, tunnelRecheck, func(ctx context.Context) {
		now, err := h.authenticate(r.WithContext(ctx))
		switch slipway.ErrorCode(err) {
		case "":
			if now.Enabled && now.Created.Equal(s.Created) {
				return
			}
		case slipway.EUNAUTHORIZED, slipway.EFORBIDDEN, slipway.ENOTFOUND:
		default:
			return
		}
		h.cfg.Logger.Info("SSH tunnel ended: its credentials or its app changed", "site", s.Name)
		cancel()
	})
}

// idleConn ends reads that wait longer than idle.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}
