package arm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/redact"
	"github.com/slipway-dev/slipway/internal/store"
)

// App backups (az webapp config backup create|list|delete|restore;
// Microsoft's "Back up and restore your app in Azure App Service", custom
// backups): POST SITE/backup writes a backup of the app — its
// configuration and its files — as one blob into a container of this
// server's blob service named by a URL with a SAS, and records it; GET
// SITE/backups lists the records, DELETE SITE/backups/{id} deletes one and
// its blob; POST SITE/backups/{id}/restore restores the app from a backup
// blob named by a container URL and a blob name. Kudu's side reads and
// writes the app's home and the blob (package scm's backup.go); this side
// keeps the records and the configuration.
//
// The configuration in a backup (app settings, connection strings, the
// startup command and runtime) holds the app's secrets, and blobs are not
// encrypted at rest here, so it is sealed with the server's master key:
// a backup restores on this server (or one with its key) only. Backups of
// databases are refused (back a database up with its own tools; a SQLite
// file under /home is in the backup), and so are scheduled backups
// (config/backup): nothing here would run them.

// Backups reads and writes app backups' blobs (package scm's Handler,
// through the server).
type Backups interface {
	// BackupBlobURL is the blob <blobName>.zip in the container that
	// container (a URL with a SAS) names, refused unless it is of this
	// server's blob service.
	BackupBlobURL(container, blobName string) (*url.URL, error)
	WriteBackup(ctx context.Context, s slipway.Site, u *url.URL, meta []byte) (size, siteSize int64, left []string, err error)
	OpenBackup(ctx context.Context, s slipway.Site, u *url.URL) (OpenedBackup, error)
	DeleteBackupBlob(ctx context.Context, u *url.URL) error
}

// OpenedBackup is a backup read back and checked; nothing of the app has
// changed until RestoreHome and DeployFiles.
type OpenedBackup interface {
	Meta() []byte
	// RestoreHome puts the backup's files of /home (but wwwroot) in place.
	RestoreHome() error
	// DeployFiles deploys the backup's wwwroot and waits for the
	// deployment; false when the backup has no deployed files.
	DeployFiles(ctx context.Context, message string) (slipway.Deployment, bool, error)
	Close() error
}

// backupFormat names the layout of a backup's configuration.
const backupFormat = "slipway-backup/1"

// backupAAD binds a backup's sealed configuration to its layout and to the
// app it was taken of — its production site's name and the moment that
// site was made, so that an app made later under a deleted one's name is
// another —, so that it opens for a restore into that app or one of its
// slots only (App Service restores into a slot too). A restore opens
// secrets for whoever may restore into the target; a backup blob someone
// else could read (a public container, a shared SAS) must not hand the
// app's secrets to an app of theirs.
func (h *Handler) backupAAD(ctx context.Context, s slipway.Site) (string, error) {
	app := s
	if s.SlotOf != "" {
		var err error
		if app, err = h.cfg.Store.Site(ctx, s.ResourceGroup, s.SlotOf); err != nil {
			return "", err
		}
	}
	return "app-backup/" + backupFormat + "/" + strings.ToLower(app.Name) + "/" + strconv.FormatInt(app.Created.UnixNano(), 10), nil
}

