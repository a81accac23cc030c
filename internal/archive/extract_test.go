package archive

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExtractProject: a normal project extracts exactly — nested folders,
// executable bits, empty folders, in-tree symlinks (App Service preserves
// symlinks on Linux, docs/appservice.md §5), modification times, and names made
// with Windows separators.
func TestExtractProject(t *testing.T) {
	tests := []struct {
		name      string
		entries   []zent
		want      map[string]node
		wantStats Stats
	}{
		{
			name: "django project",
			entries: []zent{
				{name: "manage.py", body: "#!/usr/bin/env python\n", mode: 0o755},
				{name: "requirements.txt", body: "Django==5.0\n"},
				{name: "mysite/"},
				{name: "mysite/settings.py", body: "DEBUG = False\n"},
				{name: "mysite/urls.py", body: "urlpatterns = []\n", mode: 0o600},
				{name: "static/", mode: fs.ModeDir | 0o750}, // empty folder
				{name: "scripts/start.sh", body: "gunicorn mysite.wsgi\n", mode: 0o755},
				{name: "bin/start", body: "../scripts/start.sh", mode: fs.ModeSymlink | 0o777},
				{name: "current", body: "mysite", mode: fs.ModeSymlink | 0o777},
				{name: "dangling", body: "not/yet/built", mode: fs.ModeSymlink | 0o777},
				{name: "empty.txt", body: ""},
			},
			want: map[string]node{
				"manage.py":          {Type: "file", Perm: 0o755, Body: "#!/usr/bin/env python\n", Modded: "2024-03-01T12:00:00Z"},
				"requirements.txt":   {Type: "file", Perm: 0o644, Body: "Django==5.0\n", Modded: "2024-03-01T12:00:00Z"},
				"mysite":             {Type: "dir", Perm: 0o755},
				"mysite/settings.py": {Type: "file", Perm: 0o644, Body: "DEBUG = False\n", Modded: "2024-03-01T12:00:00Z"},
				"mysite/urls.py":     {Type: "file", Perm: 0o600, Body: "urlpatterns = []\n", Modded: "2024-03-01T12:00:00Z"},
				"static":             {Type: "dir", Perm: 0o750},
				"scripts":            {Type: "dir", Perm: 0o755},
				"scripts/start.sh":   {Type: "file", Perm: 0o755, Body: "gunicorn mysite.wsgi\n", Modded: "2024-03-01T12:00:00Z"},
				"bin":                {Type: "dir", Perm: 0o755},
				"bin/start":          {Type: "link", Body: "../scripts/start.sh"},
				"current":            {Type: "link", Body: "mysite"},
				"dangling":           {Type: "link", Body: "not/yet/built"},
				"empty.txt":          {Type: "file", Perm: 0o644, Modded: "2024-03-01T12:00:00Z"},
			},
			wantStats: Stats{Files: 9, Bytes: int64(len("#!/usr/bin/env python\n" + "Django==5.0\n" + "DEBUG = False\n" + "urlpatterns = []\n" + "gunicorn mysite.wsgi\n"))},
		},
		{
			name: "windows separators and dot prefixes",
			entries: []zent{
				{name: `app\views.py`, body: "v"},
				{name: `app\templates\index.html`, body: "<p>"},
				{name: "./README.md", body: "r"},
				{name: "./"},
				{name: "a//b.txt", body: "b"},
			},
			want: map[string]node{
				"app":                      {Type: "dir", Perm: 0o755},
				"app/views.py":             {Type: "file", Perm: 0o644, Body: "v", Modded: "2024-03-01T12:00:00Z"},
				"app/templates":            {Type: "dir", Perm: 0o755},
				"app/templates/index.html": {Type: "file", Perm: 0o644, Body: "<p>", Modded: "2024-03-01T12:00:00Z"},
				"README.md":                {Type: "file", Perm: 0o644, Body: "r", Modded: "2024-03-01T12:00:00Z"},
				"a":                        {Type: "dir", Perm: 0o755},
				"a/b.txt":                  {Type: "file", Perm: 0o644, Body: "b", Modded: "2024-03-01T12:00:00Z"},
			},
			wantStats: Stats{Files: 4, Bytes: 6},
		},
		{
			name: "repeated folder entries",
			entries: []zent{
				{name: "d/"},
				{name: "d/f", body: "x"},
				{name: "d/", mode: fs.ModeDir | 0o700},
			},
			want: map[string]node{
				"d":   {Type: "dir", Perm: 0o700},
				"d/f": {Type: "file", Perm: 0o644, Body: "x", Modded: "2024-03-01T12:00:00Z"},
			},
			wantStats: Stats{Files: 1, Bytes: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zipPath := writeZip(t, tc.entries)
			dest := filepath.Join(t.TempDir(), "wwwroot")
			st, err := Extract(t.Context(), zipPath, dest, DefaultLimits())
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if diff := cmp.Diff(tc.wantStats, st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			got := listTree(t, dest, true)
			for k, n := range got { // folder mtimes change as children are added
				if n.Type == "dir" {
					n.Modded = ""
					got[k] = n
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("extracted tree (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtractIntoExistingEmptyFolder: an existing empty destination is used
// as is, and a non-empty one is refused without touching it.
func TestExtractIntoExistingEmptyFolder(t *testing.T) {
	zipPath := writeZip(t, []zent{{name: "a.txt", body: "a"}})
	dest := t.TempDir()
	if _, err := Extract(t.Context(), zipPath, dest, DefaultLimits()); err != nil {
		t.Fatalf("Extract into empty folder: %v", err)
	}
	want := map[string]node{"a.txt": {Type: "file", Perm: 0o644, Body: "a"}}
	if diff := cmp.Diff(want, listTree(t, dest, false)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}

	_, err := Extract(t.Context(), zipPath, dest, DefaultLimits())
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Extract into non-empty folder: err = %v, want 'not empty'", err)
	}
	var ae *Error
	if errors.As(err, &ae) {
		t.Errorf("non-empty destination is the caller's fault, got *Error %v", ae)
	}
	if diff := cmp.Diff(want, listTree(t, dest, false)); diff != "" {
		t.Errorf("non-empty destination was modified (-want +got):\n%s", diff)
	}
}

// refusalCase is a package that Extract must refuse.
type refusalCase struct {
	name       string
	entries    []zent
	zipData    func(t *testing.T, parent string) []byte // instead of entries, when set
	lim        Limits
	wantEntry  string // *Error.Entry
	wantReason string // substring of *Error.Reason

	entryUnderParent bool // the entry name contains the temp parent folder
}

// checkRefused extracts a package into <parent>/dest and checks the refusal,
// that nothing changed in parent (which holds a sentinel file, and where
// every escape in these cases aims), that dest is absent afterwards, and
// that the same holds when dest exists and is empty beforehand.
func checkRefused(t *testing.T, tc refusalCase) {
	t.Helper()
	var fixed []byte // built once when it does not depend on the folder
	if tc.zipData == nil {
		fixed = zipBytes(t, tc.entries)
	}
	for _, preexisting := range []bool{false, true} {
		parent := t.TempDir()
		if err := os.WriteFile(filepath.Join(parent, "sentinel"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(parent, "dest")
		if preexisting {
			if err := os.Mkdir(dest, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		data := fixed
		if tc.zipData != nil {
			data = tc.zipData(t, parent)
		}
		zipPath := writeBytes(t, data)
		before := listTree(t, parent, true)
		lim := tc.lim.WithDefaults()

		st, err := Extract(t.Context(), zipPath, dest, lim)
		if err == nil {
			t.Fatalf("Extract succeeded (%+v), want refusal", st)
		}
		ae := asError(t, err)
		if ae.Entry != tc.wantEntry {
			t.Errorf("Error.Entry = %q, want %q (error: %v)", ae.Entry, tc.wantEntry, err)
		}
		if !strings.Contains(ae.Reason, tc.wantReason) {
			t.Errorf("Error.Reason = %q, want it to contain %q", ae.Reason, tc.wantReason)
		}
		if msg := err.Error(); tc.wantEntry != "" && !strings.Contains(msg, strconv.Quote(tc.wantEntry)) {
			t.Errorf("message %q does not name the entry %q", msg, tc.wantEntry)
		}
		if diff := cmp.Diff(before, listTree(t, parent, true)); diff != "" {
			t.Errorf("preexisting=%v: folder around dest changed (-before +after):\n%s", preexisting, diff)
		}
		if _, err := os.Lstat("/etc/evil"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("/etc/evil exists (err %v)", err)
		}
	}
}

// TestExtractRefusesEscapes: every way an entry could land outside the
// destination is refused with a message naming it, and nothing is written.
func TestExtractRefusesEscapes(t *testing.T) {
	link := func(name, target string) zent {
		return zent{name: name, body: target, mode: fs.ModeSymlink | 0o777}
	}
	ok := zent{name: "app.py", body: "print('hi')\n"} // something to clean up
	tests := []refusalCase{
		{name: "dot-dot", entries: []zent{ok, {name: "../evil", body: "x"}},
			wantEntry: "../evil", wantReason: `contains ".."`},
		{name: "nested dot-dot", entries: []zent{ok, {name: "a/../../evil", body: "x"}},
			wantEntry: "a/../../evil", wantReason: `contains ".."`},
		{name: "harmless-looking dot-dot", entries: []zent{ok, {name: "a/../b", body: "x"}},
			wantEntry: "a/../b", wantReason: `contains ".."`},
		{name: "absolute /etc", entries: []zent{ok, {name: "/etc/evil", body: "x"}},
			wantEntry: "/etc/evil", wantReason: "absolute path"},
		{name: "absolute into parent", zipData: func(t *testing.T, parent string) []byte {
			return zipBytes(t, []zent{ok, {name: parent + "/evil", body: "x"}})
		}, entryUnderParent: true, wantReason: "absolute path"},
		{name: "drive letter", entries: []zent{ok, {name: `C:\evil`, body: "x"}},
			wantEntry: `C:\evil`, wantReason: "Windows drive path"},
		{name: "drive letter slash", entries: []zent{ok, {name: "c:/evil", body: "x"}},
			wantEntry: "c:/evil", wantReason: "Windows drive path"},
		{name: "backslash dot-dot", entries: []zent{ok, {name: `a\..\..\evil`, body: "x"}},
			wantEntry: `a\..\..\evil`, wantReason: `contains ".."`},
		{name: "UNC path", entries: []zent{ok, {name: `\\server\share\evil`, body: "x"}},
			wantEntry: `\\server\share\evil`, wantReason: "absolute path"},
		{name: "NUL in name", entries: []zent{ok, {name: "evil\x00.py", body: "x"}},
			wantEntry: "evil\x00.py", wantReason: "NUL byte"},
		{name: "empty name", entries: []zent{ok, {name: "", body: "x"}},
			wantEntry: "", wantReason: "empty name"},
		{name: "overlong name", entries: []zent{ok, {name: strings.Repeat("n", 256), body: "x"}},
			wantEntry: strings.Repeat("n", 256), wantReason: "longer than 255 bytes"},
		{name: "symlink to /etc", entries: []zent{ok, link("link", "/etc")},
			wantEntry: "link", wantReason: "absolute path"},
		{name: "symlink out of tree", entries: []zent{ok, link("a/link", "../../outside")},
			wantEntry: "a/link", wantReason: "resolves outside the deployment folder"},
		{name: "symlink to parent", entries: []zent{ok, link("up", "..")},
			wantEntry: "up", wantReason: "resolves outside"},
		{name: "symlink then write through it", zipData: func(t *testing.T, parent string) []byte {
			return zipBytes(t, []zent{ok, link("link", parent), {name: "link/file", body: "x"}})
		}, wantEntry: "link/file", wantReason: "may not write through a link"},
		{name: "symlink to parent folder alone", zipData: func(t *testing.T, parent string) []byte {
			return zipBytes(t, []zent{ok, link("link", parent)})
		}, wantEntry: "link", wantReason: "absolute path"},
		{name: "relative symlink then write through it", entries: []zent{ok, link("link", ".."), {name: "link/dest/evil", body: "x"}},
			wantEntry: "link/dest/evil", wantReason: "lies under \"link\""},
		{name: "in-tree symlink then write through it", entries: []zent{ok, {name: "sub/"}, link("link", "sub"), {name: "link/file", body: "x"}},
			wantEntry: "link/file", wantReason: "may not write through a link"},
		{name: "file entry over a symlink", entries: []zent{ok, link("settings.py", "app.py"), {name: "settings.py", body: "x"}},
			wantEntry: "settings.py", wantReason: "would overwrite the symbolic link"},
		{name: "symlink over a file", entries: []zent{ok, {name: "settings.py", body: "x"}, link("settings.py", "..")},
			wantEntry: "settings.py", wantReason: "symbolic link that would replace"},
		{name: "duplicate file", entries: []zent{ok, {name: "app.py", body: "again"}},
			wantEntry: "app.py", wantReason: "only once"},
		{name: "file and folder", entries: []zent{ok, {name: "app.py/x", body: "x"}},
			wantEntry: "app.py/x", wantReason: "both a file and a folder"},
		{name: "symlink chain escape", entries: []zent{ok,
			{name: "a/b/c/"},
			link("a/b/c/d", "../../.."), // resolves to the root: fine alone
			link("e", "a/b/c/d/.."),     // lexically a/b/c, really the root's parent
		}, wantEntry: "e", wantReason: "resolves outside"},
		{name: "symlink loop", entries: []zent{ok, link("x", "y"), link("y", "x")},
			wantEntry: "x", wantReason: "loop"},
		{name: "symlink with backslash target", entries: []zent{ok, link("l", `..\..\etc`)},
			wantEntry: "l", wantReason: "backslash"},
		{name: "symlink with empty target", entries: []zent{ok, link("l", "")},
			wantEntry: "l", wantReason: "empty target"},
		{name: "block device", entries: []zent{ok, {name: "sda", mode: fs.ModeDevice | 0o600}},
			wantEntry: "sda", wantReason: "device"},
		{name: "character device", entries: []zent{ok, {name: "null", mode: fs.ModeDevice | fs.ModeCharDevice | 0o666}},
			wantEntry: "null", wantReason: "character device"},
		{name: "fifo", entries: []zent{ok, {name: "pipe", mode: fs.ModeNamedPipe | 0o644}},
			wantEntry: "pipe", wantReason: "named pipe"},
		{name: "socket", entries: []zent{ok, {name: "sock", mode: fs.ModeSocket | 0o644}},
			wantEntry: "sock", wantReason: "socket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.entryUnderParent {
				checkRefusedAnyEntry(t, tc)
				return
			}
			checkRefused(t, tc)
		})
	}
}

// checkRefusedAnyEntry is checkRefused for cases whose entry name depends
// on the temp folder: it checks that Entry is set and ends as expected.
func checkRefusedAnyEntry(t *testing.T, tc refusalCase) {
	t.Helper()
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	zipPath := writeBytes(t, tc.zipData(t, parent))
	before := listTree(t, parent, true)
	_, err := Extract(t.Context(), zipPath, dest, DefaultLimits())
	ae := asError(t, err)
	if !strings.HasPrefix(ae.Entry, parent) || !strings.Contains(ae.Reason, tc.wantReason) {
		t.Errorf("error = %+v, want entry under %s and reason containing %q", ae, parent, tc.wantReason)
	}
	if diff := cmp.Diff(before, listTree(t, parent, true)); diff != "" {
		t.Errorf("folder around dest changed (-before +after):\n%s", diff)
	}
}

// TestExtractRefusesBombs: packages that expand beyond the limits are
// refused, by the declared sizes up front and by counting bytes while
// streaming when the headers lie; the partial output is removed.
func TestExtractRefusesBombs(t *testing.T) {
	zeros10M := make([]byte, 10<<20)
	tests := []refusalCase{
		{
			name:       "declared total beyond MaxTotalBytes",
			entries:    []zent{{name: "app.py", body: "x"}, {name: "zeros.bin", body: string(zeros10M)}},
			lim:        Limits{MaxTotalBytes: 1 << 20, MaxRatio: 100_000},
			wantEntry:  "zeros.bin",
			wantReason: "past the limit of 1.0 MiB uncompressed",
		},
		{
			name:       "declared file beyond MaxFileBytes",
			entries:    []zent{{name: "big.bin", body: string(zeros10M)}},
			lim:        Limits{MaxFileBytes: 1 << 20, MaxRatio: 100_000},
			wantEntry:  "big.bin",
			wantReason: "more than the limit of 1.0 MiB per file",
		},
		{
			name:       "ratio bomb with default limits",
			entries:    []zent{{name: "app.py", body: "x"}, {name: "bomb.bin", body: string(zeros10M)}},
			wantEntry:  "bomb.bin",
			wantReason: "zip bomb",
		},
		{
			name: "overall ratio bomb from small entries",
			entries: func() []zent {
				var es []zent
				for i := range 20 {
					es = append(es, zent{name: "part" + string(rune('a'+i)), body: string(zeros10M[:512<<10])})
				}
				return es
			}(),
			wantEntry:  "",
			wantReason: "looks like a zip bomb",
		},
		{
			name: "header declares less than the data holds",
			entries: []zent{
				{name: "app.py", body: "print('hi')\n"},
				lyingEntry(t, "liar.bin", zeros10M, 1000),
			},
			wantEntry:  "liar.bin",
			wantReason: "larger than the 1000 bytes its header declares",
		},
		{
			name: "header declares more than the data holds",
			entries: []zent{
				{name: "app.py", body: "print('hi')\n"},
				lyingEntry(t, "short.bin", []byte("tiny"), 100),
			},
			wantEntry:  "short.bin",
			wantReason: "damaged",
		},
		{
			name:       "too many files",
			entries:    []zent{{name: "a"}, {name: "b"}, {name: "c"}, {name: "d"}},
			lim:        Limits{MaxFiles: 3},
			wantReason: "more than the limit of 3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkRefused(t, tc) })
	}
}

// TestExtractRefusesNonZip: files that are not zips, or are damaged, get
// "The package is not a valid zip archive: ...".
func TestExtractRefusesNonZip(t *testing.T) {
	valid := zipBytes(t, []zent{{name: "app.py", body: strings.Repeat("print('hello')\n", 100)}})
	damaged := bytes.Clone(valid)
	// Flip bytes in the middle of the deflated data, keeping the directory.
	for i := 40; i < 60; i++ {
		damaged[i] ^= 0xff
	}
	tests := []refusalCase{
		{name: "text file", zipData: func(*testing.T, string) []byte { return []byte("this is not a zip\n") },
			wantReason: "The package is not a valid zip archive: "},
		{name: "empty file", zipData: func(*testing.T, string) []byte { return nil },
			wantReason: "The package is not a valid zip archive: "},
		{name: "gzip", zipData: func(*testing.T, string) []byte { return []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3} },
			wantReason: "tar and gzip archives are not supported"},
		{name: "truncated", zipData: func(*testing.T, string) []byte { return valid[:len(valid)/2] },
			wantReason: "The package is not a valid zip archive: "},
		{name: "damaged data", zipData: func(*testing.T, string) []byte { return damaged },
			wantEntry: "app.py", wantReason: "damaged"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkRefused(t, tc) })
	}
}

// TestCheckEntryCount: a central directory with more headers than
// MaxFiles is refused before archive/zip loads it, even when the end record
// understates the count.
func TestCheckEntryCount(t *testing.T) {
	var entries []zent
	for i := range 50 {
		entries = append(entries, zent{name: string(rune('a'+i%26)) + string(rune('a'+i/26))})
	}
	data := zipBytes(t, entries)
	// Understate the entry count in the end-of-central-directory record.
	eocd := bytes.LastIndex(data, []byte("PK\x05\x06"))
	data[eocd+8], data[eocd+9], data[eocd+10], data[eocd+11] = 2, 0, 2, 0
	f, err := os.Open(writeBytes(t, data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = CheckEntryCount(t.Context(), f, int64(len(data)), Limits{MaxFiles: 10}.WithDefaults())
	ae := asError(t, err)
	if !strings.Contains(ae.Reason, "more than the limit of 10") {
		t.Errorf("Reason = %q", ae.Reason)
	}
	if err := CheckEntryCount(t.Context(), f, int64(len(data)), Limits{MaxFiles: 50}.WithDefaults()); err != nil {
		t.Errorf("50 entries with MaxFiles 50: %v", err)
	}
}

// TestExtractCancelled: a cancelled context stops extraction with the
// context's error (not an *Error) and removes what was written.
func TestExtractCancelled(t *testing.T) {
	zipPath := writeZip(t, []zent{{name: "a.txt", body: "a"}, {name: "b.txt", body: "b"}})
	dest := filepath.Join(t.TempDir(), "dest")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Extract(ctx, zipPath, dest, DefaultLimits())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dest left behind: %v", err)
	}
}

// TestErrorMessage pins the rendering used in deployment logs and 400 bodies.
func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Entry: "../evil", Reason: "its path contains \"..\"."},
			`The package was rejected because of entry "../evil": its path contains "..".`},
		{&Error{Reason: "The package is not a valid zip archive: zip: not a valid zip file."},
			"The package is not a valid zip archive: zip: not a valid zip file."},
		{&Error{Entry: "a\x00b", Reason: "NUL."},
			`The package was rejected because of entry "a\x00b": NUL.`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}
