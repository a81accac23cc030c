package kvref

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// One 25 KiB secret, referenced by thousands of settings that differ only
// in case or form (each a distinct Reference, so each decrypted again), is
// held once per reference: a 4 MiB settings document made one Resolve
// hold a gigabyte, and the config references API resolves on every GET.
// The values a Resolve hands out are bounded in total (an environment that
// large could not be exec'd anyway), and nothing past the bound is read.
func TestAttackResolvedValuesAreBounded(t *testing.T) {
	e := newEnv(t)
	e.secret(t, "kv-policy", "abcdefghij", strings.Repeat("v", slipway.MaxSecretValueBytes))
	settings := map[string]string{}
	for i := range 1 << 10 {
		name := []byte("abcdefghij")
		for b := range name {
			if i&(1<<b) != 0 {
				name[b] -= 'a' - 'A'
			}
		}
		settings[fmt.Sprintf("S%04d", i)] = "@Microsoft.KeyVault(VaultName=kv-policy;SecretName=" + string(name) + ")"
	}
	res := e.res.Resolve(t.Context(), slipway.Site{Name: "app"}, settings, nil)
	total, resolved := 0, 0
	for _, v := range res.Values() {
		total += len(v)
		resolved++
	}
	if total > MaxResolvedBytes {
		t.Fatalf("one Resolve handed out %d bytes of values (%d references), more than %d", total, resolved, MaxResolvedBytes)
	}
	if resolved == 0 || res.Err() == nil {
		t.Fatalf("resolved %d, Err %v: want the first references resolved and the rest refused", resolved, res.Err())
	}
	if f := res.Failed(); len(f) == 0 || f[0].Status != OtherReasons || !strings.Contains(f[0].Details, "bytes") {
		t.Fatalf("Failed()[0] = %v %q", f[0].Status, f[0].Details)
	}
}
