package slipway

import (
	"regexp"
	"strings"
	"unicode"
)

// Deployment users are App Service's user-level deployment credentials
// (az webapp deployment user set,
// https://learn.microsoft.com/azure/app-service/deploy-configure-credentials):
// one user name and password per principal, valid at the Kudu (and Local
// Git) of every app the principal may deploy to.

// deploymentUserRE: letters, digits, '.', '_' and '-', up to 64, not
// starting with a punctuation mark. It leaves out what would make the name
// ambiguous where it is used: '@' (App Service: "for local Git pushes, must
// not contain the '@' symbol" — it ends the user part of the git URL), '$'
// (app-level user names are "$<app>", and the two must never be confused),
// '\' (the FTP-style "<app>\<user>" form) and ':' (Basic auth's separator).
var deploymentUserRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)

// ValidateDeploymentUser checks a deployment user name and password as App
// Service states its rules: a password of at least eight characters with
// two of letters, numbers and symbols. Messages never repeat the password.
func ValidateDeploymentUser(name, password string) error {
	switch {
	case name == "":
		return Errorf(EINVALID, "publishingUserName is required.")
	case strings.Contains(name, "@"):
		return Errorf(EINVALID, "The deployment user name '%s' contains '@', which Local Git cannot use in a URL: choose a name without it.", name)
	case !deploymentUserRE.MatchString(name):
		return Errorf(EINVALID, "The deployment user name '%s' is invalid: use up to 64 letters, digits, '.', '_' or '-', starting with a letter, digit or '_'.", name)
	}
	var letters, digits, symbols bool
	for _, r := range password {
		switch {
		case unicode.IsLetter(r):
			letters = true
		case unicode.IsDigit(r):
			digits = true
		case unicode.IsControl(r):
			return Errorf(EINVALID, "The deployment password must not contain control characters.")
		default:
			symbols = true
		}
	}
	kinds := 0
	for _, b := range []bool{letters, digits, symbols} {
		if b {
			kinds++
		}
	}
	if len([]rune(password)) < 8 || kinds < 2 {
		return Errorf(EINVALID, "The deployment password must be at least eight characters long, with two of the following three elements: letters, numbers, and symbols.")
	}
	if len(password) > 256 {
		return Errorf(EINVALID, "The deployment password must be at most 256 bytes long.")
	}
	return nil
}
