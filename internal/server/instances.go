package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/appenv"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/cgroups"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/homefs"
	"github.com/slipway-dev/slipway/internal/insights"
	"github.com/slipway-dev/slipway/internal/netns"
	"github.com/slipway-dev/slipway/internal/runtime"
	"github.com/slipway-dev/slipway/internal/sandbox"
	"github.com/slipway-dev/slipway/internal/scm"
	"github.com/slipway-dev/slipway/internal/startup"
	"github.com/slipway-dev/slipway/internal/tree"
)

// sandboxHome is where an app's persistent home appears inside its sandbox.
const sandboxHome = "/home"

// planner turns a site's release into process launches: the App Service
// environment, startup detection and the sandbox's mounts, network and user.
type planner struct {
	domain, subscription string
	sandboxed, asRoot    bool
	def                  deploy.Artifact
	dataDir              string
	home                 func(site string) string
	// net gives each instance (and release command) a network of its own;
	// nil when instances share the host's network (no root, or no sandbox).
	net *netns.Manager
	// cg limits each instance to its plan's size; nil when cgroups are
	// unavailable (not root).
	cg *cgroups.Manager
	// homes gives each app's home its tier's quota (docs/appservice.md §1); nil
	// when loop-mounted images are unavailable (not root).
	homes *homefs.Homes
	// local bounds what instances write outside /home by the tier's local
	// storage (localdisk.go); nil when loop-mounted images are unavailable.
	local *localDisk
	// exists reports whether a site is still in the store (a home mounted
	// for one that is not is removed again); nil: not asked.
	exists func(site string) bool
	// auth returns a site's App Service authentication when it is on
	// (nil: off), which its instances learn from WEBSITE_AUTH_*; nil: none.
	auth func(site string) *slipway.AuthSettings
	sb   *sandbox.Sandbox
	logs *applog.Hub
	// interps are the server's Pythons, oldest first: an instance's
	// /opt/python is its site's runtime version (pythonLinks).
	interps []build.Interpreter

	// azure lists the names of Azure's endpoints an app reaches the platform
	// by inside its sandbox (azureNames); nil turns that off.
	azure func(ctx context.Context) []string
	// caBundle is the public CAs plus the platform's root, which sandboxes
	// trust (REQUESTS_CA_BUNDLE, SSL_CERT_FILE); "" when there is none.
	caBundle string

	// allowShared lets more than one app run when instances share the
	// host's network (net == nil); see tenantAllowed.
	allowShared bool

	// aiAgent brings the Application Insights agent into instances of
	// apps that ask for it (aiagent.go); nil: none.
	aiAgent *aiAgent

	// msi gives each instance IDENTITY_ENDPOINT and IDENTITY_HEADER
	// (msi.go); nil: none.
	msi *msiEndpoint

	mu      sync.Mutex
	users   map[string][2]int // site → uid, gid
	tenants map[string]bool   // sites that have run on the host's network
	// instGroups are the cgroups of each site's running instances, read
	// by autoscale (autoscale.go).
	instGroups map[string]map[*cgroups.Group]bool
}

