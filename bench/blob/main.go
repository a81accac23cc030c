// Command blob is the blob-storage benchmark: it runs one client workload —
// the Go SDK (azblob) with the development account's connection string —
// against each named Blob endpoint (Slipway's and Azurite's, started by
// bench/blob.sh), measures the disk's own speed on the filesystem that holds
// their data, and prints a Markdown table with the figures and the ratios
// last/first target and last target's upload speed as a share of the disk's
// speed for the same bytes, written to the same filesystem just before each
// upload.
//
// It owns only the measuring: starting the servers is bench/blob.sh's job.
// With -inproc it also serves Slipway's blob service (internal/blob) inside
// this process, so that -cpuprofile can show where the service spends its
// time.
//
// Every phase is bounded in count (flags) and in time (-phase-timeout and
// -deadline).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	slipblob "github.com/slipway-dev/slipway/internal/blob"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/blob:", err)
		os.Exit(1)
	}
}

// Config is one benchmark run's parameters.
type Config struct {
	Targets      []Target      // endpoints, in column order; ratios are last/first
	DiskDir      string        // a directory on the filesystem that holds the targets' data
	Rounds       int           // how many times the whole workload runs per target (alternating)
	SmallOps     int           // 1 KiB puts, then as many gets
	SmallSize    int           // bytes per small blob
	Concurrency  int           // workers for small operations
	LargeMiB     int           // size of the large blob
	LargeReps    int           // large upload/download repetitions per round
	ListBlobs    int           // blobs in the listing container
	ListConc     int           // workers creating the listing container's blobs
	ListReps     int           // listings per round
	DiskMiB      int           // size written (and fsynced) to measure the disk
	PhaseTimeout time.Duration // bound on each phase
}

// Target is one Blob endpoint under test.
type Target struct {
	Name     string // column heading, e.g. "Azurite 3.37.0"
	Endpoint string // account endpoint, e.g. http://127.0.0.1:10000/devstoreaccount1
}

