package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
)

// Real output of `python manage.py check --deploy` (Django 5.1) for a
// project fresh from startproject.
const checkWarnings = `System check identified some issues:

WARNINGS:
?: (security.W004) You have not set a value for the SECURE_HSTS_SECONDS setting. If your entire site is served only over SSL, you may want to consider setting a value and learning about HSTS. Be careful, though, because HSTS can cause serious problems if it is used improperly.
?: (security.W008) Your SECURE_SSL_REDIRECT setting is not set to True. Unless your site should be available over both SSL and non-SSL connections, you may want to either set this setting True or configure a load balancer or reverse-proxy server to redirect all connections to HTTPS.
?: (security.W009) Your SECRET_KEY has less than 50 characters, less than 5 unique characters, or it's prefixed with 'django-insecure-' indicating that it was generated automatically by Django. Please generate a long and random value, otherwise many of Django's security-critical features will be vulnerable to attack.
?: (security.W012) SESSION_COOKIE_SECURE is not set to True. Using a secure-only session cookie makes it more difficult for network traffic sniffers to hijack user sessions.
?: (security.W016) You have 'django.middleware.csrf.CsrfViewMiddleware' in your MIDDLEWARE, but you have not set CSRF_COOKIE_SECURE to True. Using a secure-only CSRF cookie makes it more difficult for network traffic sniffers to steal the CSRF token.
?: (security.W018) You should not have DEBUG set to True in deployment.

System check identified 6 issues (0 silenced).
`

// With an error the command exits 1 and prints the same report to stderr.
const checkErrors = `SystemCheckError: System check identified some issues:

ERRORS:
?: (security.E100) DEFAULT_HASHING_ALGORITHM must be 'sha1' or 'sha256'.

WARNINGS:
blog.Post: (models.W042) Auto-created primary key used when not defining a primary key type, by default 'django.db.models.AutoField'.
	HINT: Configure the DEFAULT_AUTO_FIELD setting or the BlogConfig.default_auto_field attribute to point to a subclass of AutoField, e.g. 'django.db.models.BigAutoField'.

System check identified 2 issues (0 silenced).
`

const checkClean = "System check identified no issues (0 silenced).\n"

const checkImportError = `Traceback (most recent call last):
  File "/home/site/wwwroot/manage.py", line 22, in <module>
    main()
ModuleNotFoundError: No module named 'mysite.settings_prod'
`

func TestCheckFindings(t *testing.T) {
	tests := []struct {
		name   string
		output string
		want   []string
		ok     bool
	}{
		{"warnings", checkWarnings, []string{
			"?: (security.W004) You have not set a value for the SECURE_HSTS_SECONDS setting. If your entire site is served only over SSL, you may want to consider setting a value and learning about HSTS. Be careful, though, because HSTS can cause serious problems if it is used improperly.",
			"?: (security.W008) Your SECURE_SSL_REDIRECT setting is not set to True. Unless your site should be available over both SSL and non-SSL connections, you may want to either set this setting True or configure a load balancer or reverse-proxy server to redirect all connections to HTTPS.",
			"?: (security.W009) Your SECRET_KEY has less than 50 characters, less than 5 unique characters, or it's prefixed with 'django-insecure-' indicating that it was generated automatically by Django. Please generate a long and random value, otherwise many of Django's security-critical features will be vulnerable to attack.",
			"?: (security.W012) SESSION_COOKIE_SECURE is not set to True. Using a secure-only session cookie makes it more difficult for network traffic sniffers to hijack user sessions.",
			"?: (security.W016) You have 'django.middleware.csrf.CsrfViewMiddleware' in your MIDDLEWARE, but you have not set CSRF_COOKIE_SECURE to True. Using a secure-only CSRF cookie makes it more difficult for network traffic sniffers to steal the CSRF token.",
			"?: (security.W018) You should not have DEBUG set to True in deployment.",
			"System check identified 6 issues (0 silenced).",
		}, true},
		{"errors, with a hint joined to its finding", checkErrors, []string{
			"?: (security.E100) DEFAULT_HASHING_ALGORITHM must be 'sha1' or 'sha256'.",
			"blog.Post: (models.W042) Auto-created primary key used when not defining a primary key type, by default 'django.db.models.AutoField'. HINT: Configure the DEFAULT_AUTO_FIELD setting or the BlogConfig.default_auto_field attribute to point to a subclass of AutoField, e.g. 'django.db.models.BigAutoField'.",
			"System check identified 2 issues (0 silenced).",
		}, true},
		{"no issues", checkClean, nil, false},
		{"the check did not run", checkImportError, nil, false},
		{"no output", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := checkFindings(tc.output)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if ok != tc.ok {
				t.Errorf("ok = %v, want %v", ok, tc.ok)
			}
		})
	}
}

// manyWarnings is a report of n findings: more than the deployment log
// gives entries of their own.
func manyWarnings(n int) string {
	var b strings.Builder
	b.WriteString("System check identified some issues:\n\nWARNINGS:\n")
	for i := range n {
		fmt.Fprintf(&b, "app.M%d: (models.W042) Auto-created primary key used.\n\tHINT: Configure the DEFAULT_AUTO_FIELD setting.\n", i)
	}
	fmt.Fprintf(&b, "\nSystem check identified %d issues (0 silenced).\n", n)
	return b.String()
}

