package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// Key vaults and their secrets (migration 0004_keyvault.sql). Vault names
// are global; a soft-deleted vault keeps its name and its secrets until it
// is purged. Secret values are sealed with the master key, bound to vault,
// name and version.

func errVaultNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.KeyVault/vaults/%s' under resource group '%s' was not found.", name, rg)
}

func errDeletedVaultNotFound(name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The specified deleted vault '%s' does not exist.", name)
}

// SecretNotFound is the message Key Vault gives for a missing secret.
func errSecretNotFound(vault, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name)
}

func errSecretVersionNotFound(name, version string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "A secret with (name/id) %s/%s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name, version)
}

func errDeletedSecretNotFound(name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "Deleted Secret not found: %s", name)
}

// ErrSecretDeleted is the Conflict a write to a soft-deleted name gets.
func errSecretDeleted(name string) error {
	return slipway.Errorf(slipway.ECONFLICT, "Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", name)
}

// aadSecret binds a sealed secret value to its vault, name and version.
func aadSecret(vault, name, version string) string {
	return "kv-secret\x00" + strings.ToLower(vault) + "\x00" + strings.ToLower(name) + "\x00" + version
}

// vaultProps is the JSON in key_vaults.properties.
type vaultProps struct {
	EnableRBACAuthorization bool                   `json:"enableRbacAuthorization"`
	AccessPolicies          []slipway.AccessPolicy `json:"accessPolicies"`
	PublicNetworkAccess     string                 `json:"publicNetworkAccess,omitempty"`
	// The services that may read the vault's secrets (none by default).
	EnabledForDeployment         bool `json:"enabledForDeployment,omitempty"`
	EnabledForDiskEncryption     bool `json:"enabledForDiskEncryption,omitempty"`
	EnabledForTemplateDeployment bool `json:"enabledForTemplateDeployment,omitempty"`
}

func propsOf(v slipway.Vault) vaultProps {
	return vaultProps{EnableRBACAuthorization: v.EnableRBACAuthorization, AccessPolicies: v.AccessPolicies, PublicNetworkAccess: v.PublicNetworkAccess,
		EnabledForDeployment: v.EnabledForDeployment, EnabledForDiskEncryption: v.EnabledForDiskEncryption, EnabledForTemplateDeployment: v.EnabledForTemplateDeployment}
}

const vaultSelect = `SELECT name, resource_group, location, tenant_id, sku, tags, properties, retention_days, purge_protection, created, deleted, scheduled_purge FROM key_vaults`

func scanVault(r rowScanner) (slipway.Vault, error) {
	var v slipway.Vault
	var tags, props string
	var pp int
	var created, deleted, purge int64
	if err := r.Scan(&v.Name, &v.ResourceGroup, &v.Location, &v.TenantID, &v.SKU, &tags, &props, &v.SoftDeleteRetentionDays, &pp, &created, &deleted, &purge); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return v, err
		}
		return v, fmt.Errorf("reading vault: %w", err)
	}
	var err error
	if v.Tags, err = decodeTags(tags); err != nil {
		return v, err
	}
	var p vaultProps
	if err := json.Unmarshal([]byte(props), &p); err != nil {
		return v, fmt.Errorf("decoding vault properties: %w", err)
	}
	v.EnableRBACAuthorization, v.AccessPolicies, v.PublicNetworkAccess = p.EnableRBACAuthorization, p.AccessPolicies, p.PublicNetworkAccess
	v.EnabledForDeployment, v.EnabledForDiskEncryption, v.EnabledForTemplateDeployment = p.EnabledForDeployment, p.EnabledForDiskEncryption, p.EnabledForTemplateDeployment
	if v.AccessPolicies == nil {
		v.AccessPolicies = []slipway.AccessPolicy{}
	}
	v.EnablePurgeProtection = pp != 0
	v.Created, v.Deleted, v.ScheduledPurge = fromUnix(created), fromUnix(deleted), fromUnix(purge)
	return v, nil
}

