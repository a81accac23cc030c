package arm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/internal/pgflex"

	"github.com/slipway-dev/slipway"
)

// Azure Database for PostgreSQL flexible servers
// (Microsoft.DBforPostgreSQL/flexibleServers; REST:
// https://learn.microsoft.com/rest/api/postgresql/flexibleserver/servers):
// what `az postgres flexible-server create|show|list|update|delete|start|
// stop|restart`, `db create|list|show|delete`, `firewall-rule
// create|list|show|delete` and `microsoft-entra-admin
// create|list|show|delete` send, with the location capabilities and name
// check az validates against first. The servers themselves run in the
// backend (Config.Postgres, internal/pgflex): this file keeps their
// records and calls it. The administrator's password goes to the backend
// and nowhere else: it is never stored nor answered.
//
// Every change is one of Azure's long-running operations, and az's SDK
// (azure-mgmt-postgresqlflexibleservers) accepts nothing but 202 to a
// PUT, PATCH or POST (202 or 204 to a DELETE): the change is made before
// the answer, which is a 202 whose Azure-AsyncOperation already says
// Succeeded; the SDK then GETs the resource (PUT, PATCH). A change that
// fails is answered with its error at once.

// PostgresServers runs the PostgreSQL servers behind
// Microsoft.DBforPostgreSQL/flexibleServers (internal/pgflex). Nil: the
// provider is refused as before.
type PostgresServers interface {
	// CreateServer makes and starts a server named name (unique across
	// Slipway, lower-case) whose administrator login has the password;
	// it returns the PostgreSQL major version it runs (e.g. "15").
	CreateServer(ctx context.Context, name, adminLogin, adminPassword string) (version string, err error)
	// SetAdminPassword changes the administrator's password.
	SetAdminPassword(ctx context.Context, name, adminLogin, password string) error
	// DeleteServer stops a server and removes its data. No server: nil.
	DeleteServer(ctx context.Context, name string) error
	// StartServer and StopServer start and stop a server's processes (az postgres flexible-server start|stop|restart).
	StartServer(ctx context.Context, name string) error
	StopServer(ctx context.Context, name string) error
	// CreateDatabase creates a database (charset, collation may be ""); an existing one: nil.
	CreateDatabase(ctx context.Context, server, db, charset, collation string) error
	// DeleteDatabase drops a database. None: nil.
	DeleteDatabase(ctx context.Context, server, db string) error
	// SetFirewallRules replaces a server's firewall rules (start/end IPv4 ranges; 0.0.0.0–0.0.0.0 is Azure's "allow Azure services", i.e. Slipway's apps).
	SetFirewallRules(server string, rules []PostgresFirewallRule)
	// SetAuthConfig replaces the sign-ins a server takes: passwords,
	// Microsoft Entra tokens (of a tenant), or both.
	SetAuthConfig(server string, a PostgresAuthConfig)
	// AddEntraAdmin makes a principal a Microsoft Entra administrator of
	// a running server: a role of its name in azure_pg_admin that signs
	// in with the principal's tokens. The same again: nil.
	AddEntraAdmin(ctx context.Context, server string, p PostgresEntraPrincipal) error
	// RemoveEntraAdmin takes the principal of objectID off the server's
	// administrators. None: nil.
	RemoveEntraAdmin(ctx context.Context, server, objectID string) error
}

// PostgresFirewallRule is one range of client addresses a server accepts:
// pgflex's, so that *pgflex.Manager is a PostgresServers.
type PostgresFirewallRule = pgflex.FirewallRule

// PostgresAuthConfig is a server's authConfig as the backend takes it.
type PostgresAuthConfig = pgflex.AuthConfig

// PostgresEntraPrincipal is an Entra administrator as the backend takes it.
type PostgresEntraPrincipal = pgflex.EntraPrincipal

const (
	postgresNamespace = "Microsoft.DBforPostgreSQL"
	postgresType      = "Microsoft.DBforPostgreSQL/flexibleServers"
	// postgresHostSuffix is the public DNS suffix of Azure's servers,
	// which apps connect to (pgflex's proxy finds the server by it).
	postgresHostSuffix = pgflex.Suffix
)

// postgresTiers are the compute tiers and SKUs offered, as Azure's
// location capabilities list them (the first SKU is the tier's default).
// The SKU is recorded and shown; it does not size the server.
var postgresTiers = []struct {
	name string
	skus []string
}{
	{"Burstable", []string{"Standard_B1ms", "Standard_B2s", "Standard_B2ms", "Standard_B4ms", "Standard_B8ms", "Standard_B12ms", "Standard_B16ms", "Standard_B20ms"}},
	{"GeneralPurpose", []string{"Standard_D2ds_v4", "Standard_D4ds_v4", "Standard_D8ds_v4", "Standard_D16ds_v4", "Standard_D2ds_v5", "Standard_D4ds_v5", "Standard_D8ds_v5",
		"Standard_D2s_v3", "Standard_D4s_v3", "Standard_D8s_v3", "Standard_D16s_v3"}},
	{"MemoryOptimized", []string{"Standard_E2ds_v4", "Standard_E4ds_v4", "Standard_E8ds_v4", "Standard_E2ds_v5", "Standard_E4ds_v5", "Standard_E2s_v3", "Standard_E4s_v3", "Standard_E8s_v3"}},
}

// postgresVersions are the major versions a server may be asked for. The
// backend runs the one PostgreSQL it has; a server shows that version.
var postgresVersions = []string{"11", "12", "13", "14", "15", "16", "17"}

// postgresStorageGB are the storage sizes offered (ManagedDisk).
var postgresStorageGB = []int{32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767}

func postgresServerID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + postgresType + "/" + name
}

// pg wraps a handler of this provider: refused without a backend.
func (h *Handler) pg(fn func(http.ResponseWriter, *http.Request, params) error) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		if h.cfg.Postgres == nil {
			return h.errUnservedNamespace(r.URL.Path, postgresNamespace)
		}
		return fn(w, r, p)
	}
}

func badPostgres(code, format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Long-running operations. Each is finished when it is answered; its
// record says so to whoever polls it under the server's path, for an
// hour.

type pgOperation struct {
	rg, server string
	name       string // e.g. "UpsertServerManagementOperationV2"
	started    time.Time
}

// pgOperations are the operations answered lately, by id.
type pgOperations struct {
	mu  sync.Mutex
	ops map[string]pgOperation
}

const (
	pgOperationTTL = time.Hour
	pgOperationMax = 10000
)

func (o *pgOperations) add(now time.Time, op pgOperation) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ops == nil {
		o.ops = map[string]pgOperation{}
	}
	for id, old := range o.ops {
		if now.Sub(old.started) > pgOperationTTL || len(o.ops) >= pgOperationMax {
			delete(o.ops, id)
		}
	}
	id := newGUID()
	o.ops[id] = op
	return id
}