// TestDjangoCheck: what the checklist finds is in the deployment log once,
// with how to fix it (`webapp up` prints the entries and their details).
func TestDjangoCheck(t *testing.T) {
	const intro = "1: Django's deployment checklist (python manage.py check --deploy) reports issues. They do not stop the deployment; see https://docs.djangoproject.com/en/stable/howto/deployment/checklist/ and fix them in settings.py."
	finding := func(i int) string {
		return fmt.Sprintf("app.M%d: (models.W042) Auto-created primary key used. HINT: Configure the DEFAULT_AUTO_FIELD setting.", i)
	}
	overflow := []string{intro}
	for i := range djangoCheckMaxEntries {
		overflow = append(overflow, "1: "+finding(i))
	}
	overflow = append(overflow, "1: ... and 3 more line(s) of the checklist's report, in this entry's details:")
	tests := []struct {
		name     string
		launcher scriptedLauncher
		want     []string       // the deployment log
		details  map[int]string // entry index → its details; none elsewhere
	}{
		{"warnings become warning entries", scriptedLauncher{output: checkWarnings}, []string{
			intro,
			"1: ?: (security.W004) You have not set a value for the SECURE_HSTS_SECONDS setting. If your entire site is served only over SSL, you may want to consider setting a value and learning about HSTS. Be careful, though, because HSTS can cause serious problems if it is used improperly.",
			"1: ?: (security.W008) Your SECURE_SSL_REDIRECT setting is not set to True. Unless your site should be available over both SSL and non-SSL connections, you may want to either set this setting True or configure a load balancer or reverse-proxy server to redirect all connections to HTTPS.",
			"1: ?: (security.W009) Your SECRET_KEY has less than 50 characters, less than 5 unique characters, or it's prefixed with 'django-insecure-' indicating that it was generated automatically by Django. Please generate a long and random value, otherwise many of Django's security-critical features will be vulnerable to attack.",
			"1: ?: (security.W012) SESSION_COOKIE_SECURE is not set to True. Using a secure-only session cookie makes it more difficult for network traffic sniffers to hijack user sessions.",
			"1: ?: (security.W016) You have 'django.middleware.csrf.CsrfViewMiddleware' in your MIDDLEWARE, but you have not set CSRF_COOKIE_SECURE to True. Using a secure-only CSRF cookie makes it more difficult for network traffic sniffers to steal the CSRF token.",
			"1: ?: (security.W018) You should not have DEBUG set to True in deployment.",
			"1: System check identified 6 issues (0 silenced).",
		}, nil},
		{"errors exit 1 and still only warn", scriptedLauncher{output: checkErrors, err: errors.New("exit status 1")}, []string{
			intro,
			"1: ?: (security.E100) DEFAULT_HASHING_ALGORITHM must be 'sha1' or 'sha256'.",
			"1: blog.Post: (models.W042) Auto-created primary key used when not defining a primary key type, by default 'django.db.models.AutoField'. HINT: Configure the DEFAULT_AUTO_FIELD setting or the BlogConfig.default_auto_field attribute to point to a subclass of AutoField, e.g. 'django.db.models.BigAutoField'.",
			"1: System check identified 2 issues (0 silenced).",
		}, nil},
		{"findings past the entries are in the last one's details", scriptedLauncher{output: manyWarnings(djangoCheckMaxEntries + 2)}, overflow, map[int]string{
			djangoCheckMaxEntries + 1: finding(djangoCheckMaxEntries) + "\n" + finding(djangoCheckMaxEntries+1) + "\nSystem check identified 22 issues (0 silenced).\n",
		}},
		{"no issues: nothing", scriptedLauncher{output: checkClean}, nil, nil},
		{"the check fails to run: nothing", scriptedLauncher{output: checkImportError, err: errors.New("exit status 1")}, nil, nil},
		{"the check hangs: stopped after 60 s, nothing", scriptedLauncher{hang: true}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				app := t.TempDir()
				os.WriteFile(filepath.Join(app, "manage.py"), nil, 0o644)
				store := newRecordingStore()
				planner := &commandPlanner{}
				hub := applog.NewHub(applog.Config{})
				defer hub.Close()
				c := New(Config{Store: store, Planner: planner, Launcher: tc.launcher, Logs: hub, DataDir: t.TempDir()})
				defer c.Close()
				d := slipway.Deployment{ID: "0123456789abcdef", Site: "myapp"}

				start := time.Now()
				c.djangoCheck(context.Background(), Snapshot{}, Artifact{Dir: app, Django: true, VenvDir: "/v"}, d)
				if took := time.Since(start); took > djangoCheckTimeout {
					t.Errorf("the check took %v, more than %v", took, djangoCheckTimeout)
				}
				if diff := cmp.Diff([][]string{{"python", "manage.py", "check", "--deploy"}}, planner.argv); diff != "" {
					t.Errorf("commands (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.want, store.log(d.ID)); diff != "" {
					t.Errorf("deployment log (-want +got):\n%s", diff)
				}
				details := map[int]string{}
				for i, e := range store.entries[d.ID] {
					if text, ok := store.details[e.ID]; ok {
						details[i] = text
					}
				}
				if diff := cmp.Diff(tc.details, details, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("details of the entries (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestDjangoCheckCommand(t *testing.T) {
	django := t.TempDir()
	os.WriteFile(filepath.Join(django, "manage.py"), nil, 0o644)
	check := []string{"python", "manage.py", "check", "--deploy"}
	tests := []struct {
		name string
		art  Artifact
		want []string
	}{
		{"built Django app", Artifact{Dir: django, Django: true, VenvDir: "/v"}, check},
		{"not Django", Artifact{Dir: django, VenvDir: "/v"}, nil},
		{"not built", Artifact{Dir: django, Django: true}, nil},
		{"no manage.py", Artifact{Dir: t.TempDir(), Django: true, VenvDir: "/v"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, djangoCheckCommand(tc.art)); diff != "" {
				t.Errorf("check command (-want +got):\n%s", diff)
			}
		})
	}
}
