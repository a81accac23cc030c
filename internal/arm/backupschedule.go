package arm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/every"
	"github.com/slipway-dev/slipway/internal/redact"
	"github.com/slipway-dev/slipway/internal/store"
)

// Scheduled backups (az webapp config backup update|show; Microsoft's
// "Back up and restore your app in Azure App Service", "Schedule automatic
// backups" of custom backups): PUT SITE/config/backup sets a site's
// schedule — a container URL, how often (frequencyInterval and
// frequencyUnit, Day or Hour, from startTime), how long backups are kept
// (retentionPeriodInDays, 0 for ever) and whether the newest is kept
// whatever its age (keepAtLeastOneBackup) —, POST SITE/config/backup/list
// reads it (404 when there is none, as App Service answers) and DELETE
// SITE/config/backup removes it. RunBackupSchedules takes the backups when
// they are due, as createBackup takes one, and deletes the schedule's own
// backups once their retention has passed (blob and record); backups
// taken on request are never deleted by it.

// backupScheduleRequest is the BackupRequest a schedule is set with.
type backupScheduleRequest struct {
	Properties struct {
		BackupName        string          `json:"backupName"`
		Enabled           *bool           `json:"enabled"`
		StorageAccountURL string          `json:"storageAccountUrl"`
		Databases         json.RawMessage `json:"databases"`
		BackupSchedule    *struct {
			FrequencyInterval     looseInt        `json:"frequencyInterval"`
			FrequencyUnit         string          `json:"frequencyUnit"`
			KeepAtLeastOneBackup  json.RawMessage `json:"keepAtLeastOneBackup"`
			RetentionPeriodInDays looseInt        `json:"retentionPeriodInDays"`
			StartTime             *time.Time      `json:"startTime"`
		} `json:"backupSchedule"`
	} `json:"properties"`
}

// looseInt is a whole number sent as a JSON number or, as az sends the
// values of some options (webapp config backup update --retention), as a
// string of one; App Service reads both.
type looseInt int

