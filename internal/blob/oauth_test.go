package blob

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/google/uuid"

	"github.com/slipway-dev/slipway/internal/rbac"
)

// These tests drive Entra ID authorization with the real Go SDK: the token
// service is stubbed (tokenBearer maps opaque tokens to principals), the
// role assignments and role definitions are the real internal/rbac ones.

const (
	oauthAccount  = "oauthacct"
	oauthTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	oauthAcctID   = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/" + oauthAccount
	roleReader    = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1" // Storage Blob Data Reader
	roleContrib   = "ba92f5b4-2d11-453d-a403-e96b0029c9fe" // Storage Blob Data Contributor
	roleDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b" // Storage Blob Data Owner
)

// tokenBearer stubs the token service (a token is valid when it is in
// tokens) and authorizes with a real rbac.Authorizer.
type tokenBearer struct {
	tokens map[string]string // token → object id
	authz  *rbac.Authorizer
	// addOnly stands for a custom role granting only blobs/read and
	// blobs/add/action (no built-in role is so narrow).
	addOnly atomic.Bool
}

func (b *tokenBearer) Authenticate(_ context.Context, account, token string) (string, string, error) {
	if oid, ok := b.tokens[token]; ok && account == oauthAccount {
		return oid, oauthTenant, nil
	}
	return "", "", errors.New("Signature validation failed.")
}

func (b *tokenBearer) Authorize(ctx context.Context, oid, action, scope string, data bool) error {
	if b.addOnly.Load() {
		if action == actBlobRead || action == actBlobAdd {
			return nil
		}
		return ErrNotAuthorized
	}
	err := b.authz.Check(ctx, oid, action, scope, data)
	var af *rbac.AuthorizationFailed
	if errors.As(err, &af) {
		return errors.Join(ErrNotAuthorized, err)
	}
	return err
}

func (b *tokenBearer) AuthorizationURI() string {
	return "https://login.microsoftonline.com/" + oauthTenant + "/oauth2/authorize"
}

// fixedToken is an azcore.TokenCredential returning one token; it records
// the scopes asked for.
type fixedToken struct {
	token  string
	scopes atomic.Value
}

