package deploy

import (
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestAttack_DeploymentFileCannotOverrideAppSettings: the package is the
// deployer's, the app settings the owner's. However the file spells a name
// (another case, spaces around it, a second [config] section, the name
// repeated), an app setting of that name keeps its value in the build's
// environment, and no second spelling of it reaches the build beside it.
// What the file adds is no more than an app setting could add: the build
// runs the package's own code as the app's user in any case. Found nothing;
// it pins that app settings win.
func TestAttack_DeploymentFileCannotOverrideAppSettings(t *testing.T) {
	e := newFileEnv(t)
	b := &settingsBuilder{sourceBuilder: sourceBuilder{venv: t.TempDir(), t: t}}
	e.c.cfg.Builder, e.c.cfg.Planner = b, settingsPlanner{}
	owner := map[string]string{"DJANGO_SECRET_KEY": "owners-key", "PIP_INDEX_URL": "https://owner.example/simple", "SCM_DO_BUILD_DURING_DEPLOYMENT": "true"}
	if err := e.st.SetSettings(t.Context(), "rg", "app", owner); err != nil {
		t.Fatal(err)
	}
	file := "[config]\n" +
		"django_secret_key = deployers-key\n" +
		"  DJANGO_SECRET_KEY  =deployers-key\n" +
		"pip_index_url=https://attacker.example/simple\n" +
		"[other]\nDJANGO_SECRET_KEY=x\n" +
		"[CONFIG]\nDjango_Secret_Key=deployers-key\nPip_Index_Url=https://attacker.example/simple\n" +
		"SCM_DO_BUILD_DURING_DEPLOYMENT=false\n"
	d := e.zip(map[string]string{"version": "v1", "requirements.txt": "flask\n", ".deployment": file}, false)
	if d.Status != slipway.DeploySuccess || !d.Build {
		t.Fatalf("deployment = %+v\n%s", d, e.logText(d.ID))
	}
	if len(b.settings) != 1 {
		t.Fatalf("builds: %d", len(b.settings))
	}
	for k, v := range b.settings[0] {
		for name, want := range owner {
			if strings.EqualFold(k, name) && (k != name || v != want) {
				t.Errorf("the build's %s = %q; want the app setting %s = %q alone", k, v, name, want)
			}
		}
	}
	if strings.Contains(e.logText(d.ID), "deployers-key") {
		t.Errorf("a value of the file in the deployment log:\n%s", e.logText(d.ID))
	}
}
