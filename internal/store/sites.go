package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway"
)

// errSiteNotFound is ARM's ResourceNotFound message for a site.
func errSiteNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Web/sites/%s' under resource group '%s' was not found.", name, rg)
}

// PutSite creates the site or replaces its properties. The resource group
// and the plan (in site.PlanResourceGroup(), the site's own group unless
// PlanGroup names another) must exist; a site already on a plan moves only
// to a plan of that plan's group, as App Service moves an app only within
// its webspace. Site names are global and
// case-insensitive: a name used in another resource group is ECONFLICT.
// It returns the stored site (name casing and creation time of the first PUT;
// Modified set now) and whether it was created. A new site gets publishing
// credentials: user "$<name>" and a random 60-character password.
//
// The caller decides every field, including Enabled: to keep a stopped site
// stopped, read it first and carry Enabled over.
func (s *Store) PutSite(ctx context.Context, site slipway.Site) (slipway.Site, bool, error) {
	return s.PutSiteWithConfig(ctx, site, nil, nil)
}

// PutSiteWithConfig is PutSite that also replaces the site's app settings
// and connection strings, all in one transaction (a site PUT with
// siteConfig.appSettings). A nil map leaves that part as it is.
func (s *Store) PutSiteWithConfig(ctx context.Context, site slipway.Site, settings map[string]string, conns map[string]slipway.ConnectionString) (slipway.Site, bool, error) {
	if err := site.Validate(); err != nil {
		return slipway.Site{}, false, err
	}
	if site.Config.NumberOfWorkers == 0 {
		site.Config.NumberOfWorkers = 1
	}
	if err := validateSettings(settings); err != nil {
		return slipway.Site{}, false, err
	}
	conns, err := canonicalConnectionStrings(conns)
	if err != nil {
		return slipway.Site{}, false, err
	}
	var out slipway.Site
	var created bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, site.ResourceGroup)
		if err != nil {
			return err
		}
		site.ResourceGroup = g.Name
		p, err := scanPlan(tx.QueryRowContext(ctx, planSelect+` WHERE resource_group = ? AND name = ?`, site.PlanResourceGroup(), site.Plan))
		if errors.Is(err, sql.ErrNoRows) {
			return errPlanNotFound(site.PlanResourceGroup(), site.Plan)
		} else if err != nil {
			return err
		}
		site.Plan, site.PlanGroup = p.Name, otherGroup(site.ResourceGroup, p.ResourceGroup)
		if strings.TrimSpace(site.Location) == "" {
			site.Location = p.Location
		}
		now := s.now().UTC()
		site.Modified = now
		old, err := scanSite(tx.QueryRowContext(ctx, siteSelect+` WHERE name = ?`, site.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := checkSlotParent(ctx, tx, &site); err != nil {
				return err
			}
			if site.Created.IsZero() {
				site.Created = now
			}
			pw, err := newPassword()
			if err != nil {
				return err
			}
			sealed, err := s.seal(pw, aadPassword(site.Name))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sites (name, resource_group, plan, plan_resource_group, location,
				linux_fx_version, app_command_line, health_check_path, always_on, client_affinity, number_of_workers,
				https_only, enabled, tags, created, modified, publishing_user, publishing_password,
				min_tls_version, scm_min_tls_version, slot_of, slot_name, key_vault_reference_identity, scm_type,
				ip_security_restrictions, scm_ip_security_restrictions, scm_ip_security_restrictions_use_main,
				ip_security_restrictions_default_action, scm_ip_security_restrictions_default_action, http20_enabled, cors,
				web_sockets_enabled, ftps_state, min_tls_cipher_suite, auto_heal_enabled, end_to_end_encryption)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				site.Name, site.ResourceGroup, site.Plan, site.PlanResourceGroup(), site.Location,
				site.Config.LinuxFxVersion, site.Config.AppCommandLine, site.Config.HealthCheckPath,
				boolInt(site.Config.AlwaysOn), boolInt(site.Config.ClientAffinity), site.Config.NumberOfWorkers,
				boolInt(site.HTTPSOnly), boolInt(site.Enabled), encodeTags(site.Tags), toUnix(site.Created), toUnix(site.Modified),
				publishingUser(site), sealed, site.Config.MinTLSVersion, site.Config.SCMMinTLSVersion,
				nullIfEmpty(site.SlotOf), site.Slot, site.KeyVaultReferenceIdentity, scmTypeColumn(site.Config.SCMType),
				encodeAccessRules(site.Access.Main), encodeAccessRules(site.Access.SCM), boolInt(site.Access.SCMUseMain),
				site.Access.MainDefault, site.Access.SCMDefault, boolInt(!site.Config.HTTP20Off), encodeCORS(site.CORS),
				boolInt(!site.Config.WebSocketsOff), site.Config.FTPSState, site.Config.MinTLSCipherSuite,
				boolInt(site.Config.AutoHealEnabled), boolInt(site.EndToEndEncryption)); err != nil {
				return fmt.Errorf("inserting site: %w", err)
			}
			out, created = site, true
		case err != nil:
			return err
		case !strings.EqualFold(old.ResourceGroup, site.ResourceGroup) || !sameSlot(old, site):
			return slipway.Errorf(slipway.ECONFLICT, "Website with given name %s already exists.", site.Name)
		default:
			site.Name, site.Created = old.Name, old.Created
			site.SlotOf, site.Slot = old.SlotOf, old.Slot
			if !strings.EqualFold(old.PlanResourceGroup(), p.ResourceGroup) {
				return slipway.Errorf(slipway.EINVALID, "Cannot move '%s' to the App Service plan '%s' of resource group '%s': an app moves only to a plan in its current plan's resource group '%s' (and region).",
					site.Name, p.Name, p.ResourceGroup, old.PlanResourceGroup())
			}
			if !strings.EqualFold(old.Plan, p.Name) {
				// A slot counts as its app: its move must not put the
				// app's slots on a plan without room for them.
				if err := slotsFitMove(ctx, tx, site.App(), site.Name, p); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sites SET plan = ?, location = ?,
				linux_fx_version = ?, app_command_line = ?, health_check_path = ?, always_on = ?, client_affinity = ?,
				number_of_workers = ?, https_only = ?, enabled = ?, tags = ?, modified = ?,
				min_tls_version = ?, scm_min_tls_version = ?, key_vault_reference_identity = ?, scm_type = ?,
				ip_security_restrictions = ?, scm_ip_security_restrictions = ?, scm_ip_security_restrictions_use_main = ?,
				ip_security_restrictions_default_action = ?, scm_ip_security_restrictions_default_action = ?,
				http20_enabled = ?, cors = ?, web_sockets_enabled = ?, ftps_state = ?,
				min_tls_cipher_suite = ?, auto_heal_enabled = ?, end_to_end_encryption = ?
				WHERE name = ?`,
				site.Plan, site.Location,
				site.Config.LinuxFxVersion, site.Config.AppCommandLine, site.Config.HealthCheckPath,
				boolInt(site.Config.AlwaysOn), boolInt(site.Config.ClientAffinity), site.Config.NumberOfWorkers,
				boolInt(site.HTTPSOnly), boolInt(site.Enabled), encodeTags(site.Tags), toUnix(site.Modified),
				site.Config.MinTLSVersion, site.Config.SCMMinTLSVersion, site.KeyVaultReferenceIdentity, scmTypeColumn(site.Config.SCMType),
				encodeAccessRules(site.Access.Main), encodeAccessRules(site.Access.SCM), boolInt(site.Access.SCMUseMain),
				site.Access.MainDefault, site.Access.SCMDefault, boolInt(!site.Config.HTTP20Off), encodeCORS(site.CORS),
				boolInt(!site.Config.WebSocketsOff), site.Config.FTPSState,
				site.Config.MinTLSCipherSuite, boolInt(site.Config.AutoHealEnabled), boolInt(site.EndToEndEncryption), site.Name); err != nil {
				return fmt.Errorf("updating site: %w", err)
			}
			out = site
		}
		if out.Tags == nil {
			out.Tags = map[string]string{}
		}
		if settings != nil {
			if err := s.setSettingsTx(ctx, tx, out.Name, settings); err != nil {
				return err
			}
		}
		if conns != nil {
			if err := s.setConnectionStringsTx(ctx, tx, out.Name, conns); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return slipway.Site{}, false, err
	}
	s.sitesChanged(ctx)
	return out, created, nil
}

// Site returns the named site in the resource group (both case-insensitive).
// A site of that name in another group is not found, as on Azure.
func (s *Store) Site(ctx context.Context, rg, name string) (slipway.Site, error) {
	site, err := scanSite(s.read.QueryRowContext(ctx, siteSelect+` WHERE name = ? AND resource_group = ?`, name, rg))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return slipway.Site{}, gerr
		}
		return slipway.Site{}, errSiteNotFound(rg, name)
	}
	return site, err
}

// FindSite returns the site with the given name in any resource group
// (case-insensitive): site names are global.
func (s *Store) FindSite(ctx context.Context, name string) (slipway.Site, error) {
	site, err := scanSite(s.read.QueryRowContext(ctx, siteSelect+` WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.Site{}, slipway.Errorf(slipway.ENOTFOUND, "Site '%s' was not found.", name)
	}
	return site, err
}