func (o *pgOperations) get(id string) (pgOperation, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	op, ok := o.ops[id]
	return op, ok
}

// writeAccepted answers a finished change as Azure starts one: 202 with
// Azure-AsyncOperation (and Location) naming its status, which says
// Succeeded; az's poller reads it after Retry-After.
func (h *Handler) writeAccepted(w http.ResponseWriter, r *http.Request, p params, opName string) error {
	id := h.pgOps.add(h.cfg.Now(), pgOperation{rg: strings.ToLower(p.rg), server: strings.ToLower(p.pgserver), name: opName, started: h.cfg.Now().UTC()})
	base := h.managementURL(r) + strings.TrimPrefix(postgresServerID(p.sub, p.rg, p.pgserver), "/")
	v := "?api-version=" + url.QueryEscape(r.URL.Query().Get("api-version"))
	w.Header().Set("Azure-AsyncOperation", base+"/operationStatuses/"+id+v)
	w.Header().Set("Location", base+"/operationResults/"+id+v)
	w.Header().Set("Retry-After", "1")
	return writeEmpty(w, http.StatusAccepted)
}

// postgresOperation answers GET .../flexibleServers/{s}/operationStatuses/{id}.
func (h *Handler) postgresOperation(w http.ResponseWriter, r *http.Request, p params) error {
	op, ok := h.pgOps.get(p.op)
	if !ok || op.rg != strings.ToLower(p.rg) || op.server != strings.ToLower(p.pgserver) {
		return &apiError{Status: http.StatusNotFound, Code: "OperationNotFound", Message: fmt.Sprintf("The operation '%s' was not found.", p.op)}
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"name": p.op, "status": "Succeeded", "startTime": op.started.Format(time.RFC3339Nano), "percentComplete": 100,
	})
}

// postgresOperationResult answers GET .../operationResults/{id}: the
// operation is over, with nothing more to say (204), as Azure answers a
// finished one.
func (h *Handler) postgresOperationResult(w http.ResponseWriter, r *http.Request, p params) error {
	op, ok := h.pgOps.get(p.op)
	if !ok || op.rg != strings.ToLower(p.rg) || op.server != strings.ToLower(p.pgserver) {
		return &apiError{Status: http.StatusNotFound, Code: "OperationNotFound", Message: fmt.Sprintf("The operation '%s' was not found.", p.op)}
	}
	return writeEmpty(w, http.StatusNoContent)
}

// Servers.

