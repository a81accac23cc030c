package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func deployCommands() []command {
	gn := []flagDef{fGroup, fApp}
	write := withUnsupported(nil, uSlot, uIDs, uPolicy) // az's flags Slipway refuses on every command here but one
	uStatus := unsupported("startup tracking and Kudu warm-up are not supported yet", "--track-status", "--enable-kudu-warmup")
	return []command{
		{path: "webapp deploy", short: "Deploy a package, a static file or a startup script to a web app (OneDeploy, /api/publish).", run: webappDeploy, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--src-path"}, Help: "Path of the package to deploy, e.g. app.zip. Give this or --src-url."},
			flagDef{Names: []string{"--src-url"}, Help: "URL of the package to deploy: a blob of this server's blob service with a SAS (https://<account>.blob.<domain>:<port>/<container>/app.zip?<SAS>, or http://127.0.0.1:<blob port>/<account>/...); the server reads it itself."},
			flagDef{Names: []string{"--type"}, Help: "Package type: zip, startup (a startup script) or static (one file); war, jar, ear and lib are Java's. Default: from the extension (.sh and .bat: startup; other than .zip/.war/.jar/.ear: static)."},
			flagDef{Names: []string{"--target-path"}, Help: "Where a static file or startup script goes: a path under /home/site/wwwroot, relative or absolute (default for startup: startup.sh)."},
			flagDef{Names: []string{"--async"}, Kind: kindBool, Help: "Return once the package is accepted, without waiting: true or false."},
			flagDef{Names: []string{"--restart"}, Kind: kindBool, Help: "Restart the app after deploying: true (default) or false."},
			flagDef{Names: []string{"--clean"}, Kind: kindBool, Help: "Clean the target first: true or false. A zip with true (its default) replaces the app, with false goes over it, keeping the files it lacks; a static file or startup script with true becomes the app's only file."},
		), write, uStatus, uEnrichedErrors,
			unsupported("stack-specific defaults are always applied", "--ignore-stack"),
			unsupported("the deployment timeout is not configurable yet", "--timeout"),
			unsupported("deployment tags are not supported yet", "--deploymentTag --tag"),
			unsupported("Secure Build reports are an Azure service Slipway does not have", "--show-secure-build"))},
		{path: "webapp deployment source config-zip", short: "Deploy a zip with Kudu's zipdeploy.", run: configZip, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--src"}, Required: true, Help: "Path of the zip file."},
		), write, uStatus, unsupported("the deployment timeout is not configurable yet", "--timeout -t"))},
		{path: "webapp deployment list-publishing-credentials", short: "Get the app's publishing (Kudu) credentials.", run: listPublishingCredentials, flags: withUnsupported(gn, write)},
		{path: "webapp deployment list-publishing-profiles", short: "Get the app's publish profiles.", run: listPublishingProfiles, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--xml"}, Kind: kindBool, Help: "Print the publish profile XML as-is."},
		), write)},
		{path: "webapp log tail", short: "Stream the app's live log until interrupted.", run: logTail, flags: withUnsupported(gn, write,
			unsupported("the log stream cannot be limited to one provider yet", "--provider"))},
		{path: "webapp log config", short: "Configure the app's logging: file-system logs of the container under /home/LogFiles, their size quota and retention.", run: logConfig, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--docker-container-logging"}, Help: "Container (app output) logs: filesystem or off."},
			flagDef{Names: []string{"--web-server-logging"}, Help: "Web server logs: filesystem or off (the same files here)."},
			flagDef{Names: []string{"--retention-days"}, Help: "Slipway's own (the portal's Retention Period on Azure): delete log files older than this many days (0: keep until the quota)."},
			flagDef{Names: []string{"--quota-mb"}, Help: "Slipway's own (the portal's Quota on Azure): size quota of the log files in MB (25-100; default 35)."},
		), write, unsupported("only the file-system container and web server logs are supported",
			"--application-logging", "--level", "--detailed-error-messages", "--failed-request-tracing"))},
		{path: "webapp log deployment show", short: "Show a deployment's log (the latest by default).", run: logDeploymentShow, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--deployment-id"}, Help: "Deployment id. Default: the latest."},
		), uSlot)},
		{path: "webapp log startup list", short: "List the app's container startup logs (/home/LogFiles/StartupLogs), the newest day first.", run: logStartupList, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--outcome"}, Help: "Only the logs of starts that ended so: success or failure."},
			flagDef{Names: []string{"--instance"}, Help: "Only the logs of this instance (its machineName in `webapp list-instances`, e.g. slipway0-0)."},
		), uSlot)},
		{path: "webapp log startup show", short: "Show a container startup log: by default the newest day's, its failure log first.", run: logStartupShow, flags: withUnsupported(append(gn[:2:2],
			flagDef{Names: []string{"--filename", "-f"}, Help: "The startup log to show, as `webapp log startup list` names it."},
			flagDef{Names: []string{"--instance"}, Help: "The newest startup log of this instance (its machineName)."},
		), uSlot)},
	}
}

