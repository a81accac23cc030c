package slipway

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// PostgresServer is an Azure Database for PostgreSQL flexible server (ARM
// type Microsoft.DBforPostgreSQL/flexibleServers): a PostgreSQL cluster
// apps reach at <name>.postgres.database.azure.com:5432. Its name is
// unique across the installation, as Azure's are across Azure (the host
// name is made of it). The administrator's password is never kept here:
// the server itself keeps it.
type PostgresServer struct {
	ResourceGroup string
	Name          string
	Location      string
	Tags          map[string]string
	SKUName       string // e.g. Standard_B1ms
	SKUTier       string // Burstable, GeneralPurpose, MemoryOptimized
	// Version is the PostgreSQL major version the server really runs,
	// which may differ from the one asked for (docs/arm.md).
	Version             string
	AdministratorLogin  string
	StorageGB           int
	BackupRetentionDays int
	Stopped             bool
	Created             time.Time
	// The server's authConfig: which sign-ins it takes. Azure makes
	// servers with passwords only (the zero value); at least one is on.
	PasswordAuthDisabled bool   // passwordAuth Disabled
	EntraAuth            bool   // activeDirectoryAuth: Microsoft Entra tokens
	TenantID             string // tenantId: the tenant whose tokens are taken
}

// PostgresEntraAdmin is a Microsoft Entra administrator of a flexible
// server (flexibleServers/administrators/{objectId}): a principal that
// signs in with a token as a role of its name, a member of
// azure_pg_admin
// (https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-configure-sign-in-azure-ad-authentication).
type PostgresEntraAdmin struct {
	Server        string
	ObjectID      string // the principal's object id (a GUID)
	PrincipalName string // the role's name: a UPN or a display name
	PrincipalType string // User, Group or ServicePrincipal
	TenantID      string
}

// PostgresPrincipalTypes are the principalType values of an
// administrator, as ARM spells them (az's --type offers Unknown too).
var PostgresPrincipalTypes = []string{"User", "Group", "ServicePrincipal", "Unknown"}

// Validate checks an administrator: a GUID object id, a principal name
// PostgreSQL can hold as a role (1–63 bytes, no control characters, none
// of the reserved names) and a known principal type, which it spells as
// ARM does.
func (a *PostgresEntraAdmin) Validate() error {
	if !guidRE.MatchString(a.ObjectID) {
		return Errorf(EINVALID, "The object id '%s' is not a GUID: name the administrator by its Microsoft Entra object id (--object-id).", a.ObjectID)
	}
	n := a.PrincipalName
	if n == "" || len(n) > 63 || strings.ContainsFunc(n, unicode.IsControl) {
		return Errorf(EINVALID, "The principal name '%s' is invalid: it becomes a PostgreSQL role, 1 to 63 bytes without control characters.", n)
	}
	l := strings.ToLower(n)
	if strings.HasPrefix(l, "pg_") || slices.Contains(reservedPostgresLogins, l) {
		return Errorf(EINVALID, "The principal name '%s' is reserved. It cannot be azure_superuser, azure_pg_admin, admin, administrator, root, guest, public, azuresu or postgres, nor start with pg_.", n)
	}
	for _, t := range PostgresPrincipalTypes {
		if strings.EqualFold(t, a.PrincipalType) {
			a.PrincipalType = t
			return nil
		}
	}
	return Errorf(EINVALID, "The principal type '%s' is invalid. Allowed values: User, Group, ServicePrincipal, Unknown.", a.PrincipalType)
}

// PostgresDatabase is a database of a flexible server
// (flexibleServers/databases).
type PostgresDatabase struct {
	Server    string
	Name      string
	Charset   string
	Collation string
}

// PostgresFirewallRule is a flexible server's firewall rule
// (flexibleServers/firewallRules): clients from Start to End (IPv4) may
// connect. 0.0.0.0–0.0.0.0 is Azure's "allow Azure services": here, the
// platform's apps.
type PostgresFirewallRule struct {
	Server string
	Name   string
	Start  netip.Addr
	End    netip.Addr
}

var postgresServerNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{1,61})[a-z0-9]$`)

// ValidatePostgresServerName checks a flexible server's name as Azure
// does: 3–63 lower-case letters, digits and hyphens, neither starting nor
// ending with a hyphen
// (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftdbforpostgresql).
func ValidatePostgresServerName(name string) error {
	if !postgresServerNameRE.MatchString(name) {
		return Errorf(EINVALID, "The server name '%s' is invalid. It must be 3 to 63 characters long, contain only lower-case letters, numbers and hyphens, and must not start or end with a hyphen.", name)
	}
	return nil
}

// reservedPostgresLogins are the administrator names Azure refuses
// (https://learn.microsoft.com/azure/postgresql/flexible-server/quickstart-create-server).
// azuresu (the platform's superuser in each of Slipway's clusters, as on
// Azure) and postgres are refused too: the backend would refuse them after
// the server's record was made.
var reservedPostgresLogins = []string{"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public", "azuresu", "postgres"}

var postgresLoginRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// ValidatePostgresAdminLogin checks the administrator login: a PostgreSQL
// identifier of at most 63 characters, none of Azure's reserved names,
// not starting with pg_.
func ValidatePostgresAdminLogin(login string) error {
	if login == "" {
		return Errorf(EINVALID, "The administrator login is required (properties.administratorLogin).")
	}
	l := strings.ToLower(login)
	for _, r := range reservedPostgresLogins {
		if l == r {
			return Errorf(EINVALID, "The administrator login '%s' is reserved. It cannot be azure_superuser, azure_pg_admin, admin, administrator, root, guest, public, azuresu or postgres, nor start with pg_.", login)
		}
	}
	if strings.HasPrefix(l, "pg_") {
		return Errorf(EINVALID, "The administrator login '%s' is reserved. It cannot be azure_superuser, azure_pg_admin, admin, administrator, root, guest, public, azuresu or postgres, nor start with pg_.", login)
	}
	if !postgresLoginRE.MatchString(login) {
		return Errorf(EINVALID, "The administrator login '%s' is invalid. It must start with a letter or underscore and contain only letters, digits and underscores, at most 63 characters.", login)
	}
	return nil
}

// ValidatePostgresPassword checks an administrator password as Azure
// does: 8–128 characters from three of four categories (upper-case,
// lower-case, digits, others), not containing three or more consecutive
// characters of the login.
func ValidatePostgresPassword(password, login string) error {
	const rules = "The password must be 8 to 128 characters long and contain characters from three of the following categories: English uppercase letters, English lowercase letters, numbers (0-9), and non-alphanumeric characters (!, $, #, %, etc.). It cannot contain all or part of the login name (three or more consecutive characters)."
	n := len([]rune(password))
	if n < 8 || n > 128 {
		return Errorf(EINVALID, "%s", rules)
	}
	var upper, lower, digit, other bool
	for _, r := range password {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{upper, lower, digit, other} {
		if b {
			classes++
		}
	}
	if classes < 3 {
		return Errorf(EINVALID, "%s", rules)
	}
	pw, lg := strings.ToLower(password), []rune(strings.ToLower(login))
	for i := 0; i+3 <= len(lg); i++ {
		if strings.Contains(pw, string(lg[i:i+3])) {
			return Errorf(EINVALID, "%s", rules)
		}
	}
	return nil
}

var postgresDatabaseRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}$`)

// ValidatePostgresDatabaseName checks a database's name as az does: a
// letter or underscore, then letters, digits, hyphens or underscores, at
// most 63 in all.
func ValidatePostgresDatabaseName(name string) error {
	if !postgresDatabaseRE.MatchString(name) {
		return Errorf(EINVALID, "The database name '%s' is invalid. It must begin with a letter or underscore; subsequent characters can be letters, digits, hyphens or underscores; at most 63 characters.", name)
	}
	return nil
}

var postgresRuleRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// ValidatePostgresFirewallRuleName checks a firewall rule's name: 1–128
// letters, digits, hyphens and underscores.
func ValidatePostgresFirewallRuleName(name string) error {
	if !postgresRuleRE.MatchString(name) {
		return Errorf(EINVALID, "The firewall rule name '%s' is invalid. It can contain only letters, digits, hyphens and underscores, at most 128 characters.", name)
	}
	return nil
}