// postgresServerJSON is a server as Azure answers it (Server). The
// password is never part of it.
func (h *Handler) postgresServerJSON(sub string, s slipway.PostgresServer) map[string]any {
	tags := s.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	state := "Ready"
	switch {
	case s.Version == "": // being created (putPostgresServer)
		state = "Provisioning"
	case s.Stopped:
		state = "Stopped"
	}
	return map[string]any{
		"id":       postgresServerID(sub, s.ResourceGroup, s.Name),
		"name":     s.Name,
		"type":     postgresType,
		"location": displayLocation(s.Location),
		"tags":     tags,
		"sku":      map[string]any{"name": s.SKUName, "tier": s.SKUTier},
		"systemData": map[string]any{
			"createdAt": s.Created.UTC().Format(time.RFC3339Nano),
		},
		"properties": map[string]any{
			"administratorLogin":       s.AdministratorLogin,
			"version":                  s.Version,
			"state":                    state,
			"fullyQualifiedDomainName": s.Name + postgresHostSuffix,
			"storage":                  map[string]any{"storageSizeGB": s.StorageGB, "autoGrow": "Disabled", "type": ""},
			"authConfig":               postgresAuthJSON(s),
			"dataEncryption":           map[string]any{"type": "SystemManaged"},
			"backup": map[string]any{"backupRetentionDays": s.BackupRetentionDays, "geoRedundantBackup": "Disabled",
				"earliestRestoreDate": s.Created.UTC().Format(time.RFC3339Nano)},
			"network":           map[string]any{"publicNetworkAccess": "Enabled"},
			"highAvailability":  map[string]any{"mode": "Disabled", "state": "NotEnabled"},
			"maintenanceWindow": map[string]any{"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0},
			"replicationRole":   "Primary",
			"replicaCapacity":   0,
			"availabilityZone":  "",
		},
	}
}

// postgresServerBody is a server's PUT or PATCH document: the writable
// properties of Server and ServerForPatch. What Slipway cannot do is
// named so that it is refused, not ignored.
type postgresServerBody struct {
	Location *string           `json:"location"`
	Tags     map[string]string `json:"tags"`
	SKU      *struct {
		Name string `json:"name"`
		Tier string `json:"tier"`
	} `json:"sku"`
	Identity *struct {
		Type string `json:"type"`
	} `json:"identity"`
	Properties *struct {
		AdministratorLogin         *string `json:"administratorLogin"`
		AdministratorLoginPassword *string `json:"administratorLoginPassword"`
		Version                    *string `json:"version"`
		CreateMode                 *string `json:"createMode"`
		SourceServerResourceID     *string `json:"sourceServerResourceId"`
		PointInTimeUTC             *string `json:"pointInTimeUTC"`
		ReplicationRole            *string `json:"replicationRole"`
		Storage                    *struct {
			StorageSizeGB *int    `json:"storageSizeGB"`
			AutoGrow      *string `json:"autoGrow"`
			Type          *string `json:"type"`
		} `json:"storage"`
		Backup *struct {
			BackupRetentionDays *int    `json:"backupRetentionDays"`
			GeoRedundantBackup  *string `json:"geoRedundantBackup"`
		} `json:"backup"`
		Network *struct {
			PublicNetworkAccess         *string `json:"publicNetworkAccess"`
			DelegatedSubnetResourceID   *string `json:"delegatedSubnetResourceId"`
			PrivateDNSZoneArmResourceID *string `json:"privateDnsZoneArmResourceId"`
		} `json:"network"`
		HighAvailability *struct {
			Mode *string `json:"mode"`
		} `json:"highAvailability"`
		AuthConfig *struct {
			ActiveDirectoryAuth *string `json:"activeDirectoryAuth"`
			PasswordAuth        *string `json:"passwordAuth"`
			TenantID            *string `json:"tenantId"`
		} `json:"authConfig"`
		DataEncryption *struct {
			Type *string `json:"type"`
		} `json:"dataEncryption"`
		Cluster *struct {
			ClusterSize *int `json:"clusterSize"`
		} `json:"cluster"`
	} `json:"properties"`
}

// refuseUnsupported refuses what Slipway's servers do not have, by the
// body's own words, before anything is changed.
func (b *postgresServerBody) refuseUnsupported() error {
	const sorry = "Slipway's PostgreSQL servers are single, public servers: "
	pr := b.Properties
	if b.Identity != nil && b.Identity.Type != "" && !strings.EqualFold(b.Identity.Type, "None") {
		return badPostgres("FeatureNotSupported", sorry+"managed identities on a server (data encryption with customer keys) are not supported.")
	}
	if pr == nil {
		return nil
	}
	switch {
	case !unsetOr(pr.CreateMode, "Default", "Create", "Update"):
		return badPostgres("FeatureNotSupported", sorry+"createMode '%s' (restores, replicas, geo-restores) is not supported; only a new server (Create) is.", *pr.CreateMode)
	case pr.SourceServerResourceID != nil && *pr.SourceServerResourceID != "":
		return badPostgres("FeatureNotSupported", sorry+"restores and read replicas (sourceServerResourceId) are not supported.")
	case !unsetOr(pr.ReplicationRole, "Primary", "None"):
		return badPostgres("FeatureNotSupported", sorry+"read replicas are not supported.")
	case pr.Network != nil && pr.Network.DelegatedSubnetResourceID != nil && *pr.Network.DelegatedSubnetResourceID != "",
		pr.Network != nil && pr.Network.PrivateDNSZoneArmResourceID != nil && *pr.Network.PrivateDNSZoneArmResourceID != "":
		return badPostgres("FeatureNotSupported", sorry+"private access (VNet integration, delegated subnets, private DNS zones) is not supported: use public access with firewall rules.")
	case pr.Network != nil && !unsetOr(pr.Network.PublicNetworkAccess, "Enabled"):
		return badPostgres("FeatureNotSupported", sorry+"publicNetworkAccess can only be Enabled; restrict access with firewall rules.")
	case pr.HighAvailability != nil && !unsetOr(pr.HighAvailability.Mode, "Disabled"):
		return badPostgres("FeatureNotSupported", sorry+"high availability (zone-redundant or same-zone standby) is not supported.")
	case pr.Backup != nil && !unsetOr(pr.Backup.GeoRedundantBackup, "Disabled"):
		return badPostgres("FeatureNotSupported", sorry+"geo-redundant backup is not supported.")
	case pr.DataEncryption != nil && !unsetOr(pr.DataEncryption.Type, "SystemManaged"):
		return badPostgres("FeatureNotSupported", sorry+"data encryption with customer-managed keys is not supported.")
	case pr.Cluster != nil && pr.Cluster.ClusterSize != nil && *pr.Cluster.ClusterSize > 1:
		return badPostgres("FeatureNotSupported", sorry+"elastic clusters are not supported.")
	case pr.Storage != nil && !unsetOr(pr.Storage.Type, "Premium_LRS"):
		return badPostgres("FeatureNotSupported", sorry+"storage type '%s' is not supported.", *pr.Storage.Type)
	case pr.Storage != nil && !unsetOr(pr.Storage.AutoGrow, "Disabled"):
		return badPostgres("FeatureNotSupported", sorry+"storage auto-grow is not supported.")
	}
	return nil
}

// postgresSKU checks a SKU and returns its canonical spelling.
func postgresSKU(name, tier string) (string, string, error) {
	for _, t := range postgresTiers {
		if tier != "" && !strings.EqualFold(t.name, tier) {
			continue
		}
		for _, s := range t.skus {
			if strings.EqualFold(s, name) {
				return s, t.name, nil
			}
		}
		if tier != "" {
			return "", "", badPostgres("InvalidSkuName", "The SKU '%s' is not available in the %s tier. Allowed values: %s.", name, t.name, strings.Join(t.skus, ", "))
		}
	}
	if tier != "" {
		return "", "", badPostgres("InvalidSkuTier", "The tier '%s' is invalid. Allowed values: Burstable, GeneralPurpose, MemoryOptimized.", tier)
	}
	return "", "", badPostgres("InvalidSkuName", "The SKU '%s' is invalid.", name)
}

func checkPostgresStorage(gb, was int) error {
	if !slices.Contains(postgresStorageGB, gb) {
		return badPostgres("InvalidStorageSize", "The storage size %d GB is invalid. Allowed values (GB): %v.", gb, postgresStorageGB)
	}
	if gb < was {
		return badPostgres("InvalidStorageSize", "Decreasing storage size is not supported. Current storage size is %d GB.", was)
	}
	return nil
}

// putPostgresServer creates a server (the backend makes and starts it)
// or updates one (its tags, SKU, storage, retention, password).
func (h *Handler) putPostgresServer(w http.ResponseWriter, r *http.Request, p params) error {
	var body postgresServerBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	name := p.pgserver
	if err := slipway.ValidatePostgresServerName(name); err != nil {
		return badPostgres("InvalidServerName", "%s", slipway.ErrorMessage(err))
	}
	if err := body.refuseUnsupported(); err != nil {
		return err
	}
	ctx := r.Context()
	old, err := h.cfg.Store.PostgresServer(ctx, p.rg, name)
	if err == nil {
		return h.updatePostgresServer(w, r, p, old, &body, true)
	} else if slipway.ErrorCode(err) != slipway.ENOTFOUND {
		return err
	}
	g, err := h.cfg.Store.ResourceGroup(ctx, p.rg)
	if err != nil {
		return err
	}
	srv := slipway.PostgresServer{ResourceGroup: g.Name, Name: name, Tags: body.Tags, SKUName: "Standard_D2ds_v4", SKUTier: "GeneralPurpose",
		StorageGB: 128, BackupRetentionDays: 7}
	if body.Location == nil || strings.TrimSpace(*body.Location) == "" {
		return badPostgres("LocationRequired", "The location property is required for this definition.")
	}
	srv.Location = normalizeLocation(*body.Location)
	pr := body.Properties
	if pr == nil || pr.AdministratorLogin == nil || pr.AdministratorLoginPassword == nil {
		return badPostgres("InvalidParameterValue", "properties.administratorLogin and properties.administratorLoginPassword are required to create a server (Slipway's servers always have a password administrator, even with password authentication disabled: give --admin-user and --admin-password).")
	}
	if err := h.applyPostgresAuth(ctx, &srv, &body); err != nil {
		return err
	}
	srv.AdministratorLogin = *pr.AdministratorLogin
	if err := slipway.ValidatePostgresAdminLogin(srv.AdministratorLogin); err != nil {
		return badPostgres("InvalidParameterValue", "%s", slipway.ErrorMessage(err))
	}
	password := *pr.AdministratorLoginPassword
	if err := slipway.ValidatePostgresPassword(password, srv.AdministratorLogin); err != nil {
		return badPostgres("PasswordNotComplex", "%s", slipway.ErrorMessage(err))
	}
	if body.SKU != nil && body.SKU.Name != "" {
		if srv.SKUName, srv.SKUTier, err = postgresSKU(body.SKU.Name, body.SKU.Tier); err != nil {
			return err
		}
	}
	if pr.Version != nil && *pr.Version != "" && !slices.Contains(postgresVersions, *pr.Version) {
		return badPostgres("InvalidParameterValue", "The version '%s' is invalid. Allowed values: %s.", *pr.Version, strings.Join(postgresVersions, ", "))
	}
	if pr.Storage != nil && pr.Storage.StorageSizeGB != nil {
		if err := checkPostgresStorage(*pr.Storage.StorageSizeGB, 0); err != nil {
			return err
		}
		srv.StorageGB = *pr.Storage.StorageSizeGB
	}
	if pr.Backup != nil && pr.Backup.BackupRetentionDays != nil {
		if d := *pr.Backup.BackupRetentionDays; d < 7 || d > 35 {
			return badPostgres("InvalidParameterValue", "The backup retention %d is invalid. Allowed values: 7 to 35 days.", d)
		}
		srv.BackupRetentionDays = *pr.Backup.BackupRetentionDays
	}
	// The record first: it holds the name against another group's PUT.
	srv.Version = "" // the backend's, once it runs
	stored, err := h.cfg.Store.CreatePostgresServer(ctx, srv)
	if slipway.ErrorCode(err) == slipway.ECONFLICT {
		return &apiError{Status: http.StatusConflict, Code: "ServerNameAlreadyExists", Message: slipway.ErrorMessage(err)}
	} else if err != nil {
		return err
	}
	version, err := h.cfg.Postgres.CreateServer(ctx, name, srv.AdministratorLogin, password)
	if err == nil {
		h.cfg.Postgres.SetAuthConfig(name, postgresAuth(stored))
		stored.Version = version
		err = h.cfg.Store.UpdatePostgresServer(ctx, stored)
		if err == nil {
			_, err = h.cfg.Store.PutPostgresDatabase(ctx, stored.ResourceGroup, slipway.PostgresDatabase{Server: name, Name: "postgres", Charset: "UTF8", Collation: "en_US.utf8"})
		}
	}
	if err != nil {
		// Nothing half made is left: neither the record nor the cluster.
		cleanup := context.WithoutCancel(ctx)
		derr := h.cfg.Store.DeletePostgresServer(cleanup, stored.ResourceGroup, name)
		if slipway.ErrorCode(derr) == slipway.ENOTFOUND {
			derr = nil
		}
		return errors.Join(fmt.Errorf("creating PostgreSQL server %s: %w", name, err), derr, h.cfg.Postgres.DeleteServer(cleanup, name))
	}
	return h.writeAccepted(w, r, p, "UpsertServerManagementOperationV2")
}

// updatePostgresServer applies a PUT (put) or PATCH to an existing server.
func (h *Handler) updatePostgresServer(w http.ResponseWriter, r *http.Request, p params, s slipway.PostgresServer, body *postgresServerBody, put bool) error {
	ctx := r.Context()
	if err := errPostgresBusy(s); err != nil {
		return err
	}
	if body.Location != nil && strings.TrimSpace(*body.Location) != "" && normalizeLocation(*body.Location) != normalizeLocation(s.Location) {
		return badPostgres("InvalidResourceLocation", "The resource '%s/%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
			postgresType, s.Name, s.Location, s.ResourceGroup, normalizeLocation(*body.Location))
	}
	if body.Tags != nil || put {
		s.Tags = body.Tags
	}
	var err error
	if body.SKU != nil && body.SKU.Name != "" {
		if s.SKUName, s.SKUTier, err = postgresSKU(body.SKU.Name, body.SKU.Tier); err != nil {
			return err
		}
	}
	if err := h.applyPostgresAuth(ctx, &s, body); err != nil {
		return err
	}
	var password string
	if pr := body.Properties; pr != nil {
		if pr.AdministratorLogin != nil && *pr.AdministratorLogin != "" && *pr.AdministratorLogin != s.AdministratorLogin {
			return badPostgres("InvalidParameterValue", "The administrator login of a server cannot be changed (it is '%s').", s.AdministratorLogin)
		}
		if pr.AdministratorLoginPassword != nil && *pr.AdministratorLoginPassword != "" {
			password = *pr.AdministratorLoginPassword
			if err := slipway.ValidatePostgresPassword(password, s.AdministratorLogin); err != nil {
				return badPostgres("PasswordNotComplex", "%s", slipway.ErrorMessage(err))
			}
		}
		if pr.Storage != nil && pr.Storage.StorageSizeGB != nil && *pr.Storage.StorageSizeGB != s.StorageGB {
			if err := checkPostgresStorage(*pr.Storage.StorageSizeGB, s.StorageGB); err != nil {
				return err
			}
			s.StorageGB = *pr.Storage.StorageSizeGB
		}
		if pr.Backup != nil && pr.Backup.BackupRetentionDays != nil {
			if d := *pr.Backup.BackupRetentionDays; d < 7 || d > 35 {
				return badPostgres("InvalidParameterValue", "The backup retention %d is invalid. Allowed values: 7 to 35 days.", d)
			}
			s.BackupRetentionDays = *pr.Backup.BackupRetentionDays
		}
	}
	if password != "" {
		if s.Stopped {
			return errPostgresStopped(s.Name)
		}
		if err := h.cfg.Postgres.SetAdminPassword(ctx, s.Name, s.AdministratorLogin, password); err != nil {
			return fmt.Errorf("setting the administrator password of PostgreSQL server %s: %w", s.Name, err)
		}
	}
	if err := h.cfg.Store.UpdatePostgresServer(ctx, s); err != nil {
		return err
	}
	h.cfg.Postgres.SetAuthConfig(s.Name, postgresAuth(s))
	return h.writeAccepted(w, r, p, "UpsertServerManagementOperationV2")
}

// postgresAuth is a server's authConfig as the backend takes it.
func postgresAuth(s slipway.PostgresServer) PostgresAuthConfig {
	return PostgresAuthConfig{Password: !s.PasswordAuthDisabled, Entra: s.EntraAuth, TenantID: s.TenantID}
}

// postgresAuthJSON is a server's authConfig as Azure answers it.
func postgresAuthJSON(s slipway.PostgresServer) map[string]any {
	onOff := func(b bool) string {
		if b {
			return "Enabled"
		}
		return "Disabled"
	}
	out := map[string]any{"activeDirectoryAuth": onOff(s.EntraAuth), "passwordAuth": onOff(!s.PasswordAuthDisabled)}
	if s.TenantID != "" {
		out["tenantId"] = s.TenantID
	}
	return out
}

// applyPostgresAuth applies a body's authConfig to a server: each of
// activeDirectoryAuth and passwordAuth Enabled or Disabled, not both
// Disabled, and the tenant this installation's (the only one whose
// tokens Slipway issues), which it is when not given.
func (h *Handler) applyPostgresAuth(ctx context.Context, s *slipway.PostgresServer, body *postgresServerBody) error {
	if body.Properties == nil || body.Properties.AuthConfig == nil {
		return nil
	}
	ac := body.Properties.AuthConfig
	onOff := func(field string, v *string, cur bool) (bool, error) {
		switch {
		case v == nil || *v == "":
			return cur, nil
		case strings.EqualFold(*v, "Enabled"):
			return true, nil
		case strings.EqualFold(*v, "Disabled"):
			return false, nil
		}
		return false, badPostgres("InvalidParameterValue", "The value '%s' of authConfig.%s is invalid. Allowed values: Enabled, Disabled.", *v, field)
	}
	entra, err := onOff("activeDirectoryAuth", ac.ActiveDirectoryAuth, s.EntraAuth)
	if err != nil {
		return err
	}
	password, err := onOff("passwordAuth", ac.PasswordAuth, !s.PasswordAuthDisabled)
	if err != nil {
		return err
	}
	if !entra && !password {
		return badPostgres("InvalidParameterValue", "Password and Microsoft Entra authentication cannot both be disabled: nobody could sign in. Enable one of authConfig.passwordAuth and authConfig.activeDirectoryAuth.")
	}
	_, tenant, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return err
	}
	if ac.TenantID != nil && *ac.TenantID != "" && !strings.EqualFold(*ac.TenantID, tenant) {
		return badPostgres("InvalidParameterValue", "The tenant '%s' of authConfig.tenantId is not this Slipway's: its tokens come from tenant %s only. Leave tenantId out or use that one.", *ac.TenantID, tenant)
	}
	s.EntraAuth, s.PasswordAuthDisabled = entra, !password
	if entra {
		s.TenantID = tenant
	}
	return nil
}

