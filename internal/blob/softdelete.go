package blob

import (
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Blob soft delete, as "Soft delete for blobs"
// (https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview)
// describes it for accounts without versioning. With the service
// properties' DeleteRetentionPolicy enabled (1–365 Days), Delete Blob marks
// the blob (and, with x-ms-delete-snapshots=include, its snapshots; with
// =only, just its snapshots) soft-deleted instead of removing it, and Put
// Blob, Put Block List and Copy Blob over a blob first keep its prior
// state as a soft-deleted snapshot (not a blob in the Archive tier, whose
// overwrite Azure does not protect). A soft-deleted row keeps its content
// but is no blob to any operation (getBlob never loads it) until Undelete
// Blob restores it with the blob's other soft-deleted snapshots; List Blobs
// shows it with include=deleted. Its retention ends Days after it was
// deleted (the policy in effect then), after which nothing serves or lists
// it and the sweep removes it (sweepExpired). Deleting a container removes
// its soft-deleted blobs too, as Azure's Delete Container does. Soft-deleted
// content stays on disk, so it still counts against the disk reserve.

// retentionPolicy is the DeleteRetentionPolicy of an account's service
// properties.
type retentionPolicy struct {
	Enabled bool
	Days    int
}

// retention returns how long a blob deleted now is kept, or 0 when the
// account's policy is off.
func (p retentionPolicy) retention() time.Duration {
	if !p.Enabled {
		return 0
	}
	return time.Duration(p.Days) * 24 * time.Hour
}

type retentionXML struct {
	Enabled              *string `xml:"Enabled"`
	Days                 *string `xml:"Days"`
	AllowPermanentDelete *string `xml:"AllowPermanentDelete"`
}

func parseXMLBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// normalizeRetention validates a Set Blob Service Properties
// DeleteRetentionPolicy as Azure does (Enabled required; Days 1–365
// required when enabled, https://learn.microsoft.com/rest/api/storageservices/set-blob-service-properties)
// and returns the element to store. AllowPermanentDelete=true is refused:
// Slipway does not serve permanent delete (deletetype=permanent).
func normalizeRetention(raw *rawXML) (*rawXML, error) {
	var in retentionXML
	if err := xml.Unmarshal([]byte("<p>"+raw.Inner+"</p>"), &in); err != nil || in.Enabled == nil {
		return nil, errInvalidXML
	}
	on, ok := parseXMLBool(*in.Enabled)
	if !ok {
		return nil, errInvalidXMLNode("DeleteRetentionPolicy/Enabled")
	}
	if in.AllowPermanentDelete != nil {
		if apd, ok := parseXMLBool(*in.AllowPermanentDelete); !ok {
			return nil, errInvalidXMLNode("DeleteRetentionPolicy/AllowPermanentDelete")
		} else if apd {
			return nil, errPermanentDeleteUnsupported
		}
	}
	if !on {
		return &rawXML{`<Enabled>false</Enabled>`}, nil
	}
	if in.Days == nil {
		return nil, errInvalidXML
	}
	days, err := strconv.Atoi(strings.TrimSpace(*in.Days))
	if err != nil || days < 1 || days > 365 {
		return nil, errInvalidXMLNode("DeleteRetentionPolicy/Days")
	}
	return &rawXML{fmt.Sprintf(`<Enabled>true</Enabled><Days>%d</Days>`, days)}, nil
}

// errPermanentDeleteUnsupported refuses what Slipway does not serve:
// permanent delete of soft-deleted snapshots (Delete Blob's
// deletetype=permanent and the policy's AllowPermanentDelete).
var errPermanentDeleteUnsupported = newError(400, "FeatureNotSupported",
	"Slipway does not support permanent delete of soft-deleted blobs (deletetype=permanent, AllowPermanentDelete); soft-deleted blobs are removed when their retention ends.")

// loadRetention reads the account's DeleteRetentionPolicy.
func loadRetention(ctx context.Context, q queryer, account string) (retentionPolicy, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT xml FROM service_properties WHERE account = ?`, account).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return retentionPolicy{}, nil
	}
	if err != nil {
		return retentionPolicy{}, fmt.Errorf("loading service properties: %w", err)
	}
	var p struct {
		Policy *retentionXML `xml:"DeleteRetentionPolicy"`
	}
	if err := xml.Unmarshal([]byte(raw), &p); err != nil {
		return retentionPolicy{}, fmt.Errorf("decoding service properties: %w", err)
	}
	if p.Policy == nil || p.Policy.Enabled == nil {
		return retentionPolicy{}, nil
	}
	on, _ := parseXMLBool(*p.Policy.Enabled)
	days := 0
	if p.Policy.Days != nil {
		days, _ = strconv.Atoi(strings.TrimSpace(*p.Policy.Days))
	}
	if !on || days < 1 {
		// Stored before Set validated it: a policy without Days keeps
		// nothing.
		return retentionPolicy{}, nil
	}
	return retentionPolicy{Enabled: true, Days: min(days, 365)}, nil
}

// softDeleteRows marks the live rows of a blob that where (after the
// account, container and name) selects as soft-deleted at now, kept until
// now+keep; their leases end.
func softDeleteRows(ctx context.Context, tx execer, account, container, name, where string, now time.Time, keep time.Duration, args ...any) error {
	_, err := tx.ExecContext(ctx, `UPDATE blobs SET deleted_time = ?, delete_expiry = ?, lease = '{}'
		WHERE account = ? AND container = ? AND name = ? AND deleted_time = 0 AND `+where,
		append([]any{now.UnixNano(), now.Add(keep).UnixNano(), account, container, name}, args...)...)
	if err != nil {
		return fmt.Errorf("soft-deleting blob: %w", err)
	}
	return nil
}

// moveVersion gives the row (live or soft-deleted) of a blob's version
// from, with its extents and pages, the snapshot key to, as a soft-deleted
// snapshot: the prior state of an overwritten blob. The pages of a live
// page blob are copied instead (commitBlob's replacePages then drops or,
// for a page blob copied onto itself, keeps them).
func moveVersion(ctx context.Context, tx execer, account, container, name, from, to string, now time.Time, keep time.Duration, copyPages bool) error {
	pages := `UPDATE pages SET snapshot = ?5 WHERE account = ?1 AND container = ?2 AND blob = ?3 AND snapshot = ?4`
	if copyPages {
		pages = `INSERT INTO pages (account, container, blob, snapshot, start, stop, gen, data)
			SELECT account, container, blob, ?5, start, stop, gen, data FROM pages WHERE account = ?1 AND container = ?2 AND blob = ?3 AND snapshot = ?4`
	}
	for _, q := range []string{pages,
		`UPDATE blobs SET snapshot = ?5, lease = '{}',
			delete_expiry = CASE WHEN deleted_time = 0 THEN ?7 ELSE delete_expiry END,
			deleted_time = CASE WHEN deleted_time = 0 THEN ?6 ELSE deleted_time END
			WHERE account = ?1 AND container = ?2 AND name = ?3 AND snapshot = ?4`,
		`UPDATE extents SET snapshot = ?5 WHERE account = ?1 AND container = ?2 AND name = ?3 AND snapshot = ?4`,
	} {
		if _, err := tx.ExecContext(ctx, q, account, container, name, from, to, now.UnixNano(), now.Add(keep).UnixNano()); err != nil {
			return fmt.Errorf("keeping overwritten blob: %w", err)
		}
	}
	return nil
}

// keepOverwritten runs in commitBlob's transaction before the new base
// blob b is stored over old (nil if there is no live base blob). A
// soft-deleted base blob of the same name becomes a soft-deleted snapshot
// when b is of its type, and otherwise goes for good with the name's other
// soft-deleted data, as Azure does ("Blob soft delete protection by
// operation"); with the policy on, old becomes a soft-deleted snapshot
// unless it is in the Archive tier. It reports whether old was kept (its
// content is then no garbage) and returns the files of what went.
func (s *Service) keepOverwritten(ctx context.Context, tx txQueryer, b, old *blobRow) (kept bool, garbage []string, err error) {
	var deletedType string
	err = tx.QueryRowContext(ctx, `SELECT blob_type FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot = '' AND deleted_time > 0`,
		b.Account, b.Container, b.Name).Scan(&deletedType)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, nil, fmt.Errorf("loading soft-deleted blob: %w", err)
	}
	now := s.tick()
	if deletedType != "" {
		if deletedType == b.Type {
			if err := moveVersion(ctx, tx, b.Account, b.Container, b.Name, "", now.Format(snapshotFormat), now, 0, false); err != nil {
				return false, nil, err
			}
			now = s.tick()
		} else if garbage, err = purgeDeleted(ctx, tx, b.Account, b.Container, b.Name); err != nil {
			return false, nil, err
		}
	}
	if old == nil || strings.EqualFold(old.AccessTier, "Archive") {
		return false, garbage, nil
	}
	pol, err := loadRetention(ctx, tx, b.Account)
	if err != nil || !pol.Enabled {
		return false, garbage, err
	}
	return true, garbage, moveVersion(ctx, tx, b.Account, b.Container, b.Name, "", now.Format(snapshotFormat), now, pol.retention(), old.Type == "PageBlob")
}

// purgeDeleted removes every soft-deleted row of a blob for good, with its
// extents and pages, and returns their files.
func purgeDeleted(ctx context.Context, tx txQueryer, account, container, name string) ([]string, error) {
	const of = `account = ?1 AND container = ?2 AND name = ?3 AND deleted_time > 0`
	files, err := collect(ctx, tx, `SELECT file FROM blobs WHERE `+of+` AND file != ''`, account, container, name)
	if err != nil {
		return nil, err
	}
	exts, err := takeFiles(ctx, tx, "extents", `account = ?1 AND container = ?2 AND name = ?3 AND snapshot IN (SELECT snapshot FROM blobs WHERE `+of+`)`,
		account, container, name)
	if err != nil {
		return nil, err
	}
	for _, q := range []string{
		`DELETE FROM pages WHERE account = ?1 AND container = ?2 AND blob = ?3 AND snapshot IN (SELECT snapshot FROM blobs WHERE ` + of + `)`,
		`DELETE FROM blobs WHERE ` + of,
	} {
		if _, err := tx.ExecContext(ctx, q, account, container, name); err != nil {
			return nil, fmt.Errorf("removing soft-deleted blob: %w", err)
		}
	}
	return append(files, exts...), nil
}

// undeleteBlob is Undelete Blob
// (https://learn.microsoft.com/rest/api/storageservices/undelete-blob): it
// restores the soft-deleted base blob and soft-deleted snapshots of a blob
// whose retention has not ended. On a live blob it restores its
// soft-deleted snapshots (nothing else to do: 200 all the same); a name with
// neither is BlobNotFound.
func (s *Service) undeleteBlob(rq *req) error {
	ctx := rq.r.Context()
	if err := requireEmptyBody(rq.r, "Undelete Blob takes no body."); err != nil {
		return err
	}
	now := s.now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := getContainer(ctx, tx, rq.acct.Name, rq.container); err != nil {
			return err
		}
		var live, deleted int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE deleted_time = 0), count(*) FILTER (WHERE deleted_time > 0 AND delete_expiry > ?4)
			FROM blobs WHERE account = ?1 AND container = ?2 AND name = ?3`, rq.acct.Name, rq.container, rq.blob, now.UnixNano()).Scan(&live, &deleted)
		if err != nil {
			return fmt.Errorf("loading blob: %w", err)
		}
		if live == 0 && deleted == 0 {
			return errBlobNotFound
		}
		if _, err := tx.ExecContext(ctx, `UPDATE blobs SET deleted_time = 0, delete_expiry = 0
			WHERE account = ? AND container = ? AND name = ? AND deleted_time > 0 AND delete_expiry > ?`,
			rq.acct.Name, rq.container, rq.blob, now.UnixNano()); err != nil {
			return fmt.Errorf("undeleting blob: %w", err)
		}
		return nil
	})
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	return rq.ok(http.StatusOK)
}