// logConfig reads the site's logging document, changes its file-system
// part as az webapp log config does (httpLogs.fileSystem: enabled,
// retentionInMb, retentionInDays) and puts it back.
func logConfig(ctx context.Context, inv *invocation) error {
	rg, name := inv.flags.str("resource-group"), inv.flags.str("name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	path := c.sitePath(rg, name) + "/config/logs"
	doc, err := c.armMap(ctx, http.MethodGet, path, apiWeb, nil)
	if err != nil {
		return err
	}
	props, _ := doc["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	httpLogs, _ := props["httpLogs"].(map[string]any)
	if httpLogs == nil {
		httpLogs = map[string]any{}
	}
	fsys, _ := httpLogs["fileSystem"].(map[string]any)
	if fsys == nil {
		fsys = map[string]any{"retentionInMb": 35, "enabled": false}
	}
	for _, f := range []string{"docker-container-logging", "web-server-logging"} {
		switch v := inv.flags.str(f); v {
		case "":
		case "filesystem":
			fsys["enabled"] = true
		case "off":
			fsys["enabled"] = false
		default:
			return usageErrorf(inv.cmd.path, "argument --%s: invalid choice %q (choose from 'filesystem', 'off')", f, v)
		}
	}
	if v := inv.flags.str("retention-days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return usageErrorf(inv.cmd.path, "argument --retention-days: %q is not a number of days", v)
		}
		fsys["retentionInDays"] = n
	}
	if v := inv.flags.str("quota-mb"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 25 || n > 100 {
			return usageErrorf(inv.cmd.path, "argument --quota-mb: %q is not between 25 and 100", v)
		}
		fsys["retentionInMb"] = n
	}
	httpLogs["fileSystem"] = fsys
	props["httpLogs"] = httpLogs
	out, err := c.armMap(ctx, http.MethodPut, path, apiWeb, map[string]any{"properties": props})
	if err != nil {
		return err
	}
	return inv.printResult(out, nil)
}

// packagePath resolves a package path given on the command line against
// the current folder (PWD), so that an in-process Run behaves like a process
// started in that folder.
func (inv *invocation) packagePath(p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	dir, err := inv.projectDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, p), nil
}

