package frontdoor

// The proxy's per-request costs, trimmed after profiling the front door
// under load (issue 13, docs/benchmarks.md "The front door"):
//
//   - Bodiless requests skip httputil.ReverseProxy: the front door forwards
//     them itself (forward.go), with the same behaviour.
//   - Responses are copied without a flush per write (FlushInterval 0):
//     httputil.ReverseProxy (and the direct path) still flush at once every response that is a
//     stream — text/event-stream, or any body of unknown length (chunked
//     long polls, streamed downloads) — so only responses whose length is
//     known up front lose the per-write flush, which cost a timer and an
//     extra write system call each.
//   - Copy buffers come from a pool instead of 32 KiB allocated per response.
//   - Each backend's base URL is parsed once, not on every request.
//   - The transport never asks the app for gzip on its own: the client's
//     Accept-Encoding goes through as sent, and a compressed answer is
//     passed through rather than inflated and re-chunked here.

import (
	"net/url"
	"sync"
)

// copyBufferSize is ReverseProxy's own default.
const copyBufferSize = 32 << 10

// bufferPool implements httputil.BufferPool.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}}
}

func (b *bufferPool) Get() []byte { return *(b.p.Get().(*[]byte)) }

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == copyBufferSize {
		buf = buf[:copyBufferSize]
		b.p.Put(&buf)
	}
}

// urlCache parses backend base URLs once. Instances come and go (each has
// its own address), so the cache is bounded: when full it starts over.
type urlCache struct {
	mu sync.RWMutex
	m  map[string]*url.URL
}

const urlCacheMax = 4096

// get returns the parsed base URL; callers must not modify it.
func (c *urlCache) get(raw string) (*url.URL, error) {
	c.mu.RLock()
	u, ok := c.m[raw]
	c.mu.RUnlock()
	if ok {
		return u, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= urlCacheMax {
		c.m = make(map[string]*url.URL)
	}
	c.m[raw] = u
	c.mu.Unlock()
	return u, nil
}
