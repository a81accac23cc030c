package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// App Service's Python autoinstrumentation ("Enable application monitoring
// in Azure App Service for Python", preview): with the app setting
// ApplicationInsightsAgent_EXTENSION_VERSION and a connection string, the
// platform brings the Azure Monitor OpenTelemetry distro into the app's
// Python and configures it, so that requests, dependencies, exceptions and
// logs reach Application Insights with no change to the app. Slipway does
// the same: an environment with the distro, built once per Python version
// under the data directory's platform folder, read-only in the sandbox,
// and a sitecustomize that appends its packages after the app's own (the
// app's versions of shared packages win) and calls
// configure_azure_monitor(). An app that brings the distro itself is left
// alone, as Microsoft advises against both at once.

const (
	// aiAgentSetting turns the agent on ("~3" on Linux, as App Service's
	// portal sets it; any value but "disabled" or "" does).
	aiAgentSetting = "ApplicationInsightsAgent_EXTENSION_VERSION"
	// aiDistro is the distro the agent brings.
	aiDistro = "azure-monitor-opentelemetry==1.8.11"
	// aiAgentPackagesVar tells the sitecustomize where the agent's
	// packages are.
	aiAgentPackagesVar = "SLIPWAY_AI_AGENT_PACKAGES"
)

// aiSiteCustomize is the agent's sitecustomize.py: Python imports it at
// every start of a process in the instance.
const aiSiteCustomize = `# Slipway's Application Insights agent (ApplicationInsightsAgent_EXTENSION_VERSION),
# as App Service's Python autoinstrumentation: the Azure Monitor OpenTelemetry
# distro, configured from APPLICATIONINSIGHTS_CONNECTION_STRING.
def _slipway_ai_agent():
    import importlib.util, os, sys
    packages = os.environ.get("SLIPWAY_AI_AGENT_PACKAGES", "")
    if not packages or not os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        return
    try:
        if importlib.util.find_spec("azure.monitor.opentelemetry") is not None:
            print("Application Insights agent: the app brings azure-monitor-opentelemetry itself; the agent stays out.", file=sys.stderr, flush=True)
            return
    except Exception:
        pass
    # The app's folder, where gunicorn will import it from, is importable
    # now: Django's instrumentation reads the settings module at once.
    app = os.environ.get("APP_PATH", "")
    if app and app not in sys.path:
        sys.path.append(app)
    sys.path.append(packages)  # after the app's own packages
    options = {}
    django = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    try:
        ok = bool(django) and importlib.util.find_spec(django) is not None
    except Exception:
        ok = False
    if not ok and (django or (app and os.path.exists(os.path.join(app, "manage.py")))):
        # OpenTelemetry's Django instrumentation replaces settings it cannot
        # import with Django's defaults, which would break the app.
        options["django"] = {"enabled": False}
        print("Application Insights agent: Django requests are not instrumented: set the app setting DJANGO_SETTINGS_MODULE to the app's settings module (now %r)." % django, file=sys.stderr, flush=True)
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor
        configure_azure_monitor(instrumentation_options=options)
    except Exception as e:
        print("Application Insights agent: not started: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        return
    print("Application Insights agent: sending telemetry (azure-monitor-opentelemetry) from " + os.path.basename(sys.argv[0] if sys.argv else "python"), file=sys.stderr, flush=True)

_slipway_ai_agent()
del _slipway_ai_agent
`

// aiAgentOn reports whether an app's settings ask for the agent.
func aiAgentOn(settings map[string]string) bool {
	v := strings.TrimSpace(settings[aiAgentSetting])
	return v != "" && !strings.EqualFold(v, "disabled") && strings.TrimSpace(settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]) != ""
}

// aiAgent builds the agent's environment once per Python version.
type aiAgent struct {
	b   *build.Builder
	dir string // the data directory's platform folder

	mu     sync.Mutex
	builds map[string]*aiAgentBuild
}

type aiAgentBuild struct {
	done chan struct{}
	art  deploy.Artifact
	err  error
}

// ensure returns the agent built for the Python of version ("3.12.1"),
// building it first if need be; concurrent callers wait for one build. A
// failed build is tried again at the next call.
func (a *aiAgent) ensure(ctx context.Context, version string) (deploy.Artifact, error) {
	minor := version
	if p := strings.Split(version, "."); len(p) >= 2 {
		minor = p[0] + "." + p[1]
	}
	a.mu.Lock()
	if a.builds == nil {
		a.builds = map[string]*aiAgentBuild{}
	}
	b, ok := a.builds[minor]
	if !ok {
		b = &aiAgentBuild{done: make(chan struct{})}
		a.builds[minor] = b
		go func() {
			defer close(b.done)
			// Not the caller's context: a start given up on should not
			// waste a build others wait for.
			b.art, b.err = a.build(context.WithoutCancel(ctx), minor)
			if b.err != nil {
				a.mu.Lock()
				delete(a.builds, minor)
				a.mu.Unlock()
			}
		}()
	}
	a.mu.Unlock()
	select {
	case <-b.done:
		return b.art, b.err
	case <-ctx.Done():
		return deploy.Artifact{}, ctx.Err()
	}
}

func (a *aiAgent) build(ctx context.Context, minor string) (deploy.Artifact, error) {
	// Named by what it holds: a new distro or sitecustomize is a new build.
	sum := sha256.Sum256([]byte(aiDistro + "\x00" + aiSiteCustomize))
	out := filepath.Join(a.dir, "aiagent-"+minor+"-"+hex.EncodeToString(sum[:6]))
	src := out + ".src"
	defer os.RemoveAll(src)
	art, err := platformBuild(ctx, a.b, out, src, minor, func(src string) error {
		if err := os.MkdirAll(filepath.Join(src, "boot"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, "requirements.txt"), []byte(aiDistro+"\n"), 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(src, "boot", "sitecustomize.py"), []byte(aiSiteCustomize), 0o644)
	})
	if err != nil {
		return deploy.Artifact{}, fmt.Errorf("building the Application Insights agent for Python %s: %w", minor, err)
	}
	return art, nil
}

// sitePackages is the agent environment's site-packages folder.
func aiAgentPackages(art deploy.Artifact) string {
	minor := art.PythonVersion
	if p := strings.Split(minor, "."); len(p) >= 2 {
		minor = p[0] + "." + p[1]
	}
	return filepath.Join(art.VenvDir, "lib", "python"+minor, "site-packages")
}

// withAIAgent gives an instance the agent: its files read-only in the
// sandbox, its sitecustomize first on PYTHONPATH (before the app's own
// PYTHONPATH setting). It returns the line the app's log shows at start.
func (p *planner) withAIAgent(ctx context.Context, s deploy.Snapshot, r *run) string {
	art, err := p.aiAgent.ensure(ctx, r.art.PythonVersion)
	if err != nil {
		return "Application Insights agent: not available, the app starts without it: " + err.Error()
	}
	r.spec.ReadOnly = dedupe(append(r.spec.ReadOnly, art.Dir, art.VenvDir))
	pythonPath := filepath.Join(art.Dir, "boot")
	if own := s.Settings["PYTHONPATH"]; own != "" {
		pythonPath += ":" + own
	}
	r.env = append(r.env, "PYTHONPATH="+pythonPath, aiAgentPackagesVar+"="+aiAgentPackages(art))
	return "Application Insights agent: on (" + aiDistro + ", " + aiAgentSetting + "=" + s.Settings[aiAgentSetting] + ")"
}