// PutVault creates the vault or updates it (tags, SKU, access model,
// access policies, retention, purge protection). The resource group must
// exist. A name taken by a vault in another group, or by a soft-deleted
// vault, is ECONFLICT with Azure's messages. Purge protection, once on,
// stays on, and the retention of an existing vault cannot change, as in
// Azure. It returns the stored vault and whether it was created.
func (s *Store) PutVault(ctx context.Context, v slipway.Vault) (slipway.Vault, bool, error) {
	if err := v.Validate(); err != nil {
		return slipway.Vault{}, false, err
	}
	v.SKU = strings.ToLower(v.SKU)
	if v.SKU == "" {
		v.SKU = "standard"
	}
	if v.PublicNetworkAccess == "" {
		v.PublicNetworkAccess = "Enabled"
	}
	var out slipway.Vault
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, v.ResourceGroup)
		if err != nil {
			return err
		}
		v.ResourceGroup = g.Name
		if strings.TrimSpace(v.Location) == "" {
			v.Location = g.Location
		}
		old, err := scanVault(tx.QueryRowContext(ctx, vaultSelect+` WHERE name = ?`, v.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if v.Created.IsZero() {
				v.Created = s.now().UTC()
			}
			v.Deleted, v.ScheduledPurge = time.Time{}, time.Time{}
			if err := insertVault(ctx, tx, v); err != nil {
				return err
			}
			out, created = v, true
			return nil
		case err != nil:
			return err
		case !old.Deleted.IsZero():
			return slipway.Errorf(slipway.ECONFLICT, "A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault.")
		case !strings.EqualFold(old.ResourceGroup, v.ResourceGroup):
			return slipway.Errorf(slipway.ECONFLICT, "The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken.", v.Name)
		case !strings.EqualFold(old.Location, v.Location):
			return slipway.Errorf(slipway.ECONFLICT, "The vault %s already exists in location '%s'; its location cannot be changed to '%s'.", old.Name, old.Location, v.Location)
		case old.EnablePurgeProtection && !v.EnablePurgeProtection:
			return slipway.Errorf(slipway.ECONFLICT, "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.")
		}
		if v.SoftDeleteRetentionDays == 0 {
			v.SoftDeleteRetentionDays = old.SoftDeleteRetentionDays
		} else if v.SoftDeleteRetentionDays != old.SoftDeleteRetentionDays {
			return slipway.Errorf(slipway.EINVALID, "The property \"softDeleteRetentionInDays\" has been set already and it can't be modified.")
		}
		v.Name, v.Created, v.TenantID = old.Name, old.Created, old.TenantID
		props, _ := json.Marshal(propsOf(v))
		if _, err := tx.ExecContext(ctx, `UPDATE key_vaults SET sku = ?, tags = ?, properties = ?, purge_protection = ? WHERE name = ?`,
			v.SKU, encodeTags(v.Tags), string(props), boolInt(v.EnablePurgeProtection), old.Name); err != nil {
			return fmt.Errorf("updating vault: %w", err)
		}
		out = v
		return nil
	})
	if err != nil {
		return slipway.Vault{}, false, err
	}
	return normalizeVault(out), created, nil
}

func insertVault(ctx context.Context, tx *sql.Tx, v slipway.Vault) error {
	props, _ := json.Marshal(propsOf(v))
	if _, err := tx.ExecContext(ctx, `INSERT INTO key_vaults (name, resource_group, location, tenant_id, sku, tags, properties, retention_days, purge_protection, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Name, v.ResourceGroup, v.Location, v.TenantID, v.SKU, encodeTags(v.Tags), string(props),
		v.RetentionDays(), boolInt(v.EnablePurgeProtection), toUnix(v.Created)); err != nil {
		return fmt.Errorf("inserting vault: %w", err)
	}
	return nil
}

// normalizeVault fills what a caller-built vault may lack, so that what
// PutVault returns equals what Vault reads back.
func normalizeVault(v slipway.Vault) slipway.Vault {
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	if v.AccessPolicies == nil {
		v.AccessPolicies = []slipway.AccessPolicy{}
	}
	v.SoftDeleteRetentionDays = v.RetentionDays()
	return v
}

// Vault returns the active vault in the resource group (both names
// case-insensitive).
func (s *Store) Vault(ctx context.Context, rg, name string) (slipway.Vault, error) {
	v, err := scanVault(s.read.QueryRowContext(ctx, vaultSelect+` WHERE name = ? AND resource_group = ? AND deleted = 0`, name, rg))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Vault{}, errVaultNotFound(rg, name)
	}
	return v, err
}

// FindVault returns the active vault of that name in whatever group holds
// it: what the data plane needs for a request to <name>.vault.<domain>.
func (s *Store) FindVault(ctx context.Context, name string) (slipway.Vault, error) {
	v, err := scanVault(s.read.QueryRowContext(ctx, vaultSelect+` WHERE name = ? AND deleted = 0`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Vault{}, slipway.Errorf(slipway.ENOTFOUND, "The vault '%s' was not found.", name)
	}
	return v, err
}

// VaultNameTaken reports whether any vault, active or soft-deleted, has
// the name (ARM's checkNameAvailability).
func (s *Store) VaultNameTaken(ctx context.Context, name string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM key_vaults WHERE name = ?`, name).Scan(&n); err != nil {
		return false, fmt.Errorf("checking vault name: %w", err)
	}
	return n > 0, nil
}

