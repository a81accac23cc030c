// Package slipway holds Slipway's domain: the plain types every part shares
// (resource groups, App Service plans, sites and their configuration,
// deployments), their validation, and the error codes the edges render.
//
// It imports only the standard library. Storage, HTTP, processes and builds
// live in the packages under internal/, which depend on this one and never
// the other way round.
package slipway

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// ResourceGroup is an ARM resource group: a named folder for resources.
type ResourceGroup struct {
	Name     string
	Location string // short form, e.g. "westeurope"
	Tags     map[string]string
	Created  time.Time
}

// Validate reports whether g can be stored.
func (g ResourceGroup) Validate() error {
	if !rgNameRE.MatchString(g.Name) || strings.HasSuffix(g.Name, ".") {
		return Errorf(EINVALID, "Resource group name %q is invalid: use 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'.", g.Name)
	}
	return nil
}

var rgNameRE = regexp.MustCompile(`^[-\w._()]{1,90}$`)

// SKU is an App Service plan's pricing tier and size.
type SKU struct {
	Name     string // e.g. "B1", "P1v3"
	Tier     string // canonical, e.g. "Basic", "PremiumV3"
	Capacity int    // number of workers (instances)
}

// Plan is an App Service plan: the set of workers its sites run on.
type Plan struct {
	ResourceGroup string
	Name          string
	Location      string
	SKU           SKU
	Linux         bool
	// PerSiteScaling lets each app run on fewer workers than the plan has
	// (its siteConfig numberOfWorkers); off, every app runs on every worker.
	PerSiteScaling bool
	Tags           map[string]string
	Created        time.Time
}

// Validate reports whether p can be stored.
func (p Plan) Validate() error {
	if !planNameRE.MatchString(p.Name) {
		return Errorf(EINVALID, "App Service plan name %q is invalid: use 1-60 letters, digits, '-' or '_'.", p.Name)
	}
	if p.SKU.Capacity < 0 {
		return Errorf(EINVALID, "Number of workers %d is out of range: use 1 or more.", p.SKU.Capacity)
	}
	// Each tier scales out to a limit (sku.go, docs/appservice.md §11).
	if max := p.SKU.Size().MaxWorkers; p.SKU.Capacity > max {
		tier := p.SKU.Tier
		if tier == "" {
			tier = p.SKU.Name
		}
		return Errorf(EINVALID, "The %s tier (%s) allows at most %d workers; %d were requested. Ask for %d or fewer, or scale up to a tier that allows more (Standard 10, Premium v2/v3 30).", tier, p.SKU.Name, max, p.SKU.Capacity, max)
	}
	return nil
}

var planNameRE = regexp.MustCompile(`^[-\w]{1,60}$`)

// skuTiers maps SKU names (upper-cased) to their canonical tier, as the az CLI
// does (docs/arm.md §1.15 "SKU tiers the CLI maps").
var skuTiers = map[string]string{
	"F1": "Free", "FREE": "Free", "D1": "Shared", "SHARED": "Shared",
	"B1": "Basic", "B2": "Basic", "B3": "Basic",
	"S1": "Standard", "S2": "Standard", "S3": "Standard",
	"P1": "Premium", "P2": "Premium", "P3": "Premium",
	"P1V2": "PremiumV2", "P2V2": "PremiumV2", "P3V2": "PremiumV2",
	"P0V3": "Premium0V3", "P1V3": "PremiumV3", "P2V3": "PremiumV3", "P3V3": "PremiumV3",
	"P1MV3": "PremiumMV3", "P2MV3": "PremiumMV3", "P3MV3": "PremiumMV3", "P4MV3": "PremiumMV3", "P5MV3": "PremiumMV3",
	"P0V4": "PremiumV4", "P1V4": "PremiumV4", "P2V4": "PremiumV4", "P3V4": "PremiumV4",
	"EP1": "ElasticPremium", "EP2": "ElasticPremium", "EP3": "ElasticPremium",
	"I1V2": "IsolatedV2", "I2V2": "IsolatedV2", "I3V2": "IsolatedV2", "I4V2": "IsolatedV2", "I5V2": "IsolatedV2", "I6V2": "IsolatedV2",
	"WS1": "WorkflowStandard", "WS2": "WorkflowStandard", "WS3": "WorkflowStandard",
}

