package blob

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
)

// Put Block From URL, Append Block From URL and Put Page From URL are Put
// Block, Append Block and Put Page whose content is a range of another
// blob, named by x-ms-copy-source instead of sent in the body: AzCopy's
// service-to-service copies move every block, append block and written
// page range of a blob this way.
// https://learn.microsoft.com/rest/api/storageservices/put-block-from-url
// https://learn.microsoft.com/rest/api/storageservices/append-block-from-url
// https://learn.microsoft.com/rest/api/storageservices/put-page-from-url

// fromURL reports whether rq is the From URL form of its operation.
func fromURL(rq *req) bool { return rq.r.Header.Get("x-ms-copy-source") != "" }

// urlSource is the content a From URL request reads.
type urlSource struct {
	body    io.Reader
	size    int64       // bytes body holds
	checks  http.Header // the request's checksum headers as an upload's
	release func()
}

// openURLSource resolves and authorises x-ms-copy-source as Copy Blob does
// (copySource), applies the x-ms-source-if-* conditions, and opens the
// range of it named by x-ms-source-range (the whole blob without one), of
// at most limit bytes. The range's x-ms-source-content-md5 or
// x-ms-source-content-crc64 becomes the Content-MD5 or x-ms-content-crc64
// that newUploadChecks verifies, and that the answer then carries. The
// content is read through the disk reserve, as a body is.
func (s *Service) openURLSource(rq *req, limit int64) (*urlSource, error) {
	h := rq.r.Header
	if rq.r.ContentLength > 0 {
		// "Content-Length: Required ... must be set to zero."
		return nil, newError(400, "InvalidHeaderValue", "The request body must be empty: the content is read from x-ms-copy-source.")
	}
	src, _, err := s.copySource(rq)
	if err != nil {
		return nil, err
	}
	if err := checkCopySource(h, src); err != nil {
		return nil, err
	}
	if src.AccessTier == "Archive" {
		return nil, errBlobArchived
	}
	start, n := int64(0), src.Size
	if v := h.Get("x-ms-source-range"); v != "" {
		st, en, ok := parseRange(v)
		if !ok || st >= src.Size {
			return nil, errInvalidRange
		}
		if en < 0 || en >= src.Size {
			en = src.Size - 1
		}
		start, n = st, en-st+1
	}
	if n > limit {
		return nil, errRequestBodyTooLarge
	}
	if err := s.reserve.Check(n); err != nil {
		return nil, err
	}
	ra, release, err := s.openContent(rq.r.Context(), src, start, start+n)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errSourceChanged
	}
	if err != nil {
		return nil, err
	}
	checks := http.Header{}
	if v := h.Get("x-ms-source-content-md5"); v != "" {
		checks.Set("Content-MD5", v)
	}
	if v := h.Get("x-ms-source-content-crc64"); v != "" {
		checks.Set("x-ms-content-crc64", v)
	}
	body := s.reserve.Reader(io.NewSectionReader(ra, start, n))
	return &urlSource{body: sourceReader{body}, size: n, checks: checks, release: release}, nil
}

// sourceReader reports a source whose files went away while it was read
// (replaced or deleted meanwhile) as errSourceChanged.
type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && errors.Is(err, fs.ErrNotExist) {
		err = errSourceChanged
	}
	return n, err
}
