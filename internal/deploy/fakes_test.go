package deploy

import (
	"context"
	"fmt"
	"sync"
	"syscall"

	"github.com/slipway-dev/slipway"
	rt "github.com/slipway-dev/slipway/internal/runtime"
)

// recordingStore is the part of Store the tests reach: deployment logs.
// Anything else panics (the embedded nil interface).
type recordingStore struct {
	Store
	mu          sync.Mutex
	deployments []slipway.Deployment // newest first
	entries     map[string][]slipway.DeploymentLogEntry
	details     map[string]string // entry id → details
}

func newRecordingStore(deployments ...slipway.Deployment) *recordingStore {
	return &recordingStore{deployments: deployments, entries: map[string][]slipway.DeploymentLogEntry{}, details: map[string]string{}}
}

func (s *recordingStore) ListDeployments(ctx context.Context, site string) ([]slipway.Deployment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slipway.Deployment(nil), s.deployments...), nil
}

func (s *recordingStore) AppendDeploymentLog(ctx context.Context, site, id string, e slipway.DeploymentLogEntry) (slipway.DeploymentLogEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[id] = append(s.entries[id], e)
	return e, nil
}

func (s *recordingStore) AppendDeploymentLogDetails(ctx context.Context, site, id, entryID, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.details[entryID] += text
	return nil
}

// log returns a deployment's entries as "type: message" lines.
func (s *recordingStore) log(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.entries[id] {
		out = append(out, fmt.Sprintf("%d: %s", e.Type, e.Message))
	}
	return out
}

// commandPlanner plans one-off commands as their bare argv.
type commandPlanner struct {
	Planner
	mu   sync.Mutex
	argv [][]string
}

func (p *commandPlanner) Command(ctx context.Context, s Snapshot, art Artifact, argv []string) (rt.Launch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.argv = append(p.argv, argv)
	return rt.Launch{Argv: argv, Dir: art.Dir}, nil
}

// scriptedLauncher "runs" a command by printing output and exiting with
// err; with hang it runs until its context ends, as a stuck command would.
// A real Django needs a Python environment with Django installed, which a
// unit test of the coordinator does not have.
type scriptedLauncher struct {
	output string
	err    error
	hang   bool
}

func (l scriptedLauncher) Start(ctx context.Context, launch rt.Launch) (rt.Process, error) {
	fmt.Fprint(launch.Stdout, l.output)
	return scriptedProcess{ctx: ctx, l: l}, nil
}

type scriptedProcess struct {
	ctx context.Context
	l   scriptedLauncher
}

func (p scriptedProcess) Wait() error {
	if p.l.hang {
		<-p.ctx.Done()
		return fmt.Errorf("killed: %w", p.ctx.Err())
	}
	return p.l.err
}

func (p scriptedProcess) Signal(syscall.Signal) error { return nil }