// tenantAllowed refuses a second app on a server that cannot give apps
// networks of their own, unless the operator opted in: on the host's network
// every app can reach every other app's instances and the host's services.
func (p *planner) tenantAllowed(site string) error {
	if p.net != nil || p.allowShared {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tenants == nil {
		p.tenants = map[string]bool{}
	}
	key := strings.ToLower(site)
	if !p.tenants[key] && len(p.tenants) > 0 {
		var other string
		for k := range p.tenants {
			other = k
		}
		return fmt.Errorf("this server cannot give apps networks of their own (it needs root, bubblewrap, iproute2 and nftables), so it runs one app only, and %s runs already: on a shared network apps reach each other's instances and the host's services. Run the server as root with those installed, or start it with --allow-shared-network to accept that", other)
	}
	p.tenants[key] = true
	return nil
}

var _ deploy.Planner = (*planner)(nil)

// appPort is the port App Service's Python image tells apps to listen on
// (PORT=8000); WEBSITES_PORT names another
// (https://learn.microsoft.com/azure/app-service/configure-custom-container#configure-port-number).
const appPort = 8000

// Port implements deploy.Planner: the port every instance listens on in its
// own network, or 0 (a free loopback port each) when instances share the
// host's network.
func (p *planner) Port(s deploy.Snapshot) int {
	if p.net == nil {
		return 0
	}
	if v, err := strconv.Atoi(strings.TrimSpace(s.Settings["WEBSITES_PORT"])); err == nil && v > 0 && v < 65536 {
		return v
	}
	return appPort
}

// hostName is WEBSITE_HOSTNAME: the default host name without a port, as on
// Azure, so that apps building ALLOWED_HOSTS from it (Django matches hosts
// without their port) work unchanged when the front door is not on port 80.
func (p *planner) hostName(site string) string {
	return strings.ToLower(site) + "." + p.domain
}

// identity returns the user an app runs as: its own system user when the
// server runs as root, else the server's user.
func (p *planner) identity(ctx context.Context, site string) (uid, gid int, err error) {
	if !p.asRoot {
		return 0, 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ids, ok := p.users[strings.ToLower(site)]; ok {
		return ids[0], ids[1], nil
	}
	uid, gid, err = sandbox.EnsureTenantUser(ctx, "sw-", site)
	if err != nil {
		return 0, 0, fmt.Errorf("creating the app's user: %w", err)
	}
	p.users[strings.ToLower(site)] = [2]int{uid, gid}
	// The app reads its own log files (in its home, as on App Service).
	p.logs.App(site, filepath.Join(p.home(site), "LogFiles")).SetOwner(uid, gid)
	return uid, gid, nil
}

// run is what one process of a site needs besides its argv.
type run struct {
	env     []string
	spec    sandbox.Spec
	art     deploy.Artifact
	ns      *netns.Namespace // nil on the host's network
	group   *cgroups.Group   // nil without cgroups
	cleanup func()
}

// instancePids bounds the processes (and threads) of one instance: ample
// for gunicorn's workers and threads, short of what a fork loop needs to
// starve the host.
const instancePids = 1024

// limits are the resources one instance of a plan gets: its SKU's memory
// and cores (docs/appservice.md §11).
func limits(plan slipway.Plan) cgroups.Limits {
	size := plan.SKU.Size()
	return cgroups.Limits{MemoryBytes: int64(size.MemoryMB) << 20, CPUs: size.Cores, Pids: instancePids}
}

// oomExplanation says that an instance was killed for memory, and what fits.
func oomExplanation(plan slipway.Plan) string {
	mem := plan.SKU.Size().MemoryMB
	msg := fmt.Sprintf("A process of the container was killed because it used more than its memory limit of %d MB (plan %s, SKU %s).", mem, plan.Name, plan.SKU.Name)
	if bigger, ok := plan.SKU.Larger(); ok {
		msg += fmt.Sprintf(" A larger SKU would fit: %s has %d MB (slipway appservice plan update -g %s -n %s --sku %s); or make the app use less memory.", bigger.Name, bigger.Size().MemoryMB, plan.ResourceGroup, plan.Name, bigger.Name)
	} else {
		msg += " Make the app use less memory (fewer gunicorn workers, smaller caches)."
	}
	return msg
}

// prepare prepares what instances and one-off commands share.
//
// Each instance gets its own writable copy of the app (APP_PATH), as App
// Service extracts the build output into a fresh /tmp/<hash> on every
// container start: an app may write next to its code, and those writes
// vanish with the instance (docs/appservice.md §1). A one-off command with
// inPlace (the release step) runs in the artifact itself, so that what it
// writes there (a SQLite database next to the code) is part of the release
// every instance then starts from.
//
// The environment (antenv) is the build's sealed, shared one, seen through
// a private tree of its own: directories the app's user owns, files hard-
// linked from the sealed environment (read-only, root's). So a `pip install`
// at startup works and vanishes with the instance, as on App Service, and
// can never change what another instance or a later build sees.
func (p *planner) prepare(ctx context.Context, s deploy.Snapshot, built deploy.Artifact, inst runtime.Instance, inPlace bool) (r run, err error) {
	var undo []func()
	r.cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			r.cleanup()
		}
	}()
	if err := p.tenantAllowed(s.Site.Name); err != nil {
		return r, err
	}
	uid, gid, err := p.identity(ctx, s.Site.Name)
	if err != nil {
		return r, err
	}
	// A site never deployed runs the default site. On App Service that
	// site's own app directory (wwwroot) holds no app, so startup finds no
	// framework and serves /opt/defaultsite with the image's gunicorn
	// (docs/appservice.md §4, rule 5). Its instances get an empty app
	// directory likewise, and the default site runs from where it lies, with
	// its environment, as an app deployed without a build does.
	noApp := built.Dir == p.def.Dir && !inPlace
	if noApp {
		built.VenvDir = ""
	}
	r.art = built
	runDir := siteRunDir(p.dataDir, s.Site.Name)
	if err := os.MkdirAll(runDir, 0o711); err != nil {
		return r, fmt.Errorf("preparing the instance directory: %w", err)
	}
	if p.local != nil {
		if err := p.local.mount(ctx, s, runDir); err != nil {
			return r, err
		}
	}
	tag := fmt.Sprintf("%.12s-%d", inst.ID, time.Now().UnixNano())
	// The instance's view of its environment is made beside the copy of
	// the app (both are file-system work of tens of milliseconds).
	venv := ""
	venvErr := make(chan error, 1)
	var releaseMirror func() // set before venvErr is sent
	if built.VenvDir != "" && p.sandboxed {
		venv = filepath.Join(runDir, tag+"-antenv")
		undo = append(undo, func() { os.RemoveAll(venv) })
		go func() {
			src := built.VenvDir
			if p.local != nil {
				// The view's hard links need the environment on the image.
				m, release, err := p.local.mirror(ctx, runDir, built.VenvDir)
				if err != nil {
					venvErr <- err
					return
				}
				src, releaseMirror = m, release
			}
			venvErr <- tree.Copy(ctx, src, venv, tree.Options{Hardlink: true, Chown: p.asRoot, UID: uid, GID: gid})
		}()
	} else {
		venvErr <- nil
	}
	defer func() {
		if venvErr != nil { // an early return: let the copy finish before undo removes it
			<-venvErr
			if releaseMirror != nil {
				releaseMirror()
			}
		}
	}()
	if inPlace {
		if p.asRoot {
			if err := tree.Chown(built.Dir, uid, gid); err != nil {
				return r, fmt.Errorf("handing the app to its user: %w", err)
			}
		}
	} else {
		r.art.Dir = filepath.Join(runDir, tag)
		undo = append(undo, func() { os.RemoveAll(r.art.Dir) })
		if noApp {
			err = emptyAppDir(r.art.Dir, p.asRoot, uid, gid)
		} else {
			err = tree.Copy(ctx, built.Dir, r.art.Dir, tree.Options{
				Chown: p.asRoot, UID: uid, GID: gid,
				Symlink: func(rel, target string) error {
					if rel == "antenv" && target == built.VenvDir {
						return nil // the environment, bound below
					}
					return tree.InTree(rel, target)
				},
			})
		}
		if err != nil {
			return r, fmt.Errorf("copying the app for the instance: %w", err)
		}
	}
	home, err := p.prepareHome(ctx, s, uid, gid)
	if err != nil {
		return r, err
	}
	seenHome := home
	if p.sandboxed {
		seenHome = sandboxHome
	}
	binDir := filepath.Dir(r.art.PythonPath)
	if r.art.VenvDir == "" && p.def.VenvDir != "" {
		// An app deployed without a build still finds gunicorn, as in App
		// Service's image (whose global site-packages hold it).
		binDir = filepath.Join(p.def.Dir, "antenv", "bin")
	}
	port := inst.Port
	r.env = appenv.Environment(appenv.Input{
		Site: s.Site, Plan: s.Plan, Settings: s.Settings, ConnectionStrings: s.ConnectionStrings,
		SubscriptionID: p.subscription, HostName: p.hostName(s.Site.Name),
		InstanceID: inst.ID, RoleInstance: inst.Role, Port: port,
		Home: seenHome, AppPath: r.art.Dir, VenvDir: r.art.VenvDir, PythonBinDir: binDir,
		PythonVersion: r.art.PythonVersion, Auth: p.siteAuth(s.Site.Name),
	})
	ro := []string{p.def.Dir}
	var binds []sandbox.Bind
	err = <-venvErr
	venvErr = nil
	if releaseMirror != nil {
		undo = append(undo, releaseMirror)
	}
	if err != nil {
		return r, fmt.Errorf("preparing the instance's view of its environment: %w", err)
	}
	if venv != "" {
		binds = append(binds, sandbox.Bind{Src: venv, Dst: r.art.VenvDir})
	} else if r.art.VenvDir != "" {
		ro = append(ro, r.art.VenvDir)
	}
	if p.def.VenvDir != "" && p.def.VenvDir != r.art.VenvDir {
		ro = append(ro, p.def.VenvDir)
	}
	for _, py := range []string{r.art.PythonPath, p.def.PythonPath} {
		if py != "" {
			ro = append(ro, pythonPrefix(py))
		}
	}
	platformIP := "127.0.0.1"
	if p.net != nil {
		ns, err := p.net.New(ctx)
		if err != nil {
			return r, err
		}
		undo = append(undo, func() { ns.Close() })
		r.ns = ns
		platformIP = p.net.Gateway().String()
	}
	if p.msi != nil {
		env, remove, err := p.msi.register(s.Site, r.ns)
		if err != nil {
			return r, err
		}
		undo = append(undo, remove)
		r.env = append(r.env, env...)
	}
	hosts := map[string]string{}
	names := []string{s.Site.Name + "." + p.domain, s.Site.Name + ".scm." + p.domain, "management." + p.domain,
		insights.IngestionHost(p.domain), insights.QueryHost(p.domain)}
	if p.azure != nil && r.ns != nil && !strings.EqualFold(strings.TrimSpace(s.Settings[azureNamesSetting]), "off") {
		// Azure's own names reach Slipway's services, served with
		// certificates of the platform root the sandbox trusts: a project
		// that knows only its storage account's name and key works.
		names = append(names, p.azure(ctx)...)
		names = append(names, s.Site.Name+".azurewebsites.net", s.Site.Name+".scm.azurewebsites.net")
	}
	for _, h := range names {
		hosts[strings.ToLower(h)] = platformIP
	}
	if p.caBundle != "" && p.sandboxed {
		ro = append(ro, p.caBundle)
		for _, k := range []string{"REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"} {
			if _, own := s.Settings[k]; !own {
				r.env = append(r.env, k+"="+p.caBundle)
			}
		}
	}
	// /opt/python is the Python of the site's runtime, as App Service's
	// image is chosen by it, whatever the release was built with (the
	// default site's, before a first deployment).
	basePy, baseVersion := r.art.PythonPath, r.art.PythonVersion
	if i, ok := p.runtimePython(s.Site); ok {
		basePy, baseVersion = i.Path, i.Version
		if pre := pythonPrefix(i.Path); pre != "" {
			ro = append(ro, pre)
		}
	}
	rw := []string{r.art.Dir}
	r.spec = sandbox.Spec{Home: home, ReadOnly: dedupe(ro), ReadWrite: rw, Binds: binds, Hosts: hosts, UID: uid, GID: gid,
		Hostname: containerHostname(s.Site.Name, inst.ID), Links: pythonLinks(baseVersion, basePy)}
	if r.ns != nil {
		r.spec.NetNS = r.ns.Path()
	}
	if p.cg != nil {
		g, err := p.cg.New("i-"+tag, limits(s.Plan))
		if err != nil {
			return r, fmt.Errorf("limiting the instance's resources: %w", err)
		}
		undo = append(undo, func() { g.Close() })
		r.group = g
		r.spec.CgroupProcs = g.ProcsFiles()
	}
	return r, nil
}

