package scm

// Kudu's repository API, as Microsoft documents it
// (https://github.com/projectkudu/kudu/wiki/REST-API, "SCM"): POST
// /api/scm/clean cleans the repository, DELETE /api/scm deletes it, and
// /api/scmvfs is the file API over its files.
//
// Kudu's repository is a work tree in the app's home (/home/site/
// repository); Slipway's is bare (git.go): a git directory beside the
// home, which only pushes write and which no app can reach. So a clean,
// which removes the untracked files of a work tree (git clean -xdff), has
// nothing to remove and runs no git; a delete removes the directory as
// the server, never following anything in it; and the repository's files
// are not a folder a file API could be rooted at — a VFS over the git
// directory would hand tenants its config, which the server's git reads
// (core.fsmonitor, filters, core.sshCommand name commands) — so /api/
// scmvfs answers what Slipway does instead: git clone to read them, git
// push to change them.

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strconv"

	"github.com/slipway-dev/slipway"
)

// scmClean answers POST /api/scm/clean as KuduLite's LiveScmController
// (200, empty). The bare repository has no work tree, so no untracked
// file: there is nothing to clean, and no git runs over it.
func (h *Handler) scmClean(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if h.cfg.RepoDir == nil {
		return slipway.Errorf(slipway.ENOTFOUND, "Local Git deployment is not available on this server.")
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// scmDelete answers DELETE /api/scm as KuduLite's LiveScmController:
// under the deployment lock (409 while a deployment or a push runs), it
// deletes the repository and, with deleteWebRoot=1, empties wwwroot and
// deletes site/diagnostics in the home. ignoreErrors=1 answers 200 whatever
// failed. Deployment records are kept (they are the server's, in its
// database, and back redeploys), and the next push starts a new
// repository.
func (h *Handler) scmDelete(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if h.cfg.RepoDir == nil {
		return slipway.Errorf(slipway.ENOTFOUND, "Local Git deployment is not available on this server.")
	}
	deleteWebRoot := queryInt(r, "deleteWebRoot") != 0
	ignoreErrors := queryInt(r, "ignoreErrors") != 0
	dir := h.cfg.RepoDir(s.Name)
	if !h.startPush(dir) {
		return slipway.Errorf(slipway.ECONFLICT, "A push to %s.git is in progress: the repository is not deleted while it runs. Try again when it completes.", s.Name)
	}
	defer h.endPush(dir)
	if id, busy := h.cfg.Deployer.IsDeploying(s.Name); busy {
		return slipway.Errorf(slipway.ECONFLICT, "Deployment %s is in progress: the repository is not deleted while it runs. Try again when it completes.", id)
	}
	var errs []error
	// The repository is the server's (git.go): no app writes it, and
	// RemoveAll follows no link in it.
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("deleting the repository: %w", err))
	}
	if deleteWebRoot {
		errs = append(errs, h.emptyWebRoot(r, s))
	}
	if err := errors.Join(errs...); err != nil && !ignoreErrors {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// emptyWebRoot deletes what /home/site/wwwroot holds, and /home/site/
// diagnostics, as the app's user through its home's root: nothing the app
// planted (a link, a mount point's name) leads out of the home.
func (h *Handler) emptyWebRoot(r *http.Request, s slipway.Site) error {
	home, err := h.openHome(r.Context(), s)
	if err != nil {
		return err
	}
	defer home.Close()
	return home.do(func() error {
		var errs []error
		ents, err := fs.ReadDir(home.root.FS(), "site/wwwroot")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fsError("emptying", shown("site/wwwroot"), err))
		}
		for _, e := range ents {
			if err := home.root.RemoveAll("site/wwwroot/" + e.Name()); err != nil {
				errs = append(errs, fsError("deleting", shown("site/wwwroot/"+e.Name()), err))
			}
		}
		if err := home.root.RemoveAll("site/diagnostics"); err != nil {
			errs = append(errs, fsError("deleting", shown("site/diagnostics"), err))
		}
		return errors.Join(errs...)
	})
}

// queryInt reads an int query parameter as ASP.NET binds one: 0 when
// absent or not a number.
func queryInt(r *http.Request, name string) int {
	n, _ := strconv.Atoi(r.URL.Query().Get(name))
	return n
}

// scmVFS answers /api/scmvfs (KuduLite's LiveScmEditorController, the file
// API over the repository's work tree, whose writes commit and deploy).
// Slipway's repository has no work tree to serve: its files are read with
// git clone and changed with git push, which deploys.
func (h *Handler) scmVFS(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return slipway.Errorf(slipway.EINVALID, "/api/scmvfs is not served here: this server keeps the app's Local Git repository bare (no work tree in /home/site/repository). "+
		"Read its files with git clone %s/%s.git, change them with git push (a push to the deployment branch deploys), "+
		"and read or change the deployed files with /api/vfs/site/wwwroot/.", baseURL(r), s.Name)
}
