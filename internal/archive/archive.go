// Package archive owns the two places where Slipway handles zip files:
// confined extraction of untrusted deployment archives (zipdeploy and
// OneDeploy bodies, docs/appservice.md §5) and zipping a project folder the way
// `az webapp up` does (docs/appservice.md §13).
//
// Extract treats every archive as hostile. It validates the whole central
// directory before writing anything (names, entry types, declared sizes,
// compression ratios, duplicates, symbolic links), then writes through an
// [os.Root] so that no write can leave the destination folder, counts the
// bytes actually decompressed (headers can lie), and removes everything it
// wrote if anything goes wrong. Refusals are reported as *[Error], whose
// message is meant for the deployment log and the HTTP 400 body.
//
// Zip walks a project folder in lexical order and writes a zip that skips
// what `az webapp up` skips for Python apps, plus a few folders that never
// belong in a deployment.
package archive

import (
	"fmt"
	"strconv"
)

// Limits bounds what Extract accepts. A zero field means "use the default"
// (see [DefaultLimits]); limits can be lowered but never disabled.
type Limits struct {
	// MaxFiles is the maximum number of entries (files, folders and links).
	MaxFiles int
	// MaxTotalBytes is the maximum total uncompressed size. Kudu's package
	// limit is 2048 MB (docs/appservice.md §5).
	MaxTotalBytes int64
	// MaxFileBytes is the maximum uncompressed size of a single entry.
	MaxFileBytes int64
	// MaxRatio is the maximum compression ratio (uncompressed/compressed),
	// checked per entry and for the whole archive, before the archive is
	// called a zip bomb. Entries (and archives) smaller than 1 MiB
	// uncompressed are exempt, since small text files can legitimately
	// compress very well.
	MaxRatio int64
	// Room, when set, is asked whether n more bytes fit on the
	// destination's disk: for the whole archive before anything is
	// written, and for each file before it is. Its error ends the
	// extraction as it is (wrapped), and what was written is removed.
	// The caller's disk reserve (package diskreserve): what a package
	// expands to may be 200 times its size.
	Room func(n int64) error
}

// Default limits, see [DefaultLimits].
const (
	DefaultMaxFiles      = 100_000
	DefaultMaxTotalBytes = 2 << 30 // 2 GiB, Kudu's 2048 MB package limit
	DefaultMaxFileBytes  = 1 << 30 // 1 GiB
	DefaultMaxRatio      = 200
)

// ratioFloor is the uncompressed size below which the ratio check does not
// apply: deflate reaches ratios around 1000:1 on repetitive data, and small
// repetitive files (fixtures, SVGs, locale files) are normal in projects.
const ratioFloor = 1 << 20

// DefaultLimits returns the limits used for deployments.
func DefaultLimits() Limits {
	return Limits{
		MaxFiles:      DefaultMaxFiles,
		MaxTotalBytes: DefaultMaxTotalBytes,
		MaxFileBytes:  DefaultMaxFileBytes,
		MaxRatio:      DefaultMaxRatio,
	}
}

// WithDefaults returns the limits Extract applies: zero (or negative)
// fields filled with the defaults.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	return l
}

// Stats describes what Extract wrote.
type Stats struct {
	// Files is the number of regular files and symbolic links created
	// (folders are not counted).
	Files int
	// Bytes is the number of bytes of file content written.
	Bytes int64
}

// Error is a refusal of an archive: the archive itself is at fault, not the
// server. Callers render it as a failed deployment (HTTP 400, deployment log
// entry) with Error() as the message.
type Error struct {
	// Entry is the name of the offending entry exactly as it appears in the
	// archive, or "" when the archive as a whole is at fault.
	Entry string
	// Reason says what is wrong and what to do about it, as a sentence.
	Reason string
}

// Error renders the message for the deployment log / HTTP 400 body.
func (e *Error) Error() string {
	if e.Entry == "" {
		return e.Reason
	}
	return fmt.Sprintf("The package was rejected because of entry %s: %s", strconv.Quote(e.Entry), e.Reason)
}

// refuse builds an *Error for an entry.
func refuse(entry, format string, args ...any) *Error {
	return &Error{Entry: entry, Reason: fmt.Sprintf(format, args...)}
}
