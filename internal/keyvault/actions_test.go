package keyvault_test

import (
	"testing"

	"github.com/slipway-dev/slipway/internal/keyvault"
	"github.com/slipway-dev/slipway/internal/rbac"
)

// TestOperations_AzureDataActions: each operation asks RBAC for the data
// action Azure defines for it (https://learn.microsoft.com/azure/role-based-access-control/permissions/security#microsoftkeyvault:
// there is no deletedSecrets data action; reading deleted secrets is
// readMetadata, purging is secrets/purge/action, changing attributes is
// secrets/update/action), so the built-in roles grant what they grant on
// Azure: Key Vault Secrets Officer all of them (`az keyvault secret purge`
// and `list-deleted` in a teardown script), Secrets User only reading.
func TestOperations_AzureDataActions(t *testing.T) {
	officer, user := rbac.RoleByName("Key Vault Secrets Officer"), rbac.RoleByName("Key Vault Secrets User")
	for _, tc := range []struct {
		op       keyvault.Operation
		want     string
		userMay  bool
		policyOp string
	}{
		{keyvault.OpSet, "Microsoft.KeyVault/vaults/secrets/setSecret/action", false, "set"},
		{keyvault.OpGet, "Microsoft.KeyVault/vaults/secrets/getSecret/action", true, "get"},
		{keyvault.OpList, "Microsoft.KeyVault/vaults/secrets/readMetadata/action", true, "list"},
		{keyvault.OpUpdate, "Microsoft.KeyVault/vaults/secrets/update/action", false, "set"},
		{keyvault.OpDelete, "Microsoft.KeyVault/vaults/secrets/delete", false, "delete"},
		{keyvault.OpRecover, "Microsoft.KeyVault/vaults/secrets/recover/action", false, "recover"},
		{keyvault.OpPurge, "Microsoft.KeyVault/vaults/secrets/purge/action", false, "purge"},
		{keyvault.OpBackup, "Microsoft.KeyVault/vaults/secrets/backup/action", false, "backup"},
		{keyvault.OpRestore, "Microsoft.KeyVault/vaults/secrets/restore/action", false, "restore"},
		{keyvault.OpGetDeleted, "Microsoft.KeyVault/vaults/secrets/readMetadata/action", true, "list"},
		{keyvault.OpListDeleted, "Microsoft.KeyVault/vaults/secrets/readMetadata/action", true, "list"},
	} {
		t.Run(tc.op.Name, func(t *testing.T) {
			if tc.op.DataAction != tc.want || tc.op.Permission != tc.policyOp {
				t.Errorf("%s asks for %q / %q; Azure: %q / %q", tc.op.Name, tc.op.DataAction, tc.op.Permission, tc.want, tc.policyOp)
			}
			if !officer.Allows(tc.op.DataAction, true) {
				t.Errorf("Key Vault Secrets Officer may not %s", tc.op.Name)
			}
			if got := user.Allows(tc.op.DataAction, true); got != tc.userMay {
				t.Errorf("Key Vault Secrets User may %s: %v, want %v", tc.op.Name, got, tc.userMay)
			}
		})
	}
}
