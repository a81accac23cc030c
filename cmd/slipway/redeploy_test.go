package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestKuduRedeploy rolls an app back with the real curl and the app's
// publishing credentials, as Kudu's REST API documents the calls
// (https://github.com/projectkudu/kudu/wiki/REST-API, "Deployment";
// docs/appservice.md §5): PUT /api/deployments/{id} serves an earlier
// version again — its stored version, not built again — and makes it the
// active and latest deployment; DELETE /api/deployments/{id} deletes
// another, and refuses the active one. As an attacker holding this app's
// credentials would try: another app's deployment id, and ids with path
// characters, are refused, and the app keeps serving.
func TestKuduRedeploy(t *testing.T) {
	s := startServer(t)
	s.createApp("other")
	s.createApp("roll", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	user, pass := s.credentials("roll")
	kudu := func(name string) string {
		return "http://" + strings.Replace(s.host(name), ".localhost", ".scm.localhost", 1)
	}
	scm, app := kudu("roll"), s.host("roll")
	deployments := func() []map[string]any {
		t.Helper()
		body, err := s.curl("-u", user+":"+pass, scm+"/api/deployments")
		var ds []map[string]any
		if err != nil || json.Unmarshal([]byte(body), &ds) != nil {
			t.Fatalf("GET /api/deployments: %v %s", err, body)
		}
		return ds
	}
	push := func(name, u, p, version string) string {
		t.Helper()
		z := zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": version})
		if out, err := s.curl("-X", "POST", "-u", u+":"+p, "--data-binary", "@"+z, "-o", "/dev/null", "-w", "%{http_code}", kudu(name)+"/api/zipdeploy"); err != nil || out != "200" {
			t.Fatalf("zipdeploy %s to %s: %q %v", version, name, out, err)
		}
		return s.waitDeployment(name, u, p)["id"].(string)
	}
	// call sends a Kudu call as the scripts do and returns "<status>\n<body>".
	call := func(args ...string) string {
		t.Helper()
		out, err := s.curl(append([]string{"-w", "\n%{http_code}"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.LastIndex(out, "\n")
		return out[i+1:] + "\n" + out[:i]
	}
	v1 := push("roll", user, pass, "v1")
	v2 := push("roll", user, pass, "v2")
	if code, body := s.get(app, "/"); code != 200 || body != "hello v2" {
		t.Fatalf("GET / = %d %q, want hello v2", code, body)
	}

	t.Run("PUT redeploys v1 without a build", func(t *testing.T) {
		if got := call("-X", "PUT", "-u", user+":"+pass, scm+"/api/deployments/"+v1); got != "200\n" {
			t.Fatalf("PUT v1 = %q, want 200 and no body", got)
		}
		if code, body := s.get(app, "/"); code != 200 || body != "hello v1" {
			t.Fatalf("GET / after the redeploy = %d %q, want hello v1", code, body)
		}
		// Published again to wwwroot, as a deployment is.
		if got := call("-u", user+":"+pass, scm+"/api/vfs/site/wwwroot/VERSION"); got != "200\nv1" {
			t.Errorf("wwwroot's VERSION = %q, want v1", got)
		}
		log := s.deploymentLog("roll", user, pass, v1)
		for _, want := range []string{"Redeploying deployment " + v1, "not built again", "Deployment successful."} {
			if !strings.Contains(log, want) {
				t.Errorf("v1's log lacks %q:\n%s", want, log)
			}
		}
		if strings.Contains(log, "Running oryx build") {
			t.Errorf("the redeploy built:\n%s", log)
		}
		ds := deployments()
		if len(ds) != 2 || ds[0]["id"] != v2 || ds[1]["id"] != v1 || ds[0]["active"] != false || ds[1]["active"] != true ||
			ds[1]["status"] != float64(4) || ds[1]["deployer"] != user {
			t.Errorf("deployments after the redeploy: %v; want v2 then v1, v1 active, successful and redeployed by %s", ds, user)
		}
		if d := s.waitDeployment("roll", user, pass); d["id"] != v1 {
			t.Errorf("latest = %v, want the redeployed v1", d["id"])
		}
	})

	t.Run("DELETE removes v2 and refuses the active v1", func(t *testing.T) {
		if got := call("-X", "DELETE", "-u", user+":"+pass, scm+"/api/deployments/"+v2); got != "200\n" {
			t.Fatalf("DELETE v2 = %q, want 200", got)
		}
		if got := call("-u", user+":"+pass, "-o", "/dev/null", scm+"/api/deployments/"+v2); !strings.HasPrefix(got, "404") {
			t.Errorf("GET v2 after its deletion = %q, want 404", got)
		}
		if got := call("-X", "DELETE", "-u", user+":"+pass, scm+"/api/deployments/"+v1); !strings.HasPrefix(got, "409\n") || !strings.Contains(got, "currently active") {
			t.Errorf("DELETE the active v1 = %q, want 409 saying it is active", got)
		}
		if got := call("-X", "PUT", "-u", user+":"+pass, scm+"/api/deployments/"+v2); !strings.HasPrefix(got, "404\n") {
			t.Errorf("PUT the deleted v2 = %q, want 404", got)
		}
	})

	t.Run("attack: another app's deployment and path characters", func(t *testing.T) {
		ouser, opass := s.credentials("other")
		theirs := push("other", ouser, opass, "theirs")
		for _, method := range []string{"PUT", "DELETE"} {
			if got := call("-X", method, "-u", user+":"+pass, scm+"/api/deployments/"+theirs); !strings.HasPrefix(got, "404\n") {
				t.Errorf("%s another app's deployment on this app's Kudu = %q, want 404", method, got)
			}
			if got := call("-X", method, "-u", ouser+":"+opass, scm+"/api/deployments/"+v1); !strings.HasPrefix(got, "401\n") {
				t.Errorf("%s with another app's credentials = %q, want 401", method, got)
			}
			for _, id := range []string{"..%2f..%2fother%2fartifacts%2f" + theirs, "%2e%2e", v1 + "%00"} {
				if got := call("-X", method, "--path-as-is", "-u", user+":"+pass, scm+"/api/deployments/"+id); !strings.HasPrefix(got, "400\n") {
					t.Errorf("%s /api/deployments/%s = %q, want 400", method, id, got)
				}
			}
			if got := call("-X", method, "--path-as-is", "-u", user+":"+pass, scm+"/api/deployments/../deployments/"+v1); strings.HasPrefix(got, "2") {
				t.Errorf("%s with a dot segment = %q, want it refused", method, got)
			}
		}
		// A record (a deployment made elsewhere) under the id of the other
		// app's deployment is this app's own: no 409 saying the id exists
		// somewhere, and the other app's deployment is untouched.
		record := `{"status":4,"message":"Deployed by CI","deployer":"GitHub","author":"ci"}`
		if got := call("-X", "PUT", "-u", user+":"+pass, "--data", record, scm+"/api/deployments/"+theirs); !strings.HasPrefix(got, "200\n") {
			t.Errorf("a record under another app's deployment id = %q, want 200", got)
		}
		if d := s.waitDeployment("other", ouser, opass); d["id"] != theirs || d["active"] != true || d["deployer"] == "GitHub" {
			t.Errorf("the other app's deployment after this app's record of its id: %v", d)
		}
		if code, body := s.get(app, "/"); code != 200 || body != "hello v1" {
			t.Errorf("GET / = %d %q, want hello v1 still", code, body)
		}
		if code, body := s.get(s.host("other"), "/"); code != 200 || body != "hello theirs" {
			t.Errorf("the other app serves %d %q, want hello theirs still", code, body)
		}
	})
}