// ParseSKU returns the SKU for an SKU name given in any case ("b1", "P1V3").
func ParseSKU(name string) (SKU, error) {
	up := strings.ToUpper(strings.TrimSpace(name))
	tier, ok := skuTiers[up]
	if !ok {
		names := make([]string, 0, len(skuTiers))
		for k := range skuTiers {
			if k != "FREE" && k != "SHARED" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		return SKU{}, Errorf(EINVALID, "SKU %q is not known. Use one of: %s.", name, strings.Join(names, ", "))
	}
	// Canonical casing: letters after a digit are lower-case ("P1v3"), as Azure returns them.
	canon := []byte(up)
	for i := 1; i < len(canon); i++ {
		if canon[i] >= 'A' && canon[i] <= 'Z' && canon[i-1] >= '0' && canon[i-1] <= '9' {
			canon[i] += 'a' - 'A'
		}
	}
	if up == "FREE" {
		canon = []byte("F1")
	} else if up == "SHARED" {
		canon = []byte("D1")
	}
	return SKU{Name: string(canon), Tier: tier, Capacity: 1}, nil
}

// Site is a web app (ARM type Microsoft.Web/sites).
type Site struct {
	ResourceGroup string
	Name          string
	Plan          string // plan name, in PlanGroup
	// PlanGroup is the plan's resource group. App Service lets a site use
	// a plan of another resource group of its subscription ("az webapp
	// create -p <plan id>"); "" is the site's own group. Read it through
	// PlanResourceGroup.
	PlanGroup string
	Location  string
	Config    SiteConfig
	HTTPSOnly bool
	Enabled   bool // false after "webapp stop"
	Tags      map[string]string
	Created   time.Time
	Modified  time.Time
	// SlotOf is, for a deployment slot, the name of its app (the
	// production site); "" for a production site. Slot is the slot's
	// own name ("staging"); the row's Name is then SlotSiteName(SlotOf,
	// Slot) (docs/slots.md §1).
	SlotOf, Slot string
	// KeyVaultReferenceIdentity is the identity the site's Key Vault
	// references resolve as (the site property keyVaultReferenceIdentity,
	// docs/appservice.md §7): "" for its system-assigned identity (Azure's
	// "SystemAssigned"), else a user-assigned identity's ARM id.
	KeyVaultReferenceIdentity string
	// Access is the site's access restrictions (access.go): routing only,
	// so changing them never restarts the app.
	Access AccessRestrictions
	// CORS is the site's platform CORS (cors.go, siteConfig.cors): routing
	// only too, applied by the front door.
	CORS CORS
	// EndToEndEncryption is endToEndEncryptionEnabled, kept and shown: on
	// App Service it encrypts the traffic from its front ends to the
	// workers; Slipway's front door reaches an instance on the same
	// machine (loopback or a veth pair into the instance's network
	// namespace), so that traffic never crosses a network.
	EndToEndEncryption bool
}

// SiteConfig is the part of a site that `az webapp config set` changes
// (ARM Microsoft.Web/sites/config/web).
type SiteConfig struct {
	LinuxFxVersion  string // e.g. "PYTHON|3.12"
	AppCommandLine  string // startup command or file
	HealthCheckPath string
	AlwaysOn        bool
	ClientAffinity  bool
	NumberOfWorkers int
	// MinTLSVersion and SCMMinTLSVersion are the oldest TLS versions the
	// app's and its Kudu's host names accept ("1.0" to "1.3"; "" is the
	// default "1.2"), as siteConfig minTlsVersion and scmMinTlsVersion.
	MinTLSVersion    string
	SCMMinTLSVersion string
	// HTTP20Off is siteConfig.http20Enabled false: the front door offers
	// only HTTP/1.1 on the app's host names (ALPN), as App Service's front
	// end does for the general setting "HTTP version" 1.1
	// (https://learn.microsoft.com/azure/app-service/configure-common#configure-general-settings).
	// Off so that the zero value, a new site, has HTTP/2, as az creates them.
	HTTP20Off bool
	// WebSocketsOff is siteConfig.webSocketsEnabled false: the front door
	// does not pass WebSocket upgrades to the app, as App Service's general
	// setting "Web sockets" off
	// (https://learn.microsoft.com/azure/app-service/configure-common#configure-general-settings).
	// Off so that the zero value, a new site, passes them (Slipway's default;
	// docs/appservice.md).
	WebSocketsOff bool
	// FTPSState is siteConfig.ftpsState as set: "" (read as Disabled) or
	// "FtpsOnly" — both true of Slipway, which serves no FTP at all.
	FTPSState string
	// MinTLSCipherSuite is siteConfig.minTlsCipherSuite: the weakest TLS
	// cipher suite the app's host names accept, in App Service's order of
	// strength (TLSCipherSuites); "" for the listener's own suites.
	MinTLSCipherSuite string
	// AutoHealEnabled is siteConfig.autoHealEnabled, kept and shown: App
	// Service acts only on autoHealRules, which Slipway does not take.
	AutoHealEnabled bool
	// SCMType is siteConfig.scmType, how the app is deployed from source
	// control: "" for none (Azure's SCMNone) or SCMLocalGit.
	SCMType string
}

// The scmType values Slipway serves: no source control, or Local Git
// (a repository at https://<app>.scm.<domain>/<app>.git, internal/scm).
const (
	SCMNone     = "None"
	SCMLocalGit = "LocalGit"
)

// DeploymentBranch is the branch a Local Git push deploys: the app setting
// DEPLOYMENT_BRANCH, or "master", App Service's default.
func DeploymentBranch(settings map[string]string) string {
	if b := strings.TrimSpace(settings["DEPLOYMENT_BRANCH"]); b != "" {
		return b
	}
	return "master"
}

// PlanResourceGroup is the resource group of the site's plan.
func (s Site) PlanResourceGroup() string {
	if s.PlanGroup == "" {
		return s.ResourceGroup
	}
	return s.PlanGroup
}

// OnPlan reports whether the site runs on the plan named name in
// resource group rg (both case-insensitive).
func (s Site) OnPlan(rg, name string) bool {
	return strings.EqualFold(s.Plan, name) && strings.EqualFold(s.PlanResourceGroup(), rg)
}

// App is the name of the app a site row belongs to: its own, or for a
// deployment slot its production site's.
func (s Site) App() string {
	if s.SlotOf != "" {
		return s.SlotOf
	}
	return s.Name
}

// ResourceID is the site's ARM id in the subscription: .../sites/<app>, or
// .../sites/<app>/slots/<slot> for a deployment slot.
func (s Site) ResourceID(subscription string) string {
	id := "/subscriptions/" + subscription + "/resourceGroups/" + s.ResourceGroup + "/providers/Microsoft.Web/sites/"
	if s.SlotOf != "" {
		return id + s.SlotOf + "/slots/" + s.Slot
	}
	return id + s.Name
}

// DefaultMinTLSVersion is App Service's default minimum TLS version.
const DefaultMinTLSVersion = "1.2"

// TLSVersions are the values minTlsVersion and scmMinTlsVersion take.
var TLSVersions = []string{"1.0", "1.1", "1.2", "1.3"}

// Validate reports whether s can be stored.
func (s Site) Validate() error {
	if err := ValidateSiteName(s.Name); err != nil {
		return err
	}
	if s.Config.LinuxFxVersion != "" {
		if _, err := ParseLinuxFxVersion(s.Config.LinuxFxVersion); err != nil {
			return err
		}
	}
	if s.Config.SCMType != "" {
		if _, err := CanonicalSCMType(s.Config.SCMType); err != nil {
			return err
		}
	}
	if err := s.Access.Validate(); err != nil {
		return err
	}
	return s.CORS.Validate()
}

// CanonicalSCMType returns a scmType Slipway serves in Azure's casing
// (SCMNone, SCMLocalGit; any casing accepted). Every other value (GitHub,
// ExternalGit, VSTSRM, ...) is EINVALID: Slipway fetches from no external
// repository.
func CanonicalSCMType(v string) (string, error) {
	for _, t := range []string{SCMNone, SCMLocalGit} {
		if strings.EqualFold(v, t) {
			return t, nil
		}
	}
	return "", Errorf(EINVALID, "scmType '%s' is not available: %s", v, DeploySources)
}

// DeploySources says where Slipway deploys from, for the refusal of any
// other source.
const DeploySources = "Slipway deploys from Local Git (scmType LocalGit, az webapp deployment source config-local-git), zip packages (az webapp deploy) or az webapp up, and fetches from no external repository."

// ValidateSiteName checks an app name. Site names double as DNS labels
// (<app>.<domain>, <app>.scm.<domain>), so they are letters, digits and
// hyphens, 2-60 characters, not starting or ending with a hyphen.
func ValidateSiteName(name string) error {
	if !siteNameRE.MatchString(name) {
		return Errorf(EINVALID, "Site name %q is invalid: use 2-60 letters, digits or hyphens, starting and ending with a letter or digit.", name)
	}
	if strings.EqualFold(name, "scm") || strings.EqualFold(name, "management") || strings.EqualFold(name, "portal") || strings.EqualFold(name, "login") || strings.EqualFold(name, "graph") {
		return Errorf(EINVALID, "Site name %q is reserved by the platform; choose another.", name)
	}
	return nil
}

var siteNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,58}[A-Za-z0-9]$`)

// ParseLinuxFxVersion returns the Python version named by a linuxFxVersion
// such as "PYTHON|3.12" (also accepted: "python:3.12").
func ParseLinuxFxVersion(v string) (pythonVersion string, err error) {
	stack, ver, ok := strings.Cut(v, "|")
	if !ok {
		stack, ver, ok = strings.Cut(v, ":")
	}
	if !ok || !strings.EqualFold(stack, "PYTHON") || !pyVersionRE.MatchString(ver) {
		return "", Errorf(EINVALID, "Linux runtime %q is not supported: Slipway runs Python apps; use \"PYTHON|3.12\" (or another installed 3.x version).", v)
	}
	return ver, nil
}

var pyVersionRE = regexp.MustCompile(`^3\.\d{1,2}(\.\d{1,3})?$`)

// ConnectionString is a named connection string with its type.
type ConnectionString struct {
	Value string
	Type  string // one of ConnectionStringTypes
}

// ConnectionStringTypes maps each ARM connection-string type to the prefix
// of the environment variable an app sees (docs/appservice.md §2).
var ConnectionStringTypes = map[string]string{
	"MySql": "MYSQLCONNSTR_", "SQLServer": "SQLCONNSTR_", "SQLAzure": "SQLAZURECONNSTR_",
	"Custom": "CUSTOMCONNSTR_", "NotificationHub": "NOTIFICATIONHUBCONNSTR_",
	"ServiceBus": "SERVICEBUSCONNSTR_", "EventHub": "EVENTHUBCONNSTR_", "ApiHub": "CUSTOMCONNSTR_",
	"DocDb": "DOCDBCONNSTR_", "RedisCache": "REDISCACHECONNSTR_", "PostgreSQL": "POSTGRESQLCONNSTR_",
}

// CanonicalConnectionStringType returns the canonical spelling of a
// connection-string type given in any case.
func CanonicalConnectionStringType(t string) (string, error) {
	for k := range ConnectionStringTypes {
		if strings.EqualFold(k, t) {
			return k, nil
		}
	}
	names := make([]string, 0, len(ConnectionStringTypes))
	for k := range ConnectionStringTypes {
		names = append(names, k)
	}
	sort.Strings(names)
	return "", Errorf(EINVALID, "Connection string type %q is not known. Use one of: %s.", t, strings.Join(names, ", "))
}

// SanitizeSettingName returns the environment-variable name App Service
// uses for a setting: only letters, digits and '_' survive (docs/appservice.md §2).
func SanitizeSettingName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ValidateSettingName checks an app setting name.
func ValidateSettingName(name string) error {
	if name == "" || SanitizeSettingName(name) == "" {
		return Errorf(EINVALID, "App setting name %q is invalid: it needs at least one letter, digit or '_'.", name)
	}
	if len(name) > 1024 {
		return Errorf(EINVALID, "App setting name is longer than 1024 characters.")
	}
	return nil
}

// DeployStatus is a Kudu deployment status code (docs/appservice.md §5).
type DeployStatus int

// Kudu's status codes: clients treat 3 as failure and 4 as done.
const (
	DeployPending   DeployStatus = 0
	DeployBuilding  DeployStatus = 1
	DeployDeploying DeployStatus = 2
	DeployFailed    DeployStatus = 3
	DeploySuccess   DeployStatus = 4
)

// String returns Kudu's name for the status.
func (s DeployStatus) String() string {
	switch s {
	case DeployPending:
		return "Pending"
	case DeployBuilding:
		return "Building"
	case DeployDeploying:
		return "Deploying"
	case DeployFailed:
		return "Failed"
	case DeploySuccess:
		return "Success"
	}
	return fmt.Sprintf("DeployStatus(%d)", int(s))
}

// Deployment is one push of code to a site, with its outcome.
type Deployment struct {
	ID            string // 32 hex chars
	ResourceGroup string
	Site          string
	Status        DeployStatus
	StatusText    string
	Author        string
	AuthorEmail   string
	Deployer      string // "Push-Deployer", "OneDeploy", "slipway-up", ...
	Message       string
	Progress      string
	Build         bool   // whether an Oryx-style build ran
	PackageSHA256 string // content address of the uploaded package
	ArtifactDir   string // the immutable artifact (app path) once built
	ReceivedTime  time.Time
	StartTime     time.Time
	// EndTime is when the deployment last finished: zero while its first
	// run runs; a redeploy keeps the previous run's until it ends, as
	// Kudu's status file does.
	EndTime time.Time
	Active  bool // the deployment currently serving
	// Recorded marks a deployment made elsewhere and only recorded here
	// (Kudu's PUT /api/deployments/{id} with a status body, which the
	// GitHub Action for App Service sends after each deployment): history,
	// with no version to run, redeploy or swap.
	Recorded bool
}

// Complete reports whether the deployment has finished, either way.
func (d Deployment) Complete() bool { return d.Status == DeployFailed || d.Status == DeploySuccess }

// Redeploying reports whether the deployment is running again (PUT
// /api/deployments/{id}): unfinished, yet it finished before.
func (d Deployment) Redeploying() bool { return !d.Complete() && !d.EndTime.IsZero() }

// LatestDeployment picks, from a site's deployments listed newest received
// first, the one Kudu's GET /api/deployments/latest names (KuduLite's
// DeploymentController.IsLatestPendingDeployment, docs/appservice.md §5):
// the newest one still running, else the one that finished last — after a
// redeploy the redeployed one, though others were received after it. False
// when there is none.
func LatestDeployment(ds []Deployment) (Deployment, bool) {
	for _, d := range ds {
		if !d.Complete() {
			return d, true
		}
	}
	var latest Deployment
	for i, d := range ds {
		if i == 0 || d.EndTime.After(latest.EndTime) {
			latest = d
		}
	}
	return latest, len(ds) > 0
}

// LogEntryType is Kudu's log entry type.
type LogEntryType int

// Kudu's log entry types.
const (
	LogMessage LogEntryType = 0
	LogWarning LogEntryType = 1
	LogError   LogEntryType = 2
)

// DeploymentLogEntry is one line of a deployment's summary log; Details holds
// the full output of the step (e.g. the whole build log).
type DeploymentLogEntry struct {
	ID      string
	Time    time.Time
	Message string
	Type    LogEntryType
	Details string
}

// DeploymentLogLine is one line of a log entry's details (a build's output)
// with the time it arrived.
type DeploymentLogLine struct {
	Time time.Time
	Text string
	Type LogEntryType // its entry's
}

// StorageAccount is a storage account (ARM type
// Microsoft.Storage/storageAccounts) whose blob service Slipway serves.
type StorageAccount struct {
	ResourceGroup string
	Name          string
	Location      string
	SKU           string // e.g. "Standard_LRS"
	Kind          string // e.g. "StorageV2"
	Tags          map[string]string
	Created       time.Time
}

// Validate reports whether a can be stored. Account names are 3-24
// lower-case letters and digits, globally unique (they are DNS labels).
func (a StorageAccount) Validate() error {
	if !ValidStorageAccountName(a.Name) {
		return Errorf(EINVALID, "%s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", a.Name)
	}
	if a.Name == DevelopmentStorageAccount {
		return Errorf(EINVALID, "The storage account name %s is reserved: it is the development storage account, served with the key Microsoft publishes.", a.Name)
	}
	return nil
}

// DevelopmentStorageAccount is the name of Azurite's (and the blob
// service's, with --dev-storage) development account, whose key is
// public: no tenant's account may take it.
const DevelopmentStorageAccount = "devstoreaccount1"

var storageNameRE = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

// ValidStorageAccountName reports whether name has the form of a storage
// account's name: 3-24 lower-case letters and digits (the development
// account's name among them).
func ValidStorageAccountName(name string) bool { return storageNameRE.MatchString(name) }