// errPostgresBusy answers a change to a server whose creation is under
// way (its record holds no version until the backend has made it).
func errPostgresBusy(s slipway.PostgresServer) error {
	if s.Version != "" {
		return nil
	}
	return &apiError{Status: http.StatusConflict, Code: "ConflictingServerOperation",
		Message: fmt.Sprintf("An operation is currently in progress on the server '%s': it is being created. Try again when it is Ready.", s.Name)}
}

// readyPostgresServer is the request's server, which must be made.
func (h *Handler) readyPostgresServer(ctx context.Context, p params) (slipway.PostgresServer, error) {
	s, err := h.cfg.Store.PostgresServer(ctx, p.rg, p.pgserver)
	if err != nil {
		return s, err
	}
	return s, errPostgresBusy(s)
}

func errPostgresStopped(name string) error {
	return &apiError{Status: http.StatusConflict, Code: "ServerIsStopped", Message: fmt.Sprintf("The server '%s' is stopped. Start it (az postgres flexible-server start) and try again.", name)}
}

func (h *Handler) patchPostgresServer(w http.ResponseWriter, r *http.Request, p params) error {
	var body postgresServerBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := body.refuseUnsupported(); err != nil {
		return err
	}
	s, err := h.cfg.Store.PostgresServer(r.Context(), p.rg, p.pgserver)
	if err != nil {
		return err
	}
	return h.updatePostgresServer(w, r, p, s, &body, false)
}

