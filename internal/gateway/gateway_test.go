package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
)

// fakeListener answers Accept from a script of results.
type fakeListener struct {
	results []any // net.Conn or error
}

func (l *fakeListener) Accept() (net.Conn, error) {
	if len(l.results) == 0 {
		return nil, net.ErrClosed
	}
	r := l.results[0]
	l.results = l.results[1:]
	if err, ok := r.(error); ok {
		return nil, err
	}
	return r.(net.Conn), nil
}
func (l *fakeListener) Close() error   { return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

// A client that uses up the process's descriptors (or the kernel's
// memory) makes Accept fail for a while: the gate waits and goes on, as
// net/http's server does, instead of returning, which would end every
// service Slipway runs.
func TestServeOutlastsAcceptErrors(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c2.Close()
	l := &fakeListener{results: []any{
		&net.OpError{Op: "accept", Net: "tcp", Err: fmt.Errorf("accept4: %w", syscall.EMFILE)},
		&net.OpError{Op: "accept", Net: "tcp", Err: fmt.Errorf("accept4: %w", syscall.ENFILE)},
		&net.OpError{Op: "accept", Net: "tcp", Err: fmt.Errorf("accept4: %w", syscall.ENOBUFS)},
		c1,
	}}
	handled := make(chan struct{}, 1)
	err := New(Limits{Max: 4, PerClient: 4, HandshakesPerClient: 4}).Serve(l, func(net.Conn, netip.Addr, func()) { handled <- struct{}{} })
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve returned %v before its listener closed", err)
	}
	<-handled // the connection after the errors was served
}
