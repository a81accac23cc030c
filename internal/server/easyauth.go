package server

// App Service authentication ("Easy Auth", internal/easyauth) as the
// server wires it: the front door runs it for every site whose
// config/authsettingsV2 turns it on, signing users in against the
// platform's own identity service, with a session key derived from the
// store's master key, the client secret read from the app setting the
// settings name (a Key Vault reference resolved with the app's identity),
// and the token store kept in the store's sealed table.

import (
	"context"
	"log/slog"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/easyauth"
	"github.com/slipway-dev/slipway/internal/kvref"
	"github.com/slipway-dev/slipway/internal/store"
)

// newEasyAuth builds the module the front door runs.
func newEasyAuth(st *store.Store, ident *platformIdentity, refs *kvref.Resolver, log *slog.Logger) (*easyauth.Module, error) {
	key, err := st.DerivedKey("app service authentication sessions")
	if err != nil {
		return nil, err
	}
	secrets := authSecrets{st: st, refs: refs}
	return easyauth.New(easyauth.Config{
		Provider:     ident.svc,
		LoginBase:    ident.authority,
		TenantID:     ident.svc.TenantID(),
		Key:          key,
		ClientSecret: secrets.secret,
		Keeper:       st,
		Logger:       log,
	})
}

// authSecrets reads the client secrets of sites' authentication.
type authSecrets struct {
	st   *store.Store
	refs *kvref.Resolver
}

// secret returns the value of the site's app setting name, a Key Vault
// reference resolved; it is asked once per sign-in, not per request.
func (a authSecrets) secret(ctx context.Context, site, name string) (string, error) {
	s, err := a.st.FindSite(ctx, site)
	if err != nil {
		return "", err
	}
	settings, err := a.st.Settings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return "", err
	}
	v, ok := settings[name]
	if !ok || v == "" {
		return "", slipway.Errorf(slipway.EINVALID, "The app setting '%s', which the authentication settings name as the client secret (clientSecretSettingName), is not set on '%s'. Set it to the app registration's client secret (az webapp auth microsoft update --client-secret).", name, site)
	}
	if kvref.IsReference(v) && a.refs != nil {
		res := a.refs.Resolve(ctx, s, map[string]string{name: v}, nil)
		if failed := res.Failed(); len(failed) > 0 {
			return "", slipway.Errorf(slipway.EINVALID, "The client secret's Key Vault reference in the app setting '%s' of '%s' did not resolve: %s", name, site, res.Explain())
		}
		v = res.Settings[name]
	}
	return v, nil
}
