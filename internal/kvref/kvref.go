// Package kvref resolves Key Vault references in an app's settings and
// connection strings (docs/appservice.md §7): a value
// @Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>[/<version>])
// or @Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=<version>])
// becomes the secret's value, read from this platform's vaults with the
// app's managed identity and the same authorization as the Key Vault data
// plane, as App Service resolves them
// (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references).
//
// Every reference gets a status with App Service's names (Resolved,
// InvalidSyntax, MSINotEnabled, VaultNotFound, SecretNotFound,
// SecretVersionNotFound, AccessToKeyVaultDenied, FetchTimedOut,
// OtherReasons) and a sentence saying why. App Service hands an
// unresolved reference to the app as its literal text; Slipway refuses to
// start a version with one ([Resolution.Err]) unless the app setting
// [LenientSetting] asks for App Service's behaviour.
//
// References are parsed strictly: bounded in length, and a SecretUri must
// name a vault host of this platform (<vault>.vault.azure.net or
// <vault>.<suffix> for the configured suffixes, any port). Nothing is ever
// fetched from a URL. Secret values never reach a log or an error: a
// [Result] prints without its value, and [Resolution.Values] hands the
// values to whatever masks logs.
package kvref

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/keyvault"
)

// Prefix begins every Key Vault reference.
const Prefix = "@Microsoft.KeyVault("

// MaxReferenceBytes bounds a reference: a vault host, a 127-character name
// and a version fit many times over.
const MaxReferenceBytes = 1024

// MaxResolvedBytes bounds the values one Resolve hands out, together: an
// app's whole environment must fit in what execve takes (a quarter of the
// stack limit, 2 MiB by default), and a site's settings could otherwise
// make one Resolve hold a 25 KiB value per reference. References past the
// bound are not read; they get OtherReasons.
const MaxResolvedBytes = 1 << 20

// LenientSetting is the app setting that, when true, passes a reference
// that cannot be resolved to the app as its literal text, as App Service
// always does, instead of refusing to start the new version. It is
// Slipway's own: App Service has no such setting (its documentation only
// describes the literal fallback, see the package doc), and ignores it.
const LenientSetting = "SLIPWAY_LENIENT_KEYVAULT_REFERENCES"

// Status is a reference's resolution status: ResolveStatus of App
// Service's ApiKVReference.
type Status string

// The statuses.
const (
	Resolved               Status = "Resolved"
	InvalidSyntax          Status = "InvalidSyntax"
	MSINotEnabled          Status = "MSINotEnabled"
	VaultNotFound          Status = "VaultNotFound"
	SecretNotFound         Status = "SecretNotFound"
	SecretVersionNotFound  Status = "SecretVersionNotFound"
	AccessToKeyVaultDenied Status = "AccessToKeyVaultDenied"
	FetchTimedOut          Status = "FetchTimedOut"
	OtherReasons           Status = "OtherReasons"
)

// Location says where a reference sits.
type Location string

// The locations.
const (
	AppSetting       Location = "ApplicationSetting"
	ConnectionString Location = "ConnectionString"
)

// Reference is a parsed reference.
type Reference struct {
	VaultName     string
	SecretName    string
	SecretVersion string // "" for the latest
}

// ParseError is why a reference cannot be used: InvalidSyntax, or
// VaultNotFound for a SecretUri naming a host that is not a vault here.
type ParseError struct {
	Status  Status
	Message string
}

func (e *ParseError) Error() string { return e.Message }

func syntaxError(format string, args ...any) error {
	return &ParseError{Status: InvalidSyntax, Message: fmt.Sprintf(format, args...)}
}

// IsReference reports whether the value is meant as a reference: it begins
// with @Microsoft.KeyVault( (case-insensitively, after spaces). Such a
// value is never passed on as a plain value without a status.
func IsReference(value string) bool {
	v := strings.TrimSpace(value)
	return len(v) >= len(Prefix) && strings.EqualFold(v[:len(Prefix)], Prefix)
}

