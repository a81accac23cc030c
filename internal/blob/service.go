package blob

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/slipway-dev/slipway/internal/cleartext"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// maxClockSkew is how far a SharedKey request's date may be from now.
const maxClockSkew = 15 * time.Minute

// defaultVersion is reported when a request names no x-ms-version.
const defaultVersion = "2025-11-05"

// req is one request being served.
type req struct {
	w         *trackingWriter
	r         *http.Request
	id        string
	acct      Account
	container string
	blob      string
	q         url.Values
	sas       *sasParams // set when authorised by a SAS
	sasPerms  string     // the SAS's permissions, with its stored access policy's
	endpoint  string     // service endpoint URL as the client addressed it, with trailing slash
	version   string     // x-ms-version as the client sent it (a batch's, for its sub-requests); "" none

	principal   string // object id of a bearer token's principal (oauth.go)
	tenant      string // and its tenant
	delegator   string // object id that signed a user delegation SAS (delegation.go)
	noOverwrite bool   // may create blobs but not replace them (see mayOverwrite)
	anonymous   bool   // authorised as a public read, with no credentials
}

// trackingWriter remembers whether the response has started, so a late
// error is logged instead of corrupting the response.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// op describes one REST operation: where it applies, which SAS
// permissions grant it, and whether a public container allows it.
type op struct {
	name  string
	level byte   // 's' service, 'c' container, 'o' object (account SAS srt), or anyLevel
	perms string // SAS permissions, any of which grants the operation; "" any
	anon  int    // 0: never anonymous; 1: public "blob" or "container"; 2: public "container" only
	fn    func(*Service, *req) error
}

// anyLevel is the level of Blob Batch, which a SAS of any resource type
// and permissions may submit: the batch itself touches nothing, and each
// of its sub-requests is authorised on its own.
const anyLevel = '*'

// ServeHTTP serves the Blob REST API. Path-style addressing
// (/<account>/<container>/<blob>) is always accepted; host-style
// (<account>.blob.<BaseDomain>) when Config.BaseDomain is set.
func (s *Service) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body := newIdleBody(rw, r, s.bodyIdle)
	if body != nil {
		r = r.WithContext(r.Context())
		r.Body = body
	}
	s.serveVersion(rw, r, r.Header.Get("x-ms-version"), body)
}

// serveVersion serves r as ServeHTTP, answering for version v (the
// default when v is ""). A batch serves its sub-requests here with the
// batch's version, which they do not carry themselves, and no body of
// their own. A request whose body stalled fails with OperationTimedOut,
// whatever error its handler made of the failed read.
func (s *Service) serveVersion(rw http.ResponseWriter, r *http.Request, v string, body *idleBody) {
	w := &trackingWriter{ResponseWriter: rw}
	id := uuid.NewString()
	h := w.Header()
	h.Set("x-ms-request-id", id)
	explicit := v
	if v == "" {
		v = defaultVersion
	}
	h.Set("x-ms-version", v)
	h.Set("Server", "Slipway-Blob")
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))
	if cid := r.Header.Get("x-ms-client-request-id"); cid != "" {
		h.Set("x-ms-client-request-id", cid)
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.fail(w, r, id, fmt.Errorf("panic: %v", p))
		}
	}()
	if err := s.serve(w, r, id, explicit); err != nil {
		if body.stalled() {
			err = errOperationTimedOut
		} else if errors.Is(err, diskreserve.ErrShort) {
			err = errServerBusy
		}
		s.fail(w, r, id, err)
	}
}

func (s *Service) fail(w *trackingWriter, r *http.Request, id string, err error) {
	if w.wrote {
		s.log.Error("blob request failed after response started", "method", r.Method, "path", r.URL.Path, "request_id", id, "err", err)
		return
	}
	s.writeError(w, r, id, err)
}

