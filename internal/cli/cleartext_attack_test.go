package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAttackTokenOverPlainHTTPToAnotherMachine: pointed at a server on
// another machine over plain HTTP (--server or SLIPWAY_URL), the CLI sent
// the admin token (or SLIPWAY_TOKEN) and then the app's publishing
// credentials in the clear, readable by anyone on the path; the server's
// refusal comes too late to unsend them. azure-core likewise refuses to
// send a bearer token to an http URL (docs/arm.md §1.1). Plain HTTP to
// this machine (server.json's http://127.0.0.1:<port>) stays as it is.
func TestAttackTokenOverPlainHTTPToAnotherMachine(t *testing.T) {
	for _, server := range []string{"http://203.0.113.7:8080", "http://[2001:db8::7]:8080", "http://slipway.example.com:8080", "http://203.0.113.7"} {
		t.Run(server, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			r := defaultRunner([]string{"SLIPWAY_URL=" + server, "SLIPWAY_TOKEN=the-admin-token", "SLIPWAY_SUBSCRIPTION=" + fakeSub, "SLIPWAY_DATA=" + t.TempDir()},
				strings.NewReader(""), &out, &errb)
			err := r.run(ctx, []string{"group", "list"})
			var ee *ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %v; want the CLI's refusal", err)
			}
			if strings.Contains(ee.Message, "Cannot reach") || strings.Contains(ee.Message, "did not answer") {
				t.Fatalf("the CLI tried to send the token to %s: %s", server, ee.Message)
			}
			if want := "https" + strings.TrimPrefix(server, "http"); !strings.Contains(ee.Message+" "+ee.Hint, want) {
				t.Errorf("the refusal does not name %s: %s / %s", want, ee.Message, ee.Hint)
			}
		})
	}
	t.Run("this machine by name", func(t *testing.T) {
		f := newFakeServer(t)
		seed(t, f)
		var out, errb bytes.Buffer
		r := defaultRunner([]string{"SLIPWAY_URL=" + strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1), "SLIPWAY_TOKEN=" + fakeToken,
			"SLIPWAY_SUBSCRIPTION=" + fakeSub, "SLIPWAY_DATA=" + t.TempDir()}, strings.NewReader(""), &out, &errb)
		if err := r.run(t.Context(), []string{"group", "list"}); err != nil {
			t.Errorf("plain HTTP to localhost: %v\n%s", err, errb.String())
		}
	})
}