// Parse parses a reference. vaultSuffixes are the host suffixes a SecretUri
// may name after the vault's name (e.g. "vault.azure.net",
// "vault.localhost"); a port is allowed.
func Parse(value string, vaultSuffixes []string) (Reference, error) {
	v := strings.TrimSpace(value)
	if len(v) > MaxReferenceBytes {
		return Reference{}, syntaxError("The reference is %d bytes long; a Key Vault reference is at most %d.", len(v), MaxReferenceBytes)
	}
	if !IsReference(v) || !strings.HasSuffix(v, ")") {
		return Reference{}, syntaxError("A Key Vault reference has the form @Microsoft.KeyVault(SecretUri=...) or @Microsoft.KeyVault(VaultName=...;SecretName=...).")
	}
	inner := strings.TrimSpace(v[len(Prefix) : len(v)-1])
	if strings.ContainsAny(inner, "()\x00\r\n\t") {
		return Reference{}, syntaxError("The reference contains a character it may not contain (parenthesis, control character).")
	}
	if k, rest, ok := strings.Cut(inner, "="); ok && strings.EqualFold(strings.TrimSpace(k), "SecretUri") {
		return parseSecretURI(strings.TrimSpace(rest), vaultSuffixes)
	}
	var ref Reference
	seen := map[string]bool{}
	for part := range strings.SplitSeq(inner, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		k, val = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val)
		if !ok || val == "" {
			return Reference{}, syntaxError("%q is not a Name=value pair.", part)
		}
		if seen[k] {
			return Reference{}, syntaxError("%s appears twice.", k)
		}
		seen[k] = true
		switch k {
		case "vaultname":
			ref.VaultName = val
		case "secretname":
			ref.SecretName = val
		case "secretversion":
			ref.SecretVersion = val
		default:
			return Reference{}, syntaxError("%q is not a part of a Key Vault reference: use SecretUri, or VaultName, SecretName and optionally SecretVersion.", k)
		}
	}
	if ref.VaultName == "" || ref.SecretName == "" {
		return Reference{}, syntaxError("A reference without SecretUri needs both VaultName and SecretName.")
	}
	return ref, validate(ref)
}

// parseSecretURI parses https://<vault>.<suffix>[:port]/secrets/<name>[/<version>][/].
func parseSecretURI(raw string, vaultSuffixes []string) (Reference, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Reference{}, syntaxError("The SecretUri must be a secret's https URI without credentials, query or fragment, e.g. https://myvault.vault.azure.net/secrets/mysecret/.")
	}
	vault, ok := keyvault.VaultFromHost(u.Host, vaultSuffixes...)
	if !ok {
		return Reference{}, &ParseError{Status: VaultNotFound, Message: fmt.Sprintf(
			"The SecretUri names the host %q, which is not a key vault of this platform (<vault>.%s). Slipway reads secrets only from its own vaults; it never fetches a URL.",
			u.Hostname(), strings.Join(vaultSuffixes, " or <vault>."))}
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(u.EscapedPath(), "/"), "/"), "/")
	if len(parts) < 2 || len(parts) > 3 || !strings.EqualFold(parts[0], "secrets") {
		return Reference{}, syntaxError("The SecretUri's path must be /secrets/<name> or /secrets/<name>/<version>.")
	}
	ref := Reference{VaultName: vault, SecretName: parts[1]}
	if len(parts) == 3 {
		ref.SecretVersion = parts[2]
	}
	return ref, validate(ref)
}

func validate(ref Reference) error {
	if slipway.ValidateVaultName(ref.VaultName) != nil {
		return syntaxError("%q is not a valid vault name (3-24 letters, digits and hyphens).", ref.VaultName)
	}
	if slipway.ValidateSecretName(ref.SecretName) != nil {
		return syntaxError("%q is not a valid secret name (1-127 letters, digits and hyphens).", ref.SecretName)
	}
	if ref.SecretVersion != "" && slipway.ValidateSecretVersion(ref.SecretVersion) != nil {
		return syntaxError("%q is not a valid secret version (32 hexadecimal digits).", ref.SecretVersion)
	}
	return nil
}

// Store is what resolution reads; *store.Store implements it.
type Store interface {
	FindVault(ctx context.Context, name string) (slipway.Vault, error)
	Secret(ctx context.Context, vault, name, version string) (slipway.Secret, error)
}

