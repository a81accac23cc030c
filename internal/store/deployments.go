package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway"
)

// errDeploymentNotFound is the message for a missing deployment.
func errDeploymentNotFound(site, id string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "Deployment '%s' of site '%s' was not found.", id, site)
}

// CreateDeployment records a new deployment of d.Site (looked up by its
// global name; d.ResourceGroup is filled in from the site). An empty ID gets
// 32 random hex characters, a zero ReceivedTime the current time. Active is
// ignored: use SetActiveDeployment. An ID the site already has is ECONFLICT;
// another site's deployments are not looked at (ids are per site, as each
// app's Kudu has its own: migration 0023).
func (s *Store) CreateDeployment(ctx context.Context, d slipway.Deployment) (slipway.Deployment, error) {
	if d.ID == "" {
		id, err := newHexID()
		if err != nil {
			return slipway.Deployment{}, err
		}
		d.ID = id
	}
	if d.ReceivedTime.IsZero() {
		d.ReceivedTime = s.now().UTC()
	}
	d.Active = false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var site, rg string
		err := tx.QueryRowContext(ctx, `SELECT name, resource_group FROM sites WHERE name = ?`, d.Site).Scan(&site, &rg)
		if errors.Is(err, sql.ErrNoRows) {
			return slipway.Errorf(slipway.ENOTFOUND, "Site '%s' was not found.", d.Site)
		} else if err != nil {
			return fmt.Errorf("looking up site: %w", err)
		}
		d.Site, d.ResourceGroup = site, rg
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deployments WHERE site = ? AND id = ?`, d.Site, d.ID).Scan(&n); err != nil {
			return fmt.Errorf("checking deployment id: %w", err)
		}
		if n > 0 {
			return slipway.Errorf(slipway.ECONFLICT, "Deployment '%s' already exists.", d.ID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deployments (id, site, resource_group, status, status_text, author, author_email,
			deployer, message, progress, build, package_sha256, artifact_dir, received_time, start_time, end_time, active, recorded)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
			d.ID, d.Site, d.ResourceGroup, int(d.Status), d.StatusText, d.Author, d.AuthorEmail,
			d.Deployer, d.Message, d.Progress, boolInt(d.Build), d.PackageSHA256, d.ArtifactDir,
			toUnix(d.ReceivedTime), toUnix(d.StartTime), toUnix(d.EndTime), boolInt(d.Recorded)); err != nil {
			return fmt.Errorf("inserting deployment: %w", err)
		}
		return nil
	})
	if err != nil {
		return slipway.Deployment{}, err
	}
	return d, nil
}

// UpdateDeployment stores d's mutable fields (status, texts, author,
// deployer, message, progress, build flag, package, artifact, times) for the
// deployment d.ID of d.Site. Active is not changed: use SetActiveDeployment.
func (s *Store) UpdateDeployment(ctx context.Context, d slipway.Deployment) error {
	res, err := s.write.ExecContext(ctx, `UPDATE deployments SET status = ?, status_text = ?, author = ?, author_email = ?,
		deployer = ?, message = ?, progress = ?, build = ?, package_sha256 = ?, artifact_dir = ?,
		received_time = ?, start_time = ?, end_time = ?
		WHERE id = ? AND site = ?`,
		int(d.Status), d.StatusText, d.Author, d.AuthorEmail, d.Deployer, d.Message, d.Progress, boolInt(d.Build),
		d.PackageSHA256, d.ArtifactDir, toUnix(d.ReceivedTime), toUnix(d.StartTime), toUnix(d.EndTime),
		d.ID, d.Site)
	if err != nil {
		return fmt.Errorf("updating deployment: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("updating deployment: %w", err)
	} else if n == 0 {
		return errDeploymentNotFound(d.Site, d.ID)
	}
	return nil
}

// GetDeployment returns the site's deployment with the given id; the id
// "latest" means LatestDeployment.
func (s *Store) GetDeployment(ctx context.Context, site, id string) (slipway.Deployment, error) {
	if strings.EqualFold(id, "latest") {
		return s.LatestDeployment(ctx, site)
	}
	d, err := scanDeployment(s.read.QueryRowContext(ctx, deploymentSelect+` WHERE site = ? AND id = ?`, site, id))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Deployment{}, errDeploymentNotFound(site, id)
	}
	return d, err
}

// LatestDeployment returns the deployment Kudu calls the site's latest
// (slipway.LatestDeployment): the newest one running, else the one that
// finished last.
func (s *Store) LatestDeployment(ctx context.Context, site string) (slipway.Deployment, error) {
	ds, err := s.ListDeployments(ctx, site)
	if err != nil {
		return slipway.Deployment{}, err
	}
	d, ok := slipway.LatestDeployment(ds)
	if !ok {
		return slipway.Deployment{}, slipway.Errorf(slipway.ENOTFOUND, "Site '%s' has no deployments.", site)
	}
	return d, nil
}

// ActiveDeployment returns the deployment currently serving the site.
func (s *Store) ActiveDeployment(ctx context.Context, site string) (slipway.Deployment, error) {
	d, err := scanDeployment(s.read.QueryRowContext(ctx, deploymentSelect+` WHERE site = ? AND active = 1`, site))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Deployment{}, slipway.Errorf(slipway.ENOTFOUND, "Site '%s' has no active deployment.", site)
	}
	return d, err
}

// ListDeployments returns the site's deployments, newest first.
func (s *Store) ListDeployments(ctx context.Context, site string) ([]slipway.Deployment, error) {
	return listDeployments(ctx, s.read, site)
}

func listDeployments(ctx context.Context, q querier, site string) ([]slipway.Deployment, error) {
	return listRows(ctx, q, "listing deployments", scanDeployment, deploymentSelect+` WHERE site = ? ORDER BY seq DESC`, site)
}

// SetActiveDeployment marks the deployment as the one serving the site and
// clears the mark on every other deployment of the site, atomically.
func (s *Store) SetActiveDeployment(ctx context.Context, site, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deployments WHERE site = ? AND id = ?`, site, id).Scan(&n); err != nil {
			return fmt.Errorf("looking up deployment: %w", err)
		}
		if n == 0 {
			return errDeploymentNotFound(site, id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET active = 0 WHERE site = ? AND active = 1`, site); err != nil {
			return fmt.Errorf("clearing active deployment: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET active = 1 WHERE site = ? AND id = ?`, site, id); err != nil {
			return fmt.Errorf("setting active deployment: %w", err)
		}
		return nil
	})
}

