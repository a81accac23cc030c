package scm

// Local Git deployment, as App Service does it
// (https://learn.microsoft.com/azure/app-service/deploy-local-git): each app
// has a repository at https://<app>.scm.<domain>/<app>.git that a git client
// pushes to with the app's publishing credentials. The repository is served
// over git's smart HTTP protocol by the real git (receive-pack and
// upload-pack with --stateless-rpc). A push that moves the deployment branch
// (the app setting DEPLOYMENT_BRANCH, "master" by default, as on App
// Service) deploys that commit: its tree (git archive) becomes the package,
// built unless SCM_DO_BUILD_DURING_DEPLOYMENT says false (Kudu builds git
// deployments by default), and the push waits for the deployment, its log
// shown to the client as "remote:" lines, as Kudu's push does.
//
// The repository is hostile input (anyone with the publishing credentials
// pushes it) but lives where no app can write: <data>/sites/<app>/
// repository.git, beside the app's home, not in it, and removed with the
// site. git runs with no hooks, no system or global configuration, fsck
// of every received object, and a bound on what a push may send.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

const (
	maxPushBytes         = 1 << 30 // what one push may send (receive.maxInputSize)
	defaultMaxRepository = 2 << 30 // Config.MaxRepository's default
	maxCommandLen        = 1 << 20 // the ref update commands before the pack
	gitTimeout           = 15 * time.Minute
	maxFetches           = 4 // at once per site: each runs pack-objects over the repository
)

// gitRequest tells a git smart-HTTP path: /<repo>.git/info/refs (with
// ?service=) or /<repo>.git/git-receive-pack|git-upload-pack.
func gitRequest(r *http.Request) (repo, service string, advertise, ok bool) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	repo, rest, found := strings.Cut(p, ".git/")
	if !found || repo == "" || strings.Contains(repo, "/") {
		return "", "", false, false
	}
	switch {
	case rest == "info/refs" && r.Method == http.MethodGet:
		service, advertise = r.URL.Query().Get("service"), true
	case (rest == "git-receive-pack" || rest == "git-upload-pack") && r.Method == http.MethodPost:
		service = rest
	default:
		return "", "", false, false
	}
	if service != "git-receive-pack" && service != "git-upload-pack" {
		return "", "", false, false
	}
	return repo, service, advertise, true
}

// serveGit answers a git smart-HTTP request for the app's repository.
func (h *Handler) serveGit(w http.ResponseWriter, r *http.Request, s slipway.Site, repo, service string, advertise bool) error {
	if h.cfg.RepoDir == nil {
		return slipway.Errorf(slipway.ENOTFOUND, "Local Git deployment is not available on this server.")
	}
	// A slot's repository is named for its app, as az's URL names it
	// (https://<user>@<app>-<slot>.scm.<domain>/<app>.git).
	if !strings.EqualFold(repo, s.Name) && (s.SlotOf == "" || !strings.EqualFold(repo, s.SlotOf)) {
		return slipway.Errorf(slipway.ENOTFOUND, "No repository %s.git here: this app's is /%s.git.", repo, s.Name)
	}
	dir := h.cfg.RepoDir(s.Name)
	if err := initRepo(r.Context(), dir); err != nil {
		return err
	}
	sub := strings.TrimPrefix(service, "git-")
	// Every answer is git's output, as long as the repository makes it: a
	// client that takes nothing for StallTimeout is gone.
	out := stallWriter{w: w, rc: http.NewResponseController(w), timeout: h.cfg.StallTimeout}
	if advertise {
		w.Header().Set("Content-Type", "application/x-"+service+"-advertisement")
		w.Header().Set("Cache-Control", "no-cache")
		io.WriteString(out, pktLine("# service="+service+"\n")+"0000")
		return runGit(r.Context(), dir, nil, out, sub, "--stateless-rpc", "--advertise-refs", ".")
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-"+service+"-request" {
		return slipway.Errorf(slipway.EINVALID, "A %s request must have Content-Type application/x-%s-request, not %q.", service, service, ct)
	}
	if service == "git-receive-pack" {
		// Pushes take turns, so that the bound on the repository holds.
		if !h.startPush(dir) {
			return slipway.Errorf(slipway.ECONFLICT, "Another push to %s.git is in progress. Please try again when it completes.", s.Name)
		}
		defer h.endPush(dir)
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxPushBytes)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return slipway.Errorf(slipway.EINVALID, "The request body is not gzip: %v", err)
		}
		body = io.LimitReader(zr, maxPushBytes+1)
	}
	w.Header().Set("Content-Type", "application/x-"+service+"-result")
	w.Header().Set("Cache-Control", "no-cache")
	if service == "git-upload-pack" {
		leave, err := h.enter("git fetches", s, maxFetches)
		if err != nil {
			return err
		}
		defer leave()
		return runGit(r.Context(), dir, body, out, sub, "--stateless-rpc", ".")
	}
	return h.receivePack(out, r, s, dir, body)
}

