package archive

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// maxLinkTarget is the longest symbolic link target accepted (PATH_MAX).
const maxLinkTarget = 4095

// maxLinkHops bounds symbolic link resolution, like the kernel's MAXSYMLINKS.
const maxLinkHops = 40

// maxNameComponent is the longest file name component Linux file systems
// accept (NAME_MAX).
const maxNameComponent = 255

// maxPath is the longest entry name accepted (PATH_MAX - 1).
const maxPath = 4095

type entryKind int

const (
	kindDir entryKind = iota
	kindFile
	kindLink
)

// entry is one validated archive entry, ready to be written.
type entry struct {
	f      *zip.File
	name   string // cleaned, slash-separated, local to destDir
	kind   entryKind
	perm   fs.FileMode
	target string // link target, for kindLink
}

// Extract extracts the zip at zipPath into destDir, which is created if it
// is missing (its parent must exist) and must otherwise be an empty folder.
//
// The whole archive is validated before anything is written; offending
// archives are refused with an *[Error] naming the entry and saying what to
// do. All writes go through an [os.Root] opened on destDir, so nothing is
// ever written outside it. Relative symbolic links that stay inside destDir
// are created as links (App Service preserves symlinks on Linux,
// docs/appservice.md §5); any other link is refused. Regular files keep their
// permission bits (so executables stay executable) with owner read/write
// added; modification times are kept.
//
// On any error, everything Extract wrote is removed: destDir is left absent
// if Extract created it, empty otherwise. Errors that are not the archive's
// fault (disk full, ctx cancelled) are returned wrapped, not as *Error.
func Extract(ctx context.Context, zipPath, destDir string, lim Limits) (Stats, error) {
	lim = lim.WithDefaults()
	zf, err := os.Open(zipPath)
	if err != nil {
		return Stats{}, fmt.Errorf("opening package: %w", err)
	}
	defer zf.Close()
	info, err := zf.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("opening package: %w", err)
	}
	if !info.Mode().IsRegular() {
		return Stats{}, fmt.Errorf("opening package: %s is not a regular file", zipPath)
	}
	if err := CheckEntryCount(ctx, zf, info.Size(), lim); err != nil {
		return Stats{}, err
	}
	zr, err := zip.NewReader(zf, info.Size())
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// ErrInsecurePath (GODEBUG=zipinsecurepath=0) still returns a
		// usable reader; plan refuses such names with a better message.
		return Stats{}, notZip(err)
	}
	entries, err := plan(ctx, zr, info.Size(), lim)
	if err != nil {
		return Stats{}, err
	}
	if lim.Room != nil {
		var total int64
		for _, e := range entries {
			if e.kind == kindFile {
				total += int64(e.f.UncompressedSize64) // at most MaxTotalBytes (plan)
			}
		}
		if err := lim.Room(total); err != nil {
			return Stats{}, fmt.Errorf("extracting package: %w", err)
		}
	}

	created, err := prepareDest(destDir)
	if err != nil {
		return Stats{}, err
	}
	root, err := os.OpenRoot(destDir)
	if err != nil {
		if created {
			err = errors.Join(err, os.Remove(destDir))
		}
		return Stats{}, fmt.Errorf("opening extraction folder: %w", err)
	}
	st, err := write(ctx, root, entries, lim)
	if err != nil {
		if cerr := cleanup(root, destDir, created); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return Stats{}, err
	}
	if err := root.Close(); err != nil {
		return Stats{}, fmt.Errorf("closing extraction folder: %w", err)
	}
	return st, nil
}

// notZip is the refusal for a file that archive/zip cannot read.
func notZip(err error) *Error {
	return &Error{Reason: fmt.Sprintf("The package is not a valid zip archive: %v. "+
		"Upload a .zip file (tar and gzip archives are not supported); if it is a zip, it may be truncated or damaged — create it again.", err)}
}

