package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/netns"
	"github.com/slipway-dev/slipway/internal/store"
)

// msiEndpoint is App Service's managed-identity endpoint as instances reach
// it (docs/appservice.md §8): every instance gets IDENTITY_ENDPOINT and its
// own IDENTITY_HEADER, a fresh random secret forgotten when the instance
// stops (and with the server: none survives a restart).
//
// Where it answers:
//   - Instances with networks of their own reach it at
//     http://<gateway>:<front door port>/msi/token — the front door's
//     gateway listener routes that path, on an IP-literal Host, here
//     (gatewayHandler); the host's own listener never does. A header is
//     bound to its instance's address: the kernel gives each instance one
//     address, which an unprivileged app cannot change or spoof, so a
//     header read out of one instance is refused from any other (or from
//     the host, whose connections to the gateway come from the gateway
//     address itself).
//   - Instances on the host's network (no root) reach it on a listener of
//     its own at 127.0.0.1:<random port>, as App Service's Linux containers
//     reach a sidecar on localhost; the header is then the only secret —
//     any process on the host that learns it can use it, as any process in
//     an App Service container can.
//
// The identities a request may get tokens for are read from the store on
// every request: an identity removed from the app, deleted, or deleted with
// the app, stops at once.
type msiEndpoint struct {
	st  *store.Store
	sub string
	svc *identity.Service
	// url is IDENTITY_ENDPOINT.
	url string
	log *slog.Logger

	mu        sync.Mutex
	instances map[[sha256.Size]byte]msiInstance
}

// msiInstance is what a header was given to.
type msiInstance struct {
	rg, site string
	addr     netip.Addr // the instance's address; zero on the host's network
}

// maxMSIHeaderBytes bounds the header looked at.
const maxMSIHeaderBytes = 256

// newMSIEndpoint returns the endpoint serving tokens of svc at url.
func newMSIEndpoint(st *store.Store, sub string, svc *identity.Service, url string, log *slog.Logger) *msiEndpoint {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &msiEndpoint{st: st, sub: sub, svc: svc, url: url, log: log, instances: map[[sha256.Size]byte]msiInstance{}}
}

// msiURL is IDENTITY_ENDPOINT for an address instances reach the endpoint
// at (host:port).
func msiURL(hostPort string) string { return "http://" + hostPort + identity.MSIPath }

// register gives an instance of a site its IDENTITY_ENDPOINT and
// IDENTITY_HEADER variables; remove forgets the header. ns is the
// instance's network, nil on the host's.
func (e *msiEndpoint) register(site slipway.Site, ns *netns.Namespace) (env []string, remove func(), err error) {
	var addr netip.Addr
	if ns != nil {
		addr = ns.Addr()
	}
	return e.registerAt(site, addr)
}

// registerAt is register for an instance at addr (zero: on the host's
// network, any address).
func (e *msiEndpoint) registerAt(site slipway.Site, addr netip.Addr) (env []string, remove func(), err error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, nil, fmt.Errorf("generating the instance's IDENTITY_HEADER: %w", err)
	}
	x := hex.EncodeToString(b[:])
	header := x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
	inst := msiInstance{rg: site.ResourceGroup, site: site.Name, addr: addr}
	k := sha256.Sum256([]byte(header))
	e.mu.Lock()
	e.instances[k] = inst
	e.mu.Unlock()
	remove = func() {
		e.mu.Lock()
		delete(e.instances, k)
		e.mu.Unlock()
	}
	return []string{"IDENTITY_ENDPOINT=" + e.url, "IDENTITY_HEADER=" + header}, remove, nil
}

// find returns the instance a header was given to, if the request comes
// from that instance's address. Headers are keyed by their SHA-256, so a
// lookup's timing says nothing about how close a guess came.
func (e *msiEndpoint) find(header string, from netip.Addr) (msiInstance, bool) {
	if header == "" || len(header) > maxMSIHeaderBytes {
		return msiInstance{}, false
	}
	e.mu.Lock()
	inst, ok := e.instances[sha256.Sum256([]byte(header))]
	e.mu.Unlock()
	if !ok || (inst.addr.IsValid() && inst.addr != from.Unmap()) {
		return msiInstance{}, false
	}
	return inst, true
}

// identities reads a site's current managed identities.
func (e *msiEndpoint) identities(ctx context.Context, rg, site string) (identity.Instance, error) {
	var out identity.Instance
	ps, err := e.st.PrincipalsByResource(ctx, arm.SiteResourceID(e.sub, rg, site))
	if err != nil {
		return out, err
	}
	for i := range ps {
		if ps[i].Kind == store.SystemAssignedIdentity {
			out.SystemAssigned = &ps[i]
		}
	}
	uas, err := e.st.SiteUserAssignedIdentities(ctx, site)
	if err != nil {
		return out, err
	}
	for _, u := range uas {
		out.UserAssigned = append(out.UserAssigned, store.Principal{ObjectID: u.PrincipalID, AppID: u.ClientID,
			Kind: store.UserAssignedIdentity, DisplayName: u.Name, ResourceID: arm.IdentityResourceID(e.sub, u)})
	}
	return out, nil
}

// ServeHTTP answers the token requests of instances.
func (e *msiEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	from, _ := netip.ParseAddrPort(r.RemoteAddr)
	lookup := func(header string) (identity.Instance, bool) {
		inst, ok := e.find(header, from.Addr())
		if !ok {
			return identity.Instance{}, false
		}
		ids, err := e.identities(r.Context(), inst.rg, inst.site)
		if err != nil {
			// Answered as no identity matching; the reason is the
			// operator's to see.
			e.log.Error("reading an app's managed identities", "site", inst.site, "err", err)
			return identity.Instance{}, true
		}
		return ids, true
	}
	e.svc.MSIHandler(lookup).ServeHTTP(w, r)
}

// isMSIRequest reports whether a request on the gateway listener is for
// the managed-identity endpoint: its path, at an IP-literal host (the
// gateway's, or 127.0.0.1 translated to it), never an app's or the
// platform's name.
func isMSIRequest(r *http.Request) bool {
	if !strings.EqualFold(strings.TrimSuffix(r.URL.Path, "/"), identity.MSIPath) {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	_, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil
}

// gatewayHandler is what the instances' gateway listener serves: the
// managed-identity endpoint, and the front door for everything else.
func gatewayHandler(msi, fd http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isMSIRequest(r) {
			msi.ServeHTTP(w, r)
			return
		}
		fd.ServeHTTP(w, r)
	})
}
