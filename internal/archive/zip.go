package archive

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ZipStats describes what Zip put in the archive and what it left out.
type ZipStats struct {
	// Paths lists the entries written, slash-separated, in archive order
	// (folders end in "/").
	Paths []string
	// Files is the number of regular files and symbolic links written.
	Files int
	// Bytes is the total uncompressed size of the files written.
	Bytes int64
	// Skipped lists what was left out, slash-separated, in walk order.
	// A skipped folder appears once (ending in "/"); its contents are not
	// listed.
	Skipped []string
}

// Zip writes a zip of the folder srcDir to w, as `slipway webapp up` does.
//
// It follows `az webapp up` for Python (docs/appservice.md §13): every folder
// below srcDir whose name contains "env" (case-sensitive, as az's
// `'env' not in d`, so `venv`, `.venv`, `env`, `environment`, `myenv`) is
// skipped, and so are files named exactly `.env`. In addition it skips
// `.git`, `__pycache__`, `.azure` (local CLI defaults), `node_modules`, any
// folder that is a virtual environment (contains `pyvenv.cfg`), and `*.pyc`
// files. srcDir itself is never skipped.
//
// Symbolic links are stored as links when they are relative and resolve to
// something inside srcDir that is itself included; other links are skipped.
// Sockets, pipes and devices are skipped. Entries are written in lexical
// walk order with folders as explicit entries (so empty folders survive),
// permission bits and modification times kept; the result round-trips
// through [Extract].
//
// The zip must not be written inside srcDir (az writes it to the temp
// folder). On error, what was written to w is incomplete.
func Zip(ctx context.Context, srcDir string, w io.Writer) (ZipStats, error) {
	var st ZipStats
	root, err := filepath.EvalSymlinks(srcDir)
	if err != nil {
		return st, fmt.Errorf("zipping %s: %w", srcDir, err)
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return st, fmt.Errorf("zipping %s: %w", srcDir, err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return st, fmt.Errorf("zipping %s: %w", srcDir, err)
	}
	if !info.IsDir() {
		return st, fmt.Errorf("zipping %s: not a folder", srcDir)
	}

	zw := zip.NewWriter(w)
	walkErr := filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if full == root {
			return nil
		}
		rel, err := filepath.Rel(root, full)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := d.Name()
		switch typ := d.Type(); {
		case typ.IsDir():
			if skipDir(name, full) {
				st.Skipped = append(st.Skipped, rel+"/")
				return filepath.SkipDir
			}
			return addDir(zw, &st, full, rel)
		case typ&fs.ModeSymlink != 0:
			if !keepLink(root, full, rel) {
				st.Skipped = append(st.Skipped, rel)
				return nil
			}
			return addLink(zw, &st, full, rel)
		case typ.IsRegular():
			if skipFile(name) {
				st.Skipped = append(st.Skipped, rel)
				return nil
			}
			return addFile(ctx, zw, &st, full, rel)
		default:
			st.Skipped = append(st.Skipped, rel)
			return nil
		}
	})
	if walkErr != nil {
		return st, fmt.Errorf("zipping %s: %w", srcDir, walkErr)
	}
	if err := zw.Close(); err != nil {
		return st, fmt.Errorf("zipping %s: %w", srcDir, err)
	}
	return st, nil
}

// alwaysSkipped reports whether a folder named name never belongs in a
// deployment, on top of az's "name contains env" rule.
func alwaysSkipped(name string) bool {
	switch name {
	case ".git", "__pycache__", ".azure", "node_modules", ".venv":
		return true
	}
	return false
}

// skipDir reports whether the folder full (named name) is left out.
func skipDir(name, full string) bool {
	if alwaysSkipped(name) || strings.Contains(name, "env") {
		return true
	}
	_, err := os.Lstat(filepath.Join(full, "pyvenv.cfg"))
	return err == nil
}

// skipFile reports whether a regular file named name is left out.
func skipFile(name string) bool {
	return name == ".env" || strings.HasSuffix(name, ".pyc")
}

// keepLink reports whether the link at full (rel inside root) is stored:
// its target must be relative, stay inside root lexically, exist, resolve
// inside root, and not lie in (or be) a skipped folder.
func keepLink(root, full, rel string) bool {
	target, err := os.Readlink(full)
	if err != nil || target == "" || filepath.IsAbs(target) || strings.ContainsAny(target, "\x00\\") {
		return false
	}
	if !filepath.IsLocal(filepath.Join(filepath.Dir(filepath.FromSlash(rel)), target)) {
		return false
	}
	resolved, err := filepath.EvalSymlinks(full)
	if err != nil {
		return false
	}
	if info, err := os.Stat(resolved); err == nil && info.IsDir() {
		// az lists links to folders among the folders, so its folder rule
		// applies to the link's own name.
		name := filepath.Base(full)
		if alwaysSkipped(name) || strings.Contains(name, "env") {
			return false
		}
	}
	inside, err := filepath.Rel(root, resolved)
	if err != nil || !filepath.IsLocal(inside) {
		return false
	}
	// Every folder on the way to the resolved target must be one Zip keeps,
	// or the link would dangle after extraction.
	p := root
	parts := strings.Split(inside, string(filepath.Separator))
	for i, part := range parts {
		p = filepath.Join(p, part)
		last := i == len(parts)-1
		info, err := os.Stat(p)
		if err != nil {
			return false
		}
		if info.IsDir() && skipDir(part, p) {
			return false
		}
		if last && !info.IsDir() && (!info.Mode().IsRegular() || skipFile(part)) {
			return false
		}
	}
	return true
}

func addDir(zw *zip.Writer, st *ZipStats, full, rel string) error {
	info, err := os.Lstat(full)
	if err != nil {
		return err
	}
	h, err := zip.FileInfoHeader(info)
	if err != nil {
		return err
	}
	h.Name = rel + "/"
	h.Method = zip.Store
	if _, err := zw.CreateHeader(h); err != nil {
		return err
	}
	st.Paths = append(st.Paths, h.Name)
	return nil
}

func addLink(zw *zip.Writer, st *ZipStats, full, rel string) error {
	info, err := os.Lstat(full)
	if err != nil {
		return err
	}
	target, err := os.Readlink(full)
	if err != nil {
		return err
	}
	h, err := zip.FileInfoHeader(info)
	if err != nil {
		return err
	}
	h.Name = rel
	h.Method = zip.Store
	zf, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(zf, filepath.ToSlash(target)); err != nil {
		return err
	}
	st.Paths = append(st.Paths, rel)
	st.Files++
	return nil
}

func addFile(ctx context.Context, zw *zip.Writer, st *ZipStats, full, rel string) error {
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	h, err := zip.FileInfoHeader(info)
	if err != nil {
		return err
	}
	h.Name = rel
	h.Method = zip.Deflate
	zf, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	n, err := io.Copy(zf, ctxReader{ctx: ctx, r: f})
	if err != nil {
		return fmt.Errorf("adding %s: %w", rel, err)
	}
	st.Paths = append(st.Paths, rel)
	st.Files++
	st.Bytes += n
	return nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