// plan validates every entry of the archive without writing anything and
// returns the entries to create, in archive order.
func plan(ctx context.Context, zr *zip.Reader, fileSize int64, lim Limits) ([]*entry, error) {
	if len(zr.File) > lim.MaxFiles {
		return nil, tooManyFiles(uint64(len(zr.File)), lim)
	}
	var (
		entries []*entry
		byName  = make(map[string]*entry, len(zr.File))
		total   uint64
	)
	for i, f := range zr.File {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("checking package: %w", err)
			}
		}
		if f.Name == "" {
			return nil, &Error{Reason: "The package contains an entry with an empty name. " +
				"Re-create the zip from inside your project folder with a standard zip tool."}
		}
		name, reason := cleanName(f.Name)
		if reason != "" {
			return nil, refuse(f.Name, "%s", reason)
		}
		e := &entry{f: f, name: name}
		mode := f.Mode()
		switch typ := mode.Type(); {
		case typ == fs.ModeDir:
			e.kind = kindDir
			e.perm = mode.Perm() | 0o700
			if mode.Perm() == 0 {
				e.perm = 0o755
			}
		case typ == fs.ModeSymlink:
			e.kind = kindLink
		case typ == 0:
			e.kind = kindFile
			e.perm = mode.Perm() | 0o600
			if mode.Perm() == 0 {
				e.perm = 0o644
			}
		default:
			return nil, refuse(f.Name, "it is a %s, not a regular file, folder or symbolic link. "+
				"Only regular files, folders and symbolic links can be deployed; remove it from the package.", describeType(typ))
		}
		if name == "." {
			if e.kind == kindDir {
				continue // "./" names the deployment folder itself
			}
			return nil, refuse(f.Name, "it names the deployment folder itself. Re-create the zip from inside your project folder.")
		}

		if e.kind != kindDir {
			if f.Flags&0x1 != 0 {
				return nil, refuse(f.Name, "it is encrypted. Deploy an unencrypted zip.")
			}
			if f.Method != zip.Store && f.Method != zip.Deflate {
				return nil, refuse(f.Name, "it uses compression method %d; only stored and deflated entries are supported. "+
					"Re-create the zip with a standard zip tool.", f.Method)
			}
			size := f.UncompressedSize64
			if size > uint64(lim.MaxFileBytes) {
				return nil, refuse(f.Name, "it is %s uncompressed, more than the limit of %s per file. "+
					"Leave large data files out of the deployment package.", bytesString(size), bytesString(uint64(lim.MaxFileBytes)))
			}
			total += size
			if total > uint64(lim.MaxTotalBytes) {
				return nil, refuse(f.Name, "it brings the package past the limit of %s uncompressed. "+
					"Deploy a smaller package (leave out virtual environments, node_modules and data files).", bytesString(uint64(lim.MaxTotalBytes)))
			}
			if size >= ratioFloor && size/max(f.CompressedSize64, 1) > uint64(lim.MaxRatio) {
				return nil, refuse(f.Name, "it expands from %s to %s, a compression ratio above %d:1; the package looks like a zip bomb.",
					bytesString(f.CompressedSize64), bytesString(size), lim.MaxRatio)
			}
		}

		if prev, ok := byName[name]; ok {
			if prev.kind == kindDir && e.kind == kindDir {
				prev.perm = e.perm // a repeated folder entry is harmless; the last one wins
				continue
			}
			if prev.kind == kindLink {
				return nil, refuse(f.Name, "it would overwrite the symbolic link %q created by an earlier entry. "+
					"A package may contain each path only once.", prev.f.Name)
			}
			if e.kind == kindLink {
				return nil, refuse(f.Name, "it is a symbolic link that would replace the earlier entry %q. "+
					"A package may contain each path only once.", prev.f.Name)
			}
			return nil, refuse(f.Name, "the path also appears as the earlier entry %q. A package may contain each path only once.", prev.f.Name)
		}
		byName[name] = e
		entries = append(entries, e)
	}
	if total >= ratioFloor && total/uint64(max(fileSize, 1)) > uint64(lim.MaxRatio) {
		return nil, &Error{Reason: fmt.Sprintf("The package expands from %s to %s, a compression ratio above %d:1; it looks like a zip bomb and was rejected.",
			bytesString(uint64(fileSize)), bytesString(total), lim.MaxRatio)}
	}

	// No entry may live under a path that the package makes a link or a file.
	for _, e := range entries {
		for p := path.Dir(e.name); p != "." && p != "/"; p = path.Dir(p) {
			anc, ok := byName[p]
			if !ok {
				continue
			}
			switch anc.kind {
			case kindLink:
				return nil, refuse(e.f.Name, "it lies under %q, which the package makes a symbolic link; "+
					"a package may not write through a link. Remove the link or the entries under it.", anc.f.Name)
			case kindFile:
				return nil, refuse(e.f.Name, "it lies under %q, which the package also contains as a file. "+
					"The same path cannot be both a file and a folder.", anc.f.Name)
			}
		}
	}

	// Links: read their targets, then make sure each resolves inside destDir.
	links := make(map[string]string)
	for _, e := range entries {
		if e.kind != kindLink {
			continue
		}
		target, err := readLinkTarget(ctx, e.f)
		if err != nil {
			return nil, err
		}
		e.target = target
		links[e.name] = target
	}
	for _, e := range entries {
		if e.kind != kindLink {
			continue
		}
		if reason := resolveInside(links, e.name); reason != "" {
			return nil, refuse(e.f.Name, "it is a symbolic link to %q, which %s. "+
				"Only relative links to files inside the package are allowed.", e.target, reason)
		}
	}
	return entries, nil
}