// containerHostname is the host name of an instance's sandbox: as an App
// Service container's is the first 12 hex digits of its container's id,
// the first 12 of the instance's; a one-off command's (whose instance id
// is zeros: Kudu's commands, the release step) is the site's own digits.
func containerHostname(site, instanceID string) string {
	if len(instanceID) >= 12 && strings.Trim(instanceID, "0") != "" {
		return strings.ToLower(instanceID[:12])
	}
	sum := sha256.Sum256([]byte("kudu/" + strings.ToLower(site)))
	return hex.EncodeToString(sum[:6])
}

// prepareHome mounts the app's home with its tier's quota (when quotas are
// available) and lays out App Service's directories in it.
func (p *planner) prepareHome(ctx context.Context, s deploy.Snapshot, uid, gid int) (string, error) {
	home := p.home(s.Site.Name)
	if p.homes != nil {
		if err := os.MkdirAll(home, 0o700); err != nil {
			return "", fmt.Errorf("preparing the app's home: %w", err)
		}
		quota := int64(s.Plan.SKU.Size().HomeQuotaGB) << 30
		if _, err := p.homes.Ensure(ctx, strings.ToLower(s.Site.Name), home, quota, uid, gid); err != nil {
			return "", fmt.Errorf("mounting the app's home (quota %d GB): %w", quota>>30, err)
		}
		if p.exists != nil && !p.exists(s.Site.Name) {
			// Deleted while this request was on its way (a Kudu file
			// request, an instance start): the deletion's removal may have
			// come before this mount, which must not outlive the app.
			gone := slipway.Errorf(slipway.ENOTFOUND, "The app %s was deleted.", s.Site.Name)
			return "", errors.Join(gone, p.homes.Remove(ctx, strings.ToLower(s.Site.Name), home))
		}
	}
	if err := sandbox.PrepareHome(home, uid, gid); err != nil {
		return "", fmt.Errorf("preparing the app's home: %w", err)
	}
	return home, nil
}

