package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// An app's custom backups (migration 0029_backups.sql): the records of
// the backups `az webapp config backup create` took. The backup itself is
// a blob in a container the app's owner named; the record keeps where, to
// list it and to delete it.

// Backup is the record of one backup of a site.
type Backup struct {
	ID       int64
	Site     string // the site's stored name (a slot's is app-slot)
	Name     string // the backup's name, without .zip
	BlobName string // the blob written, <name>.zip, in the container
	// URLShown is the container URL with its SAS's signature masked;
	// URL, the URL as given (sealed at rest), to reach the blob again.
	URLShown, URL string
	Status        string // Azure's BackupItemStatus: InProgress, Succeeded, PartiallySucceeded, Failed
	Log           string
	Size          int64 // bytes of the blob
	SiteSize      int64 // bytes of the app's files in it
	Created       time.Time
	Finished      time.Time // zero while in progress
	Restored      time.Time // the last restore from it, zero if none
	Scheduled     bool      // taken by the site's schedule (BackupSchedule)
}

func errBackupNotFound(site string, id int64) error {
	return slipway.Errorf(slipway.ENOTFOUND, "Backup %d not found for site %s.", id, site)
}

// backupAAD binds a backup's sealed URL to its row.
func backupAAD(site string, id int64) string {
	return "backups/" + site + "/" + strconv.FormatInt(id, 10)
}

// CreateBackup records a backup of the site, in progress, and returns it
// with its id.
func (s *Store) CreateBackup(ctx context.Context, b Backup) (Backup, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO backups (site, name, blob_name, url_shown, url_sealed, status, created, scheduled) VALUES (?, ?, ?, ?, x'', ?, ?, ?)`,
			b.Site, b.Name, b.BlobName, b.URLShown, b.Status, toUnix(b.Created), boolInt(b.Scheduled))
		if err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") {
				return slipway.Errorf(slipway.ENOTFOUND, "Site %s not found.", b.Site)
			}
			return fmt.Errorf("recording backup: %w", err)
		}
		if b.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		sealed, err := s.seal(b.URL, backupAAD(b.Site, b.ID))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE backups SET url_sealed = ? WHERE id = ?`, sealed, b.ID)
		return err
	})
	return b, err
}

// FinishBackup records how the backup ended.
func (s *Store) FinishBackup(ctx context.Context, b Backup) error {
	_, err := s.write.ExecContext(ctx, `UPDATE backups SET status = ?, log = ?, size = ?, site_size = ?, finished = ? WHERE id = ? AND site = ?`,
		b.Status, b.Log, b.Size, b.SiteSize, toUnix(b.Finished), b.ID, b.Site)
	if err != nil {
		return fmt.Errorf("recording backup: %w", err)
	}
	return nil
}

// BackupRestored records a restore from the backup at t.
func (s *Store) BackupRestored(ctx context.Context, site string, id int64, t time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE backups SET restored = ? WHERE id = ? AND site = ?`, toUnix(t), id, site)
	return err
}

const backupSelect = `SELECT id, site, name, blob_name, url_shown, url_sealed, status, log, size, site_size, created, finished, restored, scheduled FROM backups`

func (s *Store) scanBackup(r rowScanner) (Backup, error) {
	var b Backup
	var sealed []byte
	var created, finished, restored int64
	if err := r.Scan(&b.ID, &b.Site, &b.Name, &b.BlobName, &b.URLShown, &sealed, &b.Status, &b.Log, &b.Size, &b.SiteSize, &created, &finished, &restored, &b.Scheduled); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return b, err
		}
		return b, fmt.Errorf("reading backup: %w", err)
	}
	url, err := s.open(sealed, backupAAD(b.Site, b.ID))
	if err != nil {
		return b, err
	}
	b.URL = url
	b.Created, b.Finished, b.Restored = fromUnix(created), fromUnix(finished), fromUnix(restored)
	return b, nil
}

// Backups lists the site's backups, oldest first.
func (s *Store) Backups(ctx context.Context, site string) ([]Backup, error) {
	var out []Backup
	err := eachRow(ctx, s.read, "reading backups", func(r rowScanner) error {
		b, err := s.scanBackup(r)
		if err != nil {
			return err
		}
		out = append(out, b)
		return nil
	}, backupSelect+` WHERE site = ? ORDER BY id`, site)
	return out, err
}

// Backup returns one of the site's backups; ENOTFOUND for an id the site
// has not.
func (s *Store) Backup(ctx context.Context, site string, id int64) (Backup, error) {
	b, err := s.scanBackup(s.read.QueryRowContext(ctx, backupSelect+` WHERE site = ? AND id = ?`, site, id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, errBackupNotFound(site, id)
	}
	return b, err
}

// DeleteBackup deletes the record of one of the site's backups.
func (s *Store) DeleteBackup(ctx context.Context, site string, id int64) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM backups WHERE site = ? AND id = ?`, site, id)
	if err != nil {
		return fmt.Errorf("deleting backup: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errBackupNotFound(site, id)
	}
	return nil
}