func (h *Handler) getPostgresServer(w http.ResponseWriter, r *http.Request, p params) error {
	s, err := h.cfg.Store.PostgresServer(r.Context(), p.rg, p.pgserver)
	return writeOne(w, s, err, func(s slipway.PostgresServer) map[string]any { return h.postgresServerJSON(p.sub, s) })
}

// listPostgresServers lists the servers of a group or of the subscription.
func (h *Handler) listPostgresServers(w http.ResponseWriter, r *http.Request, p params) error {
	all, err := h.cfg.Store.PostgresServersIn(r.Context(), p.rg)
	return writeValues(w, all, err, func(s slipway.PostgresServer) map[string]any { return h.postgresServerJSON(p.sub, s) })
}

// deletePostgresServer deletes the record, then the server and its data:
// 202, or 204 when there is none.
func (h *Handler) deletePostgresServer(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, err := h.cfg.Store.PostgresServer(ctx, p.rg, p.pgserver)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return h.writeDeleted(w, r, p.rg, err)
	} else if err != nil {
		return err
	}
	if err := h.cfg.Store.DeletePostgresServer(ctx, s.ResourceGroup, s.Name); err != nil {
		return err
	}
	if err := h.cfg.Postgres.DeleteServer(context.WithoutCancel(ctx), s.Name); err != nil {
		return fmt.Errorf("deleting PostgreSQL server %s: %w", s.Name, err)
	}
	return h.writeAccepted(w, r, p, "DropServerManagementOperation")
}

// postgresServerAction answers POST .../start, stop and restart.
func (h *Handler) postgresServerAction(action string) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		ctx := r.Context()
		s, err := h.readyPostgresServer(ctx, p)
		if err != nil {
			return err
		}
		switch action {
		case "stop":
			if s.Stopped {
				return &apiError{Status: http.StatusConflict, Code: "ServerIsStopped", Message: fmt.Sprintf("The server '%s' is already stopped.", s.Name)}
			}
			if err := h.cfg.Postgres.StopServer(ctx, s.Name); err != nil {
				return fmt.Errorf("stopping PostgreSQL server %s: %w", s.Name, err)
			}
			s.Stopped = true
		case "start":
			if err := h.cfg.Postgres.StartServer(ctx, s.Name); err != nil {
				return fmt.Errorf("starting PostgreSQL server %s: %w", s.Name, err)
			}
			s.Stopped = false
		case "restart":
			if s.Stopped {
				return errPostgresStopped(s.Name)
			}
			if err := h.cfg.Postgres.StopServer(ctx, s.Name); err != nil {
				return fmt.Errorf("stopping PostgreSQL server %s: %w", s.Name, err)
			}
			if err := h.cfg.Postgres.StartServer(ctx, s.Name); err != nil {
				return fmt.Errorf("starting PostgreSQL server %s: %w", s.Name, err)
			}
		}
		if err := h.cfg.Store.UpdatePostgresServer(ctx, s); err != nil {
			return err
		}
		return h.writeAccepted(w, r, p, strings.ToUpper(action[:1])+action[1:]+"ServerManagementOperation")
	}
}

// Capabilities and names.