// Vaults lists the active vaults in the group ("" for all), by name. A
// missing group is ENOTFOUND.
func (s *Store) Vaults(ctx context.Context, rg string) ([]slipway.Vault, error) {
	if rg != "" {
		if _, err := s.ResourceGroup(ctx, rg); err != nil {
			return nil, err
		}
		return s.listVaults(ctx, ` WHERE deleted = 0 AND resource_group = ? ORDER BY name`, rg)
	}
	return s.listVaults(ctx, ` WHERE deleted = 0 ORDER BY name`)
}

// DeletedVaults lists the soft-deleted vaults, by name.
func (s *Store) DeletedVaults(ctx context.Context) ([]slipway.Vault, error) {
	return s.listVaults(ctx, ` WHERE deleted <> 0 ORDER BY name`)
}

func (s *Store) listVaults(ctx context.Context, where string, args ...any) ([]slipway.Vault, error) {
	return listRows(ctx, s.read, "listing vaults", scanVault, vaultSelect+where, args...)
}

// DeletedVault returns the soft-deleted vault of that name.
func (s *Store) DeletedVault(ctx context.Context, name string) (slipway.Vault, error) {
	v, err := scanVault(s.read.QueryRowContext(ctx, vaultSelect+` WHERE name = ? AND deleted <> 0`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Vault{}, errDeletedVaultNotFound(name)
	}
	return v, err
}

// DeleteVault soft-deletes the vault: it keeps its name and secrets for its
// retention period, and can be recovered or (without purge protection)
// purged.
func (s *Store) DeleteVault(ctx context.Context, rg, name string) (slipway.Vault, error) {
	var out slipway.Vault
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		v, err := scanVault(tx.QueryRowContext(ctx, vaultSelect+` WHERE name = ? AND resource_group = ? AND deleted = 0`, name, rg))
		if errors.Is(err, sql.ErrNoRows) {
			return errVaultNotFound(rg, name)
		} else if err != nil {
			return err
		}
		now := s.now().UTC()
		v.Deleted, v.ScheduledPurge = now, now.AddDate(0, 0, v.RetentionDays())
		if _, err := tx.ExecContext(ctx, `UPDATE key_vaults SET deleted = ?, scheduled_purge = ? WHERE name = ?`,
			toUnix(v.Deleted), toUnix(v.ScheduledPurge), v.Name); err != nil {
			return fmt.Errorf("deleting vault: %w", err)
		}
		out = v
		return nil
	})
	return out, err
}

// RecoverVault brings a soft-deleted vault back, with its secrets, into its
// resource group, which must exist.
func (s *Store) RecoverVault(ctx context.Context, name string) (slipway.Vault, error) {
	var out slipway.Vault
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		v, err := scanVault(tx.QueryRowContext(ctx, vaultSelect+` WHERE name = ? AND deleted <> 0`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return errDeletedVaultNotFound(name)
		} else if err != nil {
			return err
		}
		if _, err := scanGroup(tx.QueryRowContext(ctx, groupSelect+` WHERE name = ?`, v.ResourceGroup)); errors.Is(err, sql.ErrNoRows) {
			return errGroupNotFound(v.ResourceGroup)
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE key_vaults SET deleted = 0, scheduled_purge = 0 WHERE name = ?`, v.Name); err != nil {
			return fmt.Errorf("recovering vault: %w", err)
		}
		v.Deleted, v.ScheduledPurge = time.Time{}, time.Time{}
		out = v
		return nil
	})
	return out, err
}

// PurgeVault deletes a soft-deleted vault and all its secrets for good. A
// vault with purge protection cannot be purged before its scheduled date.
func (s *Store) PurgeVault(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		v, err := scanVault(tx.QueryRowContext(ctx, vaultSelect+` WHERE name = ? AND deleted <> 0`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return errDeletedVaultNotFound(name)
		} else if err != nil {
			return err
		}
		if v.EnablePurgeProtection && s.now().Before(v.ScheduledPurge) {
			return slipway.Errorf(slipway.ECONFLICT, "Operation 'DeletedVaultPurge' is not allowed as the vault '%s' has purge protection enabled.", v.Name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM key_vaults WHERE name = ?`, v.Name); err != nil {
			return fmt.Errorf("purging vault: %w", err)
		}
		return nil
	})
}