// Sites returns the sites in the resource group, or in every group when rg
// is "", ordered by name. A missing group is ENOTFOUND.
func (s *Store) Sites(ctx context.Context, rg string) ([]slipway.Site, error) {
	if rg != "" {
		if _, err := s.ResourceGroup(ctx, rg); err != nil {
			return nil, err
		}
	}
	return listSites(ctx, s.read, rg)
}

// listSites lists the sites of rg ("" = all) through q.
func listSites(ctx context.Context, q querier, rg string) ([]slipway.Site, error) {
	if rg == "" {
		return listRows(ctx, q, "listing sites", scanSite, siteSelect+` ORDER BY name`)
	}
	return listRows(ctx, q, "listing sites", scanSite, siteSelect+` WHERE resource_group = ? ORDER BY name`, rg)
}

// SetSiteEnabled records whether the site runs (false after "webapp stop").
func (s *Store) SetSiteEnabled(ctx context.Context, rg, name string, enabled bool) (slipway.Site, error) {
	var out slipway.Site
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sites SET enabled = ?, modified = ? WHERE name = ? AND resource_group = ?`,
			boolInt(enabled), toUnix(s.now().UTC()), name, rg)
		if err != nil {
			return fmt.Errorf("updating site state: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("updating site state: %w", err)
		} else if n == 0 {
			return errSiteNotFound(rg, name)
		}
		out, err = scanSite(tx.QueryRowContext(ctx, siteSelect+` WHERE name = ?`, name))
		return err
	})
	if err == nil {
		s.sitesChanged(ctx)
	}
	return out, err
}

// DeleteSite deletes the site with its settings, credentials and
// deployment records.
func (s *Store) DeleteSite(ctx context.Context, rg, name string) (err error) {
	defer func() {
		if err == nil {
			s.hosts.dropSites(name) // its host names went with it (ON DELETE CASCADE)
			s.sitesChanged(ctx)     // and its slots, or it as a slot
		}
	}()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := dropAuthTokensTx(ctx, tx, `resource_group = ? AND (name = ? OR slot_of = ?)`, rg, name, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sites WHERE name = ? AND resource_group = ?`, name, rg)
		if err != nil {
			return fmt.Errorf("deleting site: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("deleting site: %w", err)
		} else if n == 0 {
			if _, err := scanGroup(tx.QueryRowContext(ctx, groupSelect+` WHERE name = ?`, rg)); errors.Is(err, sql.ErrNoRows) {
				return errGroupNotFound(rg)
			}
			return errSiteNotFound(rg, name)
		}
		return nil
	})
}

