// Package nodetest finds, for tests, a Node.js that can load the npm
// packages a real client test drives (the Azure SDK for JavaScript, the
// GitHub Action for App Service's library), and runs a test's script with
// it. scripts/setup installs the packages into .ci/node from
// tests/node/package.json and scripts/test points NODE_PATH there. Without
// them a test skips, or fails when the CI environment variable is set, so
// that CI never passes by skipping.
package nodetest

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Node returns the path of a node that can require every one of modules.
func Node(t testing.TB, modules ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	for _, m := range modules {
		if err == nil {
			err = exec.Command(node, "-e", "require('"+m+"')").Run()
		}
	}
	if err != nil {
		msg := "node with " + strings.Join(modules, ", ") + " is not available (scripts/setup installs them into .ci/node; scripts/test sets NODE_PATH)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skipf("%s: %v", msg, err)
	}
	return node
}

// Script is a Node script a test runs against a server it started.
type Script struct {
	Path string   // the script, relative to the test's package
	Args []string // its arguments
	// Trust, if set, is the server's certificate, which the script's TLS
	// connections trust (through NODE_EXTRA_CA_CERTS) on top of the
	// system's roots.
	Trust *x509.Certificate
	// Timeout bounds the run; two minutes if zero.
	Timeout time.Duration
	// Answer, if set, sees each line the script prints; when it returns
	// ok, its reply is written to the script's stdin as a line. It lets a
	// script ask the test for what only the test can do (publish a DNS
	// record, say) and wait for it.
	Answer func(line string) (reply string, ok bool)
}

// Run runs s with node and fails the test unless the script exits 0. It
// returns the script's output (stdout and stderr, interleaved), which it
// also logs.
func Run(t testing.TB, node string, s Script) string {
	t.Helper()
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{s.Path}, s.Args...)...)
	cmd.Env = os.Environ()
	cmd.WaitDelay = 5 * time.Second
	if s.Trust != nil {
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Trust.Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "NODE_EXTRA_CA_CERTS="+ca)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var (
		out  strings.Builder
		wg   sync.WaitGroup
		werr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			out.WriteString(line + "\n")
			if s.Answer == nil {
				continue
			}
			if reply, ok := s.Answer(line); ok && werr == nil {
				_, werr = io.WriteString(stdin, reply+"\n")
			}
		}
		io.Copy(io.Discard, pr) // a line too long for the scanner
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	pw.Close()
	wg.Wait()
	stdin.Close()
	t.Logf("%s output:\n%s", s.Path, out.String())
	if err != nil || werr != nil {
		t.Fatalf("%s failed: %v %v", s.Path, err, werr)
	}
	return out.String()
}
