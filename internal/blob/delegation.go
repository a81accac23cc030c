package blob

// User delegation keys and user delegation SAS ("Get User Delegation Key",
// https://learn.microsoft.com/rest/api/storageservices/get-user-delegation-key;
// "Create a user delegation SAS",
// https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas).
//
// A principal authenticated by a bearer token, holding
// generateUserDelegationKey/action over the account, asks for a key valid
// for at most seven days. Slipway keeps no keys: a key's value is
//
//	HMAC-SHA256(K, account "\n" skoid "\n" sktid "\n" skt "\n" ske "\n" sks "\n" skv)
//	K = HMAC-SHA256(root, "slipway user delegation key v1")
//
// where root is Config.DelegationSecret (or, without one, the account's
// key1), and skt/ske are the key's start and expiry as
// yyyy-mm-ddThh:mm:ssZ. A SAS signed with the key carries all these fields,
// so the service recomputes the key when the SAS is used: keys survive
// restarts, a key's fields cannot be altered, and a key of one account is
// worthless at another. K never leaves the service, and the domain string
// keeps K apart from any SharedKey signature made with the same root.
//
// At use, as on Azure, the SAS's signature, its own window and the key's,
// and its reach are checked as for a service SAS, and the delegating
// principal (skoid) must still hold the RBAC permission for the operation:
// the SAS grants the intersection of its permissions and the delegator's.
// Revoking the delegator's role revokes every SAS it signed.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// maxDelegationKeyLifetime is how long a user delegation key may be valid.
const maxDelegationKeyLifetime = 7 * 24 * time.Hour

// minDelegationVersion is the first version of Get User Delegation Key.
const minDelegationVersion = "2018-11-09"

// delegationTimeFormat is how a key's start and expiry are written (and
// signed).
const delegationTimeFormat = "2006-01-02T15:04:05Z"

// maxDelegationOID bounds skoid and sktid (GUIDs are 36 characters).
const maxDelegationOID = 64

type keyInfoXML struct {
	XMLName          xml.Name `xml:"KeyInfo"`
	Start            string   `xml:"Start"`
	Expiry           string   `xml:"Expiry"`
	DelegatedUserTID string   `xml:"DelegatedUserTid"`
}

type userDelegationKeyXML struct {
	XMLName       xml.Name `xml:"UserDelegationKey"`
	SignedOid     string   `xml:"SignedOid"`
	SignedTid     string   `xml:"SignedTid"`
	SignedStart   string   `xml:"SignedStart"`
	SignedExpiry  string   `xml:"SignedExpiry"`
	SignedService string   `xml:"SignedService"`
	SignedVersion string   `xml:"SignedVersion"`
	Value         string   `xml:"Value"`
}

func errInvalidXMLNode(node string) *storageError {
	return newError(http.StatusBadRequest, "InvalidXmlNodeValue",
		"The value for one of the XML nodes is not in the correct format. XmlNodeName: "+node)
}

// userDelegationKey serves Get User Delegation Key to a principal
// authenticated by a bearer token (authorizeBearer has checked its role).
func (s *Service) userDelegationKey(rq *req) error {
	if rq.principal == "" {
		return errAuthFailed("Only authentication scheme Bearer is supported")
	}
	if rq.version < minDelegationVersion {
		return errInvalidHeader
	}
	var in keyInfoXML
	if empty, err := readXMLBody(rq.r, 4<<10, &in); err != nil {
		return err
	} else if empty {
		return errInvalidXML
	}
	now := s.now().UTC()
	start := now
	if v := strings.TrimSpace(in.Start); v != "" {
		t, ok := parseSASTime(v)
		if !ok {
			return errInvalidXMLNode("Start")
		}
		start = t.UTC()
	}
	expiry, ok := parseSASTime(strings.TrimSpace(in.Expiry))
	if !ok {
		return errInvalidXMLNode("Expiry")
	}
	expiry = expiry.UTC()
	if !expiry.After(now) || !expiry.After(start) || expiry.Sub(now) > maxDelegationKeyLifetime {
		return errInvalidXMLNode("Expiry")
	}
	if in.DelegatedUserTID != "" {
		// Cross-tenant delegation: Slipway has a single tenant.
		return errInvalidXMLNode("DelegatedUserTid")
	}
	k := userDelegationKeyXML{
		SignedOid: rq.principal, SignedTid: rq.tenant,
		SignedStart: start.Format(delegationTimeFormat), SignedExpiry: expiry.Format(delegationTimeFormat),
		SignedService: "b", SignedVersion: rq.version,
	}
	value, err := s.delegationKey(rq.acct, k.SignedOid, k.SignedTid, k.SignedStart, k.SignedExpiry, k.SignedService, k.SignedVersion)
	if err != nil {
		return err
	}
	k.Value = base64.StdEncoding.EncodeToString(value)
	return rq.writeXML(http.StatusOK, k)
}

// delegationKey derives a user delegation key's value from its fields (see
// the file comment).
func (s *Service) delegationKey(a Account, oid, tid, start, expiry, service, version string) ([]byte, error) {
	root := s.cfg.DelegationSecret
	if len(root) == 0 {
		if len(a.Keys) == 0 || len(a.Keys[0]) == 0 {
			return nil, errAuthFailed("The account has no key to derive user delegation keys from.")
		}
		root = a.Keys[0]
	}
	m := hmac.New(sha256.New, root)
	m.Write([]byte("slipway user delegation key v1"))
	m = hmac.New(sha256.New, m.Sum(nil))
	m.Write([]byte(strings.Join([]string{a.Name, oid, tid, start, expiry, service, version}, "\n")))
	return m.Sum(nil), nil
}

