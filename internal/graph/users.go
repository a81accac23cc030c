package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/store"
)

// Users as Graph v1.0 serves them
// (https://learn.microsoft.com/graph/api/resources/user): create with a
// passwordProfile, list with the $filter forms az ad user list sends,
// get, update and delete by object id or userPrincipalName. A password is
// written, never read: no answer carries it or its hash.

// passwordProfile is Graph's passwordProfile.
type passwordProfile struct {
	Password                      *string `json:"password"`
	ForceChangePasswordNextSignIn *bool   `json:"forceChangePasswordNextSignIn"`
}

func userObject(u store.User) object {
	return object{id: u.ObjectID, displayName: u.DisplayName, upn: u.UserPrincipalName, mail: u.Mail, mailNickname: u.MailNickname}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (h *Handler) userJSON(_ context.Context, u store.User) (map[string]any, error) {
	return map[string]any{
		"id":                u.ObjectID,
		"userPrincipalName": u.UserPrincipalName,
		"displayName":       u.DisplayName,
		"mail":              nullable(u.Mail),
		"mailNickname":      nullable(u.MailNickname),
		"accountEnabled":    u.AccountEnabled,
		"businessPhones":    []any{},
		"givenName":         nil,
		"surname":           nil,
		"jobTitle":          nil,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
	}, nil
}

func (h *Handler) users(w http.ResponseWriter, r *http.Request, c caller, rest []string) error {
	ctx := r.Context()
	// Reading users needs the directory-writing role too, before anything
	// is looked up: the directory is the installation's, and every app's
	// managed identity can get a token for it (Entra asks an application
	// for User.Read.All).
	if err := h.mayWrite(ctx, c); err != nil {
		return err
	}
	return serveCollection(h, w, r, c, rest, collection[store.User]{
		name: "users",
		list: func(w http.ResponseWriter, r *http.Request) error {
			all, err := h.cfg.Store.Users(r.Context())
			if err != nil {
				return err
			}
			return listObjects(h, w, r, "users", all, userObject, h.userJSON)
		},
		create: h.createUser,
		find:   h.findUser,
		json:   h.userJSON,
		update: h.updateUser,
		delete: func(ctx context.Context, u store.User) error { return h.cfg.Store.DeleteUser(ctx, u.ObjectID) },
	})
}

// findUser resolves a path segment: an object id, or a userPrincipalName
// (anything with an @).
func (h *Handler) findUser(ctx context.Context, seg string) (store.User, error) {
	var u store.User
	var err error
	switch {
	case isGUID(seg):
		u, err = h.cfg.Store.UserByObjectID(ctx, seg)
	case strings.Contains(seg, "@") && len(seg) <= 256:
		u, err = h.cfg.Store.UserByPrincipalName(ctx, seg)
	default:
		return store.User{}, errBadRequest("Invalid object identifier '%s': give a user's object id or userPrincipalName.", truncateID(seg))
	}
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return store.User{}, errNotFound(truncateID(seg))
	}
	return u, err
}

func truncateID(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// readPasswordProfile reads passwordProfile; forceChangePasswordNextSignIn
// true is refused: Slipway's sign-in page has no password-change step,
// and pretending would leave the user with a password they were meant to
// replace.
func readPasswordProfile(body map[string]json.RawMessage) (string, bool, error) {
	v, ok := body["passwordProfile"]
	if !ok || string(v) == "null" {
		return "", false, nil
	}
	var pp passwordProfile
	if err := json.Unmarshal(v, &pp); err != nil {
		return "", false, errBadRequest("Property 'passwordProfile' must be an object with password and forceChangePasswordNextSignIn.")
	}
	if pp.ForceChangePasswordNextSignIn != nil && *pp.ForceChangePasswordNextSignIn {
		return "", false, errBadRequest("forceChangePasswordNextSignIn true is not supported: Slipway's sign-in page cannot make a user change their password. Set the password the user will keep (az ad user create|update ... --force-change-password-next-sign-in false).")
	}
	if pp.Password == nil {
		return "", false, nil
	}
	if err := store.CheckPasswordRules(*pp.Password); err != nil {
		return "", false, err
	}
	return *pp.Password, true, nil
}

func boolProp(body map[string]json.RawMessage, name string) (bool, bool, error) {
	v, ok := body[name]
	if !ok || string(v) == "null" {
		return false, false, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, false, errBadRequest("Property '%s' must be true or false.", name)
	}
	return b, true, nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := h.mayWrite(r.Context(), c); err != nil {
		return err
	}
	var body map[string]json.RawMessage
	if err := readBody(r, &body, false); err != nil {
		return err
	}
	if err := settable(body, "accountEnabled", "displayName", "userPrincipalName", "mailNickname", "mail", "passwordProfile"); err != nil {
		return err
	}
	u := store.User{AccountEnabled: true}
	var err error
	for _, p := range []struct {
		name string
		to   *string
	}{{"displayName", &u.DisplayName}, {"userPrincipalName", &u.UserPrincipalName}, {"mailNickname", &u.MailNickname}, {"mail", &u.Mail}} {
		if *p.to, _, err = stringProp(body, p.name); err != nil {
			return err
		}
	}
	if u.UserPrincipalName == "" || strings.TrimSpace(u.DisplayName) == "" {
		return errBadRequest("Properties userPrincipalName and displayName are required.")
	}
	if b, ok, err := boolProp(body, "accountEnabled"); err != nil {
		return err
	} else if ok {
		u.AccountEnabled = b
	}
	pw, ok, err := readPasswordProfile(body)
	if err != nil {
		return err
	}
	if !ok {
		return errBadRequest("Property passwordProfile.password is required: the password the user signs in with.")
	}
	u, err = h.cfg.Store.CreateUser(r.Context(), u, pw)
	if slipway.ErrorCode(err) == slipway.ECONFLICT {
		return gerr(http.StatusBadRequest, "Request_BadRequest", "%s", slipway.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	m, _ := h.userJSON(r.Context(), u)
	m["@odata.context"] = h.context("users/$entity")
	w.Header().Set("Location", h.cfg.BaseURL+"/v1.0/users/"+u.ObjectID)
	return writeJSON(w, http.StatusCreated, m)
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, c caller, u store.User) error {
	ctx := r.Context()
	if err := h.mayWrite(ctx, c); err != nil {
		return err
	}
	var body map[string]json.RawMessage
	if err := readBody(r, &body, false); err != nil {
		return err
	}
	if err := settable(body, "accountEnabled", "displayName", "mail", "passwordProfile", "mailNickname"); err != nil {
		return err
	}
	if v, ok := body["mailNickname"]; ok && string(v) != "null" && string(v) != `"`+u.MailNickname+`"` {
		return errBadRequest("Changing mailNickname is not supported by Slipway's directory.")
	}
	var err error
	if name, ok, err := stringProp(body, "displayName"); err != nil {
		return err
	} else if ok {
		u.DisplayName = name
	}
	if mail, ok, err := stringProp(body, "mail"); err != nil {
		return err
	} else if ok {
		u.Mail = mail
	}
	if b, ok, err := boolProp(body, "accountEnabled"); err != nil {
		return err
	} else if ok {
		u.AccountEnabled = b
	}
	pw, setPW, err := readPasswordProfile(body)
	if err != nil {
		return err
	}
	if err := h.cfg.Store.UpdateUser(ctx, u); err != nil {
		return err
	}
	if setPW {
		if err := h.cfg.Store.SetUserPassword(ctx, u.ObjectID, pw); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
