package blob

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// The upload path: request bodies are copied to their content file by
// copyToFile. Hashing (MD5 for Content-MD5, CRC64 for x-ms-content-crc64)
// costs more CPU than the copy itself — MD5 runs at roughly the disk's
// speed on one core — so a large body is hashed on goroutines of its own,
// one per hash, while the next chunk is read from the socket and written.
// And the kernel is asked to start writing back every few MiB
// (sync_file_range on Linux), so that the fsync which acknowledges the
// upload finds little left to do.

const (
	// copyChunk is the unit read from the body, written and hashed.
	copyChunk = 1 << 20
	// copyChunks bounds the memory of one upload: chunks in flight
	// between the reader and the slowest hasher.
	copyChunks = 4
	// writebackEvery is how much is written before writeback is started.
	writebackEvery = 8 << 20
)

// chunkPool recycles copy buffers across requests (a 1 MiB allocation per
// request is otherwise a large share of a small request's cost).
var chunkPool = sync.Pool{New: func() any { b := make([]byte, copyChunk); return &b }}

// copyToFile copies r to f and feeds every byte to hashers, in order. It
// returns the number of bytes copied. All hashing has finished when it
// returns, so the caller may read the sums.
func copyToFile(f *os.File, r io.Reader, hashers []io.Writer) (int64, error) {
	first := chunkPool.Get().(*[]byte)
	n, err := io.ReadFull(r, *first)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		// The whole body fits one chunk: no goroutines.
		defer chunkPool.Put(first)
		b := (*first)[:n]
		for _, h := range hashers {
			h.Write(b)
		}
		if _, err := f.Write(b); err != nil {
			return 0, fmt.Errorf("writing content: %w", err)
		}
		return int64(n), nil
	}
	if err != nil {
		chunkPool.Put(first)
		return 0, fmt.Errorf("reading content: %w", err)
	}
	p := newHashPipeline(hashers)
	p.owned = 1 // first
	defer p.close()
	wb := writeback{f: f}
	total := int64(0)
	buf := first
	for {
		b := (*buf)[:n]
		if _, err := f.Write(b); err != nil {
			p.release(buf)
			return total, fmt.Errorf("writing content: %w", err)
		}
		total += int64(n)
		wb.wrote(total)
		p.hash(buf, n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, nil
		}
		buf = p.buffer()
		n, err = io.ReadFull(r, *buf)
		if err == io.EOF {
			p.release(buf)
			return total, nil
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			p.release(buf)
			return total, fmt.Errorf("reading content: %w", err)
		}
	}
}

// hashPipeline runs one goroutine per hasher. A chunk goes back to the
// pool of free chunks when every hasher has seen it; the pool's size
// bounds how far the hashers may lag behind the copy.
type hashPipeline struct {
	free  chan *[]byte
	feeds []chan hashChunk
	wg    sync.WaitGroup
	owned int // chunks taken from chunkPool, returned by close
}

type hashChunk struct {
	buf  *[]byte
	n    int
	refs *atomic.Int32
}

func newHashPipeline(hashers []io.Writer) *hashPipeline {
	p := &hashPipeline{free: make(chan *[]byte, copyChunks)}
	for _, h := range hashers {
		feed := make(chan hashChunk, copyChunks)
		p.feeds = append(p.feeds, feed)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for c := range feed {
				h.Write((*c.buf)[:c.n])
				if c.refs.Add(-1) == 0 {
					p.free <- c.buf
				}
			}
		}()
	}
	return p
}

// buffer returns a free chunk, waiting for the hashers if copyChunks are
// in flight.
func (p *hashPipeline) buffer() *[]byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	if p.owned < copyChunks {
		p.owned++
		return chunkPool.Get().(*[]byte)
	}
	return <-p.free
}

// release returns a chunk that was not handed to the hashers.
func (p *hashPipeline) release(b *[]byte) { p.free <- b }

// hash hands the first n bytes of buf to every hasher.
func (p *hashPipeline) hash(buf *[]byte, n int) {
	if len(p.feeds) == 0 {
		p.free <- buf
		return
	}
	refs := new(atomic.Int32)
	refs.Store(int32(len(p.feeds)))
	for _, feed := range p.feeds {
		feed <- hashChunk{buf: buf, n: n, refs: refs}
	}
}

// close waits for the hashers to finish and returns the chunks to the
// pool.
func (p *hashPipeline) close() {
	for _, feed := range p.feeds {
		close(feed)
	}
	p.wg.Wait()
	for {
		select {
		case b := <-p.free:
			chunkPool.Put(b)
		default:
			return
		}
	}
}

// writeback starts the kernel's writeback of a file being written, every
// writebackEvery bytes.
type writeback struct {
	f       *os.File
	started int64 // bytes handed to writeback so far
	failed  bool
}

func (w *writeback) wrote(total int64) {
	if w.failed || total-w.started < writebackEvery {
		return
	}
	if err := startWriteback(w.f, w.started, total-w.started); err != nil {
		// Only a hint: the fsync that acknowledges the upload still
		// writes everything, so a filesystem without it is not an error.
		w.failed = true
		return
	}
	w.started = total
}
