package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRunAgainstTwoInProcessServices runs the whole workload, scaled down,
// against two real in-process Slipway blob services (one as a -target, one
// as -inproc) and checks that every measurement row has a figure in each
// column and a ratio. The workload itself verifies every downloaded byte
// and the listing count, so a wrong answer from the service fails Run.
func TestRunAgainstTwoInProcessServices(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	endpoint, stop, err := serveInProcess(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var out, progress bytes.Buffer
	err = Run(ctx, []string{
		"-disk", t.TempDir(), "-target", "A=" + endpoint, "-inproc", "B",
		"-rounds", "2", "-small-ops", "40", "-concurrency", "4", "-large-mib", "2", "-large-reps", "2",
		"-list-blobs", "120", "-list-concurrency", "4", "-list-reps", "2", "-disk-mib", "2",
		"-phase-timeout", "1m", "-deadline", "2m",
	}, &out, &progress)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if got, want := lines[0], "| measurement | A | B | B / A | B vs disk write |"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	var rows int
	for _, l := range lines[2:] {
		if !strings.HasPrefix(l, "| ") || strings.HasPrefix(l, "| disk") {
			continue
		}
		rows++
		cells := strings.Split(strings.Trim(l, "|"), "|")
		if len(cells) != 5 {
			t.Errorf("row %q has %d cells, want 5", l, len(cells))
			continue
		}
		for i, c := range cells[1:4] {
			if c = strings.TrimSpace(c); c == "" || c == "–" || c == "0" || c == "0.000" {
				t.Errorf("row %q: cell %d is %q, want a figure", l, i+1, c)
			}
		}
	}
	if rows != 8 {
		t.Errorf("got %d measurement rows, want 8:\n%s", rows, out.String())
	}
}

// TestWriteMarkdown checks medians (the lower middle of an even count),
// ratios paired by round, their direction (higher is better for rates,
// lower for seconds) and the share of the disk's speed for the same bytes
// written beside each round's uploads.
func TestWriteMarkdown(t *testing.T) {
	cfg := Config{
		Targets:  []Target{{Name: "Azurite"}, {Name: "Slipway"}},
		Rounds:   2,
		SmallOps: 10, SmallSize: 1024, Concurrency: 8, LargeMiB: 64, LargeReps: 3,
		ListBlobs: 100, ListConc: 16, ListReps: 3, DiskMiB: 256,
	}
	r := newResults(cfg)
	for _, s := range []struct {
		round          int
		target, metric string
		v              float64
	}{
		{0, "", mDiskWrite, 400},
		{0, "", mDiskRead, 1000},
		{0, "", mDiskSync, 3000},
		{0, "Azurite", mSmallPut, 200},
		{0, "Slipway", mSmallPut, 600}, // ×3
		{0, "Azurite", mUpload, 100},
		{0, "Slipway", mUpload, 320}, // ×3.2, 80% of the disk beside it
		{0, "Slipway", mDiskBeside, 390},
		{0, "Slipway", mDiskBeside, 400}, // median of 390, 400, 410
		{0, "Slipway", mDiskBeside, 410},
		{0, "Azurite", mDiskBeside, 300},
		{0, "Azurite", mList, 2},
		{0, "Slipway", mList, 0.5},
		{1, "", mDiskWrite, 500},
		{1, "Azurite", mSmallPut, 100},
		{1, "Slipway", mSmallPut, 400}, // ×4
		{1, "Azurite", mUpload, 100},
		{1, "Slipway", mUpload, 250}, // ×2.5, 50% of the disk beside it
		{1, "Slipway", mDiskBeside, 500},
	} {
		r.round = s.round
		if s.target == "" {
			r.addDisk(s.metric, s.v)
		} else {
			r.add(s.target, s.metric, s.v)
		}
	}
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	rowsWanted := map[string]string{
		"small put":                       "| small put: 10 × 1024 B Put Blob, 8 workers (ops/s) | 100 | 400 | 3.00× (3.00 4.00) | |",
		"upload 64 MiB, `UploadBuffer` d": "| upload 64 MiB, `UploadBuffer` defaults (one Put Blob) (MiB/s) | 100 | 250 | 2.50× (3.20 2.50) | 50% (80 50) |",
		"list 100":                        "| list 100 blobs, all pages (default page size) (s) | 2.000 | 0.500 | 4.00× faster | |",
		"small get":                       "| small get: 10 × 1024 B Get Blob, 8 workers (ops/s) | – | – | – | |",
		"disk write: 256":                 "| disk write: 256 MiB in 1 MiB writes + fsync, at the start of each round (MiB/s) | 400 | | | |",
		"disk write: the same":            "| disk write: the same 64 MiB to a new file + fsync, just before each upload (MiB/s) | 300 | 400 | | |",
	}
	got := map[string]string{}
	for _, l := range strings.Split(b.String(), "\n") {
		for prefix := range rowsWanted {
			if strings.HasPrefix(l, "| "+prefix) {
				got[prefix] = l
			}
		}
	}
	if diff := cmp.Diff(rowsWanted, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s\nwhole table:\n%s", diff, b.String())
	}
}