// Run parses args, runs the benchmark and writes the Markdown table to stdout
// (progress goes to stderr).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench/blob", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var targets targetFlags
	fs.Var(&targets, "target", "NAME=ENDPOINT of a Blob account endpoint (repeatable; columns in this order, ratios last/first)")
	inproc := fs.String("inproc", "", "also serve Slipway's blob service in this process under this column NAME (data under -disk)")
	cfg := Config{}
	fs.StringVar(&cfg.DiskDir, "disk", "", "directory on the data directories' filesystem, for the disk measurement (required)")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "rounds of the whole workload; targets alternate within a round, and their order flips each round")
	fs.IntVar(&cfg.SmallOps, "small-ops", 2000, "small-blob puts (and as many gets)")
	fs.IntVar(&cfg.SmallSize, "small-size", 1024, "bytes per small blob")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "workers for small operations")
	fs.IntVar(&cfg.LargeMiB, "large-mib", 64, "MiB in the large blob")
	fs.IntVar(&cfg.LargeReps, "large-reps", 3, "large uploads and downloads per round")
	fs.IntVar(&cfg.ListBlobs, "list-blobs", 10000, "blobs in the listing container")
	fs.IntVar(&cfg.ListConc, "list-concurrency", 16, "workers creating the listing container's blobs")
	fs.IntVar(&cfg.ListReps, "list-reps", 3, "full listings per round")
	fs.IntVar(&cfg.DiskMiB, "disk-mib", 256, "MiB written and fsynced to measure the disk")
	fs.DurationVar(&cfg.PhaseTimeout, "phase-timeout", 3*time.Minute, "bound on each phase")
	deadline := fs.Duration("deadline", 9*time.Minute, "bound on the whole run")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process (client and any -inproc service) to FILE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.DiskDir == "" {
		return errors.New("-disk is required")
	}
	cfg.Targets = targets
	ctx, cancel := context.WithTimeout(ctx, *deadline)
	defer cancel()

	if *inproc != "" {
		endpoint, stop, err := serveInProcess(ctx, filepath.Join(cfg.DiskDir, "inproc-blob"))
		if err != nil {
			return err
		}
		defer stop()
		cfg.Targets = append(cfg.Targets, Target{Name: *inproc, Endpoint: endpoint})
	}
	if len(cfg.Targets) == 0 {
		return errors.New("no -target or -inproc given")
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("creating CPU profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("starting CPU profile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	res, err := Measure(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	return res.WriteMarkdown(stdout)
}

// targetFlags collects repeated -target NAME=ENDPOINT flags.
type targetFlags []Target

func (t *targetFlags) String() string { return fmt.Sprint(*t) }

func (t *targetFlags) Set(v string) error {
	name, endpoint, ok := strings.Cut(v, "=")
	if !ok || name == "" || endpoint == "" {
		return fmt.Errorf("want NAME=ENDPOINT, got %q", v)
	}
	*t = append(*t, Target{Name: name, Endpoint: strings.TrimRight(endpoint, "/")})
	return nil
}

// serveInProcess serves Slipway's blob service with the development account
// on a loopback port. stop shuts the server down and waits for it.
func serveInProcess(ctx context.Context, dir string) (endpoint string, stop func(), err error) {
	svc, err := slipblob.Open(ctx, slipblob.Config{Dir: dir, Accounts: devAccount{}})
	if err != nil {
		return "", nil, fmt.Errorf("opening in-process blob service: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		svc.Close()
		return "", nil, fmt.Errorf("listening for the in-process blob service: %w", err)
	}
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 30 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.Serve(ln) // returns http.ErrServerClosed after Shutdown
	}()
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		wg.Wait()
		svc.Close()
	}
	return "http://" + ln.Addr().String() + "/" + slipblob.DevelopmentAccountName, stop, nil
}

// devAccount serves only the development account.
type devAccount struct{}

func (devAccount) Account(ctx context.Context, name string) (slipblob.Account, error) {
	if name == slipblob.DevelopmentAccountName {
		return slipblob.DevelopmentAccount(), nil
	}
	return slipblob.Account{}, fmt.Errorf("storage account %q: %w", name, slipblob.ErrAccountNotFound)
}

// Metric names, in table order.
const (
	mSmallPut    = "small put"
	mSmallGet    = "small get"
	mListCreate  = "listing setup put"
	mUpload      = "upload"
	mUploadBlock = "upload in blocks"
	mDownload    = "download"
	mDownloadPar = "download in ranges"
	mList        = "list"
	mDiskWrite   = "disk write"
	mDiskBeside  = "disk write beside the uploads"
	mDiskRead    = "disk read"
	mDiskSync    = "disk small sync"
)

// Results holds every sample, by target name and metric.
type Results struct {
	cfg     Config
	samples map[string]map[string][]float64 // target → metric → samples
	disk    map[string][]float64            // metric → samples
	round   int                             // the round being measured
	byRound map[roundKey][]float64          // the same samples by round (disk under target "")
}

type roundKey struct {
	target, metric string
	round          int
}

func newResults(cfg Config) *Results {
	return &Results{cfg: cfg, samples: map[string]map[string][]float64{}, disk: map[string][]float64{}, byRound: map[roundKey][]float64{}}
}

func (r *Results) add(target, metric string, v float64) {
	if r.samples[target] == nil {
		r.samples[target] = map[string][]float64{}
	}
	r.samples[target][metric] = append(r.samples[target][metric], v)
	k := roundKey{target, metric, r.round}
	r.byRound[k] = append(r.byRound[k], v)
}

func (r *Results) addDisk(metric string, v float64) {
	r.disk[metric] = append(r.disk[metric], v)
	k := roundKey{"", metric, r.round}
	r.byRound[k] = append(r.byRound[k], v)
}

// PairedRatio is the median over rounds of num's metric divided by den's in
// the same round (each side the median of that round's samples; den "" is
// the disk's metric denMetric), so that a machine slowed down in one round
// slows both sides of that round's ratio alike.
// It also returns the per-round ratios.
func (r *Results) PairedRatio(num, metric, den, denMetric string) (float64, []float64, bool) {
	var ratios []float64
	for round := 0; round < r.cfg.Rounds; round++ {
		z, a := r.byRound[roundKey{num, metric, round}], r.byRound[roundKey{den, denMetric, round}]
		if len(z) == 0 || len(a) == 0 || median(a) == 0 || median(z) == 0 {
			continue
		}
		ratios = append(ratios, median(z)/median(a))
	}
	if len(ratios) == 0 {
		return 0, nil, false
	}
	return median(ratios), ratios, true
}

// cell renders a ratio and, when there were several rounds, each round's.
func cell(v float64, each []float64, format string) string {
	out := fmt.Sprintf(format, v)
	if len(each) > 1 {
		parts := make([]string, len(each))
		for i, e := range each {
			parts[i] = fmt.Sprintf(strings.TrimSuffix(strings.TrimSuffix(format, "%%"), "×"), e)
		}
		out += " (" + strings.Join(parts, " ") + ")"
	}
	return out
}

func median(s []float64) float64 {
	s = append([]float64(nil), s...)
	sort.Float64s(s)
	return s[(len(s)-1)/2]
}

// Median is the median sample of a target's metric (disk metrics under
// target ""), and whether there was any.
func (r *Results) Median(target, metric string) (float64, bool) {
	var s []float64
	if target == "" {
		s = r.disk[metric]
	} else {
		s = r.samples[target][metric]
	}
	if len(s) == 0 {
		return 0, false
	}
	return median(s), true
}

// Measure runs the workload against every target, alternating, and the disk
// measurement once per round.
func Measure(ctx context.Context, cfg Config, progress io.Writer) (*Results, error) {
	if cfg.Rounds < 1 || cfg.SmallOps < 1 || cfg.Concurrency < 1 || cfg.LargeMiB < 1 || cfg.LargeReps < 1 ||
		cfg.ListBlobs < 1 || cfg.ListConc < 1 || cfg.ListReps < 1 || cfg.DiskMiB < 1 || cfg.PhaseTimeout <= 0 {
		return nil, fmt.Errorf("every count must be at least 1 and the phase timeout positive: %+v", cfg)
	}
	res := newResults(cfg)
	transport := &http.Transport{
		Proxy:               nil, // loopback only
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        128,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: cfg.PhaseTimeout}
	clients := make([]*azblob.Client, len(cfg.Targets))
	for i, t := range cfg.Targets {
		c, err := azblob.NewClientFromConnectionString(connectionString(t.Endpoint), &azblob.ClientOptions{
			ClientOptions: azcore.ClientOptions{
				Transport: hc,
				Retry:     policy.RetryOptions{MaxRetries: -1}, // a failure must show, not be retried away
			},
		})
		if err != nil {
			return nil, fmt.Errorf("client for %s: %w", t.Name, err)
		}
		clients[i] = c
	}
	large := make([]byte, cfg.LargeMiB<<20)
	if _, err := rand.Read(large); err != nil {
		return nil, fmt.Errorf("making the large blob: %w", err)
	}
	for round := 0; round < cfg.Rounds; round++ {
		res.round = round
		if err := measureDisk(ctx, cfg, res); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "round %d: disk write %.0f MiB/s\n", round+1, last(res.disk[mDiskWrite]))
		for k := range cfg.Targets {
			i := k
			if round%2 == 1 {
				i = len(cfg.Targets) - 1 - k
			}
			w := &workload{cfg: cfg, res: res, name: cfg.Targets[i].Name, c: clients[i], round: round, large: large, progress: progress}
			if err := w.run(ctx); err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round+1, w.name, err)
			}
		}
	}
	return res, nil
}