func (f *fixedToken) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.scopes.Store(strings.Join(o.Scopes, " "))
	return azcore.AccessToken{Token: f.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type oauthEnv struct {
	svc    *Service
	tls    *httptest.Server // HTTPS, host-style <account>.blob.example.com
	plain  *httptest.Server // HTTP
	authz  *rbac.Authorizer
	bearer *tokenBearer
	client *http.Client // reaches tls under any host name
	clock  *atomic.Int64
	key    []byte
}

// host-style URL of the account over HTTPS.
func (e *oauthEnv) url() string {
	_, port, _ := net.SplitHostPort(e.tls.Listener.Addr().String())
	return "https://" + oauthAccount + ".blob.example.com:" + port + "/"
}

func (e *oauthEnv) opts() *azblob.ClientOptions {
	return &azblob.ClientOptions{ClientOptions: policy.ClientOptions{Transport: e.client, Retry: policy.RetryOptions{MaxRetries: -1}}}
}

// principal returns a new principal's object id and token.
func (e *oauthEnv) principal() (string, string) {
	oid, tok := uuid.NewString(), "tok-"+uuid.NewString()
	e.bearer.tokens[tok] = oid
	return oid, tok
}

func (e *oauthEnv) grant(t *testing.T, oid, role, scope string) string {
	t.Helper()
	a, _, err := e.authz.Create(context.Background(), rbac.Assignment{
		Name: uuid.NewString(), Scope: scope, RoleDefinitionID: role, PrincipalID: oid, PrincipalType: rbac.PrincipalServicePrincipal,
	}, "")
	if err != nil {
		t.Fatalf("assigning role: %v", err)
	}
	return a.Name
}

func (e *oauthEnv) tokenClient(t *testing.T, token string) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClient(e.url(), &fixedToken{token: token}, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startOAuth(t *testing.T) *oauthEnv {
	t.Helper()
	key := []byte("oauth-account-key-oauth-account-key!")
	clock := new(atomic.Int64)
	e := &oauthEnv{clock: clock, key: key}
	e.authz = rbac.New(rbac.Config{Store: &rbac.MemoryStore{}})
	e.bearer = &tokenBearer{tokens: map[string]string{}, authz: e.authz}
	accts := &mapAccounts{m: map[string]Account{oauthAccount: {Name: oauthAccount, Keys: [][]byte{key}, ResourceID: oauthAcctID}}}
	svc, err := Open(context.Background(), Config{
		Dir: t.TempDir(), Accounts: accts, BaseDomain: "example.com", Bearer: e.bearer,
		DelegationSecret: []byte("delegation-secret-delegation-secret!"),
		Now:              func() time.Time { return time.Now().Add(time.Duration(clock.Load())) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.tls = httptest.NewUnstartedServer(svc)
	e.tls.StartTLS()
	e.plain = httptest.NewServer(svc)
	t.Cleanup(func() { e.tls.Close(); e.plain.Close(); svc.Close() })
	tr := e.tls.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com" // the test certificate's name
	addr := e.tls.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	e.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// Set-up with the account key: a container and a blob.
	kc, err := azblob.NewClientWithSharedKeyCredential(e.url(), mustKey(t, key), e.opts())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []string{"media", "other"} {
		if _, err := kc.CreateContainer(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := kc.UploadBuffer(ctx, c, "a.txt", []byte("hello "+c), nil); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func mustKey(t *testing.T, key []byte) *azblob.SharedKeyCredential {
	t.Helper()
	k, err := azblob.NewSharedKeyCredential(oauthAccount, b64(key))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readAll(t *testing.T, ctx context.Context, c *azblob.Client, cont, name string) (string, error) {
	t.Helper()
	resp, err := c.DownloadStream(ctx, cont, name, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestBearerRoles(t *testing.T) {
	e := startOAuth(t)
	ctx := context.Background()
	media := oauthAcctID + "/blobServices/default/containers/media"

	readerOID, readerTok := e.principal()
	e.grant(t, readerOID, roleReader, media)
	contribOID, contribTok := e.principal()
	e.grant(t, contribOID, roleContrib, oauthAcctID)
	_, noneTok := e.principal()

	cred := &fixedToken{token: readerTok}
	reader, err := azblob.NewClient(e.url(), cred, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(t, ctx, reader, "media", "a.txt"); err != nil || got != "hello media" {
		t.Fatalf("reader download = %q, %v", got, err)
	}
	if s, _ := cred.scopes.Load().(string); s != "https://storage.azure.com/.default" {
		t.Errorf("SDK asked for scope %q", s)
	}
	pager := reader.NewListBlobsFlatPager("media", nil)
	if page, err := pager.NextPage(ctx); err != nil || len(page.Segment.BlobItems) != 1 {
		t.Fatalf("reader list: %v", err)
	}
	// Reader's role is on "media" only, and grants no writes.
	_, err = readAll(t, ctx, reader, "other", "a.txt")
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
	_, err = reader.UploadBuffer(ctx, "media", "b.txt", []byte("x"), nil)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
	_, err = reader.DeleteBlob(ctx, "media", "a.txt", nil)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
	_, err = reader.NewListContainersPager(nil).NextPage(ctx)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403) // containers/read over the account

	contrib := e.tokenClient(t, contribTok)
	if _, err := contrib.UploadBuffer(ctx, "other", "b.txt", []byte("from contributor"), nil); err != nil {
		t.Fatalf("contributor upload: %v", err)
	}
	if got, err := readAll(t, ctx, contrib, "other", "b.txt"); err != nil || got != "from contributor" {
		t.Fatalf("contributor download = %q, %v", got, err)
	}
	if _, err := contrib.NewListContainersPager(nil).NextPage(ctx); err != nil {
		t.Fatalf("contributor list containers: %v", err)
	}
	if _, err := contrib.DeleteBlob(ctx, "other", "b.txt", nil); err != nil {
		t.Fatalf("contributor delete: %v", err)
	}
	// Blob index tags need Storage Blob Data Owner.
	_, err = contrib.ServiceClient().NewContainerClient("other").NewBlobClient("a.txt").SetTags(ctx, map[string]string{"k": "v"}, nil)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
	// Same-account copy: the source needs blobs/read of the same principal.
	dst := contrib.ServiceClient().NewContainerClient("other").NewBlobClient("copy.txt")
	if _, err := dst.CopyFromURL(ctx, e.url()+"media/a.txt", nil); err != nil {
		t.Fatalf("contributor copy: %v", err)
	}
	readerDst := reader.ServiceClient().NewContainerClient("media").NewBlobClient("copy.txt")
	_, err = readerDst.StartCopyFromURL(ctx, e.url()+"other/a.txt", nil)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)

	none := e.tokenClient(t, noneTok)
	_, err = readAll(t, ctx, none, "media", "a.txt")
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
	_, err = none.NewListBlobsFlatPager("media", nil).NextPage(ctx)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)

	bad := e.tokenClient(t, "not-a-token")
	_, err = readAll(t, ctx, bad, "media", "a.txt")
	wantCode(t, err, bloberror.InvalidAuthenticationInfo, 401)
}

// rawBearer sends a Get Blob with a bearer token and returns the response.
func rawBearer(t *testing.T, c *http.Client, u, token, version string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if version != "" {
		req.Header.Set("x-ms-version", version)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestBearerRefusals(t *testing.T) {
	e := startOAuth(t)
	oid, tok := e.principal()
	e.grant(t, oid, roleReader, oauthAcctID)
	blobURL := e.url() + "media/a.txt"

	if resp, body := rawBearer(t, e.client, blobURL, tok, "2025-11-05"); resp.StatusCode != 200 || body != "hello media" {
		t.Fatalf("valid request: %d %s", resp.StatusCode, body)
	}
	// Over HTTP, a bearer token is refused (path-style on the plain listener).
	resp, body := rawBearer(t, e.plain.Client(), e.plain.URL+"/"+oauthAccount+"/media/a.txt", tok, "2025-11-05")
	if resp.StatusCode != 403 || resp.Header.Get("x-ms-error-code") != "AuthenticationFailed" ||
		!strings.Contains(body, "Authentication scheme Bearer is not allowed with HTTP.") {
		t.Errorf("bearer over HTTP: %d %s", resp.StatusCode, body)
	}
	// Before 2017-11-09, or without a version, bearer tokens are unknown.
	for _, v := range []string{"2017-07-29", ""} {
		resp, body = rawBearer(t, e.client, blobURL, tok, v)
		if resp.StatusCode != 403 || !strings.Contains(body, "Authentication scheme Bearer is not supported in this version.") {
			t.Errorf("bearer with version %q: %d %s", v, resp.StatusCode, body)
		}
	}
	// An invalid token: 401 with Azure's challenge.
	for _, bad := range []string{"forged", "", strings.Repeat("x", 10000)} {
		resp, body = rawBearer(t, e.client, blobURL, bad, "2025-11-05")
		want := "Bearer authorization_uri=https://login.microsoftonline.com/" + oauthTenant + "/oauth2/authorize resource_id=https://storage.azure.com"
		if resp.StatusCode != 401 || resp.Header.Get("x-ms-error-code") != "InvalidAuthenticationInfo" || resp.Header.Get("WWW-Authenticate") != want {
			t.Errorf("token %.10q: %d %q %s", bad, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	}
}

func TestUserDelegationSAS(t *testing.T) {
	e := startOAuth(t)
	ctx := context.Background()
	oid, tok := e.principal()
	assignment := e.grant(t, oid, roleContrib, oauthAcctID)
	readerOID, readerTok := e.principal()
	e.grant(t, readerOID, roleReader, oauthAcctID)

	now := time.Now().UTC()
	info := service.KeyInfo{Start: to.Ptr(now.Add(-time.Minute).Format(sas.TimeFormat)), Expiry: to.Ptr(now.Add(time.Hour).Format(sas.TimeFormat))}
	udc, err := e.tokenClient(t, tok).ServiceClient().GetUserDelegationCredential(ctx, info, nil)
	if err != nil {
		t.Fatalf("GetUserDelegationCredential: %v", err)
	}
	sign := func(t *testing.T, udc *service.UserDelegationCredential, perms sas.BlobPermissions, name string, expiry time.Time) string {
		t.Helper()
		qp, err := sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPS, StartTime: now.Add(-time.Minute), ExpiryTime: expiry,
			Permissions: perms.String(), ContainerName: "media", BlobName: name,
		}.SignWithUserDelegation(udc)
		if err != nil {
			t.Fatal(err)
		}
		return e.url() + "media/" + name + "?" + qp.Encode()
	}
	anon := func(t *testing.T, u string) *blockblob.Client {
		t.Helper()
		c, err := blockblob.NewClientWithNoCredential(u, &blockblob.ClientOptions{ClientOptions: e.opts().ClientOptions})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	read := func(c *blockblob.Client) (string, error) {
		resp, err := c.DownloadStream(ctx, nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	upload := func(c *blockblob.Client) error {
		_, err := c.UploadBuffer(ctx, []byte("via sas"), nil)
		return err
	}

	readSAS := sign(t, udc, sas.BlobPermissions{Read: true}, "a.txt", now.Add(30*time.Minute))
	if got, err := read(anon(t, readSAS)); err != nil || got != "hello media" {
		t.Fatalf("read with user delegation SAS = %q, %v", got, err)
	}
	wantCode(t, upload(anon(t, readSAS)), bloberror.AuthorizationPermissionMismatch, 403)
	if err := upload(anon(t, sign(t, udc, sas.BlobPermissions{Read: true, Write: true, Create: true}, "new.txt", now.Add(time.Hour)))); err != nil {
		t.Fatalf("write with a 'w' user delegation SAS: %v", err)
	}
	// Create-only: a new blob, not an existing one.
	createOnly := sign(t, udc, sas.BlobPermissions{Create: true}, "new.txt", now.Add(time.Hour))
	wantCode(t, upload(anon(t, createOnly)), bloberror.AuthorizationPermissionMismatch, 403)

	// Tampered: another blob, wider permissions, or a changed signature.
	wantCode(t, upload(anon(t, strings.Replace(readSAS, "sp=r", "sp=rw", 1))), bloberror.AuthenticationFailed, 403)
	_, err = read(anon(t, strings.Replace(readSAS, "media/a.txt", "other/a.txt", 1)))
	wantCode(t, err, bloberror.AuthenticationFailed, 403)
	u, _ := url.Parse(readSAS)
	q := u.Query()
	sig, _ := base64.StdEncoding.DecodeString(q.Get("sig"))
	sig[0] ^= 1
	q.Set("sig", base64.StdEncoding.EncodeToString(sig))
	u.RawQuery = q.Encode()
	_, err = read(anon(t, u.String()))
	wantCode(t, err, bloberror.AuthenticationFailed, 403)
	// A key is refused to the account key, and for more than seven days.
	kc, _ := service.NewClientWithSharedKeyCredential(e.url(), mustKey(t, e.key), &service.ClientOptions{ClientOptions: e.opts().ClientOptions})
	_, err = kc.GetUserDelegationCredential(ctx, info, nil)
	wantCode(t, err, bloberror.AuthenticationFailed, 403)
	long := service.KeyInfo{Start: info.Start, Expiry: to.Ptr(now.Add(8 * 24 * time.Hour).Format(sas.TimeFormat))}
	_, err = e.tokenClient(t, tok).ServiceClient().GetUserDelegationCredential(ctx, long, nil)
	wantCode(t, err, "InvalidXmlNodeValue", 400)

	// The SAS grants no more than its delegator holds: a Reader's
	// "w" SAS cannot write.
	rudc, err := e.tokenClient(t, readerTok).ServiceClient().GetUserDelegationCredential(ctx, info, nil)
	if err != nil {
		t.Fatalf("reader's key: %v", err)
	}
	wantCode(t, upload(anon(t, sign(t, rudc, sas.BlobPermissions{Write: true, Create: true}, "r.txt", now.Add(time.Hour)))),
		bloberror.AuthorizationPermissionMismatch, 403)

	// Expired.
	e.clock.Store(int64(45 * time.Minute))
	_, err = read(anon(t, readSAS))
	wantCode(t, err, bloberror.AuthenticationFailed, 403)
	e.clock.Store(0)
	// Revoking the delegator's role revokes its SAS.
	if _, err := e.authz.Delete(ctx, oauthAcctID, assignment); err != nil {
		t.Fatal(err)
	}
	_, err = read(anon(t, readSAS))
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
}

// TestPythonBearer reads a blob with the real azure-storage-blob and a
// TokenCredential of the test's own (no account key), over HTTPS.
func TestPythonBearer(t *testing.T) {
	py := pythonWithSDK(t)
	e := startOAuth(t)
	oid, tok := e.principal()
	e.grant(t, oid, roleReader, oauthAcctID)
	ca := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.tls.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/sdk_python_bearer.py")
	// Path-style over 127.0.0.1, which the test certificate names.
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+ca, "SLIPWAY_TOKEN="+tok,
		"SLIPWAY_BLOB_URL="+e.tls.URL+"/"+oauthAccount)
	out, err := cmd.CombinedOutput()
	t.Logf("sdk_python_bearer.py:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
}

// With blobs/add/action but not blobs/write, a principal creates blobs and
// appends, but replaces nothing (Put Blob: "To create new blob:
// .../blobs/add/action").
func TestBearerAddOnly(t *testing.T) {
	e := startOAuth(t)
	ctx := context.Background()
	_, tok := e.principal()
	e.bearer.addOnly.Store(true)
	c := e.tokenClient(t, tok)
	if _, err := c.UploadBuffer(ctx, "media", "fresh.txt", []byte("new"), &azblob.UploadBufferOptions{BlockSize: 1 << 20}); err != nil {
		t.Fatalf("creating a blob with add/action: %v", err)
	}
	bb := c.ServiceClient().NewContainerClient("media").NewBlockBlobClient("a.txt")
	_, err := bb.Upload(ctx, body("replaced"), nil)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
	if got, err := readAll(t, ctx, c, "media", "a.txt"); err != nil || got != "hello media" {
		t.Fatalf("a.txt = %q, %v; want it unchanged", got, err)
	}
	// Put Block needs blobs/write.
	_, err = bb.StageBlock(ctx, b64([]byte("block-0")), body("x"), nil)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
}

// User delegation keys are derived, not stored: a service opened afresh
// (a restart) derives the same key from the same secret, another secret
// another key, and every field of the key changes it.
func TestDelegationKeyDerivation(t *testing.T) {
	acct := Account{Name: oauthAccount, Keys: [][]byte{[]byte("k")}}
	derive := func(secret []byte, fields ...string) string {
		s := &Service{cfg: Config{DelegationSecret: secret}}
		k, err := s.delegationKey(acct, fields[0], fields[1], fields[2], fields[3], fields[4], fields[5])
		if err != nil {
			t.Fatal(err)
		}
		return b64(k)
	}
	fields := []string{"oid", "tid", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "b", "2025-11-05"}
	base := derive([]byte("secret"), fields...)
	if derive([]byte("secret"), fields...) != base {
		t.Fatal("the same secret derived another key")
	}
	if derive([]byte("other"), fields...) == base {
		t.Error("another secret derived the same key")
	}
	for i := range fields {
		f := slices.Clone(fields)
		f[i] += "x"
		if derive([]byte("secret"), f...) == base {
			t.Errorf("changing field %d left the key unchanged", i)
		}
	}
	if derive(nil, fields...) == base {
		t.Error("the account-key fallback derived the secret's key")
	}
}

// A blob batch under a token: the parent needs containers/write, and each
// sub-request (which carries the token itself, and the batch's version)
// is authorized on its own.
func TestBearerBatch(t *testing.T) {
	e := startOAuth(t)
	ctx := context.Background()
	oid, tok := e.principal()
	e.grant(t, oid, roleContrib, oauthAcctID+"/blobServices/default/containers/media")
	c := e.tokenClient(t, tok).ServiceClient().NewContainerClient("media")
	if _, err := c.NewBlockBlobClient("b.txt").UploadBuffer(ctx, []byte("b"), nil); err != nil {
		t.Fatal(err)
	}
	bb, err := c.NewBatchBuilder()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a.txt", "b.txt"} {
		if err := bb.Delete(n, nil); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := c.SubmitBatch(ctx, bb, nil)
	if err != nil {
		t.Fatalf("SubmitBatch: %v", err)
	}
	for _, it := range resp.Responses {
		if it.Error != nil {
			t.Errorf("deleting %s in a batch: %v", *it.BlobName, it.Error)
		}
	}
	// The role is on "media": a batch in "other" is refused as a whole.
	other := e.tokenClient(t, tok).ServiceClient().NewContainerClient("other")
	ob, _ := other.NewBatchBuilder()
	ob.Delete("a.txt", nil)
	_, err = other.SubmitBatch(ctx, ob, nil)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch, 403)
}
