package store

import (
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestAttackDevelopmentAccountName: a tenant could create a storage account
// named devstoreaccount1. With --dev-storage (then or later) the blob
// service serves that name as the development account, with the key
// Microsoft publishes: the tenant's blobs were anyone's to read, and its
// own keys opened nothing. The name is reserved.
func TestAttackDevelopmentAccountName(t *testing.T) {
	s, _ := openTest(t)
	seed(t, s)
	_, created, err := s.PutStorageAccount(t.Context(), slipway.StorageAccount{ResourceGroup: "rg", Name: "devstoreaccount1", Location: "westeurope"})
	if created || slipway.ErrorCode(err) != slipway.EINVALID {
		t.Fatalf("PutStorageAccount(devstoreaccount1) = created %v, %v; want EINVALID", created, err)
	}
	if _, err := s.FindStorageAccountAccess(t.Context(), "devstoreaccount1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Fatalf("FindStorageAccountAccess(devstoreaccount1) = %v; want ENOTFOUND", err)
	}
}
