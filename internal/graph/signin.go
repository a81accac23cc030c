package graph

import (
	"encoding/json"
	"strings"

	"github.com/slipway-dev/slipway/internal/store"
)

// signInProps are the application properties that register it for
// signing users in, as az ad app create|update sends them
// (--web-redirect-uris, --enable-id-token-issuance,
// --enable-access-token-issuance, --public-client-redirect-uris,
// --identifier-uris).
var signInProps = []string{"web", "publicClient", "identifierUris"}

// readSignIn applies the sign-in properties present in body to si. Inside
// web and publicClient, any property other than those Slipway keeps must
// be unset, as settable requires at the top level.
func readSignIn(body map[string]json.RawMessage, si *store.SignIn) error {
	if v, ok := body["identifierUris"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &si.IdentifierURIs); err != nil {
			return errBadRequest("Property 'identifierUris' must be an array of strings.")
		}
	}
	if v, ok := body["web"]; ok && string(v) != "null" {
		var web map[string]json.RawMessage
		if err := json.Unmarshal(v, &web); err != nil {
			return errBadRequest("Property 'web' must be an object.")
		}
		if err := settable(web, "redirectUris", "implicitGrantSettings", "homePageUrl"); err != nil {
			return err
		}
		if hp := strings.TrimSpace(string(web["homePageUrl"])); hp != "" && hp != "null" && hp != `""` {
			return errBadRequest("Property 'web.homePageUrl' is not supported by Slipway's directory.")
		}
		if r, ok := web["redirectUris"]; ok && string(r) != "null" {
			if err := json.Unmarshal(r, &si.WebRedirectURIs); err != nil {
				return errBadRequest("Property 'web.redirectUris' must be an array of strings.")
			}
		}
		if g, ok := web["implicitGrantSettings"]; ok && string(g) != "null" {
			var igs struct {
				ID     *bool `json:"enableIdTokenIssuance"`
				Access *bool `json:"enableAccessTokenIssuance"`
			}
			if err := json.Unmarshal(g, &igs); err != nil {
				return errBadRequest("Property 'web.implicitGrantSettings' must hold booleans enableIdTokenIssuance and enableAccessTokenIssuance.")
			}
			if igs.ID != nil {
				si.EnableIDTokenIssuance = *igs.ID
			}
			if igs.Access != nil {
				si.EnableAccessTokenIssuance = *igs.Access
			}
		}
	}
	if v, ok := body["publicClient"]; ok && string(v) != "null" {
		var pc map[string]json.RawMessage
		if err := json.Unmarshal(v, &pc); err != nil {
			return errBadRequest("Property 'publicClient' must be an object.")
		}
		if err := settable(pc, "redirectUris"); err != nil {
			return err
		}
		if r, ok := pc["redirectUris"]; ok && string(r) != "null" {
			if err := json.Unmarshal(r, &si.PublicClientRedirectURIs); err != nil {
				return errBadRequest("Property 'publicClient.redirectUris' must be an array of strings.")
			}
		}
	}
	return si.Validate() // identifier URIs: the store's ValidateFor
}
