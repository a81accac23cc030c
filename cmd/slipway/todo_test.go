package main

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWebappUpTodo is the main job end to end: `slipway webapp up` of
// examples/todo, then the app is used as a browser would through the front
// door (acceptance 1 of the core issue).
func TestWebappUpTodo(t *testing.T) {
	s := startServer(t)
	project, out, errs := s.upProject("../../examples/todo", "todo")
	if !strings.Contains(out+errs, "http://"+s.host("todo")) {
		t.Errorf("webapp up did not print the URL http://%s:\n%s\n%s", s.host("todo"), out, errs)
	}
	if cfg, err := os.ReadFile(filepath.Join(project, ".azure", "config")); err != nil || !strings.Contains(string(cfg), "todo") {
		t.Errorf(".azure/config not written with the app's defaults: %v %s", err, cfg)
	}
	host := s.host("todo")
	// webapp up turns httpsOnly on, as az does; this test speaks plain HTTP
	// (TestTodoOverHTTPS covers HTTPS), so it turns it off again.
	if code, _ := s.get(host, "/"); code != http.StatusMovedPermanently {
		t.Errorf("after webapp up (httpsOnly), plain HTTP answers %d, want 301 to HTTPS", code)
	}
	s.mustCLI("", "webapp", "update", "-g", defaultGroup(t, project), "-n", "todo", "--https-only", "false")

	t.Run("home page", func(t *testing.T) {
		if code, body := s.get(host, "/"); code != 200 || !strings.Contains(body, "open-todos") {
			t.Fatalf("GET / = %d\n%s", code, body)
		}
	})

	var mediaPath string
	t.Run("create a todo with a CSRF-protected form and an upload", func(t *testing.T) {
		if status := s.postTodo(host, "Buy oat milk", "receipt.txt", "text/plain", "oat milk 1.99"); status != 302 {
			t.Fatalf("POST /todos/new/ = %d, want 302", status)
		}
		code, list := s.get(host, "/")
		if code != 200 || !strings.Contains(list, "Buy oat milk") {
			t.Fatalf("the new todo is not listed (%d)", code)
		}
		mm := regexp.MustCompile(`/media/attachments/receipt[^"']*\.txt`).FindString(list)
		if mm == "" {
			t.Fatalf("no link to the uploaded attachment in the list page")
		}
		mediaPath = mm
		if code, b := s.get(host, mediaPath); code != 200 || b != "oat milk 1.99" {
			t.Fatalf("GET %s = %d %q", mediaPath, code, b)
		}
	})

	t.Run("a WebJob runs a management command against the app's database", func(t *testing.T) {
		// An uploaded triggered job runs inside the app's instance, with
		// its settings and Python: Django sees the todo just made.
		needSandbox(t, "WebJobs need")
		s.groups = map[string]string{"todo": defaultGroup(t, project)}
		job := "cd /home/site/wwwroot && python manage.py shell -c \"from todos.models import Todo; print('todos:', Todo.objects.filter(title='Buy oat milk').count())\"\n"
		if code, _, body := s.kudu("todo", "PUT", "/api/triggeredwebjobs/count", "", "attachment; filename=run.sh", strings.NewReader(job)); code != 200 {
			t.Fatalf("upload: %d %s", code, body)
		}
		if code, _, body := s.kudu("todo", "POST", "/api/triggeredwebjobs/count/run", "", "", nil); code != 202 {
			t.Fatalf("run: %d %s", code, body)
		}
		run := s.waitRun("todo", "count", 2*time.Minute)
		if out := s.vfsText("todo", *run.OutputURL); run.Status != "Success" || !strings.Contains(out, "INFO] todos: 1\n") {
			t.Errorf("the job's run: %+v\n%s", run, out)
		}
	})

	t.Run("a POST without the CSRF token is refused", func(t *testing.T) {
		resp, err := s.client.PostForm("http://"+host+"/todos/new/", map[string][]string{"title": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("POST without token = %d, want 403", resp.StatusCode)
		}
	})

	t.Run("admin login page", func(t *testing.T) {
		if code, body := s.get(host, "/admin/login/"); code != 200 || !strings.Contains(body, "csrfmiddlewaretoken") {
			t.Fatalf("GET /admin/login/ = %d", code)
		}
	})

	t.Run("collected static file with its content type", func(t *testing.T) {
		resp, err := s.client.Get("http://" + host + "/static/admin/css/base.css")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
			t.Fatalf("GET base.css = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		resp, err = s.client.Get("http://" + host + "/static/todos/todos.css")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
			t.Fatalf("GET todos.css = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("uploaded media survives a restart", func(t *testing.T) {
		if mediaPath == "" {
			t.Skip("no upload to check (an earlier step failed)")
		}
		s.mustCLI("", "webapp", "restart", "-g", defaultGroup(t, project), "-n", "todo")
		if code, b := s.get(host, mediaPath); code != 200 || b != "oat milk 1.99" {
			t.Fatalf("after restart GET %s = %d %q", mediaPath, code, b)
		}
		if code, list := s.get(host, "/"); code != 200 || !strings.Contains(list, "Buy oat milk") {
			t.Fatalf("after restart the todo is gone (%d)", code)
		}
	})

	t.Run("a failing migration fails the deployment and keeps the app serving", func(t *testing.T) {
		broken := filepath.Join(t.TempDir(), "broken")
		if err := os.CopyFS(broken, os.DirFS(project)); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(broken, "todos", "migrations", "0099_broken.py"), []byte(`from django.db import migrations


def boom(apps, schema_editor):
    raise RuntimeError("migration failed on purpose")


class Migration(migrations.Migration):
    dependencies = [("todos", "0001_initial")]
    operations = [migrations.RunPython(boom)]
`), 0o644)
		z := zipDir(t, broken, nil)
		out, errs, code := s.cli("", "webapp", "deploy", "-g", defaultGroup(t, project), "-n", "todo", "--src-path", z, "--type", "zip")
		if code == 0 {
			t.Fatalf("deploying a failing migration succeeded:\n%s\n%s", out, errs)
		}
		log, _, _ := s.cli("", "webapp", "log", "deployment", "show", "-g", defaultGroup(t, project), "-n", "todo")
		if !strings.Contains(log, "migration failed on purpose") || !strings.Contains(log, "previous version keeps serving") {
			t.Errorf("the deployment log does not show the migration's error:\n%s", log)
		}
		if code, list := s.get(host, "/"); code != 200 || !strings.Contains(list, "Buy oat milk") {
			t.Fatalf("after the failed migration GET / = %d", code)
		}
	})

	t.Run("a wrong Host gets Django's 400", func(t *testing.T) {
		// Through the front door every host routes to its own app, so the
		// request goes to the instance's port directly, as App Service's
		// warm-up ping does with the container IP (docs/appservice.md §14).
		addr := instanceAddr(t, s.data, "todo")
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Host = "evil.example.com"
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "Bad Request") {
			t.Fatalf("wrong Host = %d %q, want Django's 400", resp.StatusCode, b)
		}
	})
}

// defaultGroup reads the resource group `webapp up` remembered for a folder.
func defaultGroup(t *testing.T, project string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(project, ".azure", "config"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^group\s*=\s*(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no group in .azure/config:\n%s", b)
	}
	return string(m[1])
}

// instanceAddr finds the address (host:port) of a site's newest instance
// in its platform log.
func instanceAddr(t *testing.T, data, site string) string {
	t.Helper()
	addr := ""
	// The log reaches its file within its flush delay.
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(data, "sites", site, "home", "LogFiles", "*_docker.log"))
		for _, f := range files {
			if strings.HasSuffix(f, "_default_docker.log") {
				continue
			}
			b, _ := os.ReadFile(f)
			for _, m := range regexp.MustCompile(`\(port \d+, address (\S+)\)`).FindAllSubmatch(b, -1) {
				addr = string(m[1])
			}
		}
	}
	if addr == "" {
		t.Fatalf("no instance address in %s's log", site)
	}
	return addr
}

// postTodo creates a todo with an attachment through the app's form, as a
// browser does: it fetches the form for its CSRF cookie and token, then
// posts multipart data with the file's type. It returns the POST's status.
func (s *testServer) postTodo(host, title, filename, contentType, content string) int {
	s.t.Helper()
	resp, err := s.client.Get(s.url(host, "/todos/new/"))
	if err != nil {
		s.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "csrftoken" {
			cookie = c
		}
	}
	m := regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`).FindSubmatch(page)
	if cookie == nil || m == nil {
		s.t.Fatalf("no CSRF cookie or token on the form page (status %d)", resp.StatusCode)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrfmiddlewaretoken", string(m[1]))
	mw.WriteField("title", title)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="attachment"; filename=%q`, filename))
	h.Set("Content-Type", contentType) // Go's CreateFormFile would always say application/octet-stream
	fw, _ := mw.CreatePart(h)
	io.WriteString(fw, content)
	mw.Close()
	req, _ := http.NewRequest("POST", s.url(host, "/todos/new/"), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", s.url(host, "")) // as a browser sends with a form post (Django checks it over HTTPS)
	req.AddCookie(cookie)
	resp, err = s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