func last(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// connectionString is the development account's, with an explicit endpoint.
func connectionString(endpoint string) string {
	return "DefaultEndpointsProtocol=http;AccountName=" + slipblob.DevelopmentAccountName +
		";AccountKey=" + slipblob.DevelopmentAccountKey + ";BlobEndpoint=" + endpoint + ";"
}

// workload is one round of the client workload against one target.
type workload struct {
	cfg      Config
	res      *Results
	name     string
	c        *azblob.Client
	round    int
	large    []byte
	progress io.Writer
}

func (w *workload) run(ctx context.Context) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"small blobs", w.small},
		{"large blob", w.largeTransfers},
		{"listing", w.listing},
	}
	for _, s := range steps {
		pctx, cancel := context.WithTimeout(ctx, w.cfg.PhaseTimeout)
		err := s.fn(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// small puts SmallOps blobs of SmallSize bytes with Concurrency workers,
// then gets each one back and checks its content.
func (w *workload) small(ctx context.Context) error {
	cname := fmt.Sprintf("small-r%d", w.round)
	if _, err := w.c.CreateContainer(ctx, cname, nil); err != nil {
		return fmt.Errorf("creating container %s: %w", cname, err)
	}
	body := func(i int) []byte {
		b := bytes.Repeat([]byte{byte('a' + i%26)}, w.cfg.SmallSize)
		copy(b, fmt.Sprintf("%08d", i))
		return b
	}
	name := func(i int) string { return fmt.Sprintf("small/%06d", i) }
	d, err := parallel(ctx, w.cfg.SmallOps, w.cfg.Concurrency, func(ctx context.Context, i int) error {
		_, err := w.c.UploadBuffer(ctx, cname, name(i), body(i), nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	w.res.add(w.name, mSmallPut, float64(w.cfg.SmallOps)/d.Seconds())
	d, err = parallel(ctx, w.cfg.SmallOps, w.cfg.Concurrency, func(ctx context.Context, i int) error {
		resp, err := w.c.DownloadStream(ctx, cname, name(i), nil)
		if err != nil {
			return err
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if !bytes.Equal(got, body(i)) {
			return fmt.Errorf("blob %s: got %d bytes that differ from the %d put", name(i), len(got), w.cfg.SmallSize)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	w.res.add(w.name, mSmallGet, float64(w.cfg.SmallOps)/d.Seconds())
	fmt.Fprintf(w.progress, "  %s: small put %.0f ops/s, get %.0f ops/s\n", w.name,
		last(w.res.samples[w.name][mSmallPut]), last(w.res.samples[w.name][mSmallGet]))
	return nil
}

// The block upload: blocks of 4 MiB (the SDKs' usual block size) staged
// 5 at a time (UploadBuffer's default concurrency).
const (
	blockSize        = 4 << 20
	blockConcurrency = 5
)

// largeTransfers uploads the large blob with the SDK's defaults (for 64 MiB
// that is one Put Blob) and in 4 MiB blocks (Put Block ×N, 5 at a time,
// then Put Block List), and downloads it with one
// streamed GET and with the SDK's parallel ranged download; each is timed and
// its content checked.
func (w *workload) largeTransfers(ctx context.Context) error {
	cname := fmt.Sprintf("large-r%d", w.round)
	if _, err := w.c.CreateContainer(ctx, cname, nil); err != nil {
		return fmt.Errorf("creating container %s: %w", cname, err)
	}
	mib := float64(len(w.large)) / (1 << 20)
	buf := make([]byte, len(w.large))
	beside, err := os.MkdirTemp(w.cfg.DiskDir, "beside-")
	if err != nil {
		return fmt.Errorf("large blob: %w", err)
	}
	defer os.RemoveAll(beside)
	for rep := 0; rep < w.cfg.LargeReps; rep++ {
		// The disk's speed for the same bytes, just before they are
		// uploaded (see writeSynced).
		d, err := writeSynced(filepath.Join(beside, fmt.Sprintf("rep%d", rep)), w.large)
		if err != nil {
			return fmt.Errorf("large blob: measuring the disk beside it: %w", err)
		}
		w.res.add(w.name, mDiskBeside, mib/d.Seconds())

		name := fmt.Sprintf("large-%d", rep)
		t0 := time.Now()
		if _, err := w.c.UploadBuffer(ctx, cname, name, w.large, nil); err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		w.res.add(w.name, mUpload, mib/time.Since(t0).Seconds())

		// UploadBuffer would send even 64 MiB in one Put Blob whatever its
		// BlockSize (the SDK stages blocks only above 256 MiB); UploadStream
		// stages them, as the SDKs do for large files.
		t0 = time.Now()
		if _, err := w.c.UploadStream(ctx, cname, name+"-blocks", bytes.NewReader(w.large),
			&azblob.UploadStreamOptions{BlockSize: blockSize, Concurrency: blockConcurrency}); err != nil {
			return fmt.Errorf("upload in blocks: %w", err)
		}
		w.res.add(w.name, mUploadBlock, mib/time.Since(t0).Seconds())
		if rep == 0 {
			bl, err := w.c.ServiceClient().NewContainerClient(cname).NewBlockBlobClient(name+"-blocks").
				GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
			if err != nil {
				return fmt.Errorf("upload in blocks: listing its blocks: %w", err)
			}
			want := (len(w.large) + blockSize - 1) / blockSize
			if want == 1 {
				want = 0 // one block's worth goes in one Put Blob
			}
			if len(bl.CommittedBlocks) != want {
				return fmt.Errorf("upload in blocks: %d committed blocks, want %d", len(bl.CommittedBlocks), want)
			}
		}

		clear(buf)
		t0 = time.Now()
		resp, err := w.c.DownloadStream(ctx, cname, name, nil)
		if err != nil {
			return fmt.Errorf("download: %w", err)
		}
		_, err = io.ReadFull(resp.Body, buf)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("download: reading body: %w", err)
		}
		w.res.add(w.name, mDownload, mib/time.Since(t0).Seconds())
		if !bytes.Equal(buf, w.large) {
			return errors.New("download: content differs from the upload")
		}

		clear(buf)
		t0 = time.Now()
		n, err := w.c.DownloadBuffer(ctx, cname, name+"-blocks", buf, nil)
		if err != nil {
			return fmt.Errorf("download in ranges: %w", err)
		}
		w.res.add(w.name, mDownloadPar, mib/time.Since(t0).Seconds())
		if n != int64(len(w.large)) || !bytes.Equal(buf, w.large) {
			return errors.New("download in ranges: content differs from the upload")
		}
	}
	s := w.res.samples[w.name]
	fmt.Fprintf(w.progress, "  %s: upload %.0f / %.0f (blocks) MiB/s, download %.0f / %.0f (ranges) MiB/s\n", w.name,
		last(s[mUpload]), last(s[mUploadBlock]), last(s[mDownload]), last(s[mDownloadPar]))
	return nil
}

// listing fills a container with ListBlobs blobs (first round only) and then
// times ListReps complete flat listings of it, page by page with the
// service's default page size.
func (w *workload) listing(ctx context.Context) error {
	const cname = "listing"
	if w.round == 0 {
		if _, err := w.c.CreateContainer(ctx, cname, nil); err != nil {
			return fmt.Errorf("creating container %s: %w", cname, err)
		}
		data := []byte("listing benchmark")
		d, err := parallel(ctx, w.cfg.ListBlobs, w.cfg.ListConc, func(ctx context.Context, i int) error {
			_, err := w.c.UploadBuffer(ctx, cname, fmt.Sprintf("dir%02d/blob-%06d", i%100, i), data, nil)
			return err
		})
		if err != nil {
			return fmt.Errorf("creating blobs: %w", err)
		}
		w.res.add(w.name, mListCreate, float64(w.cfg.ListBlobs)/d.Seconds())
	}
	for rep := 0; rep < w.cfg.ListReps; rep++ {
		t0 := time.Now()
		n, pages := 0, 0
		pager := w.c.NewListBlobsFlatPager(cname, &container.ListBlobsFlatOptions{})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("listing page %d: %w", pages+1, err)
			}
			pages++
			n += len(page.Segment.BlobItems)
		}
		if n != w.cfg.ListBlobs {
			return fmt.Errorf("listed %d blobs in %d pages, want %d", n, pages, w.cfg.ListBlobs)
		}
		w.res.add(w.name, mList, time.Since(t0).Seconds())
	}
	fmt.Fprintf(w.progress, "  %s: list %d blobs %.3f s\n", w.name, w.cfg.ListBlobs, last(w.res.samples[w.name][mList]))
	return nil
}

// parallel runs fn for 0..n-1 on conc workers and returns the wall time.
// The first error stops the rest and is returned.
func parallel(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	t0 := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = fmt.Errorf("operation %d: %w", i, err); cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return d, first
}

// measureDisk writes DiskMiB to a file in DiskDir in 1 MiB writes and fsyncs
// it (timed together), reads it back (whatever the page cache holds: nothing
// is dropped), and times SmallOps small atomic writes (temp file, write,
// fsync, rename) on Concurrency workers — the floor under a durable put.
// writeSynced writes data to a new file at path in 1 MiB writes and
// fsyncs it, and returns how long that took. The files are kept until the
// round's large transfers end, like the uploaded blobs: on a virtual disk,
// writing blocks never written before can be several times slower than
// rewriting freed ones (seen here: 350 against 2,100 MiB/s), so the uploads
// are compared with writes of the same bytes to the same filesystem, at the
// same time, rather than with the round's first disk figure alone.
func writeSynced(path string, data []byte) (time.Duration, error) {
	t0 := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	for off := 0; off < len(data); off += 1 << 20 {
		if _, err := f.Write(data[off:min(off+1<<20, len(data))]); err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	d := time.Since(t0)
	return d, f.Close()
}

func measureDisk(ctx context.Context, cfg Config, res *Results) error {
	dir, err := os.MkdirTemp(cfg.DiskDir, "disk-")
	if err != nil {
		return fmt.Errorf("measuring the disk: %w", err)
	}
	defer os.RemoveAll(dir)
	chunk := make([]byte, 1<<20)
	if _, err := rand.Read(chunk); err != nil {
		return fmt.Errorf("measuring the disk: %w", err)
	}
	path := filepath.Join(dir, "big")
	t0 := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("measuring the disk: %w", err)
	}
	for i := 0; i < cfg.DiskMiB; i++ {
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return fmt.Errorf("measuring the disk: writing: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("measuring the disk: fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("measuring the disk: %w", err)
	}
	res.addDisk(mDiskWrite, float64(cfg.DiskMiB)/time.Since(t0).Seconds())

	t0 = time.Now()
	f, err = os.Open(path)
	if err != nil {
		return fmt.Errorf("measuring the disk: %w", err)
	}
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, chunk)
	f.Close()
	if err != nil {
		return fmt.Errorf("measuring the disk: reading: %w", err)
	}
	res.addDisk(mDiskRead, float64(n)/(1<<20)/time.Since(t0).Seconds())

	small := chunk[:cfg.SmallSize]
	d, err := parallel(ctx, cfg.SmallOps, cfg.Concurrency, func(ctx context.Context, i int) error {
		final := filepath.Join(dir, fmt.Sprintf("s%06d", i))
		f, err := os.CreateTemp(dir, ".tmp-")
		if err != nil {
			return err
		}
		if _, err := f.Write(small); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(f.Name(), final)
	})
	if err != nil {
		return fmt.Errorf("measuring the disk: small synced writes: %w", err)
	}
	res.addDisk(mDiskSync, float64(cfg.SmallOps)/d.Seconds())
	return nil
}

// WriteMarkdown prints the table: one column per target (medians over rounds
// and repetitions), the ratio last/first, and for transfers the last
// target's speed as a share of the disk's write speed.
func (r *Results) WriteMarkdown(w io.Writer) error {
	c := r.cfg
	ts := c.Targets
	first, lastT := ts[0].Name, ts[len(ts)-1].Name
	var b strings.Builder
	b.WriteString("| measurement |")
	for _, t := range ts {
		fmt.Fprintf(&b, " %s |", t.Name)
	}
	ratio := len(ts) > 1
	if ratio {
		fmt.Fprintf(&b, " %s / %s |", lastT, first)
	}
	fmt.Fprintf(&b, " %s vs disk write |\n|---|", lastT)
	for range ts {
		b.WriteString("---:|")
	}
	if ratio {
		b.WriteString("---:|")
	}
	b.WriteString("---:|\n")

	diskW, _ := r.Median("", mDiskWrite)
	rows := []struct {
		metric, label, unit string
		lowerBetter, disk   bool
	}{
		{mSmallPut, fmt.Sprintf("small put: %d × %d B Put Blob, %d workers", c.SmallOps, c.SmallSize, c.Concurrency), "ops/s", false, false},
		{mSmallGet, fmt.Sprintf("small get: %d × %d B Get Blob, %d workers", c.SmallOps, c.SmallSize, c.Concurrency), "ops/s", false, false},
		{mUpload, fmt.Sprintf("upload %d MiB, `UploadBuffer` defaults (one Put Blob)", c.LargeMiB), "MiB/s", false, true},
		{mUploadBlock, fmt.Sprintf("upload %d MiB, `UploadStream` 4 MiB blocks, 5 at a time, + Put Block List", c.LargeMiB), "MiB/s", false, true},
		{mDownload, fmt.Sprintf("download %d MiB, `DownloadStream` (one GET)", c.LargeMiB), "MiB/s", false, false},
		{mDownloadPar, fmt.Sprintf("download %d MiB, `DownloadBuffer` defaults (4 MiB ranges)", c.LargeMiB), "MiB/s", false, false},
		{mListCreate, fmt.Sprintf("create %d blobs for listing, %d workers (not the listing figure)", c.ListBlobs, c.ListConc), "ops/s", false, false},
		{mList, fmt.Sprintf("list %d blobs, all pages (default page size)", c.ListBlobs), "s", true, false},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s (%s) |", row.label, row.unit)
		for _, t := range ts {
			v, ok := r.Median(t.Name, row.metric)
			if ok {
				fmt.Fprintf(&b, " %s |", format(v, row.unit))
			} else {
				b.WriteString(" – |")
			}
		}
		if ratio {
			v, each, ok := r.PairedRatio(lastT, row.metric, first, row.metric)
			switch {
			case !ok:
				b.WriteString(" – |")
			case row.lowerBetter:
				for i := range each {
					each[i] = 1 / each[i]
				}
				fmt.Fprintf(&b, " %s faster |", cell(1/v, each, "%.2f×"))
			default:
				fmt.Fprintf(&b, " %s |", cell(v, each, "%.2f×"))
			}
		}
		if v, each, ok := r.PairedRatio(lastT, row.metric, lastT, mDiskBeside); row.disk && ok {
			for i := range each {
				each[i] *= 100
			}
			fmt.Fprintf(&b, " %s |\n", cell(100*v, each, "%.0f%%"))
		} else {
			b.WriteString(" |\n")
		}
	}
	blank := strings.Repeat(" |", len(ts)+btoi(ratio)+1)
	dr, _ := r.Median("", mDiskRead)
	ds, _ := r.Median("", mDiskSync)
	besideBlank := strings.Repeat(" |", btoi(ratio)+1)
	fmt.Fprintf(&b, "| disk write: the same %d MiB to a new file + fsync, just before each upload (MiB/s) |", c.LargeMiB)
	for _, t := range ts {
		if v, ok := r.Median(t.Name, mDiskBeside); ok {
			fmt.Fprintf(&b, " %.0f |", v)
		} else {
			b.WriteString(" – |")
		}
	}
	fmt.Fprintf(&b, "%s\n", besideBlank)
	fmt.Fprintf(&b, "| disk write: %d MiB in 1 MiB writes + fsync, at the start of each round (MiB/s) | %.0f%s\n", c.DiskMiB, diskW, blank)
	fmt.Fprintf(&b, "| disk read of that file, page cache not dropped (MiB/s) | %.0f%s\n", dr, blank)
	fmt.Fprintf(&b, "| disk: %d B temp file + fsync + rename, %d workers (ops/s) | %.0f%s\n", c.SmallSize, c.Concurrency, ds, blank)
	fmt.Fprintf(&b, "\nFigures: medians over %d round(s) (large transfers ×%d and listings ×%d per round). Ratios: the median of each round's ratio"+
		" (in brackets), both sides measured back to back in that round; shares of the disk: each round's median upload"+
		" over the median of the disk writes of the same bytes made just before each of its uploads, in that target's column."+
		" Disk rows: the figure is in the first column.\n",
		c.Rounds, c.LargeReps, c.ListReps)
	_, err := io.WriteString(w, b.String())
	return err
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func format(v float64, unit string) string {
	if unit == "s" {
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.0f", v)
}
