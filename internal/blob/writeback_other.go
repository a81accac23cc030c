//go:build !linux

package blob

import (
	"errors"
	"os"
)

// startWriteback is a no-op where sync_file_range(2) does not exist.
func startWriteback(f *os.File, off, n int64) error {
	return errors.ErrUnsupported
}