// PruneDeployments deletes old finished deployments of the site, as Kudu
// does: it keeps the newest keep successful ones, every deployment newer
// than the oldest of those, every unfinished one and the active one, and
// deletes the remaining finished (successful or failed) ones with their logs.
// Failed deployments beyond the newest keep go too, wherever they are: a
// tenant whose pushes only fail (an invalid zip costs a few bytes, a
// failing release command logs megabytes) would otherwise add records and
// logs to the platform's database, outside every quota, without end.
// Recorded deployments (made elsewhere) are counted apart: the newest
// keep of them stay, the rest go. It returns the deleted deployments so
// the caller can remove their artifacts and packages.
func (s *Store) PruneDeployments(ctx context.Context, site string, keep int) ([]slipway.Deployment, error) {
	if keep < 1 {
		return nil, slipway.Errorf(slipway.EINVALID, "The number of deployments to keep must be at least 1, not %d.", keep)
	}
	var pruned []slipway.Deployment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ds, err := listDeployments(ctx, tx, site) // newest first
		if err != nil {
			return err
		}
		successes, failures, recorded := 0, 0, 0
		for _, d := range ds {
			if d.Recorded {
				// History of deployments made elsewhere: the newest keep of
				// them stay, and they take no place among the versions
				// kept for rollback.
				if recorded++; recorded > keep && !d.Active {
					pruned = append(pruned, d)
				}
				continue
			}
			failed := d.Status == slipway.DeployFailed
			if failed {
				failures++
			}
			if (successes >= keep || failed && failures > keep) && d.Complete() && !d.Active {
				pruned = append(pruned, d)
			}
			if d.Status == slipway.DeploySuccess {
				successes++
			}
		}
		for _, d := range pruned {
			if _, err := tx.ExecContext(ctx, `DELETE FROM deployments WHERE site = ? AND id = ?`, d.Site, d.ID); err != nil {
				return fmt.Errorf("deleting deployment %s: %w", d.ID, err)
			}
		}
		for i := range pruned {
			if err := keepSharedArtifact(ctx, tx, &pruned[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if pruned == nil {
		pruned = []slipway.Deployment{}
	}
	return pruned, nil
}

const deploymentSelect = `SELECT id, site, resource_group, status, status_text, author, author_email, deployer, message, progress,
	build, package_sha256, artifact_dir, received_time, start_time, end_time, active, recorded FROM deployments`

func scanDeployment(r rowScanner) (slipway.Deployment, error) {
	var d slipway.Deployment
	var status int
	var received, start, end int64
	if err := r.Scan(&d.ID, &d.Site, &d.ResourceGroup, &status, &d.StatusText, &d.Author, &d.AuthorEmail, &d.Deployer,
		&d.Message, &d.Progress, &d.Build, &d.PackageSHA256, &d.ArtifactDir, &received, &start, &end, &d.Active, &d.Recorded); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return d, err
		}
		return d, fmt.Errorf("reading deployment: %w", err)
	}
	d.Status = slipway.DeployStatus(status)
	d.ReceivedTime, d.StartTime, d.EndTime = fromUnix(received), fromUnix(start), fromUnix(end)
	return d, nil
}

// AppendDeploymentLog adds an entry to the summary log of the site's
// deployment. An empty ID gets a random GUID, a zero Time the current time.
// It returns the stored entry.
func (s *Store) AppendDeploymentLog(ctx context.Context, site, deploymentID string, e slipway.DeploymentLogEntry) (slipway.DeploymentLogEntry, error) {
	if e.ID == "" {
		id, err := newGUID()
		if err != nil {
			return e, err
		}
		e.ID = id
	}
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The site's name as stored (the caller's may differ in case).
		var name string
		err := tx.QueryRowContext(ctx, `SELECT site FROM deployments WHERE site = ? AND id = ?`, site, deploymentID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return errDeploymentNotFound(site, deploymentID)
		} else if err != nil {
			return fmt.Errorf("looking up deployment: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deployment_log (site, deployment_id, id, time, message, type) VALUES (?, ?, ?, ?, ?, ?)`,
			name, deploymentID, e.ID, toUnix(e.Time), e.Message, int(e.Type)); err != nil {
			return fmt.Errorf("appending deployment log: %w", err)
		}
		if e.Details != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO deployment_log_details (site, deployment_id, entry_id, text) VALUES (?, ?, ?, ?)`,
				name, deploymentID, e.ID, e.Details); err != nil {
				return fmt.Errorf("appending deployment log details: %w", err)
			}
		}
		return nil
	})
	return e, err
}

// AppendDeploymentLogDetails appends text to the details of a log entry
// of the site's deployment (the build log streams into them). Each call is
// one cheap insert.
func (s *Store) AppendDeploymentLogDetails(ctx context.Context, site, deploymentID, entryID, text string) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO deployment_log_details (site, deployment_id, entry_id, text, time) VALUES (?, ?, ?, ?, ?)`,
		site, deploymentID, entryID, text, toUnix(s.now()))
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") {
			return slipway.Errorf(slipway.ENOTFOUND, "Log entry '%s' of deployment '%s' was not found.", entryID, deploymentID)
		}
		return fmt.Errorf("appending deployment log details: %w", err)
	}
	return nil
}