// ProbeHost implements deploy.Planner.
func (p *planner) ProbeHost(ctx context.Context, s deploy.Snapshot, addr string) (string, int, string, error) {
	host := p.hostName(s.Site.Name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+runtime.ReadinessPath, nil)
	if err != nil {
		return host, 0, "", err
	}
	req.Host = host
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return host, 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return host, resp.StatusCode, string(b), nil
}

// azureNamesSetting, set to "off", keeps Azure's names out of an app's
// sandbox, for apps that must reach the real Azure.
const azureNamesSetting = "SLIPWAY_AZURE_NAMES"

// siteAuth returns the site's App Service authentication when it is on.
func (p *planner) siteAuth(site string) *slipway.AuthSettings {
	if p.auth == nil {
		return nil
	}
	return p.auth(site)
}

// runtimeOnly are the variables of an instance's environment that have no
// meaning in a build: they name one instance, its port or its paths.
var runtimeOnly = map[string]bool{
	"PORT": true, "WEBSITE_INSTANCE_ID": true, "WEBSITE_ROLE_INSTANCE_ID": true,
	"HOME": true, "PATH": true, "APP_PATH": true, "VIRTUAL_ENV": true, "TMPDIR": true,
}

// BuildSettings implements deploy.Planner: a build sees the environment its
// instances will see — WEBSITE_HOSTNAME, WEBSITE_SITE_NAME, the APPSETTING_
// copies, connection strings — as Kudu's build does, so that settings
// modules chosen on WEBSITE_HOSTNAME (Microsoft's samples) are the ones
// collectstatic runs with.
func (p *planner) BuildSettings(s deploy.Snapshot) map[string]string {
	out := map[string]string{}
	for _, kv := range appenv.Environment(appenv.Input{
		Site: s.Site, Plan: s.Plan, Settings: s.Settings, ConnectionStrings: s.ConnectionStrings,
		SubscriptionID: p.subscription, HostName: p.hostName(s.Site.Name),
	}) {
		if k, v, ok := strings.Cut(kv, "="); ok && !runtimeOnly[k] {
			out[k] = v
		}
	}
	// The app's own settings keep their names as given (the build reads
	// PRE_BUILD_COMMAND and the like from them).
	for k, v := range s.Settings {
		out[k] = v
	}
	return out
}

