package arm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
)

// apiError is an error with ARM's own status and code, for the cases the
// domain codes do not name (MissingApiVersionParameter, SubscriptionNotFound,
// InvalidRequestContent, ...).
type apiError struct {
	Status  int
	Code    string
	Message string
}

// errMethodNotAllowed is ARM's answer to a method a resource does not take.
func errMethodNotAllowed(method string) error {
	return &apiError{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed",
		Message: fmt.Sprintf("The requested resource does not support http method '%s'.", method)}
}

func (e *apiError) Error() string {
	return fmt.Sprintf("arm error: status=%d code=%s message=%s", e.Status, e.Code, e.Message)
}

// errorBody is ARM's error envelope (docs/arm.md §1.15 "ARM error"). The
// top-level Message is what App Service's own errors carry and what the
// az appservice error handler prints first.
type errorBody struct {
	Error   errorDetail `json:"error"`
	Message string      `json:"Message"`
}

type errorDetail struct {
	Code           string  `json:"code"`
	Message        string  `json:"message"`
	Target         *string `json:"target"`
	Details        []any   `json:"details"`
	AdditionalInfo []any   `json:"additionalInfo"`
}

// classify maps an error to ARM's status and code (docs/arm.md §3.8), once, here.
func classify(err error) (status int, code, message string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status, ae.Code, ae.Message
	}
	msg := slipway.ErrorMessage(err)
	switch slipway.ErrorCode(err) {
	case slipway.EINVALID:
		return http.StatusBadRequest, "BadRequest", msg
	case slipway.ENOTFOUND:
		if strings.HasPrefix(msg, "Resource group '") {
			return http.StatusNotFound, "ResourceGroupNotFound", msg
		}
		return http.StatusNotFound, "ResourceNotFound", msg
	case slipway.ECONFLICT:
		return http.StatusConflict, "Conflict", msg
	case slipway.EUNAUTHORIZED:
		return http.StatusUnauthorized, "InvalidAuthenticationToken", msg
	case slipway.EFORBIDDEN:
		return http.StatusForbidden, "AuthorizationFailed", msg
	case slipway.EUNAVAILABLE:
		return http.StatusServiceUnavailable, "ServiceUnavailable", msg
	}
	return http.StatusInternalServerError, "InternalServerError", msg
}

// writeError renders err as ARM's JSON error and logs internal errors (once,
// here) with the request id, which the message quotes instead of details.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, reqID string, err error) {
	status, code, msg := classify(err)
	if status == http.StatusInternalServerError {
		h.logger.Error("ARM request failed", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "err", err)
		msg = fmt.Sprintf("An internal error occurred. Request id: %s.", reqID)
	}
	if status == http.StatusUnauthorized {
		if r.Header.Get("Authorization") == "" {
			code = "AuthenticationFailed"
		}
		challenge := `Bearer error="invalid_token", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `"`
		if h.cfg.AuthorityURL != "" {
			_, tenant, terr := h.cfg.Store.Identity(r.Context())
			if terr == nil {
				challenge = `Bearer authorization_uri="` + strings.TrimSuffix(h.cfg.AuthorityURL, "/") + "/" + tenant + `", ` + strings.TrimPrefix(challenge, "Bearer ")
			}
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	_ = writeJSON(w, status, errorBody{
		Error:   errorDetail{Code: code, Message: msg, Details: []any{}, AdditionalInfo: []any{}},
		Message: msg,
	})
}
