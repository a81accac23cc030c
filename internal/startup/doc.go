// Package startup owns the decision of how an instance of a Python web app is
// started: it copies the App Service Python container's startup detection
// (user startup command → Django → FastAPI → Flask-style file → default site)
// and renders the gunicorn command line exactly as Oryx's startup-script
// generator does (docs/appservice.md §4), with one documented difference: Slipway
// binds gunicorn to an explicit loopback address instead of relying on
// gunicorn's 0.0.0.0:$PORT default.
//
// The package only decides; it never starts a process. Detect returns a Plan
// (argv, environment additions, working directory, and the log lines App
// Service would print) that the runtime executes, normally inside a sandbox.
// The package also owns Slipway's default site (WriteDefaultSite), the
// stand-in for App Service's /opt/defaultsite, and the banner the container
// prints before it decides anything (Banner).
package startup
