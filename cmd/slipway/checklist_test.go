package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestWebappUpDjangoChecklistOnce: `webapp up` of a Django project prints
// what Django's deployment checklist (manage.py check --deploy) found once
// each, with how to fix it, as part of the deployment's log.
func TestWebappUpDjangoChecklistOnce(t *testing.T) {
	s := startServer(t)
	_, out, errs := s.upProject("testdata/apps/startproject", "checked")
	all := out + errs
	if !strings.Contains(all, "see https://docs.djangoproject.com/en/stable/howto/deployment/checklist/ and fix them in settings.py") {
		t.Fatalf("webapp up does not say how to fix what the checklist found:\n%s", all)
	}
	findings := regexp.MustCompile(`(?m)^.*(\((security|models)\.[WE]\d+\)|System check identified \d+ issue).*$`).FindAllString(all, -1)
	if len(findings) == 0 {
		t.Fatalf("webapp up prints no finding of the checklist:\n%s", all)
	}
	seen := map[string]int{}
	for _, f := range findings {
		seen[strings.TrimSpace(f)]++
	}
	for f, n := range seen {
		if n > 1 {
			t.Errorf("webapp up prints a finding %d times: %s", n, f)
		}
	}
	if t.Failed() {
		t.Logf("webapp up printed:\n%s", all)
	}
}