// Identity implements deploy.Planner: an app's build runs as the app's own
// user, so that it can write only its own output and cache.
func (p *planner) Identity(ctx context.Context, site string) (uid, gid int, err error) {
	return p.identity(ctx, site)
}

// Instance implements deploy.Planner.
func (p *planner) Instance(ctx context.Context, s deploy.Snapshot, built deploy.Artifact, inst runtime.Instance) (runtime.Launch, error) {
	r, err := p.prepare(ctx, s, built, inst, false)
	if err != nil {
		return runtime.Launch{}, err
	}
	if r.group != nil {
		untrack, cleanup := p.trackGroup(s.Site.Name, r.group), r.cleanup
		r.cleanup = func() { untrack(); cleanup() }
	}
	bind := ""
	if r.ns == nil {
		// On the host's network every instance needs a port of its own:
		// bind it explicitly, on loopback only.
		bind = fmt.Sprintf("127.0.0.1:%d", inst.Port)
	}
	plan, err := startup.Detect(startup.Options{
		AppPath: r.art.Dir, StartupCommand: s.Site.Config.AppCommandLine, StartupScript: r.art.StartupScript, Settings: s.Settings,
		PythonVersion: r.art.PythonVersion, CPUCount: s.Plan.SKU.Size().CPUs(), DefaultAppPath: p.def.Dir,
		BindAddr: bind,
	})
	if err != nil {
		r.cleanup()
		return runtime.Launch{}, err
	}
	for k, v := range plan.Env {
		r.env = append(r.env, k+"="+v)
	}
	notes := append(startup.Banner(r.art.PythonVersion), plan.Messages...)
	if p.aiAgent != nil && aiAgentOn(s.Settings) {
		notes = append(notes, p.withAIAgent(ctx, s, &r))
	}
	l := runtime.Launch{Argv: plan.Argv, Env: r.env, Dir: plan.Dir, Extra: r.spec, Notes: notes, Cleanup: r.cleanup}
	if g := r.group; g != nil {
		var seen int64
		l.Explain = func() string {
			n, err := g.OOMKills()
			if err != nil || n <= seen {
				return ""
			}
			seen = n
			return oomExplanation(s.Plan)
		}
	}
	if r.ns != nil {
		l.Addr = netip.AddrPortFrom(r.ns.Addr(), uint16(inst.Port)).String()
		ns := r.ns
		l.Diagnose = func(ctx context.Context) string { return portHint(ctx, ns, inst.Port) }
	}
	return l, nil
}