// postgresCapabilities answers GET .../locations/{loc}/capabilities and
// .../flexibleServers/{s}/capabilities: the tiers, SKUs, storage sizes
// and versions az validates a create or update against, with no
// zone-redundant HA nor geo-backup.
func (h *Handler) postgresCapabilities(w http.ResponseWriter, r *http.Request, p params) error {
	if p.pgserver != "" {
		if _, err := h.cfg.Store.PostgresServer(r.Context(), p.rg, p.pgserver); err != nil {
			return err
		}
	}
	feature := func(name, status string) map[string]any { return map[string]any{"name": name, "status": status} }
	var storage []any
	for _, gb := range postgresStorageGB {
		storage = append(storage, map[string]any{"storageSizeMb": gb * 1024, "supportedIops": 120, "supportedIopsTiers": []any{}, "maximumStorageSizeMb": gb * 1024})
	}
	var editions []any
	for _, t := range postgresTiers {
		var skus []any
		for _, s := range t.skus {
			skus = append(skus, map[string]any{"name": s, "supportedZones": []string{}, "supportedHaMode": []string{}, "supportedFeatures": []any{}, "status": "Available"})
		}
		editions = append(editions, map[string]any{
			"name": t.name, "defaultSkuName": t.skus[0], "status": "Available",
			"supportedStorageEditions": []any{map[string]any{"name": "ManagedDisk", "defaultStorageSizeMb": 131072, "supportedStorageMb": storage, "status": "Available"}},
			"supportedServerSkus":      skus,
		})
	}
	var versions []any
	for i, v := range postgresVersions {
		versions = append(versions, map[string]any{"name": v, "supportedVersionsToUpgrade": postgresVersions[i+1:], "supportedFeatures": []any{}, "status": "Available"})
	}
	return writeJSON(w, http.StatusOK, list{Value: []any{map[string]any{
		"name":                    "FlexibleServerCapabilities",
		"supportedServerEditions": editions,
		"supportedServerVersions": versions,
		"supportedFeatures": []any{feature("OfferRestricted", "Disabled"), feature("ZoneRedundantHa", "Disabled"),
			feature("GeoBackup", "Disabled"), feature("ZoneRedundantHaAndGeoBackup", "Disabled"), feature("StorageAutoGrowth", "Disabled")},
		"fastProvisioningSupported":         "Disabled",
		"geoBackupSupported":                "Disabled",
		"zoneRedundantHaSupported":          "Disabled",
		"storageAutoGrowthSupported":        "Disabled",
		"onlineResizeSupported":             "Disabled",
		"restricted":                        "Disabled",
		"supportedFastProvisioningEditions": []any{},
	}}})
}

// checkPostgresNameAvailability answers checkNameAvailability (of the
// subscription, or of a location, which az calls): a name is free when
// no server of any group has it, as Azure's names are global.
func (h *Handler) checkPostgresNameAvailability(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Type != "" && !strings.EqualFold(body.Type, postgresType) {
		return badPostgres("InvalidParameterValue", "The type '%s' is not checked here; use '%s'.", body.Type, postgresType)
	}
	out := map[string]any{"name": body.Name, "type": postgresType, "nameAvailable": true}
	if err := slipway.ValidatePostgresServerName(body.Name); err != nil {
		out["nameAvailable"], out["reason"], out["message"] = false, "Invalid", slipway.ErrorMessage(err)
	} else if taken, err := h.cfg.Store.PostgresServerNameTaken(r.Context(), body.Name); err != nil {
		return err
	} else if taken {
		out["nameAvailable"], out["reason"], out["message"] = false, "AlreadyExists", "Specified server name is already used."
	}
	return writeJSON(w, http.StatusOK, out)
}

// Databases.

func postgresDatabaseJSON(sub, rg string, d slipway.PostgresDatabase) map[string]any {
	return map[string]any{
		"id":         postgresServerID(sub, rg, d.Server) + "/databases/" + d.Name,
		"name":       d.Name,
		"type":       postgresType + "/databases",
		"properties": map[string]any{"charset": d.Charset, "collation": d.Collation},
	}
}

