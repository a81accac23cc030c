package blob

import (
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Blob index tags: Set/Get Blob Tags, x-ms-tags on uploads and copies,
// x-ms-if-tags conditions (tagfilter.go) and their checks. Find Blobs by
// Tags is in findtags.go.

// tagSet is a blob's index tags, key to value.
type tagSet map[string]string

// nonNilTags stores a blob without tags as {} (the index triggers read the
// column with json_each).
func nonNilTags(t tagSet) tagSet {
	if t == nil {
		return tagSet{}
	}
	return t
}

// Azure's answers to invalid tags.
var (
	errTagsTooLarge      = newError(400, "TagsTooLarge", "The tags specified exceed the maximum permissible limit.")
	errEmptyTagName      = newError(400, "EmptyTagName", "The name of one of the tag key-value pairs is empty.")
	errDuplicateTagNames = newError(400, "DuplicateTagNames", "The tags specified contain duplicate names.")
	errInvalidTag        = newError(400, "InvalidTag", "The tags specified are invalid. It contains characters that are not permitted.")
	errBothTagSources    = newError(400, "BothUserTagsAndSourceTagsCopyPresentException", "x-ms-tags header must not be present with x-ms-copy-source-tag-option as COPY.")
	errSourceCondition   = newError(412, "SourceConditionNotMet", "The source condition specified using HTTP conditional header(s) is not met.")
)

// newTagSet validates key-value pairs as Azure does (at most 10; keys of
// 1-128 and values of 0-256 permitted characters; no key twice) and
// returns them as a set.
func newTagSet(pairs [][2]string) (tagSet, error) {
	if len(pairs) > maxTags {
		return nil, errTagsTooLarge
	}
	t := tagSet{}
	for _, p := range pairs {
		k, v := p[0], p[1]
		switch {
		case k == "":
			return nil, errEmptyTagName
		case len(k) > maxTagKeyLen || len(v) > maxTagValueLen:
			return nil, errTagsTooLarge
		}
		if _, bad := badTagChar(k); bad {
			return nil, errInvalidTag
		}
		if _, bad := badTagChar(v); bad {
			return nil, errInvalidTag
		}
		if _, dup := t[k]; dup {
			return nil, errDuplicateTagNames
		}
		t[k] = v
	}
	return t, nil
}

// tagsFromHeader parses x-ms-tags, a URL-encoded query string
// ("k1=v1&k2=v2"; '+' is a space, as the SDKs encode it). "" is no tags.
func tagsFromHeader(v string) (tagSet, error) {
	if v == "" {
		return nil, nil
	}
	var pairs [][2]string
	for _, part := range strings.Split(v, "&") {
		k, val, _ := strings.Cut(part, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil {
			return nil, errInvalidTag
		}
		pairs = append(pairs, [2]string{dk, dv})
	}
	return newTagSet(pairs)
}

// tagsXML is the body of Set and Get Blob Tags, and the Tags element of
// List Blobs and Find Blobs by Tags.
type tagsXML struct {
	XMLName xml.Name `xml:"Tags"`
	TagSet  struct {
		Tags []tagXML `xml:"Tag"`
	} `xml:"TagSet"`
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// xml renders the tags of keys (all of t when keys is nil), sorted by key.
func (t tagSet) xml(keys []string) *tagsXML {
	if keys == nil {
		keys = slices.Sorted(maps.Keys(t))
	}
	out := &tagsXML{}
	for _, k := range keys {
		if v, ok := t[k]; ok {
			out.TagSet.Tags = append(out.TagSet.Tags, tagXML{k, v})
		}
	}
	return out
}

// setTagCount reports a blob's tag count as Get Blob and Get Blob
// Properties do (only when it has tags).
func (t tagSet) setTagCount(h http.Header) {
	if len(t) > 0 {
		h.Set("x-ms-tag-count", fmt.Sprint(len(t)))
	}
}

// checkBlobConditions applies to the blob b (nil when it does not exist)
// the ETag and date conditions of h (see checkConditions) and its
// x-ms-if-tags. A malformed x-ms-if-tags is InvalidHeaderValue whatever
// the blob; an unmet one is 412 ConditionNotMet (on a missing blob every
// comparison is false).
func checkBlobConditions(h http.Header, b *blobRow, mode condMode) error {
	ifTags, err := parseIfTags(h)
	if err != nil {
		return err
	}
	if b == nil {
		err = checkConditions(h, false, "", time.Time{}, mode)
	} else {
		err = checkConditions(h, true, b.ETag, b.LastModified, mode)
	}
	if err != nil {
		return err
	}
	return ifTags.met(b)
}

// checkIfTags applies only x-ms-if-tags, for the operations that take no
// other condition (Set Blob Tier, Get Block List).
func checkIfTags(h http.Header, b *blobRow) error {
	ifTags, err := parseIfTags(h)
	if err != nil {
		return err
	}
	return ifTags.met(b)
}

// parseIfTags parses x-ms-if-tags; nil when there is none.
func parseIfTags(h http.Header) (*tagExpr, error) {
	v := h.Get("x-ms-if-tags")
	if v == "" {
		return nil, nil
	}
	e, err := parseTagFilter(v, dialectIfTags)
	if err != nil {
		return nil, errInvalidHeader
	}
	return e, nil
}

// met returns ConditionNotMet unless the tags of b (none when b is nil)
// satisfy e. A nil e is always met.
func (e *tagExpr) met(b *blobRow) error {
	if e == nil {
		return nil
	}
	var tags tagSet
	if b != nil {
		tags = b.Tags
	}
	if !e.eval(tags) {
		return errConditionNotMet
	}
	return nil
}

// conditionHeaders returns the conditions an operation takes under other
// header names as the standard ones: If-Match and the others from
// prefix+name (x-ms-blob-if-match on the tags operations,
// x-ms-source-if-match for a copy source), x-ms-if-tags from ifTags, and
// the lease ID unchanged.
func conditionHeaders(h http.Header, prefix, ifTags string) http.Header {
	out := http.Header{}
	for _, k := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := h.Get(prefix + k); v != "" {
			out.Set(k, v)
		}
	}
	if v := h.Get(ifTags); v != "" {
		out.Set("x-ms-if-tags", v)
	}
	if v := h.Get("x-ms-lease-id"); v != "" {
		out.Set("x-ms-lease-id", v)
	}
	return out
}

// checkCopySource applies a copy's x-ms-source-if-* conditions to its
// source; unmet ones are SourceConditionNotMet.
func checkCopySource(h http.Header, src *blobRow) error {
	sh := conditionHeaders(h, "x-ms-source-", "x-ms-source-if-tags")
	sh.Del("x-ms-lease-id") // the lease ID is the destination's
	err := checkBlobConditions(sh, src, condWrite)
	if errors.Is(err, errConditionNotMet) {
		return errSourceCondition
	}
	return err
}

// copyTags returns the tags of a copy's destination: those of x-ms-tags
// (given), or with x-ms-copy-source-tag-option: COPY the source's, never
// both. A copy without either has none: Azure does not copy tags unless
// asked.
func copyTags(h http.Header, given tagSet, src *blobRow) (tagSet, error) {
	switch h.Get("x-ms-copy-source-tag-option") {
	case "", "REPLACE":
		return given, nil
	case "COPY":
		if h.Get("x-ms-tags") != "" {
			return nil, errBothTagSources
		}
		return maps.Clone(src.Tags), nil
	}
	return nil, errInvalidHeader
}

func (s *Service) getBlobTags(rq *req) error {
	h := conditionHeaders(rq.r.Header, "x-ms-blob-", "x-ms-if-tags")
	b, err := getBlobHead(rq.r.Context(), s.rdb(), rq.acct.Name, rq.container, rq.blob, rq.q.Get("snapshot"))
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	if err := checkReadLease(b.Lease, h, s.now(), "blob"); err != nil {
		return err
	}
	if err := checkBlobConditions(h, b, condRead); err != nil {
		return err
	}
	return rq.writeXML(http.StatusOK, b.Tags.xml(nil))
}

// maxTagsBody bounds a Set Blob Tags body (10 tags of at most 384
// characters, with room for XML).
const maxTagsBody = 64 << 10

// setBlobTags replaces the tags of a blob or snapshot. As Azure, the
// blob's ETag and Last-Modified do not change.
func (s *Service) setBlobTags(rq *req) error {
	ctx := rq.r.Context()
	var in tagsXML
	if _, err := readXMLBody(rq.r, maxTagsBody, &in); err != nil {
		return err
	}
	pairs := make([][2]string, len(in.TagSet.Tags))
	for i, t := range in.TagSet.Tags {
		pairs[i] = [2]string{t.Key, t.Value}
	}
	tags, err := newTagSet(pairs)
	if err != nil {
		return err
	}
	h := conditionHeaders(rq.r.Header, "x-ms-blob-", "x-ms-if-tags")
	err = s.tx(ctx, func(tx *sql.Tx) error {
		b, err := getBlobHead(ctx, tx, rq.acct.Name, rq.container, rq.blob, rq.q.Get("snapshot"))
		if err != nil {
			return err
		}
		if err := checkWriteLease(b.Lease, h, s.now(), "blob"); err != nil {
			return err
		}
		if err := checkBlobConditions(h, b, condWrite); err != nil {
			return err
		}
		return storeTags(ctx, tx, b, tags)
	})
	if err != nil {
		return s.blobOrContainerNotFound(rq, err)
	}
	return rq.ok(http.StatusNoContent)
}

// storeTags sets the tags of the row of b (the index follows by trigger).
func storeTags(ctx context.Context, x execer, b *blobRow, tags tagSet) error {
	_, err := x.ExecContext(ctx, `UPDATE blobs SET tags = ? WHERE account = ? AND container = ? AND name = ? AND snapshot = ?`,
		mustJSON(nonNilTags(tags)), b.Account, b.Container, b.Name, b.Snapshot)
	if err != nil {
		return fmt.Errorf("storing blob tags: %w", err)
	}
	return nil
}
