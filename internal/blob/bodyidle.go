package blob

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// errOperationTimedOut ends a request whose body stopped arriving. Azure
// Storage lists no 408 among its error codes: its common REST API error
// codes give OperationTimedOut, 500, "The operation could not be completed
// within the permitted time.", and Storage Analytics logs a request that
// timed out because of the client (ClientTimeoutError) as one "that
// returned an HTTP 500 status code". The SDKs retry a 500.
var errOperationTimedOut = newError(500, "OperationTimedOut", "The operation could not be completed within the permitted time.")

// idleBody is a request body that may send nothing for at most timeout:
// the connection's read deadline (through http.ResponseController, so it
// holds for HTTP/1 and HTTP/2 alike) is set when the request starts and
// moved on at every read, so a slow upload that keeps sending is never
// cut, and one that stalls fails its read with os.ErrDeadlineExceeded.
// The deadline also bounds net/http's draining of a body the handler did
// not read. Once the body has ended the deadline is cleared and no longer
// moved: net/http's HTTP/1 server then reads the connection in the
// background (clearing the deadline as it starts), and a deadline that a
// read past the end set again would cancel the request's context while it
// is still being served.
type idleBody struct {
	io.ReadCloser
	rc       *http.ResponseController // nil when the writer has no deadlines
	timeout  time.Duration
	ended    bool // read to its end, or stalled: the deadline is no longer moved
	timedOut atomic.Bool
}

// newIdleBody wraps r's body, and sets its first deadline, if it has one.
func newIdleBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) *idleBody {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b := &idleBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: timeout}
	if b.rc.SetReadDeadline(time.Now().Add(timeout)) != nil {
		b.rc = nil // http.ErrNotSupported: a writer that wraps another, a batch's sub-response
	}
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.rc == nil || b.ended {
		return b.ReadCloser.Read(p)
	}
	b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.ended = true
		b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The deadline stays passed: whatever net/http's server would
		// still read of this body fails at once.
		b.ended = true
		b.timedOut.Store(true)
	}
	return n, err
}

// stalled reports whether the body stopped arriving for longer than the
// timeout; nil has no body and never stalls.
func (b *idleBody) stalled() bool { return b != nil && b.timedOut.Load() }
