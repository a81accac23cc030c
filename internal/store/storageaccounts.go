package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway"
)

// storageKeyBytes is the length of a storage account key before base64:
// Azure's keys are 64 random bytes, 88 characters of base64.
const storageKeyBytes = 64

// errStorageAccountNotFound is ARM's ResourceNotFound message for a storage account.
func errStorageAccountNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Storage/storageAccounts/%s' under resource group '%s' was not found.", name, rg)
}

// aadStorageKey binds a sealed key to its account and slot (key1, key2).
func aadStorageKey(account, keyName string) string {
	return "storage-key\x00" + strings.ToLower(account) + "\x00" + keyName
}

// newStorageKey returns a fresh account key: 64 random bytes in base64.
func newStorageKey() (string, error) {
	b := make([]byte, storageKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating storage account key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// PutStorageAccount creates the storage account or updates its tags (and
// SKU and kind). The resource group must exist. Account names are global
// and case-insensitive: a name used in any other resource group is
// ECONFLICT with Azure's StorageAccountAlreadyTaken message. A new account
// gets two random keys (key1, key2), sealed at rest. It returns the stored
// account (name casing and creation time of the first PUT) and whether it
// was created. An account's location cannot change.
func (s *Store) PutStorageAccount(ctx context.Context, a slipway.StorageAccount) (slipway.StorageAccount, bool, error) {
	if err := a.Validate(); err != nil {
		return slipway.StorageAccount{}, false, err
	}
	if a.SKU == "" {
		a.SKU = "Standard_LRS"
	}
	if a.Kind == "" {
		a.Kind = "StorageV2"
	}
	var out slipway.StorageAccount
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, a.ResourceGroup)
		if err != nil {
			return err
		}
		a.ResourceGroup = g.Name
		if strings.TrimSpace(a.Location) == "" {
			a.Location = g.Location
		}
		old, err := scanStorageAccount(tx.QueryRowContext(ctx, storageSelect+` WHERE name = ?`, a.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if a.Created.IsZero() {
				a.Created = s.now().UTC()
			}
			var sealed [2][]byte
			for i, kn := range []string{"key1", "key2"} {
				k, err := newStorageKey()
				if err != nil {
					return err
				}
				if sealed[i], err = s.seal(k, aadStorageKey(a.Name, kn)); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO storage_accounts (name, resource_group, location, sku, kind, tags, created, key1, key2, key1_created, key2_created)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				a.Name, a.ResourceGroup, a.Location, a.SKU, a.Kind, encodeTags(a.Tags), toUnix(a.Created),
				sealed[0], sealed[1], toUnix(a.Created), toUnix(a.Created)); err != nil {
				return fmt.Errorf("inserting storage account: %w", err)
			}
			out, created = a, true
		case err != nil:
			return err
		case !strings.EqualFold(old.ResourceGroup, a.ResourceGroup):
			return slipway.Errorf(slipway.ECONFLICT, "The storage account named %s is already taken.", a.Name)
		case !strings.EqualFold(old.Location, a.Location):
			return slipway.Errorf(slipway.ECONFLICT, "The storage account %s already exists in location '%s'; its location cannot be changed to '%s'.", old.Name, old.Location, a.Location)
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE storage_accounts SET sku = ?, kind = ?, tags = ? WHERE name = ?`,
				a.SKU, a.Kind, encodeTags(a.Tags), old.Name); err != nil {
				return fmt.Errorf("updating storage account: %w", err)
			}
			old.SKU, old.Kind, old.Tags = a.SKU, a.Kind, a.Tags
			out = old
		}
		if out.Tags == nil {
			out.Tags = map[string]string{}
		}
		return nil
	})
	s.access.clear() // after the commit: see accessCache

	if err != nil {
		return slipway.StorageAccount{}, false, err
	}
	return out, created, nil
}

// StorageAccount returns the named account in the resource group (both
// case-insensitive). An account of that name in another group is not found.
func (s *Store) StorageAccount(ctx context.Context, rg, name string) (slipway.StorageAccount, error) {
	a, err := scanStorageAccount(s.read.QueryRowContext(ctx, storageSelect+` WHERE name = ? AND resource_group = ?`, name, rg))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.StorageAccount{}, errStorageAccountNotFound(rg, name)
	}
	return a, err
}

// FindStorageAccount returns the named account in whatever resource group
// holds it (names are global).
func (s *Store) FindStorageAccount(ctx context.Context, name string) (slipway.StorageAccount, error) {
	a, err := scanStorageAccount(s.read.QueryRowContext(ctx, storageSelect+` WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.StorageAccount{}, slipway.Errorf(slipway.ENOTFOUND, "The storage account '%s' was not found.", name)
	}
	return a, err
}

// StorageAccounts lists the accounts in the resource group, ordered by
// name; rg "" lists every account. A missing group is ENOTFOUND.
func (s *Store) StorageAccounts(ctx context.Context, rg string) ([]slipway.StorageAccount, error) {
	if rg != "" {
		if _, err := s.ResourceGroup(ctx, rg); err != nil {
			return nil, err
		}
	}
	return listStorageAccounts(ctx, s.read, rg)
}

func listStorageAccounts(ctx context.Context, q querier, rg string) ([]slipway.StorageAccount, error) {
	query, args := storageSelect+` ORDER BY name`, []any{}
	if rg != "" {
		query, args = storageSelect+` WHERE resource_group = ? ORDER BY name`, []any{rg}
	}
	return listRows(ctx, q, "listing storage accounts", scanStorageAccount, query, args...)
}

// DeleteStorageAccount deletes the account's record and keys. The caller
// removes its blob data.
func (s *Store) DeleteStorageAccount(ctx context.Context, rg, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM storage_accounts WHERE name = ? AND resource_group = ?`, name, rg)
	s.access.clear()
	if err != nil {
		return fmt.Errorf("deleting storage account: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("deleting storage account: %w", err)
	} else if n == 0 {
		return errStorageAccountNotFound(rg, name)
	}
	return nil
}

// DeleteResourceGroupWithStorage is DeleteResourceGroup that also returns
// the storage accounts deleted with the group (in the same transaction), so
// the caller can remove their blob data as well as stop the sites. The role
// assignments at and below the group go too: an rbac.Authorizer over this
// store must Reload.
func (s *Store) DeleteResourceGroupWithStorage(ctx context.Context, name string) ([]slipway.Site, []slipway.StorageAccount, error) {
	d, err := s.DeleteResourceGroupContents(ctx, name)
	return d.Sites, d.StorageAccounts, err
}

// DeletedGroup is what went with a deleted resource group and has data or
// processes outside the store for the caller to remove.
type DeletedGroup struct {
	Sites           []slipway.Site
	StorageAccounts []slipway.StorageAccount
	// PostgresServers are the names of its PostgreSQL flexible servers.
	PostgresServers []string
	// RedisCaches are the names of its caches (Microsoft.Cache/redis).
	RedisCaches []string
}

// DeleteResourceGroupContents deletes a resource group and everything in
// it, in one transaction, and returns what had state outside the store.
// The role assignments at and below the group go too: an rbac.Authorizer
// over this store must Reload.
func (s *Store) DeleteResourceGroupContents(ctx context.Context, name string) (DeletedGroup, error) {
	var d DeletedGroup
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := scanGroup(tx.QueryRowContext(ctx, groupSelect+` WHERE name = ?`, name)); errors.Is(err, sql.ErrNoRows) {
			return errGroupNotFound(name)
		} else if err != nil {
			return err
		}
		if err := plansUsedElsewhere(ctx, tx, name); err != nil {
			return err
		}
		var err error
		if d.Sites, err = listSites(ctx, tx, name); err != nil {
			return err
		}
		if d.StorageAccounts, err = listStorageAccounts(ctx, tx, name); err != nil {
			return err
		}
		names := func(what, table string) ([]string, error) {
			return listRows(ctx, tx, "listing "+what, func(r rowScanner) (string, error) {
				var n string
				return n, r.Scan(&n)
			}, `SELECT name FROM `+table+` WHERE resource_group = ? ORDER BY name`, name)
		}
		if d.PostgresServers, err = names("PostgreSQL servers", "postgres_servers"); err != nil {
			return err
		}
		if d.RedisCaches, err = names("caches", "redis_caches"); err != nil {
			return err
		}
		if err := dropAuthTokensTx(ctx, tx, `resource_group = ?`, name); err != nil {
			return err
		}
		if err := deleteAutoscaleOfPlansTx(ctx, tx, name, ""); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM storage_accounts WHERE resource_group = ?`,
			`DELETE FROM sites WHERE resource_group = ?`,
			`DELETE FROM plans WHERE resource_group = ?`,
			`DELETE FROM resource_groups WHERE name = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return fmt.Errorf("deleting resource group: %w", err)
			}
		}
		return deleteGroupRoleAssignmentsTx(ctx, tx, name)
	})
	s.access.clear() // after the commit: see accessCache

	if err != nil {
		return DeletedGroup{}, err
	}
	for _, site := range d.Sites {
		s.hosts.dropSites(site.Name) // host names go with their sites
	}
	s.sitesChanged(ctx) // and their routing
	return d, nil
}

// StorageAccountKey is one access key of a storage account.
type StorageAccountKey struct {
	Name    string // "key1" or "key2"
	Value   string // base64 of 64 bytes
	Created time.Time
}

// StorageAccountKeys returns the account's two keys as base64 strings.
func (s *Store) StorageAccountKeys(ctx context.Context, rg, name string) (key1, key2 string, err error) {
	ks, err := s.StorageAccountKeyDetails(ctx, rg, name)
	if err != nil {
		return "", "", err
	}
	return ks[0].Value, ks[1].Value, nil
}

// StorageAccountKeyDetails returns key1 and key2 with their creation times
// (what ARM's listKeys reports).
func (s *Store) StorageAccountKeyDetails(ctx context.Context, rg, name string) ([2]StorageAccountKey, error) {
	return s.storageKeys(ctx, s.read, rg, name)
}

// StorageAccountAccess is what the blob service needs of a storage account
// on every request: its keys, to check signatures, and its SKU and kind,
// which Get Account Information reports.
type StorageAccountAccess struct {
	Key1, Key2    string // base64
	SKU, Kind     string
	ResourceGroup string // for the account's ARM id (role assignments' scopes)
}

// FindStorageAccountAccess returns the keys, SKU and kind of the named
// account in whatever group holds it. The blob service asks on every
// request, so the answers are cached (see accessCache).
func (s *Store) FindStorageAccountAccess(ctx context.Context, name string) (StorageAccountAccess, error) {
	if a, ok := s.access.get(name); ok {
		return a, nil
	}
	gen := s.access.generation()
	a, err := s.FindStorageAccount(ctx, name)
	if err != nil {
		return StorageAccountAccess{}, err
	}
	ks, err := s.storageKeys(ctx, s.read, "", name)
	if err != nil {
		return StorageAccountAccess{}, err
	}
	out := StorageAccountAccess{Key1: ks[0].Value, Key2: ks[1].Value, SKU: a.SKU, Kind: a.Kind, ResourceGroup: a.ResourceGroup}
	s.access.put(name, out, gen)
	return out, nil
}

// accessCache holds FindStorageAccountAccess's answers: reading and
// decrypting the keys costs about as much as serving a small blob. Every
// change to an account (its keys, SKU or existence) clears it once its
// transaction has committed; the generation keeps a read that raced with
// such a change from putting the old answer back.
type accessCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]StorageAccountAccess
}

func (c *accessCache) get(name string) (StorageAccountAccess, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[name]
	return a, ok
}

func (c *accessCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches a read in generation gen, unless the account changed since.
func (c *accessCache) put(name string, a StorageAccountAccess, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil {
		c.m = map[string]StorageAccountAccess{}
	}
	c.m[name] = a
}

// clear forgets everything cached; call it after committing a change.
func (c *accessCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// storageKeys reads and opens both keys of the account; rg "" finds the
// account in any group.
func (s *Store) storageKeys(ctx context.Context, q querier, rg, name string) ([2]StorageAccountKey, error) {
	var ks [2]StorageAccountKey
	var account string
	var sealed [2][]byte
	var created [2]int64
	query, args := `SELECT name, key1, key2, key1_created, key2_created FROM storage_accounts WHERE name = ?`, []any{name}
	if rg != "" {
		query, args = query+` AND resource_group = ?`, append(args, rg)
	}
	err := q.QueryRowContext(ctx, query, args...).Scan(&account, &sealed[0], &sealed[1], &created[0], &created[1])
	if errors.Is(err, sql.ErrNoRows) {
		if rg != "" {
			return ks, errStorageAccountNotFound(rg, name)
		}
		return ks, slipway.Errorf(slipway.ENOTFOUND, "The storage account '%s' was not found.", name)
	} else if err != nil {
		return ks, fmt.Errorf("reading storage account keys: %w", err)
	}
	for i, kn := range []string{"key1", "key2"} {
		v, err := s.open(sealed[i], aadStorageKey(account, kn))
		if err != nil {
			return ks, fmt.Errorf("reading %s of storage account %s: %w", kn, account, err)
		}
		ks[i] = StorageAccountKey{Name: kn, Value: v, Created: fromUnix(created[i])}
	}
	return ks, nil
}

// RegenerateStorageAccountKey replaces key1 or key2 (keyName is
// case-insensitive) with a fresh random key and returns both keys. Any
// other keyName is EINVALID.
func (s *Store) RegenerateStorageAccountKey(ctx context.Context, rg, name, keyName string) (key1, key2 string, err error) {
	kn := strings.ToLower(keyName)
	if kn != "key1" && kn != "key2" {
		return "", "", slipway.Errorf(slipway.EINVALID, "Invalid keyName '%s'. Valid key names are 'key1' and 'key2'.", keyName)
	}
	var ks [2]StorageAccountKey
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := scanStorageAccount(tx.QueryRowContext(ctx, storageSelect+` WHERE name = ? AND resource_group = ?`, name, rg))
		if errors.Is(err, sql.ErrNoRows) {
			return errStorageAccountNotFound(rg, name)
		} else if err != nil {
			return err
		}
		k, err := newStorageKey()
		if err != nil {
			return err
		}
		sealed, err := s.seal(k, aadStorageKey(a.Name, kn))
		if err != nil {
			return err
		}
		// kn is one of two constants, so building the column name is safe.
		if _, err := tx.ExecContext(ctx, `UPDATE storage_accounts SET `+kn+` = ?, `+kn+`_created = ? WHERE name = ?`,
			sealed, toUnix(s.now().UTC()), a.Name); err != nil {
			return fmt.Errorf("regenerating %s: %w", kn, err)
		}
		ks, err = s.storageKeys(ctx, tx, "", a.Name)
		return err
	})
	s.access.clear() // after the commit: see accessCache

	if err != nil {
		return "", "", err
	}
	return ks[0].Value, ks[1].Value, nil
}

const storageSelect = `SELECT name, resource_group, location, sku, kind, tags, created FROM storage_accounts`

func scanStorageAccount(r rowScanner) (slipway.StorageAccount, error) {
	var a slipway.StorageAccount
	var tags string
	var created int64
	if err := r.Scan(&a.Name, &a.ResourceGroup, &a.Location, &a.SKU, &a.Kind, &tags, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, err
		}
		return a, fmt.Errorf("reading storage account: %w", err)
	}
	var err error
	if a.Tags, err = decodeTags(tags); err != nil {
		return a, err
	}
	a.Created = fromUnix(created)
	return a, nil
}
