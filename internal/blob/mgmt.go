package blob

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The management plane's view of containers
// (Microsoft.Storage/storageAccounts/blobServices/containers,
// https://learn.microsoft.com/rest/api/storagerp/blob-containers/create):
// the ARM layer creates and reads them here, after it has checked the
// account and the caller; the data plane serves the same containers.

// ContainerInfo is what the management plane shows of a container.
type ContainerInfo struct {
	Name string
	// PublicAccess is the data plane's x-ms-blob-public-access: "",
	// "blob" or "container".
	PublicAccess string
	Metadata     map[string]string
	ETag         string
	LastModified time.Time
}

// ErrInvalidContainer reports a container name or metadata Azure refuses;
// ErrContainerBeingDeleted a name whose container is still being deleted;
// ErrContainerNotFound a container that does not exist; ErrContainerLeased
// a container whose active lease keeps it from being deleted.
var (
	ErrInvalidContainer      = errors.New("invalid container")
	ErrContainerBeingDeleted = errors.New("the specified container is being deleted")
	ErrContainerNotFound     = errors.New("the specified container does not exist")
	ErrContainerLeased       = errors.New("there is currently a lease on the container and no lease ID was specified in the request")
)

// PutContainer creates a container of account, or sets the public access
// and metadata of the existing one (a PUT), and reports whether it was
// created.
func (s *Service) PutContainer(ctx context.Context, account, name, publicAccess string, md map[string]string) (ContainerInfo, bool, error) {
	if !validContainerName(name) {
		return ContainerInfo{}, false, fmt.Errorf("%w: the container name '%s' must be 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit", ErrInvalidContainer, name)
	}
	if publicAccess != "" && publicAccess != "blob" && publicAccess != "container" {
		return ContainerInfo{}, false, fmt.Errorf("%w: public access '%s' is not None, Blob or Container", ErrInvalidContainer, publicAccess)
	}
	total := 0
	for k, v := range md {
		if !validMetadataName(strings.ToLower(k)) {
			return ContainerInfo{}, false, fmt.Errorf("%w: the metadata name '%s' is not a valid identifier", ErrInvalidContainer, k)
		}
		total += len(k) + len(v)
	}
	if total > maxMetadataBytes {
		return ContainerInfo{}, false, fmt.Errorf("%w: the metadata is larger than %d bytes", ErrInvalidContainer, maxMetadataBytes)
	}
	lower := metadata{}
	for k, v := range md {
		lower[strings.ToLower(k)] = v
	}
	now := s.tick()
	etag := newETag(now)
	var created bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO containers (account, name, etag, last_modified, metadata, public_access) VALUES (?,?,?,?,?,?)`,
			account, name, etag, now.UnixNano(), mustJSON(lower), publicAccess)
		if err != nil {
			return fmt.Errorf("creating container: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			created = true
			return nil
		}
		var deleting bool
		if err := tx.QueryRowContext(ctx, `SELECT deleting FROM containers WHERE account = ? AND name = ?`, account, name).Scan(&deleting); err != nil {
			return fmt.Errorf("checking existing container: %w", err)
		}
		if deleting {
			return ErrContainerBeingDeleted
		}
		if _, err := tx.ExecContext(ctx, `UPDATE containers SET etag = ?, last_modified = ?, metadata = ?, public_access = ? WHERE account = ? AND name = ?`,
			etag, now.UnixNano(), mustJSON(lower), publicAccess, account, name); err != nil {
			return fmt.Errorf("updating container: %w", err)
		}
		return nil
	})
	if err != nil {
		return ContainerInfo{}, false, err
	}
	return ContainerInfo{Name: name, PublicAccess: publicAccess, Metadata: lower, ETag: etag, LastModified: now}, created, nil
}

// containerInfoCols are the columns scanContainerInfo reads, in order.
const containerInfoCols = `name, etag, last_modified, metadata, public_access`

// scanContainerInfo reads a row of containerInfoCols, then into extra any
// columns selected after them.
func scanContainerInfo(r interface{ Scan(...any) error }, extra ...any) (ContainerInfo, error) {
	var c ContainerInfo
	var md string
	var lm int64
	if err := r.Scan(append([]any{&c.Name, &c.ETag, &lm, &md, &c.PublicAccess}, extra...)...); err != nil {
		return c, err
	}
	c.LastModified = time.Unix(0, lm).UTC()
	if err := json.Unmarshal([]byte(md), &c.Metadata); err != nil {
		return c, fmt.Errorf("decoding container metadata: %w", err)
	}
	return c, nil
}

// Container returns a container's management view.
func (s *Service) Container(ctx context.Context, account, name string) (ContainerInfo, error) {
	var deleting bool
	c, err := scanContainerInfo(s.writer.QueryRowContext(ctx, `SELECT `+containerInfoCols+`, deleting FROM containers WHERE account = ? AND name = ?`,
		account, name), &deleting)
	if errors.Is(err, sql.ErrNoRows) || err == nil && deleting {
		return ContainerInfo{}, ErrContainerNotFound
	}
	if err != nil {
		return ContainerInfo{}, fmt.Errorf("reading container: %w", err)
	}
	return c, nil
}

// Containers returns up to limit of account's containers whose names sort
// after the name after ("" for the first), in name order.
func (s *Service) Containers(ctx context.Context, account, after string, limit int) ([]ContainerInfo, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+containerInfoCols+` FROM containers
		WHERE account = ? AND deleting = 0 AND name > ? ORDER BY name LIMIT ?`, account, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	defer rows.Close()
	var out []ContainerInfo
	for rows.Next() {
		c, err := scanContainerInfo(rows)
		if err != nil {
			return nil, fmt.Errorf("listing containers: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	return out, nil
}

// DeleteContainer deletes a container of account with its blobs, as the
// management plane's Blob Containers - Delete does
// (https://learn.microsoft.com/rest/api/storagerp/blob-containers/delete).
// That request carries no lease ID, so a container under an active lease
// is not deleted (ErrContainerLeased): a lease grants its holder
// exclusive delete access
// (https://learn.microsoft.com/rest/api/storageservices/lease-container).
func (s *Service) DeleteContainer(ctx context.Context, account, name string) error {
	err := s.removeContainer(ctx, account, name, func(c *containerRow) error {
		if c.Lease.effective(s.now()).active() {
			return ErrContainerLeased
		}
		return nil
	})
	if errors.Is(err, errContainerNotFound) {
		return ErrContainerNotFound
	}
	return err
}
