// Package examples holds real Django projects that deploy unchanged on
// Slipway and on Azure App Service; its test runs their own test suites.
package examples