// backupMeta is a backup's slipway-backup.json.
type backupMeta struct {
	Format  string    `json:"format"`
	App     string    `json:"app"`
	Slot    string    `json:"slot,omitempty"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Config is backupConfig, sealed.
	Config []byte `json:"config"`
}

// backupConfig is the configuration a backup keeps and a restore puts
// back.
type backupConfig struct {
	Settings          map[string]string                   `json:"settings"`
	ConnectionStrings map[string]slipway.ConnectionString `json:"connectionStrings"`
	AppCommandLine    string                              `json:"appCommandLine"`
	LinuxFxVersion    string                              `json:"linuxFxVersion"`
}

type backupRequest struct {
	Properties struct {
		BackupName        string          `json:"backupName"`
		StorageAccountURL string          `json:"storageAccountUrl"`
		Databases         json.RawMessage `json:"databases"`
		BackupSchedule    json.RawMessage `json:"backupSchedule"`
	} `json:"properties"`
}

// hasItems reports whether a JSON list in a request holds anything.
func hasItems(raw json.RawMessage) bool {
	var v []any
	return len(raw) > 0 && json.Unmarshal(raw, &v) == nil && len(v) > 0
}

var (
	errBackupDatabases = slipway.Errorf(slipway.EINVALID, "Slipway does not back up databases: back your database up with its own tools (pg_dump, mysqldump). A SQLite database kept under /home is part of the app's backup.")
	errNoBackups       = slipway.Errorf(slipway.EINVALID, "App backups are not available on this server: it has no blob service to write them to.")
)

// backupCall reads a backup's or a restore's request into body and
// returns the site it is for, refusing tiers App Service takes no backups
// in.
func (h *Handler) backupCall(r *http.Request, p params, body any) (slipway.Site, error) {
	if h.cfg.Backups == nil {
		return slipway.Site{}, errNoBackups
	}
	if err := readJSON(r, body); err != nil {
		return slipway.Site{}, err
	}
	ctx := r.Context()
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return s, err
	}
	plan, err := h.cfg.Store.Plan(ctx, s.PlanResourceGroup(), s.Plan)
	if err != nil {
		return s, err
	}
	if plan.SKU.SharedCompute() {
		return s, slipway.Errorf(slipway.EINVALID, "Backups are not available in the %s tier: scale the plan %s up to Basic or higher (az appservice plan update --sku B1).", plan.SKU.Tier, plan.Name)
	}
	return s, nil
}

// createBackup answers POST SITE/backup: the backup is taken before the
// answer, which is its record (BackupItem).
func (h *Handler) createBackup(w http.ResponseWriter, r *http.Request, p params) error {
	var body backupRequest
	s, err := h.backupCall(r, p, &body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	props := body.Properties
	if hasItems(props.Databases) {
		return errBackupDatabases
	}
	if props.StorageAccountURL == "" {
		return slipway.Errorf(slipway.EINVALID, "properties.storageAccountUrl is required: the URL, with a SAS that may write, of a container of this server's blob service (az webapp config backup create --container-url).")
	}
	name := strings.TrimSuffix(props.BackupName, ".zip")
	if name == "" {
		name = s.App() + "_" + h.cfg.Now().UTC().Format("20060102150405")
	}
	if _, err := h.cfg.Backups.BackupBlobURL(props.StorageAccountURL, name); err != nil {
		return err
	}
	rec, err := h.takeBackup(ctx, s, name, props.StorageAccountURL, false)
	if err != nil {
		return err // the record says Failed, and why
	}
	return writeJSON(w, http.StatusOK, backupItem(p.sub, s, rec))
}

// takeBackup backs the site up as name into the container the URL
// container names, and records it (scheduled: by the site's schedule).
// A backup that fails is recorded as Failed, with why, and the error
// returned.
func (h *Handler) takeBackup(ctx context.Context, s slipway.Site, name, container string, scheduled bool) (store.Backup, error) {
	u, err := h.cfg.Backups.BackupBlobURL(container, name)
	if err != nil {
		return store.Backup{}, err
	}
	settings, conns, err := h.siteSettings(ctx, s)
	if err != nil {
		return store.Backup{}, err
	}
	plain, err := json.Marshal(backupConfig{Settings: settings, ConnectionStrings: conns,
		AppCommandLine: s.Config.AppCommandLine, LinuxFxVersion: s.Config.LinuxFxVersion})
	if err != nil {
		return store.Backup{}, err
	}
	aad, err := h.backupAAD(ctx, s)
	if err != nil {
		return store.Backup{}, err
	}
	sealed, err := h.cfg.Store.SealBytes(plain, aad)
	if err != nil {
		return store.Backup{}, err
	}
	now := h.cfg.Now().UTC()
	meta, err := json.Marshal(backupMeta{Format: backupFormat, App: s.App(), Slot: s.Slot, Name: name, Created: now, Config: sealed})
	if err != nil {
		return store.Backup{}, err
	}
	c, _ := url.Parse(container)
	rec, err := h.cfg.Store.CreateBackup(ctx, store.Backup{Site: s.Name, Name: name, BlobName: name + ".zip",
		URLShown: redact.SASURL(c), URL: container, Status: "InProgress", Created: now, Scheduled: scheduled})
	if err != nil {
		return store.Backup{}, err
	}
	size, siteSize, left, werr := h.cfg.Backups.WriteBackup(ctx, s, u, meta)
	rec.Size, rec.SiteSize, rec.Finished = size, siteSize, h.cfg.Now().UTC()
	switch {
	case werr != nil:
		rec.Status, rec.Log = "Failed", slipway.ErrorMessage(werr)
	case len(left) > 0:
		rec.Status, rec.Log = "PartiallySucceeded", "Left out: "+strings.Join(left, "; ")
	default:
		rec.Status = "Succeeded"
	}
	if err := h.cfg.Store.FinishBackup(context.WithoutCancel(ctx), rec); err != nil {
		return rec, err
	}
	return rec, werr
}

// backupItem is a backup record as ARM shows it (BackupItem).
func backupItem(sub string, s slipway.Site, b store.Backup) map[string]any {
	var finished, restored any
	if !b.Finished.IsZero() {
		finished = armTime(b.Finished)
	}
	if !b.Restored.IsZero() {
		restored = armTime(b.Restored)
	}
	id := strconv.FormatInt(b.ID, 10)
	return map[string]any{
		"id":   s.ResourceID(sub) + "/backups/" + id,
		"name": id,
		"type": siteSubType(s, "backups"),
		"properties": map[string]any{
			"id": b.ID, "storageAccountUrl": b.URLShown, "blobName": b.Name, "name": b.Name,
			"status": b.Status, "sizeInBytes": b.Size, "websiteSizeInBytes": b.SiteSize,
			"created": armTime(b.Created), "finishedTimeStamp": finished, "lastRestoreTimeStamp": restored,
			"log": b.Log, "databases": []any{}, "scheduled": b.Scheduled, "correlationId": nil,
		},
	}
}

// listBackups answers GET SITE/backups.
func (h *Handler) listBackups(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.Site(r.Context(), p.rg, p.site)
	if err != nil {
		return err
	}
	list, err := h.cfg.Store.Backups(r.Context(), s.Name)
	if err != nil {
		return err
	}
	items := make([]any, 0, len(list))
	for _, b := range list {
		items = append(items, backupItem(p.sub, s, b))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": items, "nextLink": nil})
}

// siteBackup returns the site's backup p.id names.
func (h *Handler) siteBackup(ctx context.Context, p params) (slipway.Site, store.Backup, error) {
	s, err := h.cfg.Store.Site(ctx, p.rg, p.site)
	if err != nil {
		return s, store.Backup{}, err
	}
	id, err := strconv.ParseInt(p.id, 10, 64)
	if err != nil || id < 1 {
		return s, store.Backup{}, slipway.Errorf(slipway.ENOTFOUND, "Backup %s not found for site %s.", p.id, p.site)
	}
	b, err := h.cfg.Store.Backup(ctx, s.Name, id)
	return s, b, err
}

// getBackup answers GET SITE/backups/{id}.
func (h *Handler) getBackup(w http.ResponseWriter, r *http.Request, p params) error {
	s, b, err := h.siteBackup(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, backupItem(p.sub, s, b))
}

// deleteBackup answers DELETE SITE/backups/{id}: the blob goes, then the
// record. A blob already gone is no error; one the SAS no longer lets
// this server delete keeps the record, and the answer says why.
func (h *Handler) deleteBackup(w http.ResponseWriter, r *http.Request, p params) error {
	if h.cfg.Backups == nil {
		return errNoBackups
	}
	ctx := r.Context()
	s, b, err := h.siteBackup(ctx, p)
	if err != nil {
		return err
	}
	if b.Status != "Failed" {
		u, err := h.cfg.Backups.BackupBlobURL(b.URL, b.Name)
		if err == nil {
			err = h.cfg.Backups.DeleteBackupBlob(ctx, u)
		}
		if err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
			return err
		}
	}
	if err := h.cfg.Store.DeleteBackup(ctx, s.Name, b.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type restoreRequest struct {
	Properties struct {
		StorageAccountURL string          `json:"storageAccountUrl"`
		BlobName          string          `json:"blobName"`
		Overwrite         bool            `json:"overwrite"`
		SiteName          string          `json:"siteName"`
		Databases         json.RawMessage `json:"databases"`
	} `json:"properties"`
}

// restoreBackup answers POST SITE/backups/{id}/restore (az webapp config
// backup restore): the app is restored from the blob the request names —
// its files of /home, its configuration, then its deployed files as a new
// deployment — and the answer comes once that deployment has ended. The
// backup is read and checked whole first: one that is not a backup of
// this server's, or whose configuration does not open, changes nothing.
func (h *Handler) restoreBackup(w http.ResponseWriter, r *http.Request, p params) error {
	var body restoreRequest
	s, err := h.backupCall(r, p, &body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	props := body.Properties
	switch {
	case hasItems(props.Databases):
		return errBackupDatabases
	case props.SiteName != "" && !strings.EqualFold(props.SiteName, s.App()) && !strings.EqualFold(props.SiteName, s.Name):
		return slipway.Errorf(slipway.EINVALID, "Slipway restores a backup into the app the request is for (%s), not into '%s': restore it from that app (az webapp config backup restore --webapp-name %s).", s.App(), props.SiteName, props.SiteName)
	case !props.Overwrite:
		return slipway.Errorf(slipway.EINVALID, "Restoring over the existing app %s replaces its files and configuration: say so with overwrite (az webapp config backup restore --overwrite).", s.App())
	case props.StorageAccountURL == "" || props.BlobName == "":
		return slipway.Errorf(slipway.EINVALID, "properties.storageAccountUrl and properties.blobName are required: the container's URL with a SAS that may read it, and the backup's name (az webapp config backup restore --container-url --backup-name).")
	}
	name := strings.TrimSuffix(props.BlobName, ".zip")
	u, err := h.cfg.Backups.BackupBlobURL(props.StorageAccountURL, name)
	if err != nil {
		return err
	}
	b, err := h.cfg.Backups.OpenBackup(ctx, s, u)
	if err != nil {
		return err
	}
	defer b.Close()
	var meta backupMeta
	if err := json.Unmarshal(b.Meta(), &meta); err != nil || meta.Format != backupFormat {
		return slipway.Errorf(slipway.EINVALID, "The blob %s is not a Slipway backup: its description is not one (%s).", name+".zip", backupFormat)
	}
	aad, err := h.backupAAD(ctx, s)
	if err != nil {
		return err
	}
	plain, err := h.cfg.Store.OpenBytes(meta.Config, aad)
	var cfg backupConfig
	if err == nil {
		err = json.Unmarshal(plain, &cfg)
	}
	if err != nil {
		return slipway.Errorf(slipway.EINVALID, "The configuration in backup %s does not open for %s: a backup's configuration, which holds the app's secrets, is sealed for the app it was taken of (and its slots), with the key of the server that took it. Restore it into that app, or one of its slots, on that server. (Or the blob was altered.) Nothing was restored.", name+".zip", s.App())
	}

	// From here the app changes: a client that goes away (az
	// interrupted, a proxy's timeout while the deployment builds) must
	// not leave it half restored, its files back but not its
	// configuration.
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	if err := b.RestoreHome(); err != nil {
		return fmt.Errorf("restoring the files of /home: %w", err)
	}
	if err := h.cfg.Store.SetSettings(ctx, s.ResourceGroup, s.Name, cfg.Settings); err != nil {
		return err
	}
	if err := h.cfg.Store.SetConnectionStrings(ctx, s.ResourceGroup, s.Name, cfg.ConnectionStrings); err != nil {
		return err
	}
	// The site as it is now (the restore may have taken a while), with
	// the backup's startup command and runtime.
	if s, err = h.cfg.Store.Site(ctx, s.ResourceGroup, s.Name); err != nil {
		return err
	}
	if s.Config.AppCommandLine != cfg.AppCommandLine || s.Config.LinuxFxVersion != cfg.LinuxFxVersion {
		s.Config.AppCommandLine, s.Config.LinuxFxVersion = cfg.AppCommandLine, cfg.LinuxFxVersion
		if s, _, err = h.cfg.Store.PutSite(ctx, s); err != nil {
			return err
		}
	}
	d, deployed, err := b.DeployFiles(ctx, "Restored from backup "+name+" of "+meta.App+", taken "+meta.Created.UTC().Format(time.RFC3339))
	switch {
	case err != nil:
		return fmt.Errorf("the backup's files and configuration were restored, but deploying its wwwroot failed: %w", err)
	case deployed && d.Status != slipway.DeploySuccess:
		return slipway.Errorf(slipway.EUNAVAILABLE, "The backup's files and configuration were restored, but its deployed files did not deploy (deployment %s: %s); the previous version keeps serving. See the deployment's log.", d.ID, d.StatusText)
	case !deployed:
		if err := h.restartWarning(w, h.cfg.Controller.SiteConfigChanged(ctx, s.ResourceGroup, s.Name)); err != nil {
			return err
		}
	}
	if list, err := h.cfg.Store.Backups(ctx, s.Name); err == nil {
		for _, rec := range list {
			if rec.Name == name && rec.Status != "Failed" {
				h.cfg.Store.BackupRestored(ctx, s.Name, rec.ID, h.cfg.Now().UTC())
			}
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// listSnapshots answers GET SITE/snapshots (az webapp config snapshot
// list): App Service's automatic backups, taken hourly on Basic and up.
// Slipway takes none, so none are listed; custom backups (config backup)
// are what it takes.
func (h *Handler) listSnapshots(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.Site(r.Context(), p.rg, p.site); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": []any{}, "nextLink": nil})
}

// refuseSnapshotRestore answers POST SITE/restoreSnapshot (az webapp
// config snapshot restore): there is no automatic backup to restore.
func (h *Handler) refuseSnapshotRestore(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.Site(r.Context(), p.rg, p.site); err != nil {
		return err
	}
	return slipway.Errorf(slipway.EINVALID, "Slipway takes no automatic backups (snapshots), so there is none to restore: take custom backups (az webapp config backup create) and restore those (az webapp config backup restore).")
}
