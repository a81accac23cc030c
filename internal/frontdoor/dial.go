package frontdoor

// dialIP opens the upstream client's TCP connections to instances, which
// are always IP addresses (an instance's link address, or loopback). It
// exists because net.Dialer, with a timeout or a cancellable context,
// starts a goroutine per dial to interrupt the connect, builds a context
// with a deadline and its timer, and asks the kernel for the socket's own
// address (getsockname). For an app whose server
// closes every connection — gunicorn's sync worker under App Service's
// default line — that is paid per request: on the benchmark's small
// gunicorn app (4 interleaved pairs of wrk runs) the front door spent 250
// µs of CPU per request with net.Dialer and 227 µs with this, and served
// 10% more requests per second (docs/benchmarks.md, "The front door"). Here: socket, connect, and — when the connect is in progress —
// a wait for the socket to turn writable under a deadline, in the runtime's
// poller (no goroutine), then SO_ERROR and the peer's address, as net
// checks them. The caller's context still ends the wait (context.AfterFunc
// moves the deadline).
//
// Errors keep net.Dialer's shapes where the front door looks at them: a
// refused or timed-out connect is a *net.OpError with Op "dial" (the
// request may go to the next instance: nothing was sent), a cancelled
// one is the context's error.

import (
	"context"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// fileConn is a TCP connection held as an *os.File, whose Read, Write,
// Close and deadlines go through the same poller as net's.
type fileConn struct {
	*os.File
	remote *net.TCPAddr
}

func (c fileConn) LocalAddr() net.Addr  { return &net.TCPAddr{} } // not asked of the kernel
func (c fileConn) RemoteAddr() net.Addr { return c.remote }

// dialable reports whether dialIP can dial addr ("ip:port", no zone).
func dialable(addr string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

func dialIP(ctx context.Context, ap netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	remote := net.TCPAddrFromAddrPort(ap)
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: remote, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	family, sa := syscall.AF_INET6, syscall.Sockaddr(&syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()})
	if ap.Addr().Is4() {
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, opErr(os.NewSyscallError("socket", err))
	}
	err = syscall.Connect(fd, sa)
	if err != nil && err != syscall.EINPROGRESS && err != syscall.EINTR {
		syscall.Close(fd)
		return nil, opErr(os.NewSyscallError("connect", err))
	}
	// As net sets it: the request head goes out in one write anyway.
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	f := os.NewFile(uintptr(fd), "tcp "+remote.String()) // non-blocking: in the poller
	if err == nil {
		return fileConn{f, remote}, nil
	}
	var deadline time.Time // none: until the context ends
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	f.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(aLongTimeAgo) })
	rc, err := f.SyscallConn()
	var soErr error
	if err == nil {
		// Called at once, then after each time the poller sees the socket
		// writable. As net does: SO_ERROR says how the connect ended; 0
		// (also before it ended, or after a spurious wake-up) is
		// confirmed by the peer's address. (Checking before the first
		// wait matters: on loopback the answer has often come already,
		// and the poller's readiness may have been reset since.)
		err = rc.Write(func(fd uintptr) bool {
			v, gerr := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
			switch {
			case gerr != nil:
				soErr = gerr
			case v == 0:
				if _, perr := syscall.Getpeername(int(fd)); perr != nil {
					return false
				}
			case syscall.Errno(v) == syscall.EINPROGRESS || syscall.Errno(v) == syscall.EALREADY || syscall.Errno(v) == syscall.EINTR:
				return false
			case syscall.Errno(v) == syscall.EISCONN:
			default:
				soErr = syscall.Errno(v)
			}
			return true
		})
	}
	if !stop() {
		// The context ended while connecting; its deadline move may
		// come after ours: the connection cannot be used.
		f.Close()
		return nil, ctx.Err()
	}
	if err == nil {
		err = soErr
	}
	if err != nil {
		f.Close()
		return nil, opErr(os.NewSyscallError("connect", err))
	}
	f.SetWriteDeadline(time.Time{})
	return fileConn{f, remote}, nil
}