// userDelegationStringsToSign returns the string-to-sign of a user
// delegation SAS for its version (the layouts of "Create a user delegation
// SAS"): 2018-11-09 adds the key's fields to the service SAS's; 2020-02-10
// the signed object ids and correlation id (saoid, suoid, scid); 2020-12-06
// the encryption scope; 2025-07-05 the delegated user's object id
// (sduoid); later versions also the delegated user's tenant (skdutid)
// and the signed request headers and query parameters (srh, srq). Two
// layouts are returned from 2025-07-05, the versions that moved these
// fields not being documented exactly; all the fields they add must be
// empty here (checkUserDelegationSAS), so no field of one layout can be
// read as another's.
func userDelegationStringsToSign(canonical string, p sasParams) []string {
	head := []string{p.Permissions, p.Start, p.Expiry, canonical,
		p.DelegationOID, p.DelegationTID, p.KeyStart, p.KeyExpiry, p.KeyService, p.KeyVersion}
	tail := []string{p.CacheControl, p.ContentDisposition, p.ContentEncoding, p.ContentLanguage, p.ContentType}
	join := func(parts ...[]string) string {
		var all []string
		for _, x := range parts {
			all = append(all, x...)
		}
		return strings.Join(all, "\n")
	}
	net := []string{p.IP, p.Protocol, p.Version, p.Resource, p.Snapshot}
	ids := []string{p.AuthorizedOID, p.UnauthorizedOID, p.CorrelationID}
	switch v := p.Version; {
	case v < "2020-02-10":
		return []string{join(head, net, tail)}
	case v < "2020-12-06":
		return []string{join(head, ids, net, tail)}
	case v < "2025-07-05":
		return []string{join(head, ids, net, []string{p.EncryptionScope}, tail)}
	}
	return []string{
		join(head, ids, []string{p.DelegatedUserOID}, net, []string{p.EncryptionScope}, tail),
		join(head, ids, []string{p.DelegatedUserTID, p.DelegatedUserOID}, net,
			[]string{p.EncryptionScope, p.RequestHeaders, p.RequestQuery}, tail),
	}
}

// checkUserDelegationSAS validates a user delegation SAS for o over the
// canonical resource and returns the permissions it grants.
func (s *Service) checkUserDelegationSAS(rq *req, p sasParams, o op, canonical string) (string, error) {
	if s.cfg.Bearer == nil {
		return "", errAuthFailed("User delegation SAS is not supported by this service.")
	}
	switch {
	case p.Identifier != "":
		return "", errAuthFailed("A user delegation SAS cannot name a stored access policy.")
	case p.DelegatedUserOID != "" || p.DelegatedUserTID != "" || p.RequestHeaders != "" || p.RequestQuery != "":
		return "", errAuthFailed("Principal-bound and dynamic user delegation SAS are not supported.")
	case p.Version < minDelegationVersion || p.KeyVersion < minDelegationVersion:
		return "", errAuthFailed("The signed version is not valid for a user delegation SAS.")
	case !strings.Contains(p.KeyService, "b"):
		return "", errAuthFailed("The signed key service does not include the Blob service.")
	case len(p.DelegationOID) > maxDelegationOID || len(p.DelegationTID) > maxDelegationOID || p.DelegationTID == "":
		return "", errAuthFailed("The signed object id or tenant id is not valid.")
	case p.Expiry == "":
		return "", errAuthFailed("Signed expiry time is missing.")
	}
	kStart, ok1 := parseSASTime(p.KeyStart)
	kExpiry, ok2 := parseSASTime(p.KeyExpiry)
	if !ok1 || !ok2 || !kExpiry.After(kStart) || kExpiry.Sub(kStart) > maxDelegationKeyLifetime {
		return "", errAuthFailed("The signed key start or expiry time is not valid.")
	}
	key, err := s.delegationKey(rq.acct, p.DelegationOID, p.DelegationTID,
		kStart.UTC().Format(delegationTimeFormat), kExpiry.UTC().Format(delegationTimeFormat), p.KeyService, p.KeyVersion)
	if err != nil {
		return "", err
	}
	cands := userDelegationStringsToSign(canonical, p)
	if !signatureMatches([][]byte{key}, p.Signature, cands...) {
		return "", errAuthFailed("Signature did not match. String to sign used was " + cands[len(cands)-1])
	}
	if now := s.now(); now.Before(kStart) || now.After(kExpiry) {
		return "", errAuthFailed("The user delegation key is not valid at the current time.")
	}
	if err := s.checkSASWindow(p.Start, p.Expiry); err != nil {
		return "", err
	}
	if err := checkServiceSASScope(rq, p, o, p.Permissions); err != nil {
		return "", err
	}
	// The delegator must still hold the permission (Azure checks the
	// RBAC of skoid at every use).
	if err := s.checkRole(rq, p.DelegationOID, o); err != nil {
		return "", err
	}
	rq.delegator = p.DelegationOID
	return p.Permissions, nil
}
