package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Exit codes, as the az CLI uses them (docs/arm.md §1.1).
const (
	ExitOK       = 0
	ExitFailure  = 1 // any failure not listed below
	ExitUsage    = 2 // bad command line
	ExitNotFound = 3 // the server answered 404 (az's ResourceNotFoundError)
)

// ExitError is a failure the user can act on: what went wrong (Message),
// what to do about it (Hint, may be empty) and the process exit code.
type ExitError struct {
	Code    int
	Message string
	Hint    string
}

// Error implements the error interface.
func (e *ExitError) Error() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + " HINT: " + e.Hint
}

// usageErrorf returns an ExitError with exit code 2 and a hint to read the
// command's help.
func usageErrorf(cmdPath, format string, args ...any) *ExitError {
	hint := "Run `slipway --help` for the list of commands."
	if cmdPath != "" {
		hint = fmt.Sprintf("Run `slipway %s --help` for usage.", cmdPath)
	}
	return &ExitError{Code: ExitUsage, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// exitErrorf returns an ExitError with exit code 1.
func exitErrorf(hint, format string, args ...any) *ExitError {
	return &ExitError{Code: ExitFailure, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// render writes err to w as az does: "ERROR: <message>", then "HINT: <hint>",
// and returns the exit code.
func render(w io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if !errors.As(err, &ee) {
		ee = &ExitError{Code: ExitFailure, Message: err.Error()}
	}
	if ee.Message != "" { // "" when the command has said why itself (a remote shell's status)
		fmt.Fprintf(w, "ERROR: %s\n", ee.Message)
	}
	if ee.Hint != "" {
		fmt.Fprintf(w, "HINT: %s\n", ee.Hint)
	}
	if ee.Code == 0 {
		return ExitFailure
	}
	return ee.Code
}

// apiError is a non-2xx answer from the ARM or Kudu API.
type apiError struct {
	Status  int
	Code    string // ARM error code, e.g. "ResourceNotFound"; "" for Kudu
	Message string
}

func (e *apiError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("(%s) %s", e.Code, e.Message)
	}
	return e.Message
}

// isStatus reports whether err is an apiError with the given HTTP status.
func isStatus(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}

// armHints gives the next step for the ARM error codes users meet most.
var armHints = map[string]string{
	"ResourceGroupNotFound":      "Create it with `slipway group create -n <group> -l westeurope`, or list groups with `slipway group list`.",
	"ResourceNotFound":           "Check the names with `slipway webapp list` or `slipway appservice plan list`.",
	"InvalidAuthenticationToken": "Check SLIPWAY_TOKEN, or remove it to use the adminToken from server.json.",
	"AuthenticationFailed":       "Check SLIPWAY_TOKEN, or remove it to use the adminToken from server.json.",
	"Conflict":                   "Wait for the operation under way to finish, or choose another name.",
}

// toExitError turns an apiError into the ExitError az would show: the
// message "(<code>) <message>" and exit code 3 for a 404, 1 otherwise.
func toExitError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	code := ExitFailure
	if ae.Status == http.StatusNotFound {
		code = ExitNotFound
	}
	hint := armHints[ae.Code]
	switch {
	case ae.Code == "Conflict" && strings.Contains(ae.Message, "number of slots allowed"):
		// App Service's slot limit (slipway.SlotLimitError): the plan's tier decides.
		hint = "Deployment slots need a Standard (5, counting production) or Premium (20) plan: scale it up with `slipway appservice plan update -g <group> -n <plan> --sku S1`."
	case hint != "":
	case ae.Code == "" && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden):
		// Kudu answers without an ARM error body.
		hint = "The app's SCM site refused its publishing credentials; check that SCM basic auth is allowed for the app."
	case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
		hint = armHints["AuthenticationFailed"]
	}
	return &ExitError{Code: code, Message: strings.TrimSpace(ae.Error()), Hint: hint}
}