func (h *Handler) putPostgresDatabase(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties struct {
			Charset   string `json:"charset"`
			Collation string `json:"collation"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := slipway.ValidatePostgresDatabaseName(p.id); err != nil {
		return badPostgres("InvalidParameterValue", "%s", slipway.ErrorMessage(err))
	}
	if p.id == "template0" || p.id == "template1" {
		return errPostgresSystemDatabase(p.id)
	}
	if err := pgflex.CheckDatabaseOptions(body.Properties.Charset, body.Properties.Collation); err != nil {
		return badPostgres("InvalidParameterValue", "The database '%s' cannot be created: %s.", p.id, err)
	}
	ctx := r.Context()
	s, err := h.cfg.Store.PostgresServer(ctx, p.rg, p.pgserver)
	if err != nil {
		return err
	}
	if err := errPostgresBusy(s); err != nil {
		return err
	}
	if s.Stopped {
		return errPostgresStopped(s.Name)
	}
	if err := h.cfg.Postgres.CreateDatabase(ctx, s.Name, p.id, body.Properties.Charset, body.Properties.Collation); err != nil {
		return fmt.Errorf("creating database %s on PostgreSQL server %s: %w", p.id, s.Name, err)
	}
	if _, err := h.cfg.Store.PutPostgresDatabase(ctx, s.ResourceGroup, slipway.PostgresDatabase{Server: s.Name, Name: p.id,
		Charset: body.Properties.Charset, Collation: body.Properties.Collation}); err != nil {
		return err
	}
	return h.writeAccepted(w, r, p, "UpsertServerDatabaseManagementOperation")
}

func (h *Handler) getPostgresDatabase(w http.ResponseWriter, r *http.Request, p params) error {
	d, err := h.cfg.Store.PostgresDatabase(r.Context(), p.rg, p.pgserver, p.id)
	return writeOne(w, d, err, func(d slipway.PostgresDatabase) map[string]any { return postgresDatabaseJSON(p.sub, p.rg, d) })
}

func (h *Handler) listPostgresDatabases(w http.ResponseWriter, r *http.Request, p params) error {
	ds, err := h.cfg.Store.PostgresDatabases(r.Context(), p.rg, p.pgserver)
	return writeValues(w, ds, err, func(d slipway.PostgresDatabase) map[string]any { return postgresDatabaseJSON(p.sub, p.rg, d) })
}

// errPostgresSystemDatabase refuses to make or drop one of PostgreSQL's own
// databases.
func errPostgresSystemDatabase(name string) error {
	return badPostgres("InvalidParameterValue", "The database '%s' is a system database of the server: it cannot be created or deleted.", name)
}

func (h *Handler) deletePostgresDatabase(w http.ResponseWriter, r *http.Request, p params) error {
	if p.id == "postgres" || p.id == "template0" || p.id == "template1" {
		return errPostgresSystemDatabase(p.id)
	}
	ctx := r.Context()
	d, err := h.cfg.Store.PostgresDatabase(ctx, p.rg, p.pgserver, p.id)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		if _, serr := h.cfg.Store.PostgresServer(ctx, p.rg, p.pgserver); serr != nil {
			return serr
		}
		return writeEmpty(w, http.StatusNoContent)
	} else if err != nil {
		return err
	}
	s, err := h.cfg.Store.PostgresServer(ctx, p.rg, p.pgserver)
	if err != nil {
		return err
	}
	if s.Stopped {
		return errPostgresStopped(s.Name)
	}
	if err := h.cfg.Postgres.DeleteDatabase(ctx, s.Name, d.Name); err != nil {
		return fmt.Errorf("dropping database %s on PostgreSQL server %s: %w", d.Name, s.Name, err)
	}
	if err := h.cfg.Store.DeletePostgresDatabase(ctx, s.ResourceGroup, s.Name, d.Name); err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
		return err
	}
	return h.writeAccepted(w, r, p, "DropServerDatabaseManagementOperation")
}

// Firewall rules.

func postgresRuleJSON(sub, rg string, f slipway.PostgresFirewallRule) map[string]any {
	return map[string]any{
		"id":         postgresServerID(sub, rg, f.Server) + "/firewallRules/" + f.Name,
		"name":       f.Name,
		"type":       postgresType + "/firewallRules",
		"properties": map[string]any{"startIpAddress": f.Start.String(), "endIpAddress": f.End.String()},
	}
}

// syncPostgresRules gives the backend the server's full set of rules, as
// stored. Changes are serialized so that the last set given is the last
// stored.
func (h *Handler) syncPostgresRules(ctx context.Context, rg, server string) error {
	h.pgRulesMu.Lock()
	defer h.pgRulesMu.Unlock()
	rules, err := h.cfg.Store.PostgresFirewallRules(ctx, rg, server)
	if err != nil {
		return err
	}
	out := make([]PostgresFirewallRule, 0, len(rules))
	for _, f := range rules {
		out = append(out, PostgresFirewallRule{Start: f.Start, End: f.End})
	}
	h.cfg.Postgres.SetFirewallRules(server, out)
	return nil
}

func (h *Handler) putPostgresFirewallRule(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties struct {
			StartIPAddress string `json:"startIpAddress"`
			EndIPAddress   string `json:"endIpAddress"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := slipway.ValidatePostgresFirewallRuleName(p.id); err != nil {
		return badPostgres("InvalidParameterValue", "%s", slipway.ErrorMessage(err))
	}
	start, end, err := parseIPv4Range("startIpAddress", body.Properties.StartIPAddress, "endIpAddress", body.Properties.EndIPAddress)
	if err != nil {
		return err
	}
	ctx := r.Context()
	s, err := h.cfg.Store.PostgresServer(ctx, p.rg, p.pgserver)
	if err != nil {
		return err
	}
	if _, err := h.cfg.Store.PutPostgresFirewallRule(ctx, s.ResourceGroup, slipway.PostgresFirewallRule{Server: s.Name, Name: p.id, Start: start, End: end}); err != nil {
		return err
	}
	if err := h.syncPostgresRules(ctx, s.ResourceGroup, s.Name); err != nil {
		return err
	}
	return h.writeAccepted(w, r, p, "UpsertServerFirewallRulesManagementOperation")
}

func (h *Handler) getPostgresFirewallRule(w http.ResponseWriter, r *http.Request, p params) error {
	f, err := h.cfg.Store.PostgresFirewallRule(r.Context(), p.rg, p.pgserver, p.id)
	return writeOne(w, f, err, func(f slipway.PostgresFirewallRule) map[string]any { return postgresRuleJSON(p.sub, p.rg, f) })
}

func (h *Handler) listPostgresFirewallRules(w http.ResponseWriter, r *http.Request, p params) error {
	fs, err := h.cfg.Store.PostgresFirewallRules(r.Context(), p.rg, p.pgserver)
	return writeValues(w, fs, err, func(f slipway.PostgresFirewallRule) map[string]any { return postgresRuleJSON(p.sub, p.rg, f) })
}

func (h *Handler) deletePostgresFirewallRule(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, err := h.cfg.Store.PostgresServer(ctx, p.rg, p.pgserver)
	if err != nil {
		return err
	}
	if _, err := h.cfg.Store.DeletePostgresFirewallRule(ctx, s.ResourceGroup, s.Name, p.id); slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return writeEmpty(w, http.StatusNoContent)
	} else if err != nil {
		return err
	}
	if err := h.syncPostgresRules(ctx, s.ResourceGroup, s.Name); err != nil {
		return err
	}
	return h.writeAccepted(w, r, p, "DropServerFirewallRulesManagementOperation")
}

// Microsoft Entra administrators
// (https://learn.microsoft.com/rest/api/postgresql/flexibleserver/administrators-microsoft-entra):
// what `az postgres flexible-server microsoft-entra-admin
// create|list|show|delete` sends. Each is a role of the principal's name
// in the server (internal/pgflex/entra.go).

func postgresAdminJSON(sub, rg string, a slipway.PostgresEntraAdmin) map[string]any {
	return map[string]any{
		"id":   postgresServerID(sub, rg, a.Server) + "/administrators/" + a.ObjectID,
		"name": a.ObjectID,
		"type": postgresType + "/administrators",
		"properties": map[string]any{"principalType": a.PrincipalType, "principalName": a.PrincipalName,
			"objectId": a.ObjectID, "tenantId": a.TenantID},
	}
}