// Authorizer decides data-plane access; keyvault.Access implements it, and
// the data plane uses the same one.
type Authorizer interface {
	Allow(ctx context.Context, v slipway.Vault, p keyvault.Principal, op keyvault.Operation) error
}

// Identity is the managed identity a site resolves its references as.
type Identity struct {
	Type string // "SystemAssigned" or "UserAssigned"
	keyvault.Principal
	ClientID   string // the identity's client (app) id
	ResourceID string // a user-assigned identity's ARM id; "" for system-assigned
}

// ErrNoIdentity is what Identities returns for a site without the
// identity its references need (status MSINotEnabled).
var ErrNoIdentity = errors.New("kvref: the app has no managed identity")

// Identities says which principal a site resolves its references as: its
// system-assigned identity, or the user-assigned identity its
// keyVaultReferenceIdentity names (docs/appservice.md §7). The composition
// root implements it over the site's managed identities.
type Identities interface {
	ReferenceIdentity(ctx context.Context, site slipway.Site) (Identity, error)
}

// Config configures a Resolver.
type Config struct {
	Store      Store
	Access     Authorizer
	Identities Identities
	// VaultSuffixes are the host suffixes a SecretUri may name, e.g.
	// "vault.localhost" and "vault.azure.net".
	VaultSuffixes []string
	// Timeout bounds one Resolve (FetchTimedOut after it); 0 → 30 s.
	Timeout time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Resolver resolves references.
type Resolver struct {
	cfg Config
	key []byte // keys fingerprints, so that they say nothing of values
}

// New returns a Resolver; Store, Access, Identities and VaultSuffixes are required.
func New(cfg Config) (*Resolver, error) {
	if cfg.Store == nil || cfg.Access == nil || cfg.Identities == nil || len(cfg.VaultSuffixes) == 0 {
		return nil, errors.New("kvref: Store, Access, Identities and VaultSuffixes are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("kvref: %w", err)
	}
	return &Resolver{cfg: cfg, key: key}, nil
}

// Result is the resolution of one reference. It never prints its value.
type Result struct {
	Name          string
	Location      Location
	Reference     string // the setting's value as stored
	Ref           Reference
	Status        Status
	Details       string
	Identity      Identity // zero when the site has none
	ActiveVersion string   // the version resolved
	value         string
}

// String describes the result without its value; fmt's %v, %+v and %#v
// and slog all use it, so that a value cannot reach a log by accident.
func (x Result) String() string {
	return fmt.Sprintf("%s %s: %s (%s)", x.Location, x.Name, x.Status, x.Reference)
}

// GoString implements fmt.GoStringer, as String.
func (x Result) GoString() string { return x.String() }

// LogValue implements slog.LogValuer, as String.
func (x Result) LogValue() slog.Value { return slog.StringValue(x.String()) }

// Resolution is the outcome of resolving a site's configuration.
type Resolution struct {
	// Settings and ConnectionStrings are the configuration as the app sees
	// it: resolved references replaced by their values, unresolved ones
	// left as their literal text.
	Settings          map[string]string
	ConnectionStrings map[string]slipway.ConnectionString
	Results           []Result // one per reference: app settings, then connection strings, by name
	Lenient           bool     // LenientSetting was true
	fingerprint       string
}

// String lists the statuses, never the values (see Result.String).
func (r Resolution) String() string {
	parts := make([]string, len(r.Results))
	for i, x := range r.Results {
		parts[i] = x.String()
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// GoString implements fmt.GoStringer, as String.
func (r Resolution) GoString() string { return r.String() }

// LogValue implements slog.LogValuer, as String.
func (r Resolution) LogValue() slog.Value { return slog.StringValue(r.String()) }

// Failed returns the references that did not resolve.
func (r Resolution) Failed() []Result {
	var out []Result
	for _, x := range r.Results {
		if x.Status != Resolved {
			out = append(out, x)
		}
	}
	return out
}

// Values returns the resolved values, for the masks of logs.
func (r Resolution) Values() []string {
	var out []string
	for _, x := range r.Results {
		if x.Status == Resolved {
			out = append(out, x.value)
		}
	}
	return out
}

// Fingerprint changes when a resolved value changes (and says nothing of
// the values); "" when there are no references.
func (r Resolution) Fingerprint() string { return r.fingerprint }

// Explain describes the unresolved references, one per line: the setting,
// the status and why. It names no value.
func (r Resolution) Explain() string {
	var b strings.Builder
	for _, x := range r.Failed() {
		kind := "app setting"
		if x.Location == ConnectionString {
			kind = "connection string"
		}
		fmt.Fprintf(&b, "%s %s: %s. %s\n", kind, x.Name, x.Status, x.Details)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Err is nil when every reference resolved or the app is lenient;
// otherwise a slipway.Error (EINVALID) that says which references failed
// and why, and how to fix or bypass them.
func (r Resolution) Err() error {
	if r.Lenient || len(r.Failed()) == 0 {
		return nil
	}
	return slipway.Errorf(slipway.EINVALID, "Key Vault references could not be resolved, so the new version was not started:\n%s\nFix the references or the access of the app's identity, or set the app setting %s=true to pass unresolved references to the app as their literal text, as App Service does.", r.Explain(), LenientSetting)
}

// Resolve resolves the references among settings and connection strings
// with the site's identity. It does not fail: what cannot be resolved gets
// a status, and stays its literal text in the returned configuration.
func (r *Resolver) Resolve(ctx context.Context, site slipway.Site, settings map[string]string, conns map[string]slipway.ConnectionString) Resolution {
	out := Resolution{Settings: make(map[string]string, len(settings)), ConnectionStrings: make(map[string]slipway.ConnectionString, len(conns))}
	for k, v := range settings {
		out.Settings[k] = v
	}
	for k, v := range conns {
		out.ConnectionStrings[k] = v
	}
	out.Lenient = truthy(settings[LenientSetting])
	var todo []*Result
	for _, k := range sortedKeys(settings) {
		if IsReference(settings[k]) {
			todo = append(todo, &Result{Name: k, Location: AppSetting, Reference: settings[k]})
		}
	}
	for _, k := range sortedKeys(conns) {
		if IsReference(conns[k].Value) {
			todo = append(todo, &Result{Name: k, Location: ConnectionString, Reference: conns[k].Value})
		}
	}
	if len(todo) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	id, idErr := r.cfg.Identities.ReferenceIdentity(ctx, site)
	fetched := map[Reference]fetch{}
	mac := hmac.New(sha256.New, r.key)
	spent, full := 0, false
	for _, x := range todo {
		if full {
			x.Status, x.Details = OtherReasons, tooLarge
		} else {
			r.resolveOne(ctx, x, id, idErr, fetched)
		}
		if x.Status == Resolved {
			if spent += len(x.value); spent > MaxResolvedBytes {
				// Neither this value nor any later one: fetched holds
				// at most the bound and one value more.
				full, fetched = true, nil
				x.Status, x.Details, x.ActiveVersion, x.value = OtherReasons, tooLarge, "", ""
			}
		}
		if x.Status == Resolved {
			switch x.Location {
			case AppSetting:
				out.Settings[x.Name] = x.value
			case ConnectionString:
				cs := out.ConnectionStrings[x.Name]
				cs.Value = x.value
				out.ConnectionStrings[x.Name] = cs
			}
		}
		fmt.Fprintf(mac, "%s\x00%s\x00%s\x00%d:%s\x00", x.Location, x.Name, x.Status, len(x.value), x.value)
		out.Results = append(out.Results, *x)
	}
	out.fingerprint = hex.EncodeToString(mac.Sum(nil))
	return out
}

// tooLarge is the Details of references past MaxResolvedBytes.
var tooLarge = fmt.Sprintf("The app's Key Vault references resolve to more than %d bytes together; this one and those after it (by name) were not read. Reference fewer or smaller secrets.", MaxResolvedBytes)

// fetch is one secret read, shared by references to the same secret.
type fetch struct {
	status  Status
	details string
	version string
	value   string
}

func (r *Resolver) resolveOne(ctx context.Context, x *Result, id Identity, idErr error, fetched map[Reference]fetch) {
	ref, err := Parse(x.Reference, r.cfg.VaultSuffixes)
	if err != nil {
		var pe *ParseError
		errors.As(err, &pe)
		x.Status, x.Details = pe.Status, pe.Message
		return
	}
	x.Ref = ref
	switch {
	case errors.Is(idErr, ErrNoIdentity):
		x.Status, x.Details = MSINotEnabled, "The app has no managed identity to read Key Vault secrets with. Give it a system-assigned identity (slipway webapp identity assign), or set its keyVaultReferenceIdentity to a user-assigned identity it has."
		return
	case idErr != nil:
		r.cfg.Logger.Error("finding the identity of an app's Key Vault references", "site", x.Name, "err", idErr)
		x.Status, x.Details = OtherReasons, "The app's managed identity could not be read; try again."
		return
	}
	x.Identity = id
	f, ok := fetched[ref]
	if !ok {
		f = r.fetch(ctx, ref, id)
		fetched[ref] = f
	}
	x.Status, x.Details, x.ActiveVersion, x.value = f.status, f.details, f.version, f.value
}

func (r *Resolver) fetch(ctx context.Context, ref Reference, id Identity) fetch {
	timedOut := func() (fetch, bool) {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fetch{status: FetchTimedOut, details: fmt.Sprintf("Reading the secret took longer than %s.", r.cfg.Timeout)}, true
		}
		return fetch{}, false
	}
	other := func(doing string, err error) fetch {
		if f, ok := timedOut(); ok {
			return f
		}
		r.cfg.Logger.Error(doing, "vault", ref.VaultName, "secret", ref.SecretName, "err", err)
		return fetch{status: OtherReasons, details: "The key vault could not be read; try again."}
	}
	v, err := r.cfg.Store.FindVault(ctx, ref.VaultName)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return fetch{status: VaultNotFound, details: fmt.Sprintf("No key vault named %q exists on this Slipway server.", ref.VaultName)}
	} else if err != nil {
		return other("finding the key vault of a reference", err)
	}
	if err := r.cfg.Access.Allow(ctx, v, id.Principal, keyvault.OpGet); err != nil {
		var kerr *keyvault.Error
		if !errors.As(err, &kerr) {
			return other("authorizing a Key Vault reference", err)
		}
		how := "an access policy with the Get secret permission (slipway keyvault set-policy --name " + v.Name + " --object-id " + id.ObjectID + " --secret-permissions get)"
		if v.EnableRBACAuthorization {
			how = "the Key Vault Secrets User role on the vault (slipway role assignment create --role \"Key Vault Secrets User\" --assignee-object-id " + id.ObjectID + " --assignee-principal-type ServicePrincipal --scope <the vault's id>)"
		}
		return fetch{status: AccessToKeyVaultDenied, details: fmt.Sprintf("The app's %s identity (object id %s) may not get secrets from key vault %q. Grant it %s.", identityKind(id.Type), id.ObjectID, v.Name, how)}
	}
	s, err := r.cfg.Store.Secret(ctx, v.Name, ref.SecretName, ref.SecretVersion)
	switch {
	case slipway.ErrorCode(err) == slipway.ENOTFOUND && ref.SecretVersion != "":
		return fetch{status: SecretVersionNotFound, details: fmt.Sprintf("Key vault %q has no version %s of a secret named %q.", v.Name, ref.SecretVersion, ref.SecretName)}
	case slipway.ErrorCode(err) == slipway.ENOTFOUND:
		return fetch{status: SecretNotFound, details: fmt.Sprintf("Key vault %q has no secret named %q (or it is deleted).", v.Name, ref.SecretName)}
	case err != nil:
		return other("reading the secret of a reference", err)
	}
	if err := keyvault.Usable(s, r.cfg.Now); err != nil {
		var kerr *keyvault.Error
		errors.As(err, &kerr)
		return fetch{status: OtherReasons, details: fmt.Sprintf("Version %s of secret %q in key vault %q cannot be read: %s", s.Version, s.Name, v.Name, kerr.Message)}
	}
	return fetch{status: Resolved, version: s.Version, value: s.Value}
}

// identityKind words an identity type for a sentence: "system-assigned".
func identityKind(t string) string {
	switch t {
	case "SystemAssigned":
		return "system-assigned"
	case "UserAssigned":
		return "user-assigned"
	}
	return "managed"
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
