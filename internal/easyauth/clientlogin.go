package easyauth

// The client-directed sign-in
// (https://learn.microsoft.com/azure/app-service/configure-authentication-customize-sign-in-out#client-directed-sign-in):
// a client that signed the user in itself (a mobile or single-page app
// with MSAL) POSTs the provider's access token as JSON to
// /.auth/login/aad and gets an App Service session token back,
//
//	{"authenticationToken": "...", "user": {"userId": "sid:..."}}
//
// which it then sends in X-ZUMO-AUTH on every request; /.auth/me,
// /.auth/refresh (which answers a renewed token the same way) and
// /.auth/logout take it too. The access token is checked as a bearer
// token is (its audience one of the app's, the default authorization
// policy). No cookie is set: a page that makes a browser POST a token
// signs nobody in there.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/slipway-dev/slipway/internal/identity"
)

// maxClientLoginBody bounds the JSON a client-directed sign-in posts.
const maxClientLoginBody = 32 << 10

func (m *Module) clientLogin(w http.ResponseWriter, r *http.Request, st *site) {
	if st.aad == nil {
		writeJSONError(w, http.StatusNotFound, "This app has no Microsoft identity provider configured (identityProviders.azureActiveDirectory).")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSONError(w, http.StatusUnsupportedMediaType, `The client-directed sign-in takes JSON (Content-Type: application/json): {"access_token": "<the provider's access token>"}.`)
		return
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxClientLoginBody))
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "The sign-in request is larger than 32 KiB.")
			return
		}
		writeJSONError(w, http.StatusBadRequest, `The sign-in request is not valid JSON: send {"access_token": "<the provider's access token>"}.`)
		return
	}
	if body.AccessToken == "" {
		writeJSONError(w, http.StatusBadRequest, `The sign-in request has no access_token: send {"access_token": "<the provider's access token>"}.`)
		return
	}
	p, status := m.bearer(r.Context(), st, body.AccessToken)
	if p == nil {
		msg := "The access token is not valid for this app (its audience must be one of the app's allowed audiences)."
		if status == http.StatusForbidden {
			msg = "You do not have permission to sign in to this app."
		}
		writeJSONError(w, status, msg)
		return
	}
	now := m.cfg.Now()
	sess := &session{ID: randomID(), Exp: now.Add(sessionLife(st.s)).Unix(), Claims: p.claims}
	if st.s.Login.TokenStore.Enabled {
		t := identity.UserTokens{AccessToken: body.AccessToken}
		if n, ok := unixClaim(p.get("exp")); ok {
			t.ExpiresOn = time.Unix(n, 0)
		}
		m.store.put(st.name, sess.ID, sess.user(), t, now, time.Unix(sess.Exp, 0).Add(refreshExt(st.s)))
	}
	m.writeAuthToken(w, st, sess)
}

// writeAuthToken answers a client-directed session's token and user id.
func (m *Module) writeAuthToken(w http.ResponseWriter, st *site, sess *session) {
	tok, err := m.sealSession(st, tokenPurpose, sess)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "The session could not be made: "+err.Error())
		return
	}
	var out authTokenAnswer
	out.AuthenticationToken, out.User.UserID = tok, sid(st, sess.principal(nil))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(out)
}

// authTokenAnswer is the answer of a client-directed sign-in.
type authTokenAnswer struct {
	AuthenticationToken string `json:"authenticationToken"`
	User                struct {
		UserID string `json:"userId"`
	} `json:"user"`
}

// sid is the user id App Service gives a client-directed session: "sid:"
// and a digest that is stable for one user of one site and says nothing
// of the user's object id elsewhere.
func sid(st *site, p *principal) string {
	h := sha256.Sum256([]byte("sid\x00" + st.name + "\x00" + st.s.Instance + "\x00" + p.id()))
	return "sid:" + hex.EncodeToString(h[:16])
}

// unixClaim reads a flattened numeric claim (exp, iat) as Unix seconds.
func unixClaim(v string) (int64, bool) {
	i, err := json.Number(v).Int64()
	return i, err == nil && i > 0
}