// PurgeExpiredVaultObjects purges the vaults and secrets whose scheduled
// purge date has passed. The integrator calls it now and then; it returns
// how many vaults and secrets it purged.
func (s *Store) PurgeExpiredVaultObjects(ctx context.Context) (vaults, secrets int, err error) {
	now := toUnix(s.now().UTC())
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM key_vaults WHERE deleted <> 0 AND scheduled_purge <= ?`, now)
		if err != nil {
			return fmt.Errorf("purging expired vaults: %w", err)
		}
		n, _ := res.RowsAffected()
		vaults = int(n)
		if _, err := tx.ExecContext(ctx, `DELETE FROM key_vault_secrets WHERE (vault, name) IN (SELECT vault, name FROM key_vault_deleted_secrets WHERE scheduled_purge <= ?)`, now); err != nil {
			return fmt.Errorf("purging expired secrets: %w", err)
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM key_vault_deleted_secrets WHERE scheduled_purge <= ?`, now)
		if err != nil {
			return fmt.Errorf("purging expired secrets: %w", err)
		}
		n, _ = res.RowsAffected()
		secrets = int(n)
		return nil
	})
	return vaults, secrets, err
}

const secretSelect = `SELECT vault, name, version, value, content_type, enabled, nbf, exp, tags, created, updated FROM key_vault_secrets`

func (s *Store) scanSecret(r rowScanner, withValue bool) (slipway.Secret, error) {
	var sec slipway.Secret
	var sealed []byte
	var enabled int
	var nbf, exp, created, updated int64
	var tags string
	if err := r.Scan(&sec.Vault, &sec.Name, &sec.Version, &sealed, &sec.ContentType, &enabled, &nbf, &exp, &tags, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return sec, err
		}
		return sec, fmt.Errorf("reading secret: %w", err)
	}
	var err error
	if sec.Tags, err = decodeTags(tags); err != nil {
		return sec, err
	}
	sec.Enabled = enabled != 0
	sec.NotBefore, sec.Expires, sec.Created, sec.Updated = fromUnix(nbf), fromUnix(exp), fromUnix(created), fromUnix(updated)
	if withValue {
		if sec.Value, err = s.open(sealed, aadSecret(sec.Vault, sec.Name, sec.Version)); err != nil {
			return sec, fmt.Errorf("reading secret %s/%s: %w", sec.Vault, sec.Name, err)
		}
	}
	return sec, nil
}

// activeVaultTx checks, inside a transaction, that the vault exists and is
// not deleted, and returns it.
func activeVaultTx(ctx context.Context, q querier, name string) (slipway.Vault, error) {
	v, err := scanVault(q.QueryRowContext(ctx, vaultSelect+` WHERE name = ? AND deleted = 0`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return v, slipway.Errorf(slipway.ENOTFOUND, "The vault '%s' was not found.", name)
	}
	return v, err
}

func secretDeleted(ctx context.Context, q querier, vault, name string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM key_vault_deleted_secrets WHERE vault = ? AND name = ?`, vault, name).Scan(&n); err != nil {
		return false, fmt.Errorf("reading deleted secrets: %w", err)
	}
	return n > 0, nil
}

// SetSecret stores a new version of the secret (a fresh random version
// id; created and updated now) and returns it. The name keeps the casing
// of its first version. A soft-deleted name is ECONFLICT.
func (s *Store) SetSecret(ctx context.Context, sec slipway.Secret) (slipway.Secret, error) {
	if err := slipway.ValidateSecretName(sec.Name); err != nil {
		return slipway.Secret{}, err
	}
	var out slipway.Secret
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		v, err := activeVaultTx(ctx, tx, sec.Vault)
		if err != nil {
			return err
		}
		sec.Vault = v.Name
		if del, err := secretDeleted(ctx, tx, v.Name, sec.Name); err != nil {
			return err
		} else if del {
			return errSecretDeleted(sec.Name)
		}
		var first string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM key_vault_secrets WHERE vault = ? AND name = ? ORDER BY seq LIMIT 1`, v.Name, sec.Name).Scan(&first); err == nil {
			sec.Name = first
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reading secret: %w", err)
		}
		if sec.Version, err = newHexID(); err != nil {
			return err
		}
		now := s.now().UTC()
		sec.Created, sec.Updated = now, now
		if err := s.insertSecret(ctx, tx, sec); err != nil {
			return err
		}
		out = sec
		return nil
	})
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	return out, err
}