// upload POSTs a package file to the app's SCM site and returns the answer.
func (k *kudu) upload(ctx context.Context, pathQuery, file string) (*response, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, exitErrorf("Check the path.", "Cannot read the package %s: %v", file, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	req, err := k.request(ctx, http.MethodPost, pathQuery, f, "application/octet-stream")
	if err != nil {
		return nil, err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Cache-Control", "no-cache")
	return k.c.do(req)
}

// publishFromURL POSTs OneDeploy's JSON body {"packageUri": ...} to the
// app's SCM site: the server reads the package from there.
func (k *kudu) publishFromURL(ctx context.Context, pathQuery, packageURI string) (*response, error) {
	body, err := json.Marshal(map[string]string{"packageUri": packageURI})
	if err != nil {
		return nil, fmt.Errorf("encoding the package URL: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	req, err := k.request(ctx, http.MethodPost, pathQuery, bytes.NewReader(body), "application/json")
	if err != nil {
		return nil, err
	}
	req.Header.Set("Cache-Control", "no-cache")
	return k.c.do(req)
}

// maskSAS hides a SAS's signature (sig) in a URL that is printed.
func maskSAS(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(the URL given)"
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "sig") {
			q[k] = []string{"***"}
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// deployHint is where users look when a deployment fails.
func deployHint(rg, app string) string {
	return fmt.Sprintf("See the build and deployment log with `slipway webapp log deployment show -g %s -n %s`.", rg, app)
}

// kuduPostError maps Kudu's answers to a package upload to az's messages
// (docs/arm.md §1.13, §1.14).
func kuduPostError(err error, k *kudu, rg, app string) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Status {
	case http.StatusNotFound:
		return exitErrorf("Update the Slipway server.", "This API isn't available in this environment yet!")
	case http.StatusConflict:
		return exitErrorf(fmt.Sprintf("Wait for it to finish (`slipway webapp log deployment show -g %s -n %s`), or remove WEBSITE_RUN_FROM_PACKAGE if it is a URL.", rg, app),
			"Another deployment is in progress, or WEBSITE_RUN_FROM_PACKAGE is set to a URL. You can track the ongoing deployment at %s/api/deployments/latest. (%s)", k.base, ae.Message)
	}
	return exitErrorf(deployHint(rg, app), "The deployment was refused: %d %s", ae.Status, ae.Message)
}

// deployStatus reads the fields of a Kudu deployment record the CLI needs.
func deployStatus(d map[string]any) (id string, status int, complete bool) {
	id = str(d, "id")
	if f, ok := d["status"].(float64); ok {
		status = int(f)
	}
	complete, _ = d["complete"].(bool)
	return id, status, complete || status == 3 || status == 4
}

// waitDeployment polls /api/deployments/latest until the latest deployment
// completes; when wantID is known (the SCM-DEPLOYMENT-ID answer header) it
// waits for that deployment to become the latest first. With logs, new
// deployment log lines go to stderr as they appear; otherwise a status line
// is printed whenever it changes.
func (inv *invocation) waitDeployment(ctx context.Context, k *kudu, rg, app string, logs bool, wantID string) (map[string]any, error) {
	deadline := time.Now().Add(inv.r.deployTimeout)
	var out io.Writer = inv.stderr
	if inv.flags.boolean("only-show-errors") {
		out = io.Discard // the streamed log is progress, as az's
	}
	lw := &logWatcher{k: k, w: out, seen: map[string]bool{}, details: map[string]int{}}
	lastStatus := ""
	start := time.Now()
	for {
		var d map[string]any
		err := k.json(ctx, http.MethodGet, "/api/deployments/latest", &d)
		if err != nil && !isStatus(err, http.StatusNotFound) {
			return nil, fmt.Errorf("checking the deployment status: %w", err)
		}
		if d != nil {
			id, status, complete := deployStatus(d)
			// A temp id, or an older deployment than ours, is not the one to report.
			temp := strings.HasPrefix(id, "temp") || d["is_temp"] == true || (wantID != "" && !strings.EqualFold(id, wantID))
			if logs && id != "" && !temp {
				if err := lw.poll(ctx, id); err != nil {
					return nil, err
				}
			} else if !logs {
				line := str(d, "progress")
				if line == "" {
					line = str(d, "status_text")
				}
				if line != "" && line != lastStatus {
					// The deployment's own clock: a synchronous push has
					// built and rolled out before this loop starts.
					began := start
					if t, err := time.Parse(time.RFC3339Nano, str(d, "start_time")); err == nil && t.Before(began) {
						began = t
					}
					inv.progressf("Status: %s Time: %d(s)", line, int(time.Since(began).Seconds()))
					lastStatus = line
				}
			}
			if complete && !temp {
				if status == 3 {
					msg := str(d, "status_text")
					if msg == "" {
						msg = str(d, "message")
					}
					return d, &ExitError{Code: ExitFailure, Message: fmt.Sprintf("Deployment %s failed: %s", id, strings.TrimSpace(msg)), Hint: deployHint(rg, app)}
				}
				return d, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, exitErrorf(fmt.Sprintf("Check its progress with `slipway webapp log deployment show -g %s -n %s`.", rg, app),
				"Timeout reached while tracking the deployment; it is still ongoing.")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(inv.r.pollInterval):
		}
	}
}

// logEntry is one line of a Kudu deployment log (docs/appservice.md §5).
type logEntry struct {
	LogTime    string `json:"log_time"`
	ID         string `json:"id"`
	Message    string `json:"message"`
	Type       int    `json:"type"`
	DetailsURL string `json:"details_url"`
}

// logWatcher prints the new lines of a deployment's log and of its entries'
// details as they appear, in log order.
type logWatcher struct {
	k       *kudu
	w       io.Writer
	seen    map[string]bool // log entry ids printed
	details map[string]int  // details URL -> detail lines printed
}

// poll fetches the deployment's log and prints, entry by entry, each new
// message and the new lines of the entry's details. Every entry's details
// are read on every poll: a step's last lines can land after the next
// summary entry (a deployment has only a few entries with details).
func (lw *logWatcher) poll(ctx context.Context, id string) error {
	var entries []logEntry
	if err := lw.k.json(ctx, http.MethodGet, "/api/deployments/"+url.PathEscape(id)+"/log", &entries); err != nil {
		if isStatus(err, http.StatusNotFound) {
			return nil
		}
		return fmt.Errorf("reading the deployment log: %w", err)
	}
	for _, e := range entries {
		key := e.ID + "\x00" + e.LogTime + "\x00" + e.Message
		if !lw.seen[key] {
			lw.seen[key] = true
			fmt.Fprintln(lw.w, strings.TrimRight(e.Message, "\n"))
		}
		if e.DetailsURL != "" {
			if err := lw.printDetails(ctx, e.DetailsURL); err != nil {
				return err
			}
		}
	}
	return nil
}

func (lw *logWatcher) printDetails(ctx context.Context, detailsURL string) error {
	u, err := url.Parse(detailsURL)
	if err != nil {
		return nil // not a URL we can follow; the summary line was printed
	}
	var lines []logEntry
	if err := lw.k.json(ctx, http.MethodGet, u.RequestURI(), &lines); err != nil {
		if isStatus(err, http.StatusNotFound) {
			return nil
		}
		return fmt.Errorf("reading the deployment log details: %w", err)
	}
	for _, l := range lines[min(lw.details[detailsURL], len(lines)):] {
		fmt.Fprintln(lw.w, strings.TrimRight(l.Message, "\n"))
	}
	lw.details[detailsURL] = max(lw.details[detailsURL], len(lines))
	return nil
}

func webappDeploy(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	srcURL := inv.flags.str("src-url")
	var src string
	switch {
	case srcURL != "" && inv.flags.str("src-path") != "":
		return usageErrorf(inv.cmd.path, "give either --src-path or --src-url, not both")
	case srcURL != "":
		u, err := url.Parse(srcURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return usageErrorf(inv.cmd.path, "argument --src-url: %q is not an http or https URL", srcURL)
		}
		src = u.Path // its extension tells the type
	case inv.flags.str("src-path") == "":
		return usageErrorf(inv.cmd.path, "one of --src-path and --src-url is required")
	default:
		var err error
		if src, err = inv.packagePath(inv.flags.str("src-path")); err != nil {
			return err
		}
	}
	typ := strings.ToLower(inv.flags.str("type"))
	if typ == "" {
		// As az infers it (docs/arm.md §1.13): war, jar, ear and zip are
		// themselves, .sh and .bat startup scripts, anything else a static
		// file (whose --target-path the server then asks for).
		switch ext := strings.ToLower(path.Ext(filepath.ToSlash(src))); ext {
		case ".zip", ".war", ".jar", ".ear":
			typ = ext[1:]
		case ".sh", ".bat":
			typ = "startup"
		default:
			typ = "static"
		}
		inv.progressf("Deployment type: %s. To override deployment type, please specify the --type parameter. Possible values: war, jar, ear, zip, startup, static", typ)
	}
	// trackDeploymentProgress: the server then names the deployment this
	// push made, so that the one reported is ours, not another push's.
	q := url.Values{"type": {typ}, "trackDeploymentProgress": {"true"}}
	if inv.flags.has("async") {
		q.Set("async", strconv.FormatBool(inv.flags.boolean("async")))
	}
	if inv.flags.has("restart") {
		q.Set("restart", strconv.FormatBool(inv.flags.boolean("restart")))
	}
	if inv.flags.has("clean") {
		q.Set("clean", strconv.FormatBool(inv.flags.boolean("clean")))
	}
	if p := inv.flags.str("target-path"); p != "" {
		q.Set("path", p)
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	k, _, err := c.kuduFor(ctx, rg, app)
	if err != nil {
		return err
	}
	var resp *response
	if srcURL != "" {
		// Kudu reads the package from the URL (a blob of the server's
		// own blob service) before it answers.
		inv.progressf("Deploying from URL: %s", maskSAS(srcURL))
		resp, err = k.publishFromURL(ctx, "/api/publish?"+q.Encode(), srcURL)
	} else {
		resp, err = k.upload(ctx, "/api/publish?"+q.Encode(), src)
	}
	if err != nil {
		return kuduPostError(err, k, rg, app)
	}
	if inv.flags.boolean("async") {
		inv.progressf("Deployment has started. Track it at %s/api/deployments/latest or with `slipway webapp log deployment show -g %s -n %s`.", k.base, rg, app)
		return nil
	}
	d, err := inv.waitDeployment(ctx, k, rg, app, false, resp.Header.Get("SCM-DEPLOYMENT-ID"))
	if err != nil {
		return err
	}
	return inv.printResult(d, nil)
}

func configZip(ctx context.Context, inv *invocation) error {
	rg, app := inv.flags.str("resource-group"), inv.flags.str("name")
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	k, _, err := c.kuduFor(ctx, rg, app)
	if err != nil {
		return err
	}
	src, err := inv.packagePath(inv.flags.str("src"))
	if err != nil {
		return err
	}
	resp, err := k.upload(ctx, "/api/zipdeploy?isAsync=true", src)
	if err != nil {
		return kuduPostError(err, k, rg, app)
	}
	d, err := inv.waitDeployment(ctx, k, rg, app, false, resp.Header.Get("SCM-DEPLOYMENT-ID"))
	if err != nil {
		return err
	}
	return inv.printResult(d, nil)
}

func listPublishingCredentials(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	u, err := c.armMap(ctx, http.MethodPost, c.sitePath(inv.flags.str("resource-group"), inv.flags.str("name"))+"/config/publishingcredentials/list", apiWeb, nil)
	if err != nil {
		return err
	}
	return inv.printResult(flatten(u), nil)
}

func listPublishingProfiles(ctx context.Context, inv *invocation) error {
	c, err := inv.connect(ctx)
	if err != nil {
		return err
	}
	data, err := c.publishXML(ctx, inv.flags.str("resource-group"), inv.flags.str("name"))
	if err != nil {
		return err
	}
	if inv.flags.boolean("xml") {
		_, err := inv.stdout.Write(data)
		return err
	}
	profiles, err := parseProfiles(data)
	if err != nil {
		return err
	}
	return inv.printResult(profiles, []column{{"ProfileName", "profileName"}, {"PublishMethod", "publishMethod"}, {"PublishUrl", "publishUrl"}, {"UserName", "userName"}})
}

// logTail copies the app's SCM log stream to stdout until the server closes
// it or ctx is cancelled (Ctrl-C), which is a normal end.
func logTail(ctx context.Context, inv *invocation) error {
	k, err := inv.appKudu(ctx)
	if err != nil {
		return err
	}
	return k.tail(ctx, inv.stdout)
}

// tail streams /api/logstream to w.
func (k *kudu) tail(ctx context.Context, w io.Writer) error {
	req, err := k.request(ctx, http.MethodGet, "/api/logstream", nil, "")
	if err != nil {
		return err
	}
	req.Header.Set("x-ms-client-request-id", k.c.requestID)
	resp, err := k.c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return k.c.reachError(fmt.Errorf("GET %s/api/logstream: %w", k.base, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return exitErrorf("Check that the app exists and the server is healthy.", "Failed to connect to '%s/api/logstream' with status code '%d' and reason '%s'.", k.base, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return fmt.Errorf("writing the log stream: %w", werr)
			}
			if f, ok := w.(interface{ Flush() error }); ok {
				_ = f.Flush()
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading the log stream: %w", err)
		}
	}
}

// logDeploymentShow prints a deployment's log as az does (a JSON list of
// entries). Each entry that has details also carries them, under
// "details", so that a failed build's output is visible without a second
// command.
func logDeploymentShow(ctx context.Context, inv *invocation) error {
	k, err := inv.appKudu(ctx)
	if err != nil {
		return err
	}
	id := inv.flags.str("deployment-id")
	if id == "" {
		var latest map[string]any
		if err := k.json(ctx, http.MethodGet, "/api/deployments/latest", &latest); err != nil {
			if isStatus(err, http.StatusNotFound) {
				return inv.printResult([]any{}, nil) // no deployment yet: az prints []
			}
			return err
		}
		if id = str(latest, "id"); id == "" {
			return inv.printResult([]any{}, nil)
		}
	}
	var entries []map[string]any
	if err := k.json(ctx, http.MethodGet, "/api/deployments/"+url.PathEscape(id)+"/log", &entries); err != nil {
		return err
	}
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		if du := str(e, "details_url"); du != "" {
			if u, err := url.Parse(du); err == nil {
				var details []any
				if err := k.json(ctx, http.MethodGet, u.RequestURI(), &details); err != nil && !isStatus(err, http.StatusNotFound) {
					return err
				}
				if details != nil {
					e["details"] = details
				}
			}
		}
		out = append(out, e)
	}
	return inv.printResult(out, []column{{"LogTime", "log_time"}, {"Type", "type"}, {"Message", "message"}})
}

// logStartupList lists the app's startup logs (Kudu's /api/startuplogs).
func logStartupList(ctx context.Context, inv *invocation) error {
	outcome, instance := inv.flags.str("outcome"), inv.flags.str("instance")
	if outcome != "" && outcome != "success" && outcome != "failure" {
		return exitErrorf("Use --outcome success or --outcome failure.", "Invalid --outcome '%s'.", outcome)
	}
	k, err := inv.appKudu(ctx)
	if err != nil {
		return err
	}
	q := url.Values{}
	if outcome != "" {
		q.Set("type", outcome)
	}
	if instance != "" {
		q.Set("instance", instance)
	}
	var list []any
	pathQuery := "/api/startuplogs"
	if len(q) > 0 {
		pathQuery += "?" + q.Encode()
	}
	if err := k.json(ctx, http.MethodGet, pathQuery, &list); err != nil {
		if isStatus(err, http.StatusNotFound) {
			return inv.printResult([]any{}, nil) // none of that instance: az prints []
		}
		return err
	}
	return inv.printResult(list, nil)
}

// logStartupShow shows one startup log, as az does: its name, date,
// instance and outcome (from Kudu's X-StartupLog-* headers) and content.
func logStartupShow(ctx context.Context, inv *invocation) error {
	file, instance := inv.flags.str("filename"), inv.flags.str("instance")
	if file != "" && instance != "" {
		return exitErrorf("--filename picks one log; --instance the newest of one instance.", "--filename and --instance cannot be used together.")
	}
	k, err := inv.appKudu(ctx)
	if err != nil {
		return err
	}
	pathQuery := "/api/startuplogs?latest=true"
	switch {
	case file != "":
		pathQuery = "/api/startuplogs/" + url.PathEscape(file)
	case instance != "":
		pathQuery += "&instance=" + url.QueryEscape(instance)
	}
	ctx, cancel := context.WithTimeout(ctx, armTimeout)
	defer cancel()
	req, err := k.request(ctx, http.MethodGet, pathQuery, nil, "")
	if err != nil {
		return err
	}
	resp, err := k.c.do(req)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return exitErrorf("List the app's startup logs with `slipway webapp log startup list`; an app has them once it has started.", "No startup log was found: %v", err)
		}
		return err
	}
	out := map[string]any{}
	for _, h := range []string{"Filename", "Date", "Instance", "Outcome"} {
		if v := resp.Header.Get("X-StartupLog-" + h); v != "" {
			out[strings.ToLower(h)] = v
		}
	}
	out["content"] = string(resp.Body)
	return inv.printResult(out, nil)
}
