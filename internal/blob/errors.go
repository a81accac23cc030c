package blob

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
)

// storageError is a classified blob-service error: Azure's status code, error code
// and message. Handlers return it; writeError renders Azure's XML shape.
type storageError struct {
	Status  int
	Code    string
	Message string
	// Detail, if set, is rendered as AuthenticationErrorDetail.
	Detail string
	// Challenge, if set, is sent as WWW-Authenticate (401s to bearer
	// clients, oauth.go).
	Challenge string
}

func (e *storageError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func newError(status int, code, msg string) *storageError {
	return &storageError{Status: status, Code: code, Message: msg}
}

// Azure's common errors.
var (
	errAuthFailed = func(detail string) *storageError {
		return &storageError{Status: 403, Code: "AuthenticationFailed", Message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.", Detail: detail}
	}
	errNoAuth                   = newError(401, "NoAuthenticationInformation", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
	errResourceNotFound         = newError(404, "ResourceNotFound", "The specified resource does not exist.")
	errContainerNotFound        = newError(404, "ContainerNotFound", "The specified container does not exist.")
	errBlobNotFound             = newError(404, "BlobNotFound", "The specified blob does not exist.")
	errContainerExists          = newError(409, "ContainerAlreadyExists", "The specified container already exists.")
	errBlobExists               = newError(409, "BlobAlreadyExists", "The specified blob already exists.")
	errConditionNotMet          = newError(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
	errInvalidRange             = newError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.")
	errMD5Mismatch              = newError(400, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
	errCRC64Mismatch            = newError(400, "Crc64Mismatch", "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server.")
	errInvalidResourceName      = newError(400, "InvalidResourceName", "The specified resource name contains invalid characters.")
	errOutOfRangeName           = newError(400, "OutOfRangeInput", "The specified resource name length is not within the permissible limits.")
	errInvalidBlobOrBlock       = newError(400, "InvalidBlobOrBlock", "The specified blob or block content is invalid.")
	errInvalidBlockList         = newError(400, "InvalidBlockList", "The specified block list is invalid.")
	errTooManyUncommittedBlocks = newError(409, "RequestEntityTooLargeBlockCountExceedsLimit",
		"The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.")
	errInvalidBlockID        = newError(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.")
	errInvalidXML            = newError(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
	errUnsupportedOp         = newError(400, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.")
	errInvalidHeader         = newError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.")
	errMissingHeader         = newError(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.")
	errInvalidQuery          = newError(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.")
	errSnapshotsPresent      = newError(409, "SnapshotsPresent", "This operation is not permitted because the blob has snapshots.")
	errContainerBeingDeleted = newError(409, "ContainerBeingDeleted", "The specified container is being deleted.")
	errInvalidBlobType       = newError(409, "InvalidBlobType", "The blob type is invalid for this operation.")
	errAuthorizationFailure  = newError(403, "AuthorizationFailure", "This request is not authorized to perform this operation.")
	errPermissionMismatch    = newError(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
	errResourceTypeMismatch  = newError(403, "AuthorizationResourceTypeMismatch", "This request is not authorized to perform this operation using this resource type.")
	errServiceMismatch       = newError(403, "AuthorizationServiceMismatch", "This request is not authorized to perform this operation using this service.")
	errSourceIPMismatch      = newError(403, "AuthorizationSourceIPMismatch", "This request is not authorized to perform this operation using this source IP.")
	errProtocolMismatch      = newError(403, "AuthorizationProtocolMismatch", "This request is not authorized to perform this operation using this protocol.")
	errCorsPreflight         = newError(403, "CorsPreflightFailure", "CORS not enabled or no matching rule found for this request.")
	errInternal              = newError(500, "InternalError", "Server encountered an internal error. Please try again after some time.")
	// A write refused because the server's disk is at its reserve
	// (diskreserve). Azure Storage has no error for a full disk (it
	// never answers 507) and no per-account quota error for Blob: its
	// answer to a server that cannot take the load now is 503 ServerBusy
	// ("The server is currently unable to receive requests. Please retry
	// your request.", learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes).
	// The condition is the server's and passes when space is freed, so
	// the client is told to come back, not that its request is wrong (a
	// 4xx) or that the server broke (InternalError). The SDKs retry 503
	// with backoff (as they retry every 5xx but 501 and 505, so
	// InternalError would be retried too), a bounded number of times.
	errServerBusy          = newError(503, "ServerBusy", "The server is currently unable to receive requests. Please retry your request.")
	errRequestBodyTooLarge = newError(413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
	errOutOfRangeInput     = newError(400, "OutOfRangeInput", "One of the request inputs is out of range.")
	errInvalidInput        = newError(400, "InvalidInput", "One of the request inputs is not valid.")
	// Azure's answer to plain HTTP for an account that requires secure
	// transfer, the default (observed: Azure-Samples/azure-sdk-for-java-storage-blob-upload-download#6,
	// MicrosoftDocs/azure-dev-docs#721).
	errAccountRequiresHTTPS = newError(400, "AccountRequiresHttps", "The account being accessed does not support http.")
)

type errorBody struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
	Detail  string   `xml:"AuthenticationErrorDetail,omitempty"`
}

// writeError renders err as Azure does: XML body, x-ms-error-code header.
// Anything that is not an *storageError is logged and rendered as InternalError.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, reqID string, err error) {
	var e *storageError
	if !errors.As(err, &e) {
		s.log.Error("blob request failed", "method", r.Method, "path", r.URL.Path, "request_id", reqID, "err", err)
		e = errInternal
	}
	h := w.Header()
	h.Set("x-ms-error-code", e.Code)
	if e.Challenge != "" {
		h.Set("WWW-Authenticate", e.Challenge)
	}
	if r.Method == http.MethodHead || e.Status == http.StatusNotModified {
		w.WriteHeader(e.Status)
		return
	}
	body := errorBody{
		Code:    e.Code,
		Message: fmt.Sprintf("%s\nRequestId:%s\nTime:%s", e.Message, reqID, s.now().UTC().Format("2006-01-02T15:04:05.0000000Z")),
		Detail:  e.Detail,
	}
	out, mErr := marshalXML(body)
	if mErr != nil {
		w.WriteHeader(500)
		return
	}
	h.Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	w.Write([]byte(xml.Header))
	w.Write(out)
}