func (s *Store) insertSecret(ctx context.Context, tx *sql.Tx, sec slipway.Secret) error {
	sealed, err := s.seal(sec.Value, aadSecret(sec.Vault, sec.Name, sec.Version))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO key_vault_secrets (vault, name, version, value, content_type, enabled, nbf, exp, tags, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sec.Vault, sec.Name, sec.Version, sealed, sec.ContentType, boolInt(sec.Enabled),
		toUnix(sec.NotBefore), toUnix(sec.Expires), encodeTags(sec.Tags), toUnix(sec.Created), toUnix(sec.Updated)); err != nil {
		return fmt.Errorf("inserting secret: %w", err)
	}
	return nil
}

// Secret returns one version of an active secret, with its value; version
// "" is the latest.
func (s *Store) Secret(ctx context.Context, vault, name, version string) (slipway.Secret, error) {
	return s.secret(ctx, s.read, vault, name, version, false)
}

func (s *Store) secret(ctx context.Context, q querier, vault, name, version string, deleted bool) (slipway.Secret, error) {
	del, err := secretDeleted(ctx, q, vault, name)
	if err != nil {
		return slipway.Secret{}, err
	}
	if del != deleted {
		if deleted {
			return slipway.Secret{}, errDeletedSecretNotFound(name)
		}
		return slipway.Secret{}, errSecretNotFound(vault, name)
	}
	query, args := secretSelect+` WHERE vault = ? AND name = ? ORDER BY seq DESC LIMIT 1`, []any{vault, name}
	if version != "" {
		query, args = secretSelect+` WHERE vault = ? AND name = ? AND version = ?`, []any{vault, name, strings.ToLower(version)}
	}
	sec, err := s.scanSecret(q.QueryRowContext(ctx, query, args...), true)
	if errors.Is(err, sql.ErrNoRows) {
		switch {
		case deleted:
			return sec, errDeletedSecretNotFound(name)
		case version != "":
			return sec, errSecretVersionNotFound(name, version)
		}
		return sec, errSecretNotFound(vault, name)
	}
	return sec, err
}