// portHint says what the app listens on when it does not answer on port,
// and which setting fixes it; "" when it listens where it should (or on
// nothing yet).
func portHint(ctx context.Context, ns *netns.Namespace, port int) string {
	socks, err := ns.Listening(ctx)
	if err != nil || len(socks) == 0 {
		return ""
	}
	var others []string
	for _, a := range socks {
		if int(a.Port()) == port {
			if a.Addr().IsLoopback() {
				return fmt.Sprintf("the app listens on %s, which only its own container can reach: bind to 0.0.0.0:%d (gunicorn --bind=0.0.0.0:%d).", a, port, port)
			}
			return "" // right port, not answering yet
		}
		others = append(others, a.String())
	}
	first := socks[0].Port()
	return fmt.Sprintf("the app listens on %s, not on port %d where the platform sends requests: bind to port %d (the PORT variable), or set the app setting WEBSITES_PORT=%d.", strings.Join(others, ", "), port, port, first)
}

// Command implements deploy.Planner.
func (p *planner) Command(ctx context.Context, s deploy.Snapshot, built deploy.Artifact, argv []string) (runtime.Launch, error) {
	r, err := p.prepare(ctx, s, built, runtime.Instance{ID: strings.Repeat("0", 64), Port: p.Port(s)}, true)
	if err != nil {
		return runtime.Launch{}, err
	}
	return runtime.Launch{Argv: argv, Env: r.env, Dir: r.art.Dir, Extra: r.spec, Cleanup: r.cleanup}, nil
}

// publishScript replaces /home/site/wwwroot with a copy of the release. It
// runs as the app's user, so that the server never writes through a path in
// the app's home, which the app controls. The new tree is complete before
// it takes the old one's place.
const publishScript = `set -e
src=$1; site=$2
rm -rf "$site/.wwwroot.new" "$site/.wwwroot.old"
cp -R -P -p "$src/." "$site/.wwwroot.new"
rm -f "$site/.wwwroot.new/.slipway-artifact.json"
if [ -e "$site/wwwroot" ] || [ -L "$site/wwwroot" ]; then mv "$site/wwwroot" "$site/.wwwroot.old"; fi
mv "$site/.wwwroot.new" "$site/wwwroot"
rm -rf "$site/.wwwroot.old"`

