package arm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTags: az tag create|update|list|delete --resource-id on a site, its
// plan and its resource group: the tags resource answers with the tags the
// resource then has, and the resource itself shows them; merging keeps the
// others (what scripts use it for) and changes nothing else of the site.
func TestTags(t *testing.T) {
	e := newEnv(t)
	e.seed()
	tagsOf := func(path string) map[string]any {
		t.Helper()
		got := e.must(200, "GET", path+"/providers/Microsoft.Resources/tags/default", "").json(t)
		if got["id"] != e.path(path)+"/providers/Microsoft.Resources/tags/default" || got["name"] != "default" || got["type"] != "Microsoft.Resources/tags" {
			t.Fatalf("tags resource of %s = %v", path, got)
		}
		tags, _ := got["properties"].(map[string]any)["tags"].(map[string]any)
		return tags
	}
	wantTags := func(what string, r response, want map[string]any) {
		t.Helper()
		got, _ := r.json(t)["properties"].(map[string]any)["tags"].(map[string]any)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
	tagsPath := sitePath + "/providers/Microsoft.Resources/tags/default"
	if diff := cmp.Diff(map[string]any{}, tagsOf(sitePath)); diff != "" {
		t.Errorf("a new site's tags (-want +got):\n%s", diff)
	}
	before := e.must(200, "GET", sitePath+"/config/web", "").body

	// az tag update --operation merge, twice: the second keeps the first.
	wantTags("merge env=prod", e.must(200, "PATCH", tagsPath, `{"operation":"Merge","properties":{"tags":{"env":"prod"}}}`), map[string]any{"env": "prod"})
	wantTags("merge team=web", e.must(200, "PATCH", tagsPath, `{"operation":"merge","properties":{"tags":{"team":"web","env":"prod"}}}`), map[string]any{"env": "prod", "team": "web"})
	if got := e.must(200, "GET", sitePath, "").json(t)["tags"]; !cmp.Equal(got, map[string]any{"env": "prod", "team": "web"}) {
		t.Errorf("the site's tags after the merges = %v", got)
	}
	if after := e.must(200, "GET", sitePath+"/config/web", "").body; string(after) != string(before) {
		t.Errorf("tagging changed the site's configuration:\n%s\nbefore:\n%s", after, before)
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("tagging restarted something: %v", calls)
	}
	// Delete by name, or by name and value (another value keeps it).
	wantTags("delete env", e.must(200, "PATCH", tagsPath, `{"operation":"Delete","properties":{"tags":{"env":"","team":"other"}}}`), map[string]any{"team": "web"})
	wantTags("replace", e.must(200, "PATCH", tagsPath, `{"operation":"Replace","properties":{"tags":{"a":"1"}}}`), map[string]any{"a": "1"})
	// az tag create: PUT replaces; az tag delete: DELETE removes them all.
	wantTags("create", e.must(200, "PUT", tagsPath, `{"properties":{"tags":{"b":"2","c":"3"}}}`), map[string]any{"b": "2", "c": "3"})
	wantTags("delete all", e.must(200, "DELETE", tagsPath, ""), map[string]any{})
	if got := e.must(200, "GET", sitePath, "").json(t)["tags"]; !cmp.Equal(got, map[string]any{}) {
		t.Errorf("the site's tags after tag delete = %v", got)
	}

	// A plan and the resource group take tags the same way.
	for _, path := range []string{planPath, "/subscriptions/{s}/resourceGroups/rg"} {
		e.must(200, "PATCH", path+"/providers/Microsoft.Resources/tags/default", `{"operation":"Merge","properties":{"tags":{"owner":"ops"}}}`)
		if got := tagsOf(path); !cmp.Equal(got, map[string]any{"owner": "ops"}) {
			t.Errorf("tags of %s = %v", path, got)
		}
	}

	r := e.must(400, "PATCH", tagsPath, `{"operation":"Append","properties":{"tags":{"a":"1"}}}`)
	if !strings.Contains(string(r.body), "Merge, Replace or Delete") {
		t.Errorf("an unknown operation: %s", r.body)
	}
	// Not a resource group or a resource of one: the subscription, a
	// deployment, tags of tags, a role assignment's scope form.
	for _, scope := range []string{
		"/subscriptions/{s}",
		"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d",
		tagsPath,
	} {
		e.must(400, "PATCH", scope+"/providers/Microsoft.Resources/tags/default", `{"operation":"Merge","properties":{"tags":{"a":"1"}}}`)
	}
	// A resource that does not exist: the resource's own 404.
	r = e.must(404, "GET", webPath+"/sites/nope/providers/Microsoft.Resources/tags/default", "")
	if !strings.Contains(string(r.body), "ResourceNotFound") {
		t.Errorf("tags of a missing site: %s", r.body)
	}
	e.must(404, "PATCH", webPath+"/sites/nope/providers/Microsoft.Resources/tags/default", `{"operation":"Merge","properties":{"tags":{"a":"1"}}}`)
	e.must(405, "POST", tagsPath, "")
	// Unauthenticated: refused before anything is read.
	if r := e.do("GET", tagsPath, "", "Authorization", ""); r.status != 401 {
		t.Errorf("tags without a token = %d, want 401", r.status)
	}
}

// TestAttack_TagsOnlyWhereTagsAre: the Tags API PUTs the document it read
// back to its scope. A scope whose resource holds no tags — a site's
// config/logs, config/web, publishing-credentials policy, a role
// assignment, a list — must be refused before that PUT: it would store
// nothing but answer 200 as if tagged, and the re-PUT does what a write of
// that resource does (config/logs re-applies the app's log settings, a
// role assignment is written again), for no tag. A GET that answers a JSON
// array (virtualNetworkConnections) is the caller's error, not a 500.
func TestAttack_TagsOnlyWhereTagsAre(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(201, "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName1+raAPI, e.path(raBody("{s}", contributorID, principal1)))
	e.ctl.Reset()
	for _, scope := range []string{
		sitePath + "/config/logs",
		sitePath + "/config/web",
		sitePath + "/basicPublishingCredentialsPolicies/scm",
		sitePath + "/virtualNetworkConnections",
		sitePath + "/slots",
		"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/" + raName1,
	} {
		r := e.do("PATCH", scope+"/providers/Microsoft.Resources/tags/default", `{"operation":"Merge","properties":{"tags":{"a":"1"}}}`)
		if r.status != 400 || !strings.Contains(string(r.body), "does not take tags") {
			t.Errorf("tagging %s = %d %s; want 400 saying it does not take tags", scope, r.status, r.body)
		}
	}
	if calls := e.ctl.Calls(); len(calls) != 0 {
		t.Errorf("refused tagging changed something: %v", calls)
	}
	// Reading them says the same.
	e.must(400, "GET", sitePath+"/config/logs/providers/Microsoft.Resources/tags/default", "")
}