// SecretPage lists the latest version of each active secret (deleted
// false) or of each soft-deleted secret (deleted true), without values,
// ordered by name case-insensitively, at most limit of them after the name
// after ("" from the start). more says whether a next page exists.
func (s *Store) SecretPage(ctx context.Context, vault string, deleted bool, after string, limit int) (page []slipway.DeletedSecret, more bool, err error) {
	cond := `NOT EXISTS`
	if deleted {
		cond = `EXISTS`
	}
	query := `SELECT s.vault, s.name, s.version, s.value, s.content_type, s.enabled, s.nbf, s.exp, s.tags, s.created, s.updated,
			coalesce(d.deleted, 0), coalesce(d.scheduled_purge, 0)
		FROM key_vault_secrets s LEFT JOIN key_vault_deleted_secrets d ON d.vault = s.vault AND d.name = s.name
		WHERE s.vault = ? AND s.name > ? AND ` + cond + ` (SELECT 1 FROM key_vault_deleted_secrets x WHERE x.vault = s.vault AND x.name = s.name)
			AND s.seq = (SELECT max(seq) FROM key_vault_secrets m WHERE m.vault = s.vault AND m.name = s.name)
		ORDER BY s.name COLLATE NOCASE LIMIT ?`
	err = eachRow(ctx, s.read, "listing secrets", func(r rowScanner) error {
		var d slipway.DeletedSecret
		var del, purge int64
		sc := scanFunc(func(dest ...any) error { return r.Scan(append(dest, &del, &purge)...) })
		var err error
		if d.Secret, err = s.scanSecret(sc, false); err != nil {
			return err
		}
		d.Deleted, d.ScheduledPurge = fromUnix(del), fromUnix(purge)
		page = append(page, d)
		return nil
	}, query, vault, after, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(page) > limit {
		return page[:limit], true, nil
	}
	return page, false, nil
}

// scanFunc adapts a function to rowScanner.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// SecretVersionPage lists the versions of an active secret without values,
// oldest first, at most limit after the offset skip. A missing or deleted
// secret gives an empty list, as Key Vault does.
func (s *Store) SecretVersionPage(ctx context.Context, vault, name string, skip, limit int) (page []slipway.Secret, more bool, err error) {
	err = eachRow(ctx, s.read, "listing secret versions", func(r rowScanner) error {
		sec, err := s.scanSecret(r, false)
		if err != nil {
			return err
		}
		page = append(page, sec)
		return nil
	}, secretSelect+` WHERE vault = ? AND name = ?
		AND NOT EXISTS (SELECT 1 FROM key_vault_deleted_secrets x WHERE x.vault = ? AND x.name = ?)
		ORDER BY seq LIMIT ? OFFSET ?`, vault, name, vault, name, limit+1, skip)
	if err != nil {
		return nil, false, err
	}
	if len(page) > limit {
		return page[:limit], true, nil
	}
	return page, false, nil
}

// UpdateSecret changes the attributes of one version of an active secret
// (version "" is the latest) and returns it with its value.
func (s *Store) UpdateSecret(ctx context.Context, vault, name, version string, u slipway.SecretUpdate) (slipway.Secret, error) {
	var out slipway.Secret
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		sec, err := s.secret(ctx, tx, vault, name, version, false)
		if err != nil {
			return err
		}
		if u.ContentType != nil {
			sec.ContentType = *u.ContentType
		}
		if u.Enabled != nil {
			sec.Enabled = *u.Enabled
		}
		if u.NotBefore != nil {
			sec.NotBefore = *u.NotBefore
		}
		if u.Expires != nil {
			sec.Expires = *u.Expires
		}
		if u.Tags != nil {
			sec.Tags = *u.Tags
		}
		sec.Updated = s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE key_vault_secrets SET content_type = ?, enabled = ?, nbf = ?, exp = ?, tags = ?, updated = ?
			WHERE vault = ? AND name = ? AND version = ?`,
			sec.ContentType, boolInt(sec.Enabled), toUnix(sec.NotBefore), toUnix(sec.Expires), encodeTags(sec.Tags), toUnix(sec.Updated),
			sec.Vault, sec.Name, sec.Version); err != nil {
			return fmt.Errorf("updating secret: %w", err)
		}
		out = sec
		return nil
	})
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	return out, err
}

// DeleteSecret soft-deletes every version of the secret for the vault's
// retention period and returns the latest version as deleted.
func (s *Store) DeleteSecret(ctx context.Context, vault, name string) (slipway.DeletedSecret, error) {
	var out slipway.DeletedSecret
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		v, err := activeVaultTx(ctx, tx, vault)
		if err != nil {
			return err
		}
		sec, err := s.secret(ctx, tx, v.Name, name, "", false)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		out = slipway.DeletedSecret{Secret: sec, Deleted: now, ScheduledPurge: now.AddDate(0, 0, v.RetentionDays())}
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_vault_deleted_secrets (vault, name, deleted, scheduled_purge) VALUES (?, ?, ?, ?)`,
			v.Name, sec.Name, toUnix(out.Deleted), toUnix(out.ScheduledPurge)); err != nil {
			return fmt.Errorf("deleting secret: %w", err)
		}
		return nil
	})
	return out, err
}

// DeletedSecret returns a soft-deleted secret's latest version, with its value.
func (s *Store) DeletedSecret(ctx context.Context, vault, name string) (slipway.DeletedSecret, error) {
	sec, err := s.secret(ctx, s.read, vault, name, "", true)
	if err != nil {
		return slipway.DeletedSecret{}, err
	}
	out := slipway.DeletedSecret{Secret: sec}
	var del, purge int64
	if err := s.read.QueryRowContext(ctx, `SELECT deleted, scheduled_purge FROM key_vault_deleted_secrets WHERE vault = ? AND name = ?`, vault, name).Scan(&del, &purge); err != nil {
		return out, fmt.Errorf("reading deleted secret: %w", err)
	}
	out.Deleted, out.ScheduledPurge = fromUnix(del), fromUnix(purge)
	return out, nil
}