// otherGroup is a site's PlanGroup: the plan's group planRG, or "" when
// it is the site's own group rg.
func otherGroup(rg, planRG string) string {
	if strings.EqualFold(rg, planRG) {
		return ""
	}
	return planRG
}

const siteSelect = `SELECT name, resource_group, plan, plan_resource_group, location, linux_fx_version, app_command_line, health_check_path,
	always_on, client_affinity, number_of_workers, https_only, enabled, tags, created, modified,
	min_tls_version, scm_min_tls_version, coalesce(slot_of, ''), slot_name, key_vault_reference_identity, scm_type,
	ip_security_restrictions, scm_ip_security_restrictions, scm_ip_security_restrictions_use_main,
	ip_security_restrictions_default_action, scm_ip_security_restrictions_default_action, http20_enabled, cors,
	web_sockets_enabled, ftps_state, min_tls_cipher_suite, auto_heal_enabled, end_to_end_encryption FROM sites`

func scanSite(r rowScanner) (slipway.Site, error) {
	var s slipway.Site
	var tags string
	var created, modified int64
	var ac accessColumns
	var http2, webSockets bool
	var cors string
	if err := r.Scan(&s.Name, &s.ResourceGroup, &s.Plan, &s.PlanGroup, &s.Location, &s.Config.LinuxFxVersion, &s.Config.AppCommandLine,
		&s.Config.HealthCheckPath, &s.Config.AlwaysOn, &s.Config.ClientAffinity, &s.Config.NumberOfWorkers,
		&s.HTTPSOnly, &s.Enabled, &tags, &created, &modified, &s.Config.MinTLSVersion, &s.Config.SCMMinTLSVersion, &s.SlotOf, &s.Slot,
		&s.KeyVaultReferenceIdentity, &s.Config.SCMType,
		&ac.main, &ac.scm, &ac.useMain, &ac.mainDefault, &ac.scmDefault, &http2, &cors, &webSockets, &s.Config.FTPSState,
		&s.Config.MinTLSCipherSuite, &s.Config.AutoHealEnabled, &s.EndToEndEncryption); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return s, err
		}
		return s, fmt.Errorf("reading site: %w", err)
	}
	s.Config.HTTP20Off, s.Config.WebSocketsOff = !http2, !webSockets
	s.PlanGroup = otherGroup(s.ResourceGroup, s.PlanGroup)
	var err error
	if s.Tags, err = decodeTags(tags); err != nil {
		return s, err
	}
	if s.Access, err = ac.restrictions(); err != nil {
		return s, err
	}
	if s.CORS, err = decodeCORS(cors); err != nil {
		return s, err
	}
	s.Created, s.Modified = fromUnix(created), fromUnix(modified)
	if s.Config.SCMType == slipway.SCMNone {
		s.Config.SCMType = ""
	}
	return s, nil
}

