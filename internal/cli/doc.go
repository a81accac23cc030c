// Package cli owns the slipway command-line client: the az-shaped verbs
// (`group`, `appservice plan`, `webapp ...`, `webapp up`, `storage ...`) that
// talk to a Slipway server over its ARM management API (docs/arm.md §1), each
// app's Kudu (SCM) API (docs/appservice.md §5) and the Blob API (through the Azure
// SDK for Go), and render the results the way the az CLI
// does (JSON by default, or jsonc, YAML, a table, TSV or nothing), after
// applying the global --query (JMESPath, as az does).
//
// It owns: argument parsing (az flag names, long and short forms), finding
// the server (flags, environment, or <data>/server.json), the HTTP client
// that dials every "*.<domain>" name through the server's one listener, the
// request sequences each az command sends, --query and output formatting, `webapp up`'s
// defaults file (.azure/config in the project folder), and turning every
// failure into an [ExitError] with a message, a hint and az's exit code.
//
// It does not own `slipway server` (cmd/slipway dispatches that elsewhere)
// nor zipping a project folder (package archive does that).
package cli
