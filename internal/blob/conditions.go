package blob

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// condMode says what kind of operation conditions apply to.
type condMode int

const (
	condWrite  condMode = iota // a write to an existing resource
	condRead                   // a read: unmet If-None-Match/If-Modified-Since → 304
	condCreate                 // a write that creates or replaces a blob (Put Blob, Put Block List, Copy Blob)
)

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since. exists is false when the target does not exist yet.
// For reads an unmet If-None-Match or If-Modified-Since yields 304 Not
// Modified, and If-None-Match: * is 400 UnsatisfiableCondition; for writes
// every unmet condition yields 412 ConditionNotMet. If-None-Match: * on an
// existing blob is 409 BlobAlreadyExists for a create (Put Blob with
// overwrite disabled expects it) and is ignored by other writes (as Azure
// and Azurite: Delete Blob with If-None-Match: * succeeds).
func checkConditions(h http.Header, exists bool, etag string, lastModified time.Time, mode condMode) error {
	lm := lastModified.Truncate(time.Second)
	read := mode == condRead
	if v := h.Get("If-Match"); v != "" {
		if !exists || !etagMatches(v, etag) {
			return errConditionNotMet
		}
	}
	if v := strings.TrimSpace(h.Get("If-None-Match")); v == "*" && read {
		return errUnsatisfiableCondition
	}
	if v := h.Get("If-None-Match"); v != "" && exists {
		if strings.TrimSpace(v) == "*" {
			if mode == condCreate {
				return errBlobExists
			}
		} else if etagMatches(v, etag) {
			if read {
				return notModified
			}
			return errConditionNotMet
		}
	}
	if v := h.Get("If-Modified-Since"); v != "" && exists {
		if t, err := http.ParseTime(v); err == nil && !lm.After(t) {
			if read {
				return notModified
			}
			return errConditionNotMet
		}
	}
	if v := h.Get("If-Unmodified-Since"); v != "" && exists {
		if t, err := http.ParseTime(v); err == nil && lm.After(t) {
			return errConditionNotMet
		}
	}
	return nil
}

var errUnsatisfiableCondition = newError(400, "UnsatisfiableCondition", "The request includes an unsatisfiable condition for this operation.")