// address splits a request into account, container and blob name.
func (s *Service) address(r *http.Request) (account, container, blob, endpoint string) {
	scheme := "http"
	if cleartext.OverTLS(r) {
		scheme = "https"
	}
	host := r.Host
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	suffix := ".blob." + s.cfg.BaseDomain
	if !strings.HasSuffix(hostname, suffix) {
		// Inside a sandbox Azure's own name reaches this service too.
		suffix = ".blob.core.windows.net"
	}
	if s.cfg.BaseDomain != "" && strings.HasSuffix(hostname, suffix) && len(hostname) > len(suffix) {
		account = hostname[:len(hostname)-len(suffix)]
		endpoint = scheme + "://" + host + "/"
	} else {
		account, p, _ = strings.Cut(p, "/")
		endpoint = scheme + "://" + host + "/" + account + "/"
	}
	// Account names are lower case, and the platform finds an account by
	// its name in any case: an account is always named in lower case here,
	// so that it has one namespace, whatever case a client writes.
	account = strings.ToLower(account)
	container, blob, _ = strings.Cut(p, "/")
	// Azure stores a backslash in a blob name as a forward slash.
	blob = strings.ReplaceAll(blob, `\`, "/")
	return account, container, blob, endpoint
}

func (s *Service) serve(w *trackingWriter, r *http.Request, id, version string) error {
	account, container, blob, endpoint := s.address(r)
	rq := &req{w: w, r: r, id: id, container: container, blob: blob, q: r.URL.Query(), endpoint: endpoint, version: version}
	if sendsCredentials(r, rq.q) && cleartext.FromNetwork(r) {
		// Credentials cross a network only over HTTPS (docs/https.md):
		// these were readable on the way, and are not looked at.
		return errAccountRequiresHTTPS
	}
	if account == "" {
		return errInvalidQuery
	}
	acct, err := s.cfg.Accounts.Account(r.Context(), account)
	if errors.Is(err, ErrAccountNotFound) {
		return errResourceNotFound
	}
	if err != nil {
		return fmt.Errorf("looking up account %s: %w", account, err)
	}
	rq.acct = acct
	if r.Method == http.MethodOptions {
		return s.preflight(rq)
	}
	o, err := classify(r.Method, rq)
	if err != nil {
		return err
	}
	if container != "" && !validContainerName(container) {
		if l := len(container); l < 3 || l > 63 {
			return errOutOfRangeName
		}
		return errInvalidResourceName
	}
	if len(blob) > 1024 {
		return errInvalidResourceName
	}
	if err := s.authorize(rq, o); err != nil {
		return err
	}
	if r.Header.Get("Origin") != "" {
		if err := s.corsHeaders(rq); err != nil {
			return err
		}
	}
	if contentWrites[o.name] {
		// The disk also holds the platform's own data: content is
		// stored only above its reserve, checked against the declared
		// length first and again as the body streams in (its failure
		// fails the write, which then leaves nothing).
		if err := s.reserve.Check(r.ContentLength); err != nil {
			return err
		}
		if r.Body != nil {
			r.Body = reservedBody{s.reserve.Reader(r.Body), r.Body}
		}
	}
	return o.fn(s, rq)
}

// contentWrites are the operations that store content, sent or copied,
// whose size the client chooses, and those that add a container or a
// blob, each a row of up to 8 KiB of metadata with no limit on their
// number (Create Container; Put Block List, which makes a blob of no
// blocks as well): refused on a disk at its reserve (Config.DiskReserve).
// Everything else — reads, deletes, and metadata, properties, tags and
// leases, which replace what an existing object holds — is served on a
// short disk, so that space can be freed; a snapshot or copy is sized
// first (reserveClone).
var contentWrites = map[string]bool{"PutBlob": true, "PutBlock": true, "AppendBlock": true, "PutPage": true, "CopyBlob": true,
	"PutBlockFromURL": true, "AppendBlockFromURL": true, "PutPageFromURL": true, "CreateContainer": true, "PutBlockList": true}

// reservedBody is a request body read through the disk reserve.
type reservedBody struct {
	*diskreserve.Reader
	io.Closer
}

// sendsCredentials reports whether a request carries a credential: an
// Authorization header (Shared Key, Shared Key Lite, a bearer token) or a
// SAS signature, under any spelling of its name.
func sendsCredentials(r *http.Request, q url.Values) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	for k := range q {
		if strings.EqualFold(k, "sig") {
			return true
		}
	}
	return false
}

// classify maps method and query to an operation.
func classify(method string, rq *req) (op, error) {
	q := rq.q
	comp, restype := q.Get("comp"), q.Get("restype")
	if restype == "account" && comp == "properties" && (method == "GET" || method == "HEAD") {
		return op{"GetAccountInformation", 's', "rwdlacup", 0, (*Service).accountInfo}, nil
	}
	switch {
	case rq.container == "":
		switch {
		case method == "GET" && comp == "list":
			return op{"ListContainers", 's', "l", 0, (*Service).listContainers}, nil
		case restype == "service" && comp == "properties" && method == "GET":
			return op{"GetServiceProperties", 's', "r", 0, (*Service).getServiceProperties}, nil
		case restype == "service" && comp == "properties" && method == "PUT":
			return op{"SetServiceProperties", 's', "w", 0, (*Service).setServiceProperties}, nil
		case restype == "service" && comp == "userdelegationkey" && method == "POST":
			return op{"GetUserDelegationKey", 's', "rwdlacup", 0, (*Service).userDelegationKey}, nil
		case method == "POST" && comp == "batch":
			return op{"SubmitBatch", anyLevel, "", 0, (*Service).submitBatch}, nil
		case method == "GET" && comp == "blobs":
			return op{"FilterBlobs", 's', "f", 0, (*Service).findBlobsInAccount}, nil
		}
	case rq.blob == "":
		if restype != "container" {
			break
		}
		switch {
		case method == "PUT" && comp == "":
			return op{"CreateContainer", 'c', "cw", 0, (*Service).createContainer}, nil
		case method == "DELETE" && comp == "":
			return op{"DeleteContainer", 'c', "d", 0, (*Service).deleteContainer}, nil
		case (method == "GET" || method == "HEAD") && (comp == "" || comp == "metadata"):
			return op{"GetContainerProperties", 'c', "r", 2, (*Service).getContainerProperties}, nil
		case method == "PUT" && comp == "metadata":
			return op{"SetContainerMetadata", 'c', "w", 0, (*Service).setContainerMetadata}, nil
		case (method == "GET" || method == "HEAD") && comp == "acl":
			return op{"GetContainerACL", 'c', "r", 0, (*Service).getContainerACL}, nil
		case method == "PUT" && comp == "acl":
			return op{"SetContainerACL", 'c', "w", 0, (*Service).setContainerACL}, nil
		case method == "PUT" && comp == "lease":
			return op{"LeaseContainer", 'c', "wd", 0, (*Service).leaseContainer}, nil
		case method == "GET" && comp == "list":
			return op{"ListBlobs", 'c', "l", 2, (*Service).listBlobs}, nil
		case method == "POST" && comp == "batch":
			return op{"SubmitBatch", anyLevel, "", 0, (*Service).submitBatch}, nil
		case method == "GET" && comp == "blobs":
			return op{"FilterBlobs", 'c', "f", 0, (*Service).findBlobsInContainer}, nil
		}
	default:
		switch method {
		case "PUT":
			if q.Has("snapshot") && comp != "tier" && comp != "tags" {
				// Snapshots are read-only, and these writes apply to the
				// base blob: naming a snapshot must not make them write
				// the base blob with a SAS that reaches only the
				// snapshot (sr=bs).
				return op{}, errInvalidQuery
			}
			switch comp {
			case "":
				if rq.r.Header.Get("x-ms-copy-source") != "" {
					return op{"CopyBlob", 'o', "cw", 0, (*Service).copyBlob}, nil
				}
				return op{"PutBlob", 'o', "cw", 0, (*Service).putBlob}, nil
			case "block":
				if fromURL(rq) {
					return op{"PutBlockFromURL", 'o', "cw", 0, (*Service).putBlock}, nil
				}
				return op{"PutBlock", 'o', "cw", 0, (*Service).putBlock}, nil
			case "blocklist":
				return op{"PutBlockList", 'o', "cw", 0, (*Service).putBlockList}, nil
			case "properties":
				return op{"SetBlobProperties", 'o', "w", 0, (*Service).setBlobProperties}, nil
			case "metadata":
				return op{"SetBlobMetadata", 'o', "w", 0, (*Service).setBlobMetadata}, nil
			case "lease":
				return op{"LeaseBlob", 'o', "w", 0, (*Service).leaseBlob}, nil
			case "snapshot":
				return op{"SnapshotBlob", 'o', "cw", 0, (*Service).snapshotBlob}, nil
			case "appendblock":
				if fromURL(rq) {
					return op{"AppendBlockFromURL", 'o', "aw", 0, (*Service).appendBlock}, nil
				}
				return op{"AppendBlock", 'o', "aw", 0, (*Service).appendBlock}, nil
			case "page":
				if fromURL(rq) {
					return op{"PutPageFromURL", 'o', "w", 0, (*Service).putPage}, nil
				}
				return op{"PutPage", 'o', "w", 0, (*Service).putPage}, nil
			case "seal":
				return op{"SealBlob", 'o', "w", 0, (*Service).sealBlob}, nil
			case "copy":
				return op{"AbortCopyBlob", 'o', "w", 0, (*Service).abortCopyBlob}, nil
			case "tier":
				return op{"SetBlobTier", 'o', "w", 0, (*Service).setTier}, nil
			case "tags":
				return op{"SetBlobTags", 'o', "t", 0, (*Service).setBlobTags}, nil
			case "undelete":
				// Undelete Blob needs what writing the blob needs: the
				// blobs/write data action and a SAS with Write
				// (softdelete.go).
				return op{"UndeleteBlob", 'o', "w", 0, (*Service).undeleteBlob}, nil
			}
		case "GET", "HEAD":
			switch comp {
			case "":
				if method == "HEAD" {
					return op{"GetBlobProperties", 'o', "r", 1, (*Service).getBlobProperties}, nil
				}
				return op{"GetBlob", 'o', "r", 1, (*Service).getBlob}, nil
			case "metadata":
				return op{"GetBlobMetadata", 'o', "r", 1, (*Service).getBlobProperties}, nil
			case "blocklist":
				return op{"GetBlockList", 'o', "r", 1, (*Service).getBlockList}, nil
			case "pagelist":
				return op{"GetPageRanges", 'o', "r", 1, (*Service).getPageRanges}, nil
			case "tags":
				return op{"GetBlobTags", 'o', "t", 0, (*Service).getBlobTags}, nil
			}
		case "DELETE":
			if comp == "" {
				return op{"DeleteBlob", 'o', "d", 0, (*Service).deleteBlob}, nil
			}
		}
	}
	return op{}, errUnsupportedOp
}

// authorize authenticates the request (SharedKey, SharedKeyLite, SAS or
// anonymous) and checks that it may perform o.
func (s *Service) authorize(rq *req, o op) error {
	r := rq.r
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, cred, _ := strings.Cut(auth, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return s.authorizeBearer(rq, o, cred)
		}
		name, sig, ok := strings.Cut(cred, ":")
		if !ok || name != rq.acct.Name || (scheme != "SharedKey" && scheme != "SharedKeyLite") {
			return errAuthFailed("The Authorization header is not in a supported form or names another account.")
		}
		date := r.Header.Get("x-ms-date")
		if date == "" {
			date = r.Header.Get("Date")
		}
		if date == "" {
			return errAuthFailed("Request date header not specified.")
		}
		// As Azure, refuse requests dated more than 15 minutes from now
		// (bounds the replay of a captured signed request).
		if t, err := http.ParseTime(date); err != nil {
			return errAuthFailed("The request date header is not a valid HTTP date.")
		} else if d := s.now().Sub(t); d > maxClockSkew || d < -maxClockSkew {
			return errAuthFailed("Request date header too old or too far in the future: '" + date + "'.")
		}
		build := sharedKeyStringToSign
		if scheme == "SharedKeyLite" {
			build = sharedKeyLiteStringToSign
		} else if queryAmbiguous(rq.q) {
			return errAuthFailed("A query parameter name is not in lower case or is given more than once.")
		}
		raw := rawPath(r)
		cands := []string{build(r.Method, r.Header, rq.acct.Name, raw, rq.q)}
		if esc := r.URL.EscapedPath(); esc != raw {
			cands = append(cands, build(r.Method, r.Header, rq.acct.Name, esc, rq.q))
		}
		if r.Header.Get("Date") != "" && r.Header.Get("x-ms-date") != "" {
			// With x-ms-date present, clients may sign an empty Date line.
			h := r.Header.Clone()
			h.Del("Date")
			cands = append(cands, build(r.Method, h, rq.acct.Name, raw, rq.q))
		}
		if signatureMatches(rq.acct.Keys, sig, cands...) {
			return nil
		}
		return errAuthFailed("The MAC signature found in the HTTP request '" + sig + "' is not the same as any computed signature. Server used following string to sign: '" + cands[0] + "'.")
	}
	if p, ok := parseSAS(rq.q); ok {
		if sasAmbiguous(rq.q) {
			return errAuthFailed("A SAS query parameter is given more than once.")
		}
		perms, err := s.checkSAS(rq, p, o)
		if err != nil {
			return err
		}
		if r.Header.Get("x-ms-if-tags") != "" && !strings.Contains(perms, "t") {
			// A condition on tags tells them, one comparison at a time.
			return errPermissionMismatch
		}
		rq.sas, rq.sasPerms = &p, perms
		rq.noOverwrite = rq.noOverwrite || !strings.Contains(perms, "w")
		return nil
	}
	// Anonymous.
	if o.anon == 0 || rq.container == "" {
		if o.level == 'o' || o.level == 'c' {
			return errResourceNotFound
		}
		if c := s.challenge(); c != "" {
			e := *errNoAuth
			e.Challenge = c
			return &e
		}
		return errNoAuth
	}
	c, err := getContainer(r.Context(), s.rdb(), rq.acct.Name, rq.container)
	if err != nil {
		if errors.Is(err, errContainerNotFound) {
			return errResourceNotFound
		}
		return err
	}
	switch {
	case c.PublicAccess == "container", c.PublicAccess == "blob" && o.anon == 1:
		if r.Header.Get("x-ms-if-tags") != "" {
			// Public access reads blobs, not their tags (Get Blob Tags is
			// refused anonymously), which such a condition would tell.
			return errNoAuth
		}
		rq.anonymous = true
		return nil
	}
	return errResourceNotFound
}

// checkSAS validates an account or service SAS for o and returns the
// permissions it grants.
func (s *Service) checkSAS(rq *req, p sasParams, o op) (string, error) {
	r := rq.r
	if p.isAccountSAS() {
		if p.CacheControl+p.ContentDisposition+p.ContentEncoding+p.ContentLanguage+p.ContentType != "" {
			// An account SAS does not sign the response header overrides:
			// whoever relays its URL could have any blob it reads served
			// as a page (rsct=text/html).
			return "", errAuthFailed("Response header overrides (rscc, rscd, rsce, rscl, rsct) are signed only by a service SAS; remove them from this account SAS.")
		}
		if !signatureMatches(rq.acct.Keys, p.Signature, accountSASStringToSign(rq.acct.Name, p)) {
			return "", errAuthFailed("Signature did not match. String to sign used was " + accountSASStringToSign(rq.acct.Name, p))
		}
		if err := s.checkSASWindow(p.Start, p.Expiry); err != nil {
			return "", err
		}
		if err := checkSASNetwork(r, p); err != nil {
			return "", err
		}
		if !strings.Contains(p.Services, "b") {
			return "", errServiceMismatch
		}
		if o.name == "GetContainerACL" || o.name == "SetContainerACL" ||
			(o.name == "CreateContainer" && r.Header.Get("x-ms-blob-public-access") != "") {
			// An account SAS reaches no permission-related operation:
			// with Set Container ACL, a SAS to write containers' metadata
			// would make their blobs public ("Create an account SAS",
			// https://learn.microsoft.com/rest/api/storageservices/create-account-sas),
			// and one to create containers would create them public, for
			// the owner's app to fill.
			return "", errAuthorizationFailure
		}
		if o.level != anyLevel && !strings.ContainsRune(p.ResourceTypes, rune(o.level)) {
			return "", errResourceTypeMismatch
		}
		if o.perms != "" && !strings.ContainsAny(p.Permissions, o.perms) {
			return "", errPermissionMismatch
		}
		return p.Permissions, nil
	}
	// Service SAS.
	canonical := "/blob/" + rq.acct.Name + "/" + rq.container
	switch p.Resource {
	case "c":
	case "b", "bs":
		canonical += "/" + rq.blob
	default:
		return "", errAuthFailed("Signed resource is not supported.")
	}
	if rq.container == "" {
		return "", errAuthorizationFailure
	}
	if p.DelegationOID != "" {
		return s.checkUserDelegationSAS(rq, p, o, canonical)
	}
	if !signatureMatches(rq.acct.Keys, p.Signature, serviceSASStringToSign(canonical, p)) {
		return "", errAuthFailed("Signature did not match. String to sign used was " + serviceSASStringToSign(canonical, p))
	}
	perm, start, expiry := p.Permissions, p.Start, p.Expiry
	if p.Identifier != "" {
		c, err := getContainer(r.Context(), s.rdb(), rq.acct.Name, rq.container)
		if err != nil {
			if errors.Is(err, errContainerNotFound) {
				return "", errAuthFailed("The specified signed identifier does not exist.")
			}
			return "", err
		}
		var pol *accessPolicy
		for i := range c.ACL {
			if c.ACL[i].ID == p.Identifier {
				pol = &c.ACL[i]
			}
		}
		if pol == nil {
			return "", errAuthFailed("The specified signed identifier does not exist.")
		}
		if (perm != "" && pol.Permission != "") || (start != "" && pol.Start != "") || (expiry != "" && pol.Expiry != "") {
			return "", errAuthFailed("A field is specified both in the SAS and in the stored access policy.")
		}
		perm, start, expiry = perm+pol.Permission, start+pol.Start, expiry+pol.Expiry
	}
	if expiry == "" {
		return "", errAuthFailed("Signed expiry time is missing.")
	}
	if err := s.checkSASWindow(start, expiry); err != nil {
		return "", err
	}
	return perm, checkServiceSASScope(rq, p, o, perm)
}

// checkServiceSASScope checks the network and the reach of a service or
// user delegation SAS whose signature and window are valid.
func checkServiceSASScope(rq *req, p sasParams, o op, perm string) error {
	if err := checkSASNetwork(rq.r, p); err != nil {
		return err
	}
	// A service SAS reaches blobs (and, for sr=c, listing and finding
	// them, and a batch of the container), never the service or the
	// container's own operations.
	if o.level == 's' || (p.Resource != "c" && o.level != 'o') || (o.level == 'c' && o.name != "ListBlobs" && o.name != "FilterBlobs") {
		return errAuthorizationFailure
	}
	if p.Resource == "bs" && rq.q.Get("snapshot") != p.Snapshot {
		return errAuthorizationFailure
	}
	if o.perms != "" && !strings.ContainsAny(perm, o.perms) {
		return errPermissionMismatch
	}
	return nil
}

func (s *Service) checkSASWindow(start, expiry string) error {
	now := s.now().UTC()
	se, ok := parseSASTime(expiry)
	if !ok {
		return errAuthFailed("Signed expiry time is not in a valid format.")
	}
	var st time.Time
	if start != "" {
		if st, ok = parseSASTime(start); !ok {
			return errAuthFailed("Signed start time is not in a valid format.")
		}
	}
	if now.After(se) || (!st.IsZero() && now.Before(st)) {
		return errAuthFailed(fmt.Sprintf("Signed expiry time [%s] must be after signed start time [%s] and current time [%s]; signature not valid in the specified time frame.",
			se.Format(http.TimeFormat), st.Format(http.TimeFormat), now.Format(http.TimeFormat)))
	}
	return nil
}

func checkSASNetwork(r *http.Request, p sasParams) error {
	if p.IP != "" && !ipAllowed(p.IP, r.RemoteAddr) {
		return errSourceIPMismatch
	}
	if p.Protocol == "https" && !cleartext.OverTLS(r) {
		return errProtocolMismatch
	}
	return nil
}

// validContainerName applies Azure's container naming rules: 3-63
// characters, lower-case letters, digits and single hyphens, starting and
// ending with a letter or digit; "$root", "$logs" and "$web" are reserved
// names that are allowed.
func validContainerName(n string) bool {
	switch n {
	case "$root", "$logs", "$web":
		return true
	}
	if len(n) < 3 || len(n) > 63 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(n)-1 || n[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// mayOverwrite refuses to replace an existing blob when the request may
// only create blobs: a SAS that grants create but not write ("c" creates
// new blobs only), or a principal that holds blobs/add/action but not
// blobs/write (oauth.go).
func (rq *req) mayOverwrite() error {
	if rq.noOverwrite {
		return errPermissionMismatch
	}
	return nil
}