// BackupSchedule is a site's schedule of backups (App Service's
// BackupSchedule, set with the site's config/backup).
type BackupSchedule struct {
	Site string
	// Name is the name the backups were asked under; each scheduled one
	// is named after the app and the time it is taken.
	Name string
	// URLShown and URL are the container's, as Backup's are.
	URLShown, URL string
	Enabled       bool
	Interval      int    // frequencyInterval
	Unit          string // frequencyUnit: Day or Hour
	RetentionDays int    // retentionPeriodInDays; 0: kept until deleted
	KeepOne       bool   // keepAtLeastOneBackup
	Start         time.Time
	LastRun       time.Time // zero: not run yet
}

func backupScheduleAAD(site string) string { return "backup_schedules/" + strings.ToLower(site) }

// PutBackupSchedule sets the site's schedule.
func (s *Store) PutBackupSchedule(ctx context.Context, b BackupSchedule) error {
	sealed, err := s.seal(b.URL, backupScheduleAAD(b.Site))
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO backup_schedules (site, name, url_shown, url_sealed, enabled, interval, unit, retention_days, keep_one, start_time, last_run)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site) DO UPDATE SET name = excluded.name, url_shown = excluded.url_shown, url_sealed = excluded.url_sealed, enabled = excluded.enabled,
			interval = excluded.interval, unit = excluded.unit, retention_days = excluded.retention_days, keep_one = excluded.keep_one,
			start_time = excluded.start_time, last_run = excluded.last_run`,
		b.Site, b.Name, b.URLShown, sealed, boolInt(b.Enabled), b.Interval, b.Unit, b.RetentionDays, boolInt(b.KeepOne), toUnix(b.Start), toUnix(b.LastRun))
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") {
			return slipway.Errorf(slipway.ENOTFOUND, "Site %s not found.", b.Site)
		}
		return fmt.Errorf("recording the backup schedule: %w", err)
	}
	return nil
}

const backupScheduleSelect = `SELECT site, name, url_shown, url_sealed, enabled, interval, unit, retention_days, keep_one, start_time, last_run FROM backup_schedules`

func (s *Store) scanBackupSchedule(r rowScanner) (BackupSchedule, error) {
	var b BackupSchedule
	var sealed []byte
	var start, last int64
	if err := r.Scan(&b.Site, &b.Name, &b.URLShown, &sealed, &b.Enabled, &b.Interval, &b.Unit, &b.RetentionDays, &b.KeepOne, &start, &last); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return b, err
		}
		return b, fmt.Errorf("reading backup schedule: %w", err)
	}
	url, err := s.open(sealed, backupScheduleAAD(b.Site))
	if err != nil {
		return b, err
	}
	b.URL, b.Start, b.LastRun = url, fromUnix(start), fromUnix(last)
	return b, nil
}

// BackupScheduleOf returns the site's schedule; ENOTFOUND when it has none.
func (s *Store) BackupScheduleOf(ctx context.Context, site string) (BackupSchedule, error) {
	b, err := s.scanBackupSchedule(s.read.QueryRowContext(ctx, backupScheduleSelect+` WHERE site = ?`, site))
	if errors.Is(err, sql.ErrNoRows) {
		return b, slipway.Errorf(slipway.ENOTFOUND, "Backup configuration not found for site %s.", site)
	}
	return b, err
}

// BackupSchedules lists every site's schedule.
func (s *Store) BackupSchedules(ctx context.Context) ([]BackupSchedule, error) {
	var out []BackupSchedule
	err := eachRow(ctx, s.read, "reading backup schedules", func(r rowScanner) error {
		b, err := s.scanBackupSchedule(r)
		if err != nil {
			return err
		}
		out = append(out, b)
		return nil
	}, backupScheduleSelect+` ORDER BY site`)
	return out, err
}

// BackupScheduleRan records that the site's schedule ran at t.
func (s *Store) BackupScheduleRan(ctx context.Context, site string, t time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE backup_schedules SET last_run = ? WHERE site = ?`, toUnix(t), site)
	return err
}

// DeleteBackupSchedule removes the site's schedule; ENOTFOUND when it has
// none.
func (s *Store) DeleteBackupSchedule(ctx context.Context, site string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM backup_schedules WHERE site = ?`, site)
	if err != nil {
		return fmt.Errorf("deleting the backup schedule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return slipway.Errorf(slipway.ENOTFOUND, "Backup configuration not found for site %s.", site)
	}
	return nil
}