// RecoverSecret brings a soft-deleted secret back, with all its versions,
// and returns its latest version.
func (s *Store) RecoverSecret(ctx context.Context, vault, name string) (slipway.Secret, error) {
	var out slipway.Secret
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM key_vault_deleted_secrets WHERE vault = ? AND name = ?`, vault, name)
		if err != nil {
			return fmt.Errorf("recovering secret: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errDeletedSecretNotFound(name)
		}
		out, err = s.secret(ctx, tx, vault, name, "", false)
		return err
	})
	return out, err
}

// PurgeSecret deletes a soft-deleted secret and all its versions for good.
// Under purge protection it is EFORBIDDEN, as Key Vault answers 403.
func (s *Store) PurgeSecret(ctx context.Context, vault, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		v, err := activeVaultTx(ctx, tx, vault)
		if err != nil {
			return err
		}
		if del, err := secretDeleted(ctx, tx, v.Name, name); err != nil {
			return err
		} else if !del {
			return errDeletedSecretNotFound(name)
		}
		if v.EnablePurgeProtection {
			return slipway.Errorf(slipway.EFORBIDDEN, "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.")
		}
		for _, q := range []string{
			`DELETE FROM key_vault_secrets WHERE vault = ? AND name = ?`,
			`DELETE FROM key_vault_deleted_secrets WHERE vault = ? AND name = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, v.Name, name); err != nil {
				return fmt.Errorf("purging secret: %w", err)
			}
		}
		return nil
	})
}

// SecretVersions returns every version of an active secret with its
// value, oldest first: what a backup holds.
func (s *Store) SecretVersions(ctx context.Context, vault, name string) ([]slipway.Secret, error) {
	if _, err := s.secret(ctx, s.read, vault, name, "", false); err != nil {
		return nil, err
	}
	return listRows(ctx, s.read, "reading secret versions", func(r rowScanner) (slipway.Secret, error) {
		return s.scanSecret(r, true)
	}, secretSelect+` WHERE vault = ? AND name = ? ORDER BY seq`, vault, name)
}

// RestoreSecret stores the versions of a backed-up secret (oldest first,
// one name) in the vault, keeping their version ids and attributes. A name
// that exists, active or soft-deleted, is ECONFLICT. It returns the latest
// version.
func (s *Store) RestoreSecret(ctx context.Context, vault string, versions []slipway.Secret) (slipway.Secret, error) {
	if len(versions) == 0 {
		return slipway.Secret{}, slipway.Errorf(slipway.EINVALID, "Backup blob contains no secret versions.")
	}
	name := versions[0].Name
	if err := slipway.ValidateSecretName(name); err != nil {
		return slipway.Secret{}, err
	}
	var out slipway.Secret
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		v, err := activeVaultTx(ctx, tx, vault)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM key_vault_secrets WHERE vault = ? AND name = ?`, v.Name, name).Scan(&n); err != nil {
			return fmt.Errorf("reading secret: %w", err)
		}
		if n > 0 {
			if del, err := secretDeleted(ctx, tx, v.Name, name); err != nil {
				return err
			} else if del {
				return errSecretDeleted(name)
			}
			return slipway.Errorf(slipway.ECONFLICT, "Secret %s already exists.", name)
		}
		for _, sec := range versions {
			if !strings.EqualFold(sec.Name, name) {
				return slipway.Errorf(slipway.EINVALID, "Backup blob holds more than one secret.")
			}
			if err := slipway.ValidateSecretVersion(sec.Version); err != nil {
				return err
			}
			sec.Vault, sec.Name, sec.Version = v.Name, name, strings.ToLower(sec.Version)
			if err := s.insertSecret(ctx, tx, sec); err != nil {
				if strings.Contains(err.Error(), "UNIQUE") {
					return slipway.Errorf(slipway.EINVALID, "Backup blob holds a version twice.")
				}
				return err
			}
			out = sec
		}
		return nil
	})
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	return out, err
}
