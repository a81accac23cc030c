package store

import (
	"testing"

	"github.com/slipway-dev/slipway"
)

// BenchmarkFindStorageAccountAccess is the lookup the blob service makes on
// every request to a storage account (docs/benchmarks.md).
func BenchmarkFindStorageAccountAccess(b *testing.B) {
	ctx := b.Context()
	s, err := Open(ctx, b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := s.PutStorageAccount(ctx, slipway.StorageAccount{ResourceGroup: "rg", Name: "media1", Location: "westeurope"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.FindStorageAccountAccess(ctx, "media1"); err != nil {
			b.Fatal(err)
		}
	}
}
