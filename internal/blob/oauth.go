package blob

// Microsoft Entra ID (OAuth 2.0 bearer token) authorization, as Azure
// Storage does it ("Authorize with Microsoft Entra ID",
// https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory):
//
//   - a request carries "Authorization: Bearer <access token>" for the
//     resource https://storage.azure.com (or the account's own URL); it is
//     accepted only over HTTPS and with x-ms-version 2017-11-09 or later;
//   - the token names a principal (its oid); the principal must hold, by a
//     role assignment at the container, the account or above, the RBAC
//     action Azure lists for the operation ("Permissions for Blob service
//     operations", the table roleRules transcribes);
//   - an invalid token is 401 InvalidAuthenticationInfo with a
//     WWW-Authenticate challenge naming the authority and the resource; a
//     valid token without the permission is 403
//     AuthorizationPermissionMismatch.
//
// The package verifies nothing itself: Config.Bearer (the platform's token
// service and role assignments) authenticates tokens and decides
// permissions, so blob stays free of both.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway/internal/cleartext"
)

// BearerAuth authenticates Entra ID access tokens and answers whether a
// principal holds an RBAC permission. The platform implements it with its
// token service and role assignments.
type BearerAuth interface {
	// Authenticate verifies an access token presented to the named
	// account (its audience must be a storage audience:
	// https://storage.azure.com, with or without a trailing slash, or the
	// account's own blob endpoint) and returns the principal's object id
	// and tenant id. Any error refuses the request with 401.
	Authenticate(ctx context.Context, account, token string) (objectID, tenantID string, err error)
	// Authorize returns nil when the principal holds action over scope (a
	// data action when data is true) and an error wrapping
	// ErrNotAuthorized when it does not; any other error is an internal
	// failure.
	Authorize(ctx context.Context, objectID, action, scope string, data bool) error
	// AuthorizationURI is the authority named in 401 challenges, e.g.
	// https://login.microsoftonline.com/<tenant>/oauth2/authorize.
	AuthorizationURI() string
}

// ErrNotAuthorized marks BearerAuth.Authorize's refusals.
var ErrNotAuthorized = errors.New("principal does not hold the permission")

// StorageResource is the resource Entra ID tokens for Azure Storage are
// issued for (clients ask for the scope https://storage.azure.com/.default).
const StorageResource = "https://storage.azure.com"

// minBearerVersion is the first service version that accepts bearer tokens.
const minBearerVersion = "2017-11-09"

// The RBAC operations of the blob service, as Azure names them.
const (
	actPrefix         = "Microsoft.Storage/storageAccounts/blobServices/"
	actServiceRead    = actPrefix + "read"
	actServiceWrite   = actPrefix + "write"
	actGetInfo        = actPrefix + "getInfo/action"
	actDelegationKey  = actPrefix + "generateUserDelegationKey/action"
	actContainerRead  = actPrefix + "containers/read"
	actContainerWrite = actPrefix + "containers/write"
	actContainerDel   = actPrefix + "containers/delete"
	actGetACL         = actPrefix + "containers/getAcl/action"
	actSetACL         = actPrefix + "containers/setAcl/action"
	actBlobRead       = actPrefix + "containers/blobs/read"
	actBlobWrite      = actPrefix + "containers/blobs/write"
	actBlobAdd        = actPrefix + "containers/blobs/add/action"
	actBlobDelete     = actPrefix + "containers/blobs/delete"
	actTagsRead       = actPrefix + "containers/blobs/tags/read"
	actTagsWrite      = actPrefix + "containers/blobs/tags/write"
	actFilter         = actPrefix + "containers/blobs/filter/action"
)

// How blobs/add/action stands in for an operation's action.
const (
	addNever   = iota
	addAlways  // "write or add/action": Snapshot Blob, Append Block
	addNewOnly // add/action creates a new blob only: Put Blob, Copy Blob
)

// roleRule is the permission an operation needs.
type roleRule struct {
	action  string
	add     int  // addNever, addAlways or addNewOnly
	account bool // checked over the account (blobServices/default), not the container
}

// roleRules maps each operation (op.name) to its RBAC action, from
// "Permissions for Blob service operations"
// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory#permissions-for-blob-service-operations).
// Seal Blob, absent there, writes the blob. An operation missing here is
// refused to every principal.
var roleRules = map[string]roleRule{
	"ListContainers":         {action: actContainerRead, account: true},
	"GetServiceProperties":   {action: actServiceRead, account: true},
	"SetServiceProperties":   {action: actServiceWrite, account: true},
	"GetAccountInformation":  {action: actGetInfo, account: true},
	"GetUserDelegationKey":   {action: actDelegationKey, account: true},
	"CreateContainer":        {action: actContainerWrite},
	"DeleteContainer":        {action: actContainerDel},
	"GetContainerProperties": {action: actContainerRead},
	"SetContainerMetadata":   {action: actContainerWrite},
	"GetContainerACL":        {action: actGetACL},
	"SetContainerACL":        {action: actSetACL},
	"LeaseContainer":         {action: actContainerWrite},
	"SubmitBatch":            {action: actContainerWrite}, // the parent request; each sub-request is checked on its own
	"ListBlobs":              {action: actBlobRead},
	"FilterBlobs":            {action: actFilter},
	"PutBlob":                {action: actBlobWrite, add: addNewOnly},
	"CopyBlob":               {action: actBlobWrite, add: addNewOnly},
	"GetBlob":                {action: actBlobRead},
	"GetBlobProperties":      {action: actBlobRead},
	"GetBlobMetadata":        {action: actBlobRead},
	"SetBlobProperties":      {action: actBlobWrite},
	"SetBlobMetadata":        {action: actBlobWrite},
	"GetBlobTags":            {action: actTagsRead},
	"SetBlobTags":            {action: actTagsWrite},
	"LeaseBlob":              {action: actBlobWrite},
	"SnapshotBlob":           {action: actBlobWrite, add: addAlways},
	"DeleteBlob":             {action: actBlobDelete},
	"UndeleteBlob":           {action: actBlobWrite},
	"SetBlobTier":            {action: actBlobWrite},
	"PutBlock":               {action: actBlobWrite},
	"PutBlockFromURL":        {action: actBlobWrite},
	"PutBlockList":           {action: actBlobWrite},
	"GetBlockList":           {action: actBlobRead},
	"PutPage":                {action: actBlobWrite},
	"PutPageFromURL":         {action: actBlobWrite},
	"GetPageRanges":          {action: actBlobRead},
	"AppendBlock":            {action: actBlobWrite, add: addAlways},
	"AppendBlockFromURL":     {action: actBlobWrite, add: addAlways},
	"SealBlob":               {action: actBlobWrite},
	"AbortCopyBlob":          {action: actBlobWrite},
}