// DeploymentLogLines returns the lines of one entry's details, each with
// the time its piece arrived (the entry's own time for pieces stored before
// times were kept). An unknown entry has none.
func (s *Store) DeploymentLogLines(ctx context.Context, site, deploymentID, entryID string) ([]slipway.DeploymentLogLine, error) {
	var out []slipway.DeploymentLogLine
	var partial *slipway.DeploymentLogLine // a line whose end came in a later piece
	err := eachRow(ctx, s.read, "reading deployment log details", func(r rowScanner) error {
		var text string
		var ts int64
		var typ int
		if err := r.Scan(&text, &ts, &typ); err != nil {
			return err
		}
		t := fromUnix(ts)
		for text != "" {
			line, rest, complete := strings.Cut(text, "\n")
			text = rest
			if partial != nil {
				partial.Text += line
			} else {
				out = append(out, slipway.DeploymentLogLine{Time: t, Text: line, Type: slipway.LogEntryType(typ)})
				partial = &out[len(out)-1]
			}
			if complete {
				partial = nil
			}
		}
		return nil
	}, `SELECT d.text, CASE WHEN d.time = 0 THEN l.time ELSE d.time END, l.type
		FROM deployment_log_details d JOIN deployment_log l ON l.site = d.site AND l.deployment_id = d.deployment_id AND l.id = d.entry_id
		WHERE d.site = ? AND d.deployment_id = ? AND d.entry_id = ? ORDER BY d.seq`, site, deploymentID, entryID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeploymentLog returns the log entries of the site's deployment in the
// order they were appended, each with its accumulated details. A deployment
// without entries (or an unknown one) gives an empty slice.
func (s *Store) DeploymentLog(ctx context.Context, site, deploymentID string) ([]slipway.DeploymentLogEntry, error) {
	return listRows(ctx, s.read, "reading deployment log", func(r rowScanner) (slipway.DeploymentLogEntry, error) {
		var e slipway.DeploymentLogEntry
		var t int64
		var typ int
		err := r.Scan(&e.ID, &t, &e.Message, &typ, &e.Details)
		e.Time, e.Type = fromUnix(t), slipway.LogEntryType(typ)
		return e, err
	}, `SELECT l.id, l.time, l.message, l.type,
		COALESCE((SELECT group_concat(d.text, '' ORDER BY d.seq) FROM deployment_log_details d
			WHERE d.site = l.site AND d.deployment_id = l.deployment_id AND d.entry_id = l.id), '')
		FROM deployment_log l WHERE l.site = ? AND l.deployment_id = ? ORDER BY l.seq`, site, deploymentID)
}

// keepSharedArtifact clears the ArtifactDir of a deleted record d when
// another record still runs that artifact: a swap makes two slots' records
// share one (docs/slots.md §1), and it is not the caller's to remove.
func keepSharedArtifact(ctx context.Context, tx *sql.Tx, d *slipway.Deployment) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deployments WHERE artifact_dir = ? AND artifact_dir <> ''`, d.ArtifactDir).Scan(&n); err != nil {
		return fmt.Errorf("checking artifact use: %w", err)
	}
	if n > 0 {
		d.ArtifactDir = ""
	}
	return nil
}

// DeleteDeployment deletes one finished, inactive deployment of the site
// with its log, as Kudu's DELETE /api/deployments/{id} does
// (DeploymentManager.Delete, docs/appservice.md §5): an id the site has not
// is ENOTFOUND and the active deployment ECONFLICT, with Kudu's messages; a
// running one is ECONFLICT too. It returns the deleted record, its
// ArtifactDir cleared when another record still runs that artifact, so
// that the caller removes only what no one uses.
func (s *Store) DeleteDeployment(ctx context.Context, site, id string) (slipway.Deployment, error) {
	var d slipway.Deployment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDeployment(tx.QueryRowContext(ctx, deploymentSelect+` WHERE site = ? AND id = ?`, site, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return slipway.Errorf(slipway.ENOTFOUND, "Unable to delete '%s'. No deployment found.", id)
		case err != nil:
			return err
		case d.Active:
			return slipway.Errorf(slipway.ECONFLICT, "Unable to delete '%s'. The deployment is currently active.", id)
		case !d.Complete():
			return slipway.Errorf(slipway.ECONFLICT, "Unable to delete '%s'. The deployment is running; try again when it has finished.", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM deployments WHERE site = ? AND id = ?`, d.Site, d.ID); err != nil {
			return fmt.Errorf("deleting deployment %s: %w", d.ID, err)
		}
		return keepSharedArtifact(ctx, tx, &d)
	})
	if err != nil {
		return slipway.Deployment{}, err
	}
	return d, nil
}

// ClearDeploymentLog removes the log of the site's deployment, entries and
// details: a redeploy starts it afresh, as Kudu removes the old log of a
// deployment it runs again (DeploymentManager.DeployAsync).
func (s *Store) ClearDeploymentLog(ctx context.Context, site, deploymentID string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM deployment_log WHERE site = ? AND deployment_id = ?`, site, deploymentID); err != nil {
		return fmt.Errorf("clearing deployment log: %w", err)
	}
	return nil
}