// receivePack stores a push and deploys it when it moved the deployment
// branch. The client's ref commands are read first (for its capabilities);
// git's answer is held back until the deployment has run, so that its log
// can follow as progress ("remote:" lines) before the final flush.
func (h *Handler) receivePack(w stallWriter, r *http.Request, s slipway.Site, dir string, body io.Reader) error {
	ctx := r.Context()
	br := bufio.NewReader(body)
	head, caps, err := readCommands(br)
	if err != nil {
		return err
	}
	settings, err := h.cfg.Store.Settings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	ref := "refs/heads/" + slipway.DeploymentBranch(settings)
	before := revParse(ctx, dir, ref)
	room, err := h.repoRoom(ctx, s, dir)
	if err != nil {
		return err
	}

	// The repository lies beside the platform's own data: the pack is
	// taken only above the disk's reserve, checked before and as it
	// arrives. A refused pack fails receive-pack, which drops its
	// quarantined objects and moves no ref.
	var pack io.Reader = io.MultiReader(bytes.NewReader(head), br)
	var reserved *diskreserve.Reader
	if h.reserve != nil {
		if err := h.reserve.Check(r.ContentLength); errors.Is(err, diskreserve.ErrShort) {
			return errPushDiskShort
		} else if err != nil {
			return err
		}
		reserved = h.reserve.Reader(pack)
		pack = reserved
	}
	var out bytes.Buffer
	if err := runGit(ctx, dir, pack, &out,
		"-c", "receive.maxInputSize="+strconv.FormatInt(room, 10), "receive-pack", "--stateless-rpc", "."); err != nil {
		if reserved != nil && errors.Is(reserved.Err(), diskreserve.ErrShort) {
			return errPushDiskShort
		}
		return err
	}
	answer := out.Bytes()
	sideband := strings.Contains(caps, "side-band") // side-band or side-band-64k
	if !sideband || !bytes.HasSuffix(answer, []byte("0000")) {
		// Nothing to show the log in: answer, then deploy as the push waits.
		w.Write(answer)
		h.deployPush(ctx, s, dir, ref, before, func(string) {})
		return nil
	}
	w.Write(answer[:len(answer)-4])
	w.rc.Flush()
	h.deployPush(ctx, s, dir, ref, before, func(line string) {
		io.WriteString(w, pktLine("\x02"+line+"\n"))
		w.rc.Flush()
	})
	io.WriteString(w, "0000")
	return nil
}

func (h *Handler) startPush(dir string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pushing[dir] {
		return false
	}
	h.pushing[dir] = true
	return true
}

func (h *Handler) endPush(dir string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.pushing, dir)
}

// errPushDiskShort refuses a push that would take the disk space kept
// for the platform's own data (Config.DiskReserve): 503 with Retry-After,
// as the condition is the server's and passes when space is freed.
var errPushDiskShort = slipway.Errorf(slipway.EUNAVAILABLE, "The push was not stored: the server is short of disk space. Try again later; the server's operator has been warned.")

// repoRoom returns what the next push may send: the repository lies
// outside the app's quota, so it is bounded by Config.MaxRepository. A
// full repository first drops what no branch or tag reaches any more.
func (h *Handler) repoRoom(ctx context.Context, s slipway.Site, dir string) (int64, error) {
	used := diskUsage(dir)
	if used >= h.cfg.MaxRepository {
		if err := runGit(ctx, dir, nil, nil, "gc", "--quiet", "--prune=now"); err != nil {
			return 0, err
		}
		used = diskUsage(dir)
	}
	if used >= h.cfg.MaxRepository {
		return 0, slipway.Errorf(slipway.ECONFLICT, "The Local Git repository of '%s' takes %d MB, its limit: delete branches and tags you no longer need, and push again.", s.Name, h.cfg.MaxRepository>>20)
	}
	return min(maxPushBytes, h.cfg.MaxRepository-used), nil
}