// isDataAction reports whether an operation is a DataAction (those on blobs)
// rather than an Action.
func isDataAction(action string) bool {
	return strings.HasPrefix(action, actPrefix+"containers/blobs/")
}

// accountScope is the scope of service-level operations; containerScope
// that of everything in a container.
func accountScope(a Account) string { return a.ResourceID + "/blobServices/default" }

func containerScope(a Account, container string) string {
	return accountScope(a) + "/containers/" + container
}

var (
	errBearerHTTP    = errAuthFailed("Authentication scheme Bearer is not allowed with HTTP.")
	errBearerVersion = errAuthFailed("Authentication scheme Bearer is not supported in this version.")
	errBearerOff     = errAuthFailed("Authentication scheme Bearer is not supported by this service.")
)

// invalidToken is Azure's 401 for a token it does not accept, with the
// challenge clients use to find the authority and resource.
func (s *Service) invalidToken(detail string) *storageError {
	e := newError(http.StatusUnauthorized, "InvalidAuthenticationInfo",
		"Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
	e.Detail = detail
	e.Challenge = s.challenge()
	return e
}

// challenge is the WWW-Authenticate value of a 401, in Azure Storage's
// form (unquoted values, which the SDKs parse), or "" without Bearer.
func (s *Service) challenge() string {
	if s.cfg.Bearer == nil {
		return ""
	}
	return "Bearer authorization_uri=" + s.cfg.Bearer.AuthorizationURI() + " resource_id=" + StorageResource
}

// maxBearerDetail bounds the part of an authentication error echoed back.
const maxBearerDetail = 256

// authorizeBearer authenticates a bearer token and checks that its
// principal may perform o.
func (s *Service) authorizeBearer(rq *req, o op, token string) error {
	r := rq.r
	if s.cfg.Bearer == nil {
		return errBearerOff
	}
	if !cleartext.OverTLS(r) {
		return errBearerHTTP
	}
	if v := rq.version; len(v) != len(minBearerVersion) || v < minBearerVersion {
		return errBearerVersion
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return s.invalidToken("The access token is empty.")
	}
	oid, tid, err := s.cfg.Bearer.Authenticate(r.Context(), rq.acct.Name, token)
	if err != nil {
		detail := err.Error()
		if len(detail) > maxBearerDetail {
			detail = detail[:maxBearerDetail]
		}
		return s.invalidToken(detail)
	}
	if oid == "" {
		return s.invalidToken("The access token names no principal.")
	}
	rq.principal, rq.tenant = oid, tid
	return s.checkRole(rq, oid, o)
}

// checkRole checks that the principal holds o's permission over its scope.
// When only blobs/add/action grants a create-only operation, it marks the
// request so that an existing blob is not replaced.
func (s *Service) checkRole(rq *req, oid string, o op) error {
	rule, ok := roleRules[o.name]
	if !ok || rq.acct.ResourceID == "" || s.cfg.Bearer == nil {
		return errPermissionMismatch
	}
	scope := accountScope(rq.acct)
	if !rule.account && rq.container != "" {
		scope = containerScope(rq.acct, rq.container)
	}
	ok, err := s.holds(rq.r.Context(), oid, rule.action, scope)
	if err != nil || ok {
		return err
	}
	if rule.add != addNever {
		if ok, err = s.holds(rq.r.Context(), oid, actBlobAdd, scope); err != nil {
			return err
		}
		if ok {
			rq.noOverwrite = rq.noOverwrite || rule.add == addNewOnly
			return nil
		}
	}
	return errPermissionMismatch
}

// holds asks Config.Bearer whether the principal holds action over scope.
func (s *Service) holds(ctx context.Context, oid, action, scope string) (bool, error) {
	err := s.cfg.Bearer.Authorize(ctx, oid, action, scope, isDataAction(action))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotAuthorized):
		return false, nil
	}
	return false, fmt.Errorf("checking %s for %s: %w", action, oid, err)
}

// checkCopySourceRole checks that the principal behind a request (its
// token's, or a user delegation SAS's delegator) may read a copy source in
// the same account, as Azure requires (blobs/read on the source).
func (s *Service) checkCopySourceRole(rq *req, container string) error {
	oid := rq.principal
	if oid == "" {
		oid = rq.delegator
	}
	if oid == "" {
		return nil
	}
	if rq.acct.ResourceID == "" || s.cfg.Bearer == nil || !validContainerName(container) {
		return errPermissionMismatch
	}
	ok, err := s.holds(rq.r.Context(), oid, actBlobRead, containerScope(rq.acct, container))
	if err != nil {
		return err
	}
	if !ok {
		return errPermissionMismatch
	}
	return nil
}