// tooManyFiles is the refusal for an archive with too many entries.
func tooManyFiles(n uint64, lim Limits) *Error {
	return &Error{Reason: fmt.Sprintf("The package has at least %d entries, more than the limit of %d. "+
		"Deploy fewer files (leave out virtual environments, node_modules and build output).", n, lim.MaxFiles)}
}

// cleanName validates an entry name and returns it cleaned and
// slash-separated, or a non-empty reason for refusing it. Backslashes are
// treated as separators (zips made on Windows use them), so `a\..\..\x` is
// refused like `a/../../x`.
func cleanName(raw string) (name, reason string) {
	const redo = "Re-create the zip from inside your project folder so that entries have relative paths."
	switch {
	case raw == "":
		return "", "it has an empty name. " + redo
	case strings.IndexByte(raw, 0) >= 0:
		return "", "its name contains a NUL byte. " + redo
	}
	if len(raw) > maxPath {
		return "", fmt.Sprintf("its name is longer than %d bytes.", maxPath)
	}
	n := strings.ReplaceAll(raw, `\`, "/")
	if len(n) >= 2 && n[1] == ':' && ('a' <= n[0]|0x20 && n[0]|0x20 <= 'z') {
		return "", "it is a Windows drive path. " + redo
	}
	if strings.HasPrefix(n, "/") {
		return "", "it is an absolute path. " + redo
	}
	for c := range strings.SplitSeq(n, "/") {
		if c == ".." {
			return "", "its path contains \"..\" and could point outside the deployment folder. " + redo
		}
		if len(c) > maxNameComponent {
			return "", fmt.Sprintf("a part of its path is longer than %d bytes.", maxNameComponent)
		}
	}
	return path.Clean(n), ""
}

// resolveInside follows the symbolic link name through the package's links
// (the destination starts empty, so they are the only links there will be)
// the way the kernel would, and returns "" if the result stays inside the
// destination, or the reason it does not.
func resolveInside(links map[string]string, name string) string {
	var stack []string
	pending := strings.Split(name, "/")
	hops := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return "resolves outside the deployment folder"
			}
			stack = stack[:len(stack)-1]
			continue
		}
		stack = append(stack, c)
		t, ok := links[strings.Join(stack, "/")]
		if !ok {
			continue
		}
		if hops++; hops > maxLinkHops {
			return "is part of a loop of symbolic links"
		}
		if strings.HasPrefix(t, "/") {
			return "is an absolute path"
		}
		stack = stack[:len(stack)-1]
		pending = append(strings.Split(t, "/"), pending...)
	}
	return ""
}

// readLinkTarget reads and checks the target of a link entry.
func readLinkTarget(ctx context.Context, f *zip.File) (string, error) {
	if f.UncompressedSize64 > maxLinkTarget {
		return "", refuse(f.Name, "it is a symbolic link whose target is longer than %d bytes.", maxLinkTarget)
	}
	var b strings.Builder
	if _, err := copyEntry(ctx, &b, f, int64(f.UncompressedSize64)); err != nil {
		return "", err
	}
	t := b.String()
	switch {
	case t == "":
		return "", refuse(f.Name, "it is a symbolic link with an empty target.")
	case strings.IndexByte(t, 0) >= 0:
		return "", refuse(f.Name, "it is a symbolic link whose target contains a NUL byte.")
	case strings.HasPrefix(t, "/"):
		return "", refuse(f.Name, "it is a symbolic link to the absolute path %q. "+
			"Only relative links to files inside the package are allowed.", t)
	case strings.Contains(t, `\`):
		return "", refuse(f.Name, "it is a symbolic link whose target %q contains a backslash. "+
			"Use forward slashes in link targets.", t)
	}
	return t, nil
}

// errWrite marks errors from the destination writer in copyEntry.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// copyEntry decompresses f into w, counting the bytes actually produced:
// more than limit (the declared size, already checked against the limits)
// means the header lied and the entry is refused while streaming. It also
// checks the length and CRC-32 against the central directory.
func copyEntry(ctx context.Context, w io.Writer, f *zip.File, limit int64) (int64, error) {
	raw, err := f.OpenRaw()
	if err != nil {
		return 0, corrupt(f, err)
	}
	var r io.Reader
	switch f.Method {
	case zip.Store:
		r = raw
	case zip.Deflate:
		fr := flate.NewReader(raw)
		defer fr.Close()
		r = fr
	default:
		return 0, refuse(f.Name, "it uses compression method %d; only stored and deflated entries are supported.", f.Method)
	}
	h := crc32.NewIEEE()
	buf := make([]byte, 32<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("extracting %q: %w", f.Name, err)
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			n += int64(m)
			if n > limit {
				return n, refuse(f.Name, "its data is larger than the %s its header declares; "+
					"the package is damaged or crafted to hide a zip bomb.", bytesString(f.UncompressedSize64))
			}
			h.Write(buf[:m])
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, &writeError{fmt.Errorf("writing %q: %w", f.Name, werr)}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, corrupt(f, rerr)
		}
	}
	if uint64(n) != f.UncompressedSize64 {
		return n, corrupt(f, fmt.Errorf("got %d bytes, header declares %d", n, f.UncompressedSize64))
	}
	if f.CRC32 != 0 && h.Sum32() != f.CRC32 {
		return n, corrupt(f, errors.New("checksum mismatch"))
	}
	return n, nil
}

// corrupt is the refusal for an entry whose data cannot be decompressed.
func corrupt(f *zip.File, err error) *Error {
	return refuse(f.Name, "its data is damaged (%v). The package may be truncated; create and upload it again.", err)
}

// prepareDest creates destDir, or checks that it is an empty folder.
func prepareDest(destDir string) (created bool, err error) {
	err = os.Mkdir(destDir, 0o755)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("creating extraction folder: %w", err)
	}
	info, err := os.Stat(destDir)
	if err != nil {
		return false, fmt.Errorf("checking extraction folder: %w", err)
	}
	if !info.IsDir() {
		return false, fmt.Errorf("checking extraction folder: %s is not a folder", destDir)
	}
	names, err := readNames(destDir)
	if err != nil {
		return false, fmt.Errorf("checking extraction folder: %w", err)
	}
	if len(names) > 0 {
		return false, fmt.Errorf("checking extraction folder: %s is not empty", destDir)
	}
	return false, nil
}

func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// write creates the planned entries under root: folders and files in archive
// order, then links (so that no file is ever written through a link), then
// the permissions of explicit folder entries.
func write(ctx context.Context, root *os.Root, entries []*entry, lim Limits) (Stats, error) {
	var st Stats
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("extracting package: %w", err)
		}
		switch e.kind {
		case kindDir:
			if err := root.MkdirAll(e.name, 0o755); err != nil {
				return st, fmt.Errorf("creating folder %q: %w", e.name, err)
			}
		case kindFile:
			if dir := path.Dir(e.name); dir != "." {
				if err := root.MkdirAll(dir, 0o755); err != nil {
					return st, fmt.Errorf("creating folder %q: %w", dir, err)
				}
			}
			limit := min(int64(e.f.UncompressedSize64), lim.MaxFileBytes, lim.MaxTotalBytes-st.Bytes)
			if lim.Room != nil {
				if err := lim.Room(limit); err != nil {
					return st, fmt.Errorf("extracting %q: %w", e.name, err)
				}
			}
			n, err := writeFile(ctx, root, e, limit)
			st.Bytes += n
			if err != nil {
				return st, err
			}
			st.Files++
		}
	}
	for _, e := range entries {
		if e.kind != kindLink {
			continue
		}
		if dir := path.Dir(e.name); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return st, fmt.Errorf("creating folder %q: %w", dir, err)
			}
		}
		if err := root.Symlink(e.target, e.name); err != nil {
			return st, fmt.Errorf("creating symbolic link %q: %w", e.name, err)
		}
		st.Files++
	}
	for _, e := range entries {
		if e.kind != kindDir {
			continue
		}
		if err := root.Chmod(e.name, e.perm); err != nil {
			return st, fmt.Errorf("setting permissions of %q: %w", e.name, err)
		}
	}
	return st, nil
}

// writeFile writes one regular file entry. The destination is new (O_EXCL):
// duplicates were refused and destDir started empty.
func writeFile(ctx context.Context, root *os.Root, e *entry, limit int64) (int64, error) {
	out, err := root.OpenFile(e.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("creating %q: %w", e.name, err)
	}
	n, err := copyEntry(ctx, out, e.f, limit)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %q: %w", e.name, cerr)
	}
	if err != nil {
		return n, err
	}
	if err := root.Chmod(e.name, e.perm); err != nil {
		return n, fmt.Errorf("setting permissions of %q: %w", e.name, err)
	}
	if mod := e.f.Modified; !mod.IsZero() {
		if err := root.Chtimes(e.name, time.Time{}, mod); err != nil {
			return n, fmt.Errorf("setting modification time of %q: %w", e.name, err)
		}
	}
	return n, nil
}

// cleanup removes everything written into destDir: the folder itself if
// Extract created it, its contents otherwise.
func cleanup(root *os.Root, destDir string, created bool) error {
	defer root.Close()
	if created {
		if err := os.RemoveAll(destDir); err != nil {
			return fmt.Errorf("removing partly extracted package: %w", err)
		}
		return nil
	}
	d, err := root.Open(".")
	if err != nil {
		return fmt.Errorf("removing partly extracted package: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("removing partly extracted package: %w", err)
	}
	for _, n := range names {
		if err := root.RemoveAll(n); err != nil {
			return fmt.Errorf("removing partly extracted package: %w", err)
		}
	}
	return nil
}

// describeType names a non-regular file type for a refusal message.
func describeType(typ fs.FileMode) string {
	switch {
	case typ&fs.ModeCharDevice != 0:
		return "character device"
	case typ&fs.ModeDevice != 0:
		return "block device"
	case typ&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case typ&fs.ModeSocket != 0:
		return "socket"
	case typ&fs.ModeSymlink != 0 && typ&fs.ModeDir != 0:
		return "symbolic link marked as a folder"
	default:
		return "special file"
	}
}

// bytesString renders a size for messages, e.g. "2.0 GiB".
func bytesString(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// centralHeaderLen is the size of a zip central directory header without
// its variable-length fields.
const centralHeaderLen = 46

// CheckEntryCount refuses archives with more than lim.MaxFiles entries
// before archive/zip parses the central directory, which it holds in memory
// in full (a 2 GB package of empty entries would need many GB): call it
// before zip.NewReader on a zip of size bytes no one vouches for (Extract
// does). archive/zip reads every central directory header present,
// whatever the end record declares, and each starts with the signature
// "PK\x01\x02"; counting signatures in the file is therefore an upper
// bound on what it will allocate. Files too small to hold more than
// MaxFiles headers are not scanned.
func CheckEntryCount(ctx context.Context, f io.ReaderAt, size int64, lim Limits) error {
	lim = lim.WithDefaults()
	if size/centralHeaderLen <= int64(lim.MaxFiles) {
		return nil
	}
	sig := []byte("PK\x01\x02")
	buf := make([]byte, 1<<20)
	var (
		count uint64
		carry int // bytes kept from the previous chunk (len(sig)-1)
		off   int64
	)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("checking package: %w", err)
		}
		n, err := f.ReadAt(buf[carry:], off)
		off += int64(n)
		chunk := buf[:carry+n]
		count += uint64(bytes.Count(chunk, sig))
		if count > uint64(lim.MaxFiles) {
			return tooManyFiles(count, lim)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading package: %w", err)
		}
		carry = min(len(sig)-1, len(chunk))
		copy(buf, chunk[len(chunk)-carry:])
	}
}