// diskUsage returns the bytes the files under dir take on disk.
func diskUsage(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// deployPush deploys the branch's commit when the push moved it; say gets
// the lines the client shows.
func (h *Handler) deployPush(ctx context.Context, s slipway.Site, dir, ref, before string, say func(string)) {
	after := revParse(ctx, dir, ref)
	branch := strings.TrimPrefix(ref, "refs/heads/")
	if after == "" || after == before {
		say(fmt.Sprintf("No deployment: the push did not change branch '%s' (DEPLOYMENT_BRANCH), which is the one deployed.", branch))
		return
	}
	say(fmt.Sprintf("Updating branch '%s'.", branch))
	author, email, message := commitInfo(ctx, dir, after)
	// The commit's tree goes straight into the deployment's package store,
	// which bounds it as it bounds a zip push.
	pr, pw := io.Pipe()
	archived := make(chan error, 1)
	go func() {
		err := runGit(ctx, dir, nil, pw, "archive", "--format=zip", after)
		pw.CloseWithError(err)
		archived <- err
	}()
	d, err := h.cfg.Deployer.Submit(ctx, s, pr, deploy.Options{Deployer: "LocalGit", Author: author, AuthorEmail: email,
		Message: message, BuildByDefault: true, Restart: true})
	pr.Close() // git stops writing if the store stopped reading
	<-archived
	if err != nil {
		say("Deployment failed: " + slipway.ErrorMessage(err))
		return
	}
	say(fmt.Sprintf("Deploying commit %s (deployment %s).", after[:min(len(after), 10)], d.ID))
	if err := h.cfg.Deployer.Wait(ctx, s.Name); err != nil {
		say("Stopped waiting for the deployment: " + err.Error())
		return
	}
	last := ""
	if entries, err := h.cfg.Store.DeploymentLog(ctx, d.Site, d.ID); err == nil {
		for _, e := range entries {
			say(e.Message)
			last = e.Message
		}
	}
	if d, err = h.cfg.Store.GetDeployment(ctx, s.Name, d.ID); err != nil {
		say("Reading the deployment: " + err.Error())
		return
	}
	if d.Status == slipway.DeployFailed {
		say("Deployment Failed. " + d.StatusText)
		return
	}
	if last != "Deployment successful." {
		say("Deployment successful.")
	}
}

// readCommands reads the pkt-lines before the pack (ref updates, the
// first with the client's capabilities after a NUL) up to the flush,
// returning them as read.
func readCommands(br *bufio.Reader) (head []byte, caps string, err error) {
	bad := func(why string) error {
		return slipway.Errorf(slipway.EINVALID, "Not a git receive-pack request: %s.", why)
	}
	for len(head) < maxCommandLen {
		var n [4]byte
		if _, err := io.ReadFull(br, n[:]); err != nil {
			return nil, "", bad("it ends before its commands do")
		}
		size, err := strconv.ParseUint(string(n[:]), 16, 16)
		if err != nil {
			return nil, "", bad("a bad pkt-line length")
		}
		head = append(head, n[:]...)
		if size == 0 {
			return head, caps, nil
		}
		if size < 4 {
			return nil, "", bad("a bad pkt-line length")
		}
		line := make([]byte, size-4)
		if _, err := io.ReadFull(br, line); err != nil {
			return nil, "", bad("it ends inside a command")
		}
		head = append(head, line...)
		if caps == "" {
			if _, c, ok := bytes.Cut(line, []byte{0}); ok {
				caps = string(c)
			}
		}
	}
	return nil, "", bad("its commands are longer than 1 MiB")
}

func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// repoAttributes take precedence over the attributes a pushed tree gives
// itself (info/attributes wins over .gitattributes). git archive acts on
// export-subst and export-ignore, which a checkout (what Kudu deploys)
// ignores, and export-subst and ident expand in git's memory on the host
// — a $Format:%B$ repeated in a small file is the commit message as often
// — so the package holds the files as pushed.
const repoAttributes = "* -export-subst -export-ignore -ident\n"

// initRepo creates the bare repository on first use: no template (no
// sample hooks), deletes of the deployed branch refused; and keeps its
// attributes.
func initRepo(ctx context.Context, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return err
		}
		if err := runGit(ctx, filepath.Dir(dir), nil, nil, "init", "--bare", "--quiet", "--template=", dir); err != nil {
			return err
		}
	}
	attrs := filepath.Join(dir, "info", "attributes")
	if b, err := os.ReadFile(attrs); err == nil && string(b) == repoAttributes {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(attrs), 0o700); err != nil {
		return err
	}
	return os.WriteFile(attrs, []byte(repoAttributes), 0o600)
}

// runGit runs git in dir with nothing of the host's or the repository's
// that could run code (no hooks, no system or global configuration, no
// terminal prompts), within gitTimeout; its error output is the error's
// message.
func runGit(ctx context.Context, dir string, stdin io.Reader, stdout io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	base := []string{
		"-c", "core.hooksPath=/dev/null",
		"-c", "receive.fsckObjects=true",
		"-c", "transfer.fsckObjects=true",
		"-c", "receive.maxInputSize=" + strconv.Itoa(maxPushBytes),
		"-c", "receive.denyDeleteCurrent=refuse",
		"-c", "uploadpack.allowFilter=false",
		"-c", "protocol.allow=never",
	}
	cmd := exec.CommandContext(ctx, "git", append(base, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"}
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000]
		}
		name := args[0]
		if name == "-c" && len(args) > 2 {
			name = args[2]
		}
		return fmt.Errorf("git %s: %v: %s", name, err, msg)
	}
	return nil
}

// revParse returns the commit a ref names, or "".
func revParse(ctx context.Context, dir, ref string) string {
	var out bytes.Buffer
	if runGit(ctx, dir, nil, &out, "rev-parse", "--verify", "--quiet", ref+"^{commit}") != nil {
		return ""
	}
	return strings.TrimSpace(out.String())
}

func commitInfo(ctx context.Context, dir, commit string) (author, email, message string) {
	var out bytes.Buffer
	if runGit(ctx, dir, nil, &out, "log", "-1", "--format=%an%x00%ae%x00%s", commit) != nil {
		return "", "", ""
	}
	parts := strings.SplitN(strings.TrimSpace(out.String()), "\x00", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return parts[0], parts[1], parts[2]
}