// Publish implements deploy.Planner.
func (p *planner) Publish(ctx context.Context, s deploy.Snapshot, art deploy.Artifact) error {
	uid, gid, err := p.identity(ctx, s.Site.Name)
	if err != nil {
		return err
	}
	home, err := p.prepareHome(ctx, s, uid, gid)
	if err != nil {
		return err
	}
	seen := home
	if p.sandboxed {
		seen = sandboxHome
	}
	var out strings.Builder
	w := &limitedWriter{w: &out, n: 4096}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	spec := sandbox.Spec{
		Argv: []string{"/bin/sh", "-c", publishScript, "sh", art.Dir, seen + "/site"},
		Env:  []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"},
		Home: home, ReadOnly: []string{art.Dir}, UID: uid, GID: gid, Stdout: w, Stderr: w,
	}
	if !p.sandboxed {
		// Unconfined, the app's user could not even reach the release
		// under the data directory; and nothing is kept from it anyway.
		spec.UID, spec.GID = 0, 0
	}
	cmd, err := p.sb.Command(ctx, spec)
	if err != nil {
		return err
	}
	if err := sandbox.Run(cmd); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// emptyAppDir makes the instance's app directory of a site that has no app,
// owned by the app's user when the server runs as root.
func emptyAppDir(dir string, chown bool, uid, gid int) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if chown {
		return os.Chown(dir, uid, gid)
	}
	return nil
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// pythonLinks lays the app's Python out as App Service's Python image does
// (Oryx's runtime images): /opt/python/<version> is its prefix, and
// /opt/python/<major.minor>, /opt/python/3 and /opt/python/latest lead to
// it, so that a script naming /opt/python/3/bin/python3.13 (the run.sh of
// Microsoft's WebJobs quickstart for Python) runs as it does there. As
// there, that is the base interpreter, not the app's virtual environment.
func pythonLinks(version, python string) map[string]string {
	if python == "" || !pythonVersionRE.MatchString(version) {
		return nil
	}
	prefix := filepath.Dir(filepath.Dir(python))
	major, rest, _ := strings.Cut(version, ".")
	minor, _, _ := strings.Cut(rest, ".")
	mm := major + "." + minor
	links := map[string]string{"/opt/python/" + version: prefix, "/opt/python/latest": version, "/opt/python/" + major: mm}
	if mm != version {
		links["/opt/python/"+mm] = version
	}
	return links
}

// runtimePython is the newest of the server's Pythons of the site's
// runtime version (linuxFxVersion PYTHON|3.13); false when none is.
func (p *planner) runtimePython(s slipway.Site) (build.Interpreter, bool) {
	want, err := slipway.ParseLinuxFxVersion(s.Config.LinuxFxVersion)
	if err != nil {
		return build.Interpreter{}, false
	}
	var found build.Interpreter
	for _, i := range p.interps {
		if i.Version == want || strings.HasPrefix(i.Version, want+".") {
			found = i
		}
	}
	return found, found.Path != ""
}

var pythonVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)

func pythonPrefix(python string) string {
	// <prefix>/bin/python3 → <prefix>; system Pythons (/usr/bin) are already visible.
	prefix := filepath.Dir(filepath.Dir(python))
	if prefix == "/usr" || prefix == "/usr/local" || prefix == "/" {
		return ""
	}
	return prefix
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// launcher starts processes through the sandbox.
type launcher struct{ sb *sandbox.Sandbox }

var _ runtime.Launcher = (*launcher)(nil)

func (l *launcher) Start(ctx context.Context, ln runtime.Launch) (runtime.Process, error) {
	spec, _ := ln.Extra.(sandbox.Spec)
	spec.Argv, spec.Env, spec.Dir = ln.Argv, ln.Env, ln.Dir
	spec.Stdin, spec.Stdout, spec.Stderr = ln.Stdin, ln.Stdout, ln.Stderr
	for _, n := range ln.Notes {
		fmt.Fprintln(ln.Stdout, n)
	}
	cmd, err := l.sb.Command(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := sandbox.Start(cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.Argv[0], err)
	}
	return &process{cmd: cmd, sb: l.sb}, nil
}

type process struct {
	cmd *exec.Cmd
	sb  *sandbox.Sandbox
}

func (p *process) Wait() error { return p.cmd.Wait() }

// Signal signals the app's whole process group (inside the sandbox).
func (p *process) Signal(sig syscall.Signal) error { return p.sb.Signal(p.cmd, sig) }

// prepareDefaultSite builds (once, then reuses) the default site: the page
// an app shows before its first deployment, and the Python environment with
// gunicorn that apps deployed without a build fall back to.
func prepareDefaultSite(ctx context.Context, b *build.Builder, dir string, interps []build.Interpreter) (deploy.Artifact, error) {
	py := interps[len(interps)-1]
	for _, i := range interps { // prefer 3.12, App Service's current default, when installed
		if strings.HasPrefix(i.Version, "3.12.") {
			py = i
		}
	}
	return platformBuild(ctx, b, filepath.Join(dir, "defaultsite-"+py.Version), filepath.Join(dir, "defaultsite-src"), py.Version,
		func(src string) error {
			if err := startup.WriteDefaultSite(src); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(src, "requirements.txt"), []byte("gunicorn\n"), 0o644)
		})
}