func (h *Handler) putPostgresAdmin(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties struct {
			PrincipalName string `json:"principalName"`
			PrincipalType string `json:"principalType"`
			TenantID      string `json:"tenantId"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	s, err := h.readyPostgresServer(ctx, p)
	if err != nil {
		return err
	}
	a := slipway.PostgresEntraAdmin{Server: s.Name, ObjectID: p.id, PrincipalName: body.Properties.PrincipalName, PrincipalType: body.Properties.PrincipalType, TenantID: body.Properties.TenantID}
	if a.PrincipalType == "" {
		a.PrincipalType = "User" // Azure's default
	}
	if err := a.Validate(); err != nil {
		return badPostgres("InvalidParameterValue", "%s", slipway.ErrorMessage(err))
	}
	_, tenant, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return err
	}
	if a.TenantID != "" && !strings.EqualFold(a.TenantID, tenant) {
		return badPostgres("InvalidParameterValue", "The tenant '%s' is not this Slipway's: its principals are in tenant %s.", a.TenantID, tenant)
	}
	a.TenantID = tenant
	if !s.EntraAuth {
		return badPostgres("AadAuthNotEnabled", "Microsoft Entra authentication is disabled on server '%s': enable it first (az postgres flexible-server update --microsoft-entra-auth Enabled).", s.Name)
	}
	if s.Stopped {
		return errPostgresStopped(s.Name)
	}
	if old, err := h.cfg.Store.PostgresEntraAdmin(ctx, s.ResourceGroup, s.Name, a.ObjectID); err == nil && old.PrincipalName != a.PrincipalName {
		// The same principal under another name: its old role goes first.
		if err := h.cfg.Postgres.RemoveEntraAdmin(ctx, s.Name, a.ObjectID); err != nil {
			return fmt.Errorf("renaming a Microsoft Entra administrator of PostgreSQL server %s: %w", s.Name, err)
		}
	} else if err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
		return err
	}
	stored, err := h.cfg.Store.PutPostgresEntraAdmin(ctx, s.ResourceGroup, a)
	if slipway.ErrorCode(err) == slipway.ECONFLICT {
		return &apiError{Status: http.StatusConflict, Code: "Conflict", Message: slipway.ErrorMessage(err)}
	} else if err != nil {
		return err
	}
	if err := h.cfg.Postgres.AddEntraAdmin(ctx, s.Name, PostgresEntraPrincipal{Name: stored.PrincipalName, ObjectID: stored.ObjectID, Type: stored.PrincipalType}); err != nil {
		derr := h.cfg.Store.DeletePostgresEntraAdmin(context.WithoutCancel(ctx), s.ResourceGroup, s.Name, stored.ObjectID)
		return errors.Join(badPostgres("InvalidParameterValue", "The server could not make '%s' an administrator: %v", stored.PrincipalName, err), derr)
	}
	return h.writeAccepted(w, r, p, "UpsertServerAdministratorsManagementOperation")
}

// getPostgresAdmins answers GET of one administrator (p.id) or of the
// server's list.
func (h *Handler) getPostgresAdmins(w http.ResponseWriter, r *http.Request, p params) error {
	toJSON := func(a slipway.PostgresEntraAdmin) map[string]any { return postgresAdminJSON(p.sub, p.rg, a) }
	if p.id == "" {
		as, err := h.cfg.Store.PostgresEntraAdmins(r.Context(), p.rg, p.pgserver)
		return writeValues(w, as, err, toJSON)
	}
	a, err := h.cfg.Store.PostgresEntraAdmin(r.Context(), p.rg, p.pgserver, strings.ToLower(p.id))
	return writeOne(w, a, err, toJSON)
}

func (h *Handler) deletePostgresAdmin(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	s, err := h.cfg.Store.PostgresServer(ctx, p.rg, p.pgserver)
	if err != nil {
		return err
	}
	id := strings.ToLower(p.id)
	if _, err := h.cfg.Store.PostgresEntraAdmin(ctx, s.ResourceGroup, s.Name, id); slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return writeEmpty(w, http.StatusNoContent)
	} else if err != nil {
		return err
	}
	if s.Stopped {
		return errPostgresStopped(s.Name)
	}
	if err := h.cfg.Postgres.RemoveEntraAdmin(ctx, s.Name, id); err != nil {
		return fmt.Errorf("removing a Microsoft Entra administrator of PostgreSQL server %s: %w", s.Name, err)
	}
	if err := h.cfg.Store.DeletePostgresEntraAdmin(ctx, s.ResourceGroup, s.Name, id); err != nil && slipway.ErrorCode(err) != slipway.ENOTFOUND {
		return err
	}
	return h.writeAccepted(w, r, p, "DropServerAdministratorsManagementOperation")
}

// postgresConfigurations answers the server parameters list with none:
// Slipway does not change PostgreSQL's parameters through ARM.
func (h *Handler) postgresConfigurations(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.PostgresServer(r.Context(), p.rg, p.pgserver); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list{Value: []any{}})
}

// postgresRoutes are this provider's routes (routes.go).
func (h *Handler) postgresRoutes(sub, rg string, r func(string, string, func(http.ResponseWriter, *http.Request, params) error) route,
	list func(string, func(http.ResponseWriter, *http.Request, params) error) route) []route {
	pgs := sub + "/providers/Microsoft.DBforPostgreSQL"
	srv := rg + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/{pg}"
	// The capabilities and name checks are the same for every caller and
	// say nothing of any group (a name in use is public in DNS on Azure):
	// a Contributor of one group only reads them to create a server there.
	lookup := func(method, pattern string, fn func(http.ResponseWriter, *http.Request, params) error) route {
		rt := r(method, pattern, fn)
		rt.anyRole = true
		return rt
	}
	return []route{
		list(pgs+"/flexibleServers", h.pg(h.listPostgresServers)),
		list(rg+"/providers/Microsoft.DBforPostgreSQL/flexibleServers", h.pg(h.listPostgresServers)),
		lookup(http.MethodGet, pgs+"/locations/{loc}/capabilities", h.pg(h.postgresCapabilities)),
		lookup(http.MethodPost, pgs+"/checkNameAvailability", h.pg(h.checkPostgresNameAvailability)),
		lookup(http.MethodPost, pgs+"/locations/{loc}/checkNameAvailability", h.pg(h.checkPostgresNameAvailability)),
		r(http.MethodPut, srv, h.pg(h.putPostgresServer)),
		r(http.MethodGet, srv, h.pg(h.getPostgresServer)),
		r(http.MethodPatch, srv, h.pg(h.patchPostgresServer)),
		r(http.MethodDelete, srv, h.pg(h.deletePostgresServer)),
		r(http.MethodPost, srv+"/start", h.pg(h.postgresServerAction("start"))),
		r(http.MethodPost, srv+"/stop", h.pg(h.postgresServerAction("stop"))),
		r(http.MethodPost, srv+"/restart", h.pg(h.postgresServerAction("restart"))),
		r(http.MethodGet, srv+"/capabilities", h.pg(h.postgresCapabilities)),
		r(http.MethodGet, srv+"/configurations", h.pg(h.postgresConfigurations)),
		r(http.MethodGet, srv+"/operationStatuses/{op}", h.pg(h.postgresOperation)),
		r(http.MethodGet, srv+"/operationResults/{op}", h.pg(h.postgresOperationResult)),
		r(http.MethodGet, srv+"/databases", h.pg(h.listPostgresDatabases)),
		r(http.MethodPut, srv+"/databases/{id}", h.pg(h.putPostgresDatabase)),
		r(http.MethodGet, srv+"/databases/{id}", h.pg(h.getPostgresDatabase)),
		r(http.MethodDelete, srv+"/databases/{id}", h.pg(h.deletePostgresDatabase)),
		r(http.MethodGet, srv+"/firewallRules", h.pg(h.listPostgresFirewallRules)),
		r(http.MethodPut, srv+"/firewallRules/{id}", h.pg(h.putPostgresFirewallRule)),
		r(http.MethodGet, srv+"/firewallRules/{id}", h.pg(h.getPostgresFirewallRule)),
		r(http.MethodDelete, srv+"/firewallRules/{id}", h.pg(h.deletePostgresFirewallRule)),
		r(http.MethodGet, srv+"/administrators", h.pg(h.getPostgresAdmins)),
		r(http.MethodPut, srv+"/administrators/{id}", h.pg(h.putPostgresAdmin)),
		r(http.MethodGet, srv+"/administrators/{id}", h.pg(h.getPostgresAdmins)),
		r(http.MethodDelete, srv+"/administrators/{id}", h.pg(h.deletePostgresAdmin)),
	}
}
