package pgflex

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"
)

// TestAttack_SCRAMIterations: a tenant's administrator can give a role a
// SCRAM verifier with any iteration count; the proxy, signing in to the
// cluster as an Entra principal's role, refuses a count past its bound
// instead of spending the platform's CPU on it.
func TestAttack_SCRAMIterations(t *testing.T) {
	for _, tt := range []struct {
		iter string
		ok   bool
	}{{"4096", true}, {"100000000", false}, {"0", false}, {"x", false}} {
		cluster, proxy := net.Pipe()
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- signInAs(proxy, "pw") }()
		go func() {
			defer cluster.Close()
			cluster.Write(message('R', append([]byte{0, 0, 0, 10}, "SCRAM-SHA-256\x00\x00"...)))
			_, first, err := readMessage(cluster)
			if err != nil {
				return
			}
			// SASLInitialResponse: mechanism, length, client-first.
			msg := string(first[len("SCRAM-SHA-256\x00")+4:])
			nonce := msg[strings.Index(msg, "r=")+2:]
			serverFirst := "r=" + nonce + "srv,s=c2FsdHNhbHQ=,i=" + tt.iter
			body := make([]byte, 4)
			binary.BigEndian.PutUint32(body, 11)
			cluster.Write(message('R', append(body, serverFirst...)))
			readMessage(cluster) // the client-final, if it came
		}()
		err := <-done
		if tt.ok {
			// The exchange goes on to the client-final; the pipe's end
			// then fails the next read, which is not a refusal of ours.
			if err != nil && strings.Contains(err.Error(), "iterations") {
				t.Errorf("i=%s refused: %v", tt.iter, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), "iterations") {
			t.Errorf("i=%s: %v, want a refusal", tt.iter, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("i=%s took %s", tt.iter, d)
		}
		proxy.Close()
	}
}
