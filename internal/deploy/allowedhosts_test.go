package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
)

func TestRefusedHost(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"Django's log line", "Invalid HTTP_HOST header: 'myapp.localhost:8080'. You may need to add 'myapp.localhost' to ALLOWED_HOSTS.", "myapp.localhost"},
		{"as the log stream carries it", "2025-03-01T10:00:00.123456789Z Invalid HTTP_HOST header: 'myapp.azurewebsites.net'. You may need to add 'myapp.azurewebsites.net' to ALLOWED_HOSTS.", "myapp.azurewebsites.net"},
		{"the exception in a traceback", "django.core.exceptions.DisallowedHost: Invalid HTTP_HOST header: 'www.contoso.com'. You may need to add 'www.contoso.com' to ALLOWED_HOSTS.", "www.contoso.com"},
		{"the platform's warm-up ping", "Invalid HTTP_HOST header: '169.254.130.4:8000'. You may need to add '169.254.130.4' to ALLOWED_HOSTS.", ""},
		{"the readiness ping on loopback", "Invalid HTTP_HOST header: '127.0.0.1:41235'. You may need to add '127.0.0.1' to ALLOWED_HOSTS.", ""},
		{"IPv6", "Invalid HTTP_HOST header: '[::1]:8000'. You may need to add '[::1]' to ALLOWED_HOSTS.", ""},
		{"not a valid domain", "Invalid HTTP_HOST header: 'my_app.localhost'. The domain name provided is not valid according to RFC 1034/1035.", ""},
		{"the request line that follows", "Bad Request: /", ""},
		{"gunicorn's access record", `10.0.0.1 - - [01/Mar/2025:10:00:00 +0000] "GET / HTTP/1.1" 400 143 "-" "curl/8.5.0"`, ""},
		{"the platform's own explanation", "Django refused the host 'myapp.localhost': add it to ALLOWED_HOSTS, e.g. ALLOWED_HOSTS = [os.environ['WEBSITE_HOSTNAME']]", ""},
		{"something else quoted", "Invalid HTTP_HOST header: 'x'. You may need to add 'evil host; rm' to ALLOWED_HOSTS.", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := refusedHost(tc.line); got != tc.want {
				t.Errorf("refusedHost(%q) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}

// TestRefusedHostExplained feeds Django's line into a site's real log
// stream and expects the platform's explanation in the stream and in the
// latest deployment's log, once per host per 10 minutes.
func TestRefusedHostExplained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		data := t.TempDir()
		hub := applog.NewHub(applog.Config{})
		defer hub.Close()
		latest := slipway.Deployment{ID: "bbbbbbbbbbbbbbbb", Site: "myapp"}
		store := newRecordingStore(latest, slipway.Deployment{ID: "aaaaaaaaaaaaaaaa", Site: "myapp"})
		c := New(Config{Store: store, Logs: hub, DataDir: data})
		defer c.Close()
		if err := mkdirLogFiles(c, "myapp"); err != nil {
			t.Fatal(err)
		}
		c.watchHosts("myapp")
		c.watchHosts("MyApp") // watched once

		app := c.SiteLog("myapp").Writer(applog.SourceApp)
		refused := func(host string) {
			app.Write([]byte("Invalid HTTP_HOST header: '" + host + ":8080'. You may need to add '" + host + "' to ALLOWED_HOSTS.\nBad Request: /\n"))
			synctest.Wait()
		}
		refused("myapp.localhost")
		refused("myapp.localhost") // within 10 minutes: said already
		refused("127.0.0.1")       // the readiness ping: not explained
		time.Sleep(refusedHostEvery)
		refused("myapp.localhost")

		want := refusedHostMessage("myapp.localhost")
		if want != "Django refused the host 'myapp.localhost': add it to ALLOWED_HOSTS, e.g. ALLOWED_HOSTS = [os.environ['WEBSITE_HOSTNAME']] (and for forms over HTTPS CSRF_TRUSTED_ORIGINS = ['https://' + os.environ['WEBSITE_HOSTNAME']])." {
			t.Errorf("message = %q", want)
		}
		var events int
		for _, l := range c.SiteLog("myapp").Recent(100) {
			if strings.HasSuffix(l, " "+want) {
				events++
			}
		}
		if events != 2 {
			t.Errorf("explained %d times, want 2 (once, then again after 10 minutes):\n%s", events, strings.Join(c.SiteLog("myapp").Recent(100), "\n"))
		}
		if diff := cmp.Diff([]string{"1: " + want, "1: " + want}, store.log(latest.ID)); diff != "" {
			t.Errorf("latest deployment's log (-want +got):\n%s", diff)
		}
		if got := store.log("aaaaaaaaaaaaaaaa"); got != nil {
			t.Errorf("an older deployment got entries: %q", got)
		}
	})
}

// TestRefusedHostRunningDeployment: the running deployment gets the
// warning, not the latest finished one.
func TestRefusedHostRunningDeployment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := applog.NewHub(applog.Config{})
		defer hub.Close()
		store := newRecordingStore(slipway.Deployment{ID: "aaaaaaaaaaaaaaaa", Site: "myapp"})
		c := New(Config{Store: store, Logs: hub, DataDir: t.TempDir()})
		defer c.Close()
		st := c.state("myapp")
		c.mu.Lock()
		st.deploying = "cccccccccccccccc"
		c.mu.Unlock()
		c.watchHosts("myapp")
		c.SiteLog("myapp").Writer(applog.SourceApp).Write([]byte("Invalid HTTP_HOST header: 'myapp.localhost:8080'. You may need to add 'myapp.localhost' to ALLOWED_HOSTS.\n"))
		synctest.Wait()
		if diff := cmp.Diff([]string{"1: " + refusedHostMessage("myapp.localhost")}, store.log("cccccccccccccccc")); diff != "" {
			t.Errorf("running deployment's log (-want +got):\n%s", diff)
		}
	})
}

// TestWatchHostsEnds: the watcher ends with Close, and with a deleted
// site's log; a site created again under the name is watched afresh.
func TestWatchHostsEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := applog.NewHub(applog.Config{})
		defer hub.Close()
		c := New(Config{Store: newRecordingStore(), Logs: hub, DataDir: t.TempDir()})
		c.watchHosts("myapp")
		hub.Forget("myapp")
		synctest.Wait() // the first watcher has ended
		c.mu.Lock()
		delete(c.watching, "myapp")
		c.mu.Unlock()
		c.watchHosts("myapp")
		c.SiteLog("myapp").Writer(applog.SourceApp).Write([]byte("Invalid HTTP_HOST header: 'a.localhost'. You may need to add 'a.localhost' to ALLOWED_HOSTS.\n"))
		synctest.Wait()
		if got := strings.Join(c.SiteLog("myapp").Recent(10), "\n"); !strings.Contains(got, "Django refused the host 'a.localhost'") {
			t.Errorf("the new site's log is not watched:\n%s", got)
		}
		c.Close() // returns only once the watcher has ended
		c.watchHosts("other")
		c.mu.Lock()
		_, watched := c.watching["other"]
		c.mu.Unlock()
		if watched {
			t.Errorf("a closed coordinator started a watcher")
		}
	})
}

// mkdirLogFiles creates the site's LogFiles so that its log is written to
// files as in production.
func mkdirLogFiles(c *Coordinator, site string) error {
	return os.MkdirAll(filepath.Join(c.SiteHome(site), "LogFiles"), 0o755)
}