// platformBuild returns the platform's own build in out (the default
// site, the Application Insights agent), building it first if out holds
// none: write lays out its source in the fresh folder src, built for
// pythonVersion ("3.12" or "3.12.1").
func platformBuild(ctx context.Context, b *build.Builder, out, src, pythonVersion string, write func(src string) error) (deploy.Artifact, error) {
	if a, err := deploy.ReadArtifact(out); err == nil {
		return a, nil
	}
	os.RemoveAll(out)
	os.RemoveAll(src)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return deploy.Artifact{}, err
	}
	if err := write(src); err != nil {
		return deploy.Artifact{}, err
	}
	res, err := b.Build(ctx, build.Request{SourceDir: src, OutputDir: out, LinuxFxVersion: "PYTHON|" + pythonVersion, Log: discard{}})
	if err != nil {
		return deploy.Artifact{}, err
	}
	a := deploy.Artifact{Dir: out, PythonVersion: res.PythonVersion, PythonPath: res.PythonPath, VenvDir: res.VenvDir}
	if err := deploy.WriteArtifact(a); err != nil {
		return deploy.Artifact{}, err
	}
	return a, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// buildUser runs every build. App users are named sw-<app> with only
// letters, digits and '-', so no app can be given this one.
const buildUser = "sw_build"

// buildRunner runs build commands in the sandbox as the build's user (the
// app's own; the platform's build user for the default site), with exactly
// the paths the builder declares writable (the build's output, its HOME, its
// app's pip cache, the environment being created) and readable; the data
// directory, other apps' caches, the apps' homes and the server's keys are
// not there at all.
type buildRunner struct {
	sb *sandbox.Sandbox
	// net, if set, gives every build command a network of its own: it
	// reaches package indexes outside, never the host's loopback services
	// or an app's instances.
	net *netns.Manager
	// cg, if set, puts every build command in a cgroup of buildLimits, so
	// that a build cannot starve running apps or the server.
	cg       *cgroups.Manager
	uid, gid int
	interps  []build.Interpreter
}

var _ build.Runner = (*buildRunner)(nil)

// buildLimits bound one build command: at most half the host's cores (at
// least one) and a quarter of its memory (at least 2 GB), so that running
// apps and the server keep the rest while pip compiles.
func buildLimits() cgroups.Limits {
	var mem int64 = 2 << 30
	var info syscall.Sysinfo_t
	if syscall.Sysinfo(&info) == nil {
		if q := int64(info.Totalram) * int64(info.Unit) / 4; q > mem {
			mem = q
		}
	}
	return cgroups.Limits{MemoryBytes: mem, CPUs: max(1, float64(goruntime.NumCPU())/2), Pids: 4096}
}

func (r *buildRunner) interpreterPrefixes() []string {
	var out []string
	for _, i := range r.interps {
		out = append(out, pythonPrefix(i.Path))
	}
	return out
}

func (r *buildRunner) Run(ctx context.Context, c build.Cmd) error {
	rw := dedupe(c.Writable)
	var ro []string
	for _, p := range append(r.interpreterPrefixes(), c.Readable...) {
		if p != "" && !slices.Contains(rw, p) {
			ro = append(ro, p)
		}
	}
	uid, gid := r.uid, r.gid
	if c.Owner != nil {
		uid, gid = c.Owner.UID, c.Owner.GID
	}
	spec := sandbox.Spec{
		Argv: c.Argv, Env: c.Env, Dir: c.Dir,
		ReadOnly: dedupe(ro), ReadWrite: rw,
		UID: uid, GID: gid, Stdout: c.Stdout, Stderr: c.Stderr,
	}
	if r.net != nil {
		ns, err := r.net.New(ctx)
		if err != nil {
			return err
		}
		defer ns.Close()
		spec.NetNS = ns.Path()
	}
	if r.cg != nil {
		tag := make([]byte, 6)
		rand.Read(tag)
		g, err := r.cg.New("b-"+hex.EncodeToString(tag), buildLimits())
		if err != nil {
			return fmt.Errorf("limiting the build's resources: %w", err)
		}
		defer g.Close()
		spec.CgroupProcs = g.ProcsFiles()
	}
	cmd, err := r.sb.Command(ctx, spec)
	if err != nil {
		return err
	}
	if err := sandbox.Start(cmd); err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // cancelling the build stops the whole sandbox
		select {
		case <-ctx.Done():
			r.sb.Signal(cmd, syscall.SIGKILL)
		case <-done:
		}
	}()
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// runningInstances are the site's instances whose app runs (ready, or
// failing health checks but running), which its WebJobs run in.
func runningInstances(rtm *runtime.Runtime, site string) []scm.RunningInstance {
	var out []scm.RunningInstance
	for _, in := range rtm.Instances(site) {
		switch in.State {
		case runtime.StateReady, runtime.StateUnhealthy, runtime.StateRemoved:
			out = append(out, scm.RunningInstance{ID: in.ID, Incarnation: in.Incarnation})
		}
	}
	return out
}