var notModified = newError(http.StatusNotModified, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")

// etagMatches reports whether the If-Match/If-None-Match list matches etag.
func etagMatches(list, etag string) bool {
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || strings.Trim(v, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// parseRange parses "bytes=start-end" or "bytes=start-" (the forms Azure
// accepts in Range and x-ms-range). ok is false for anything else.
func parseRange(v string) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	b = strings.TrimSpace(b)
	if b == "" {
		return start, -1, true
	}
	end, err = strconv.ParseInt(b, 10, 64)
	if err != nil || end < start {
		return 0, 0, false
	}
	return start, end, true
}

// leaseAction performs a lease operation (acquire, renew, change, release,
// break) on l. kind is "blob" or "container" for error codes. It returns the
// new lease, the HTTP status and headers to send.
func leaseAction(l leaseInfo, h http.Header, now time.Time) (leaseInfo, int, map[string]string, error) {
	cur := l.effective(now)
	id := h.Get("x-ms-lease-id")
	proposed := h.Get("x-ms-proposed-lease-id")
	out := map[string]string{}
	switch strings.ToLower(h.Get("x-ms-lease-action")) {
	case "acquire":
		dur, err := strconv.Atoi(h.Get("x-ms-lease-duration"))
		if err != nil || (dur != -1 && (dur < 15 || dur > 60)) {
			return l, 0, nil, errInvalidHeader
		}
		// Azure documents a GUID; like Azurite, any proposed ID is kept
		// as given (Azurite's own suite leases with IDs like "abcdefg").
		if proposed == "" {
			proposed = uuid.NewString()
		}
		switch cur.State {
		case "leased":
			if cur.ID != proposed {
				return l, 0, nil, newError(409, "LeaseAlreadyPresent", "There is already a lease present.")
			}
		case "breaking":
			return l, 0, nil, newError(409, "LeaseIsBreakingAndCannotBeAcquired", "There is already a breaking lease present.")
		}
		n := leaseInfo{ID: proposed, State: "leased", Duration: dur}
		if dur > 0 {
			n.Expires = now.Add(time.Duration(dur) * time.Second).UnixNano()
		}
		out["x-ms-lease-id"] = proposed
		return n, http.StatusCreated, out, nil
	case "renew":
		if id == "" {
			return l, 0, nil, errMissingHeader
		}
		switch {
		case cur.State == "" || cur.ID != id:
			// An available resource (never leased, or its expired or
			// broken lease dropped by a write) fails with the ID
			// mismatch, as Azurite answers.
			return l, 0, nil, newError(409, "LeaseIdMismatchWithLeaseOperation", "The lease ID specified did not match the lease ID for the resource.")
		case cur.State == "broken" || cur.State == "breaking":
			return l, 0, nil, newError(409, "LeaseIsBrokenAndCannotBeRenewed", "The lease ID matched, but the lease has been broken explicitly and cannot be renewed.")
		}
		n := leaseInfo{ID: id, State: "leased", Duration: l.Duration}
		if n.Duration > 0 {
			n.Expires = now.Add(time.Duration(n.Duration) * time.Second).UnixNano()
		}
		out["x-ms-lease-id"] = id
		return n, http.StatusOK, out, nil
	case "change":
		if id == "" || proposed == "" {
			return l, 0, nil, errMissingHeader
		}
		switch cur.State {
		case "leased":
			if cur.ID != id && cur.ID != proposed {
				return l, 0, nil, newError(409, "LeaseIdMismatchWithLeaseOperation", "The lease ID specified did not match the lease ID for the resource.")
			}
		case "breaking":
			return l, 0, nil, newError(409, "LeaseIsBreakingAndCannotBeChanged", "The lease ID matched, but the lease is currently in breaking state and cannot be changed.")
		default:
			return l, 0, nil, newError(409, "LeaseNotPresentWithLeaseOperation", "There is currently no lease.")
		}
		n := l
		n.ID = proposed
		out["x-ms-lease-id"] = proposed
		return n, http.StatusOK, out, nil
	case "release":
		if id == "" {
			return l, 0, nil, errMissingHeader
		}
		if cur.State == "" || cur.ID != id {
			return l, 0, nil, newError(409, "LeaseIdMismatchWithLeaseOperation", "The lease ID specified did not match the lease ID for the resource.")
		}
		return leaseInfo{}, http.StatusOK, out, nil
	case "break":
		if cur.State == "" {
			return l, 0, nil, newError(409, "LeaseNotPresentWithLeaseOperation", "There is currently no lease.")
		}
		period := -1
		if v := h.Get("x-ms-lease-break-period"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p < 0 || p > 60 {
				return l, 0, nil, errInvalidHeader
			}
			period = p
		}
		n := cur
		switch cur.State {
		case "expired", "broken":
			n.State = "broken"
			out["x-ms-lease-time"] = "0"
		case "leased", "breaking":
			var remaining time.Duration
			switch {
			case cur.State == "breaking":
				remaining = time.Duration(cur.BreakUntil - now.UnixNano())
			case cur.Duration > 0:
				remaining = time.Duration(cur.Expires - now.UnixNano())
			default:
				remaining = 0
				if period > 0 {
					remaining = time.Duration(period) * time.Second
				}
			}
			if period >= 0 && time.Duration(period)*time.Second < remaining {
				remaining = time.Duration(period) * time.Second
			}
			if remaining <= 0 {
				n.State = "broken"
				out["x-ms-lease-time"] = "0"
			} else {
				n.State = "breaking"
				n.BreakUntil = now.Add(remaining).UnixNano()
				// Seconds left, rounded (as Azurite): a lease that reports
				// 0 is still breaking for under half a second.
				out["x-ms-lease-time"] = strconv.Itoa(int((remaining + time.Second/2) / time.Second))
			}
		}
		return n, http.StatusAccepted, out, nil
	}
	return l, 0, nil, errInvalidHeader
}

// afterWrite is the lease a blob keeps when it is written: an active lease
// stays; an expired or broken one is dropped (the blob becomes available,
// so the old lease can no longer be renewed), as Azurite does.
func (l leaseInfo) afterWrite(now time.Time) leaseInfo {
	if l.effective(now).active() {
		return l
	}
	return leaseInfo{}
}

// checkWriteLease enforces a lease on a write: with an active lease the
// request must carry its ID; without one it must carry none.
func checkWriteLease(l leaseInfo, h http.Header, now time.Time, kind string) error {
	cur := l.effective(now)
	id := h.Get("x-ms-lease-id")
	Kind := strings.ToUpper(kind[:1]) + kind[1:]
	if cur.active() {
		if id == "" {
			return newError(412, "LeaseIdMissing", "There is currently a lease on the "+kind+" and no lease ID was specified in the request.")
		}
		if id != cur.ID {
			return newError(412, "LeaseIdMismatchWith"+Kind+"Operation", "The lease ID specified did not match the lease ID for the "+kind+".")
		}
		return nil
	}
	if id != "" {
		return newError(412, "LeaseNotPresentWith"+Kind+"Operation", "There is currently no lease on the "+kind+".")
	}
	return nil
}

// checkReadLease: a read may name a lease ID, which must then be the
// active lease.
func checkReadLease(l leaseInfo, h http.Header, now time.Time, kind string) error {
	if h.Get("x-ms-lease-id") == "" {
		return nil
	}
	return checkWriteLease(l, h, now, kind)
}