// softDeleteSweepEvery is how often the service removes soft-deleted blobs
// whose retention has ended; listings and Undelete Blob already ignore them.
const softDeleteSweepEvery = 10 * time.Minute

// sweepExpiredBatch bounds the rows one sweep transaction removes.
const sweepExpiredBatch = 500

// sweepExpired removes, in bounded transactions, the soft-deleted rows
// whose retention ended by now, with their extents, pages and files.
func (s *Service) sweepExpired(ctx context.Context) error {
	for range 1000 { // bounded: at most 500,000 rows a sweep
		var garbage []string
		var n int
		err := s.tx(ctx, func(tx *sql.Tx) error {
			type key struct{ account, container, name, snapshot, file string }
			keys, err := scanRows(ctx, tx, "listing expired blobs",
				`SELECT account, container, name, snapshot, file FROM blobs WHERE deleted_time > 0 AND delete_expiry <= ? LIMIT ?`,
				[]any{s.now().UnixNano(), sweepExpiredBatch}, func(sc scanner) (k key, err error) {
					err = sc.Scan(&k.account, &k.container, &k.name, &k.snapshot, &k.file)
					return k, err
				})
			if err != nil {
				return err
			}
			n = len(keys)
			for _, k := range keys {
				exts, err := takeFiles(ctx, tx, "extents", extentsOfVersion, k.account, k.container, k.name, k.snapshot)
				if err != nil {
					return err
				}
				garbage = append(append(garbage, k.file), exts...)
				for _, q := range []string{sqlDeletePages, `DELETE FROM blobs WHERE account = ? AND container = ? AND name = ? AND snapshot = ?`} {
					if _, err := tx.ExecContext(ctx, q, k.account, k.container, k.name, k.snapshot); err != nil {
						return fmt.Errorf("removing expired blob: %w", err)
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sweeping expired soft-deleted blobs: %w", err)
		}
		if err := s.removeFiles(s.contentPaths(garbage)); err != nil {
			s.log.Warn("removing expired blob files", "err", err)
		}
		if n < sweepExpiredBatch {
			return nil
		}
	}
	return nil
}

// expirySweeper runs sweepExpired every softDeleteSweepEvery until quit.
func (s *Service) expirySweeper(ctx context.Context) {
	defer close(s.sweeperDone)
	t := time.NewTicker(softDeleteSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if err := s.sweepExpired(ctx); err != nil {
				s.log.Error("sweeping soft-deleted blobs", "err", err)
			}
		}
	}
}

// remainingDays is a soft-deleted blob's RemainingRetentionDays: whole days
// left, counting a started day (to the second: a blob deleted now with 7
// days' retention has 7 left).
func remainingDays(expiry, now time.Time) int {
	d := expiry.Sub(now).Truncate(time.Second)
	if d <= 0 {
		return 0
	}
	return int((d + 24*time.Hour - 1) / (24 * time.Hour))
}