func (n *looseInt) UnmarshalJSON(b []byte) error {
	var v int
	if err := json.Unmarshal(b, &v); err == nil {
		*n = looseInt(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*n = looseInt(v)
	return nil
}

// Bounds of a schedule: no more often than hourly (the units), no more
// than a year apart; retention as App Service's portal offers it.
const (
	maxBackupEvery     = 365 * 24 * time.Hour
	maxBackupRetention = 9999
)

// every is how far apart a schedule's backups are.
func backupEvery(b store.BackupSchedule) time.Duration {
	if b.Unit == "Hour" {
		return time.Duration(b.Interval) * time.Hour
	}
	return time.Duration(b.Interval) * 24 * time.Hour
}

// putBackupSchedule answers PUT SITE/config/backup.
func (h *Handler) putBackupSchedule(w http.ResponseWriter, r *http.Request, p params) error {
	var body backupScheduleRequest
	s, err := h.backupCall(r, p, &body)
	if err != nil {
		return err
	}
	props := body.Properties
	sched := props.BackupSchedule
	switch {
	case hasItems(props.Databases):
		return errBackupDatabases
	case props.StorageAccountURL == "":
		return slipway.Errorf(slipway.EINVALID, "properties.storageAccountUrl is required: the URL, with a SAS that may write, of a container of this server's blob service (az webapp config backup update --container-url).")
	case sched == nil:
		return slipway.Errorf(slipway.EINVALID, "properties.backupSchedule is required: how often backups are taken and how long they are kept (az webapp config backup update --frequency 1d --retention 30 --retain-one true).")
	}
	keepOne, _, err := boolProperty("backupSchedule.keepAtLeastOneBackup", sched.KeepAtLeastOneBackup)
	if err != nil {
		return err
	}
	unit := map[string]string{"day": "Day", "hour": "Hour"}[strings.ToLower(sched.FrequencyUnit)]
	b := store.BackupSchedule{Site: s.Name, Name: strings.TrimSuffix(props.BackupName, ".zip"), URL: props.StorageAccountURL,
		Enabled: props.Enabled == nil || *props.Enabled, Interval: int(sched.FrequencyInterval), Unit: unit,
		RetentionDays: int(sched.RetentionPeriodInDays), KeepOne: keepOne, Start: h.cfg.Now().UTC()}
	switch {
	case unit == "":
		return slipway.Errorf(slipway.EINVALID, "properties.backupSchedule.frequencyUnit '%s' is not one: Day or Hour.", sched.FrequencyUnit)
	case b.Interval < 1 || backupEvery(b) > maxBackupEvery:
		return slipway.Errorf(slipway.EINVALID, "properties.backupSchedule.frequencyInterval %d is out of range: from 1 hour to 365 days apart.", b.Interval)
	case b.RetentionDays < 0 || b.RetentionDays > maxBackupRetention:
		return slipway.Errorf(slipway.EINVALID, "properties.backupSchedule.retentionPeriodInDays %d is out of range: 0 (kept until deleted) to %d.", b.RetentionDays, maxBackupRetention)
	}
	if sched.StartTime != nil && !sched.StartTime.IsZero() {
		b.Start = sched.StartTime.UTC()
	}
	if b.Name == "" {
		b.Name = s.App()
	}
	// The URL is checked now as a backup's is: with the schedule's name.
	if _, err := h.cfg.Backups.BackupBlobURL(b.URL, b.Name); err != nil {
		return err
	}
	c, _ := url.Parse(b.URL)
	b.URLShown = redact.SASURL(c)
	if old, err := h.cfg.Store.BackupScheduleOf(r.Context(), s.Name); err == nil {
		b.LastRun = old.LastRun
	}
	if err := h.cfg.Store.PutBackupSchedule(r.Context(), b); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, backupScheduleDoc(p.sub, s, b))
}

// backupScheduleDoc is a schedule as ARM shows it (BackupRequest).
func backupScheduleDoc(sub string, s slipway.Site, b store.BackupSchedule) map[string]any {
	var last any
	if !b.LastRun.IsZero() {
		last = armTime(b.LastRun)
	}
	return map[string]any{
		"id": s.ResourceID(sub) + "/config/backup", "name": "backup", "type": siteSubType(s, "config"),
		"properties": map[string]any{
			"backupName": b.Name, "enabled": b.Enabled, "storageAccountUrl": b.URLShown, "databases": []any{},
			"backupSchedule": map[string]any{
				"frequencyInterval": b.Interval, "frequencyUnit": b.Unit, "keepAtLeastOneBackup": b.KeepOne,
				"retentionPeriodInDays": b.RetentionDays, "startTime": armTime(b.Start), "lastExecutionTime": last,
			},
		},
	}
}

// getBackupSchedule answers POST SITE/config/backup/list.
func (h *Handler) getBackupSchedule(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	b, err := h.cfg.Store.BackupScheduleOf(r.Context(), s.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, backupScheduleDoc(p.sub, s, b))
}

// deleteBackupSchedule answers DELETE SITE/config/backup.
func (h *Handler) deleteBackupSchedule(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	if err := h.cfg.Store.DeleteBackupSchedule(r.Context(), s.Name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// RunBackupSchedules takes the sites' scheduled backups when they are due,
// looking every interval, until ctx ends.
func (h *Handler) RunBackupSchedules(ctx context.Context, interval time.Duration) {
	if h.cfg.Backups == nil || interval <= 0 {
		return
	}
	every.Run(ctx, interval, h.runDueBackups)
}

// runDueBackups takes each enabled schedule's backup that is due — one,
// however many were missed while the server was down — and then deletes
// that schedule's backups past their retention.
func (h *Handler) runDueBackups(ctx context.Context) {
	list, err := h.cfg.Store.BackupSchedules(ctx)
	if err != nil {
		h.logger.Error("reading backup schedules", "err", err)
		return
	}
	for _, b := range list {
		if ctx.Err() != nil {
			return
		}
		now := h.cfg.Now().UTC()
		if !b.Enabled || now.Before(b.Start) || !b.LastRun.IsZero() && now.Before(b.LastRun.Add(backupEvery(b))) {
			continue
		}
		s, err := h.cfg.Store.FindSite(ctx, b.Site)
		if err != nil {
			continue // deleted meanwhile: its schedule went with it
		}
		if err := h.cfg.Store.BackupScheduleRan(ctx, s.Name, now); err != nil {
			h.logger.Error("recording a scheduled backup", "site", s.Name, "err", err)
			continue
		}
		plan, err := h.cfg.Store.Plan(ctx, s.PlanResourceGroup(), s.Plan)
		if err == nil && plan.SKU.SharedCompute() {
			h.logger.Warn("a scheduled backup was not taken: the app's plan is in a tier without backups", "site", s.Name, "tier", plan.SKU.Tier)
			continue
		}
		name := s.App() + "_" + now.Format("200601021504")
		if _, err := h.takeBackup(ctx, s, name, b.URL, true); err != nil {
			h.logger.Warn("a scheduled backup failed; its record says why", "site", s.Name, "backup", name, "err", slipway.ErrorMessage(err))
		}
		h.expireBackups(ctx, s, b, now)
	}
}

// expireBackups deletes the schedule's backups older than its retention,
// blob and record, keeping the newest that succeeded when the schedule
// says so. A blob the SAS no longer lets this server delete keeps its
// record, to be tried again.
func (h *Handler) expireBackups(ctx context.Context, s slipway.Site, b store.BackupSchedule, now time.Time) {
	if b.RetentionDays == 0 {
		return
	}
	list, err := h.cfg.Store.Backups(ctx, s.Name)
	if err != nil {
		return
	}
	list = slices.DeleteFunc(list, func(r store.Backup) bool { return !r.Scheduled })
	newest := -1
	for i, r := range list {
		if r.Status == "Succeeded" || r.Status == "PartiallySucceeded" {
			newest = i // oldest first: the last one is the newest
		}
	}
	cutoff := now.Add(-time.Duration(b.RetentionDays) * 24 * time.Hour)
	for i, r := range list {
		if !r.Created.Before(cutoff) || b.KeepOne && i == newest {
			continue
		}
		if r.Status != "Failed" {
			u, err := h.cfg.Backups.BackupBlobURL(r.URL, r.Name)
			if err == nil {
				err = h.cfg.Backups.DeleteBackupBlob(ctx, u)
			}
			if err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
				h.logger.Warn("an expired backup's blob could not be deleted", "site", s.Name, "backup", r.Name, "err", slipway.ErrorMessage(err))
				continue
			}
		}
		if err := h.cfg.Store.DeleteBackup(ctx, s.Name, r.ID); err != nil {
			h.logger.Error("deleting an expired backup's record", "site", s.Name, "backup", r.Name, "err", err)
		}
	}
}
