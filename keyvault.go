package slipway

import (
	"regexp"
	"strings"
	"time"
)

// Vault is a key vault (ARM type Microsoft.KeyVault/vaults) whose secrets
// data plane Slipway serves at https://<name>.vault.<domain>/.
//
// Vault names are global and case-insensitive, and a soft-deleted vault
// keeps its name until it is purged, as in Azure
// (https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview).
type Vault struct {
	ResourceGroup string
	Name          string
	Location      string
	TenantID      string
	SKU           string // "standard" or "premium"
	Tags          map[string]string

	// EnableRBACAuthorization chooses the authorization model of the data
	// plane: role assignments when true, AccessPolicies when false.
	EnableRBACAuthorization bool
	AccessPolicies          []AccessPolicy
	SoftDeleteRetentionDays int // 7-90; 0 means the default, 90
	EnablePurgeProtection   bool
	PublicNetworkAccess     string // "Enabled" or "Disabled"; recorded, not enforced

	// EnabledForTemplateDeployment lets template deployments read the
	// vault's secrets as Key Vault references in their parameters
	// (internal/arm). EnabledForDeployment (virtual machines) and
	// EnabledForDiskEncryption (disk encryption) grant services Slipway
	// does not have: kept and shown as set.
	EnabledForDeployment         bool
	EnabledForDiskEncryption     bool
	EnabledForTemplateDeployment bool

	Created time.Time
	// Deleted is when the vault was soft-deleted (zero while it is active);
	// ScheduledPurge is when it will be purged for good.
	Deleted, ScheduledPurge time.Time
}

// AccessPolicy grants one identity permissions on a vault's data plane
// (used when the vault does not use RBAC authorization).
type AccessPolicy struct {
	TenantID      string
	ObjectID      string
	ApplicationID string   // optional: a compound identity
	Keys          []string // permission names, lower case ("get", "list", ...)
	Secrets       []string
	Certificates  []string
	Storage       []string
}

// DefaultSoftDeleteRetentionDays is how long a deleted vault or secret is
// kept when the vault names no retention.
const DefaultSoftDeleteRetentionDays = 90

// RetentionDays is the vault's soft-delete retention, with the default filled in.
func (v Vault) RetentionDays() int {
	if v.SoftDeleteRetentionDays == 0 {
		return DefaultSoftDeleteRetentionDays
	}
	return v.SoftDeleteRetentionDays
}

// RecoveryLevel is the deletion recovery level Key Vault reports for the
// objects in the vault (DeletionRecoveryLevel in the REST reference,
// https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret#deletionrecoverylevel).
func (v Vault) RecoveryLevel() string {
	level := "Recoverable"
	if !v.EnablePurgeProtection {
		level += "+Purgeable"
	}
	if v.RetentionDays() < DefaultSoftDeleteRetentionDays {
		level = "Customized" + level
	}
	return level
}

// Validate reports whether v can be stored: the naming rules and the
// property ranges of
// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftkeyvault.
func (v Vault) Validate() error {
	if err := ValidateVaultName(v.Name); err != nil {
		return err
	}
	if d := v.SoftDeleteRetentionDays; d != 0 && (d < 7 || d > 90) {
		return Errorf(EINVALID, "The property \"softDeleteRetentionInDays\" has an invalid value. The value must be between 7 and 90.")
	}
	switch strings.ToLower(v.SKU) {
	case "", "standard", "premium":
	default:
		return Errorf(EINVALID, "The SKU name '%s' is invalid. Valid values are 'standard' and 'premium'.", v.SKU)
	}
	return nil
}

// ValidateVaultName checks a vault name: 3-24 letters, digits and hyphens,
// starting with a letter, ending with a letter or digit, and without
// consecutive hyphens.
func ValidateVaultName(name string) error {
	if !vaultNameRE.MatchString(name) || strings.Contains(name, "--") {
		return Errorf(EINVALID, "The vault name '%s' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.", name)
	}
	return nil
}

var vaultNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

// Secret is one version of a Key Vault secret. Value is the plain text; the
// store seals it before it reaches the disk.
type Secret struct {
	Vault       string
	Name        string
	Version     string // 32 lower-case hex digits
	Value       string
	ContentType string
	Enabled     bool
	NotBefore   time.Time // zero: no constraint
	Expires     time.Time // zero: never
	Tags        map[string]string
	Created     time.Time
	Updated     time.Time
}

// SecretUpdate names the attributes of a secret version an update
// changes; nil leaves one as it is. A zero time clears NotBefore or Expires.
type SecretUpdate struct {
	ContentType *string
	Enabled     *bool
	NotBefore   *time.Time
	Expires     *time.Time
	Tags        *map[string]string
}

// DeletedSecret is a soft-deleted secret: its latest version and when it
// was deleted and will be purged.
type DeletedSecret struct {
	Secret
	Deleted        time.Time
	ScheduledPurge time.Time
}

// Limits of the secrets data plane
// (https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#object-identifiers
// and https://learn.microsoft.com/azure/key-vault/secrets/about-secrets).
const (
	MaxSecretValueBytes = 25 * 1024
	MaxSecretTags       = 15
)

var secretNameRE = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// ValidateSecretName checks a secret name: 1-127 letters, digits and hyphens.
func ValidateSecretName(name string) error {
	if !secretNameRE.MatchString(name) {
		return Errorf(EINVALID, "The request URI contains an invalid name: %s", name)
	}
	return nil
}

// ValidateSecretVersion checks a version id: 32 hexadecimal digits.
func ValidateSecretVersion(v string) error {
	if len(v) != 32 || strings.Trim(strings.ToLower(v), "0123456789abcdef") != "" {
		return Errorf(EINVALID, "The request URI contains an invalid version: %s", v)
	}
	return nil
}