// scmTypeColumn is siteConfig.scmType as stored, in Azure's casing:
// "None" for none ("" in the domain; Validate refused anything else).
func scmTypeColumn(v string) string {
	if t, err := slipway.CanonicalSCMType(v); err == nil {
		return t
	}
	return slipway.SCMNone
}

// passwordAlphabet is what publishing passwords are made of: letters and
// digits, safe in URLs, Basic auth and publish-profile XML.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// passwordLen is the length of a publishing password, as on Azure.
const passwordLen = 60

// newPassword returns a random publishing password (uniform over the
// alphabet: bytes that would bias the choice are rejected).
func newPassword() (string, error) {
	const limit = 256 - 256%len(passwordAlphabet)
	out := make([]byte, 0, passwordLen)
	buf := make([]byte, 2*passwordLen)
	for len(out) < passwordLen {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generating password: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < passwordLen {
				out = append(out, passwordAlphabet[int(b)%len(passwordAlphabet)])
			}
		}
	}
	return string(out), nil
}

func aadPassword(site string) string { return "publishing-password\x00" + strings.ToLower(site) }

// PublishingCredentials returns the site's app-scope publishing user
// ("$<site>") and password.
func (s *Store) PublishingCredentials(ctx context.Context, rg, site string) (user, password string, err error) {
	var name string
	var sealed []byte
	err = s.read.QueryRowContext(ctx, `SELECT name, publishing_user, publishing_password FROM sites WHERE name = ? AND resource_group = ?`, site, rg).
		Scan(&name, &user, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		_, serr := s.Site(ctx, rg, site)
		return "", "", serr
	} else if err != nil {
		return "", "", fmt.Errorf("reading publishing credentials: %w", err)
	}
	if password, err = s.open(sealed, aadPassword(name)); err != nil {
		return "", "", fmt.Errorf("reading publishing credentials: %w", err)
	}
	return user, password, nil
}

// ResetPublishingPassword gives the site a new random publishing password
// (ARM's newpassword action) and returns it.
func (s *Store) ResetPublishingPassword(ctx context.Context, rg, site string) (string, error) {
	pw, err := newPassword()
	if err != nil {
		return "", err
	}
	sealed, err := s.seal(pw, aadPassword(site))
	if err != nil {
		return "", err
	}
	res, err := s.write.ExecContext(ctx, `UPDATE sites SET publishing_password = ? WHERE name = ? AND resource_group = ?`, sealed, site, rg)
	if err != nil {
		return "", fmt.Errorf("resetting publishing password: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", fmt.Errorf("resetting publishing password: %w", err)
	} else if n == 0 {
		_, serr := s.Site(ctx, rg, site)
		if serr == nil { // raced with a re-creation; report it plainly
			serr = errSiteNotFound(rg, site)
		}
		return "", serr
	}
	return pw, nil
}

// CheckPublishingCredentials checks Basic-auth credentials for the site's
// SCM endpoint and returns the site. The user may be given as "$<site>" or,
// FTP style, "<site>\$<site>" (case-insensitive); the password is compared
// in constant time. A wrong user or password, or an unknown site, is
// EUNAUTHORIZED.
func (s *Store) CheckPublishingCredentials(ctx context.Context, siteName, user, password string) (slipway.Site, error) {
	denied := slipway.Errorf(slipway.EUNAUTHORIZED, "The publishing credentials for '%s' are not valid.", siteName)
	site, err := s.FindSite(ctx, siteName)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return slipway.Site{}, denied
	} else if err != nil {
		return slipway.Site{}, err
	}
	wantUser, wantPW, err := s.PublishingCredentials(ctx, site.ResourceGroup, site.Name)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return slipway.Site{}, denied
	} else if err != nil {
		return slipway.Site{}, err
	}
	if _, after, ok := strings.Cut(user, `\`); ok && strings.EqualFold(user[:len(user)-len(after)-1], site.Name) {
		user = after
	}
	userOK := subtle.ConstantTimeCompare([]byte(strings.ToLower(user)), []byte(strings.ToLower(wantUser)))
	pwOK := subtle.ConstantTimeCompare([]byte(password), []byte(wantPW))
	if userOK&pwOK != 1 {
		return slipway.Site{}, denied
	}
	return site, nil
}
