package cli

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// The data-plane verbs (storage container ..., storage blob ...) talk to
// the blob service directly with the Azure SDK for Go, authenticated with
// the account key, as az does with azure-storage-blob.

// Credential flags every data-plane command takes (az's names).
var dataPlaneFlags = []flagDef{
	{Names: []string{"--account-name"}, Help: "Storage account name (else AZURE_STORAGE_ACCOUNT). With no key, the key is looked up through the server."},
	{Names: []string{"--account-key"}, Help: "Storage account key (else AZURE_STORAGE_KEY)."},
	{Names: []string{"--connection-string"}, Help: "Storage account connection string (else AZURE_STORAGE_CONNECTION_STRING)."},
	{Names: []string{"--blob-endpoint"}, Help: "Blob service endpoint, e.g. http://127.0.0.1:10000/myaccount. Default: the account's, from the server."},
	{Names: []string{"--auth-mode"}, Help: "key (the default, and the only mode Slipway has; login is not supported)."},
}

func withDataPlane(flags ...flagDef) []flagDef {
	return append(flags, dataPlaneFlags...)
}

func blobCommands() []command {
	fContainerName := flagDef{Names: []string{"--name", "-n"}, Required: true, Help: "The container name."}
	fContainer := flagDef{Names: []string{"--container-name", "-c"}, Required: true, Help: "The container name."}
	fBlob := flagDef{Names: []string{"--name", "-n"}, Required: true, Help: "The blob name."}
	fFile := flagDef{Names: []string{"--file", "-f"}, Required: true, Help: "Path of the local file."}
	fPublic := flagDef{Names: []string{"--public-access"}, Help: "Anonymous read access: off, blob or container."}
	// Slipway never shows a progress bar, which is what --no-progress asks.
	fNoProgress := flagDef{Names: []string{"--no-progress"}, Kind: kindBool, Help: "Accepted: Slipway shows no progress."}

	uSAS := unsupported("SAS tokens are not supported yet; give --account-key or --connection-string", "--sas-token")
	uTimeout := unsupported("per-request timeouts are not supported yet", "--timeout")
	uLease := unsupported("leases are not supported yet", "--lease-id")
	uSince := unsupported("conditional requests are not supported yet", "--if-modified-since", "--if-unmodified-since")
	uMatch := unsupported("conditional requests are not supported yet", "--if-match", "--if-none-match", "--tags-condition")
	uBlobURL := unsupported("give the account, container and blob names instead of a URL", "--blob-url")
	uSnapshot := unsupported("snapshots are not supported yet", "--snapshot")
	uMarker := unsupported("continuation markers are not supported yet", "--marker", "--show-next-marker")
	uMetadata := unsupported("setting metadata is not supported yet", "--metadata")
	uParallel := unsupported("transfers are not split or checked per chunk yet", "--max-connections", "--validate-content")
	return []command{
		{path: "storage container create", short: "Create a container in a storage account.", run: containerCreate, flags: withUnsupported(withDataPlane(fContainerName, fPublic,
			flagDef{Names: []string{"--fail-on-exist"}, Kind: kindBool, Help: "Fail if the container already exists."}),
			unsupported("deprecated in az; Slipway finds the account's group itself", "--resource-group -g"),
			unsupported("encryption scopes are not supported yet", "--default-encryption-scope -d", "--prevent-encryption-scope-override -p"),
			uMetadata, uSAS, uTimeout, uPolicy)},
		{path: "storage container list", short: "List containers in a storage account.", run: containerList, flags: withUnsupported(withDataPlane(
			flagDef{Names: []string{"--prefix"}, Help: "Only containers whose names begin with this."},
			flagDef{Names: []string{"--include-metadata"}, Kind: kindBool, Help: "Include the containers' metadata."}),
			unsupported("soft-deleted containers are not kept", "--include-deleted"),
			unsupported("all containers are listed; paging is not supported yet", "--num-results"),
			uMarker, uSAS, uTimeout)},
		{path: "storage container show", short: "Return a container's properties.", run: containerShow, flags: withUnsupported(withDataPlane(fContainerName),
			uLease, uSAS, uTimeout)},
		{path: "storage container delete", short: "Delete a container and its blobs.", run: containerDelete, flags: withUnsupported(withDataPlane(fContainerName,
			flagDef{Names: []string{"--fail-not-exist"}, Kind: kindBool, Help: "Fail if the container does not exist."}),
			unsupported("immutability policies are not supported yet", "--bypass-immutability-policy"),
			uLease, uSince, uSAS, uTimeout, uPolicy)},
		{path: "storage container set-permission", short: "Set a container's public access level.", run: containerSetPermission, flags: withUnsupported(withDataPlane(fContainerName,
			flagDef{Names: []string{"--public-access"}, Required: true, Help: "Anonymous read access: off, blob or container."}),
			uLease, uSince, uTimeout, uPolicy)},
		{path: "storage blob upload", short: "Upload a file to a blob.", run: blobUpload, flags: withUnsupported(withDataPlane(fContainer, fFile,
			flagDef{Names: []string{"--name", "-n"}, Help: "The blob name. Default: the file's name."},
			flagDef{Names: []string{"--overwrite"}, Kind: kindBool, Help: "Replace an existing blob."},
			flagDef{Names: []string{"--content-type"}, Help: "The blob's content type. Default: guessed from the file extension."},
			flagDef{Names: []string{"--content-cache-control", "--content-cache"}, Help: "The blob's Cache-Control."},
			fNoProgress),
			// az's --data is the blob's content; the command's definition
			// wins over the global --data (Slipway's data folder).
			unsupported("uploading from a string is not supported yet; write it to a file and give --file", "--data"),
			unsupported("only block blobs are supported", "--type -t", "--maxsize-condition"),
			unsupported("this blob property is not supported yet",
				"--content-encoding", "--content-language", "--content-disposition", "--content-md5", "--tier", "--tags"),
			unsupported("encryption scopes are not supported yet", "--encryption-scope"),
			unsupported("the whole file is uploaded", "--length"),
			unsupported("the socket timeout is not configurable", "--socket-timeout"),
			uMetadata, uParallel, uLease, uSince, uMatch, uBlobURL, uSAS, uTimeout, uPolicy)},
		{path: "storage blob download", short: "Download a blob to a file.", run: blobDownload, flags: withUnsupported(withDataPlane(fContainer, fBlob, fFile,
			flagDef{Names: []string{"--overwrite"}, Kind: kindBool, Help: "Replace an existing file (default true, as az)."},
			fNoProgress),
			unsupported("the whole blob is downloaded to a new file", "--start-range", "--end-range", "--open-mode"),
			unsupported("blob versions are not kept", "--version-id"),
			uParallel, uSnapshot, uLease, uSince, uMatch, uBlobURL, uSAS, uTimeout, uPolicy)},
		{path: "storage blob list", short: "List blobs in a container.", run: blobList, flags: withUnsupported(withDataPlane(fContainer,
			flagDef{Names: []string{"--prefix"}, Help: "Only blobs whose names begin with this."},
			flagDef{Names: []string{"--delimiter"}, Help: "List a virtual directory level: blobs and prefixes up to the delimiter."},
			flagDef{Names: []string{"--num-results"}, Help: "Maximum number of results; \"*\" for all. Default: 5000."},
			flagDef{Names: []string{"--include"}, Help: "Include m (metadata)."}),
			uMarker, uSAS, uTimeout)},
		{path: "storage blob show", short: "Get a blob's properties and metadata.", run: blobShow, flags: withUnsupported(withDataPlane(fContainer, fBlob),
			uSnapshot, uLease, uSince, uMatch, uBlobURL, uSAS, uTimeout)},
		{path: "storage blob delete", short: "Delete a blob.", run: blobDelete, flags: withUnsupported(withDataPlane(fContainer, fBlob,
			flagDef{Names: []string{"--delete-snapshots"}, Help: "include: delete the blob and its snapshots; only: only the snapshots."}),
			uSnapshot, uLease, uSince, uMatch, uBlobURL, uSAS, uTimeout, uPolicy)},
	}
}

// storageCreds are the resolved account credentials of a data-plane command.
type storageCreds struct {
	account, key, endpoint string
}

// parseConnectionString reads an Azure Storage connection string:
// AccountName/AccountKey with BlobEndpoint (or DefaultEndpointsProtocol and
// EndpointSuffix), or UseDevelopmentStorage=true (the Azurite account on
// 127.0.0.1:10000).
func parseConnectionString(cs string) (storageCreds, error) {
	kv := map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return storageCreds{}, exitErrorf("Use the form AccountName=...;AccountKey=...;BlobEndpoint=...", "The connection string has a part without '=': %q.", part)
		}
		kv[strings.ToLower(k)] = v
	}
	if strings.EqualFold(kv["usedevelopmentstorage"], "true") {
		return storageCreds{
			account:  "devstoreaccount1",
			key:      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
			endpoint: "http://127.0.0.1:10000/devstoreaccount1",
		}, nil
	}
	c := storageCreds{account: kv["accountname"], key: kv["accountkey"], endpoint: kv["blobendpoint"]}
	if c.endpoint == "" && c.account != "" {
		proto, suffix := kv["defaultendpointsprotocol"], kv["endpointsuffix"]
		if proto == "" {
			proto = "https"
		}
		if suffix == "" {
			suffix = "core.windows.net"
		}
		c.endpoint = proto + "://" + c.account + ".blob." + suffix
	}
	if c.account == "" || c.key == "" || c.endpoint == "" {
		return storageCreds{}, exitErrorf("Get one with `slipway storage account show-connection-string -g <group> -n <account>`.",
			"The connection string must name AccountName, AccountKey and a blob endpoint.")
	}
	return c, nil
}

// storageCreds resolves the account, key and endpoint as az does: a
// connection string (flag, then AZURE_STORAGE_CONNECTION_STRING), else the
// account name and key (flags, then AZURE_STORAGE_ACCOUNT/AZURE_STORAGE_KEY).
// A missing key or endpoint is looked up through the server: the account
// is found in the subscription, and its keys listed.
func (inv *invocation) storageCreds(ctx context.Context) (storageCreds, error) {
	switch m := inv.flags.str("auth-mode"); m {
	case "", "key":
	case "login":
		return storageCreds{}, usageErrorf(inv.cmd.path, "argument --auth-mode: login is not supported by Slipway yet (Slipway has no Microsoft Entra sign-in; use --auth-mode key)")
	default:
		return storageCreds{}, usageErrorf(inv.cmd.path, "argument --auth-mode: invalid choice: '%s' (choose from 'key', 'login')", m)
	}
	name := inv.flags.str("account-name")
	cs := inv.flags.str("connection-string")
	if cs == "" && name == "" && inv.flags.str("account-key") == "" {
		cs = inv.getenv("AZURE_STORAGE_CONNECTION_STRING")
	}
	if cs != "" {
		return parseConnectionString(cs)
	}
	if name == "" {
		name = inv.getenv("AZURE_STORAGE_ACCOUNT")
	}
	if name == "" {
		return storageCreds{}, usageErrorf(inv.cmd.path, "Missing credentials to access the storage service. Provide --connection-string, or --account-name (with --account-key), or set AZURE_STORAGE_CONNECTION_STRING.")
	}
	creds := storageCreds{account: name, key: inv.flags.str("account-key"), endpoint: inv.flags.str("blob-endpoint")}
	if creds.key == "" && inv.flags.str("account-name") == "" {
		creds.key = inv.getenv("AZURE_STORAGE_KEY")
	}
	if creds.key != "" && creds.endpoint != "" {
		return creds, nil
	}
	c, err := inv.connect(ctx)
	if err != nil {
		return storageCreds{}, err
	}
	accounts, err := c.armList(ctx, c.subPath()+"/providers/Microsoft.Storage/storageAccounts", apiStorage)
	if err != nil {
		return storageCreds{}, err
	}
	var acct map[string]any
	for _, it := range accounts {
		if m, ok := it.(map[string]any); ok && strings.EqualFold(str(m, "name"), name) {
			acct = m
		}
	}
	if acct == nil {
		return storageCreds{}, &ExitError{Code: ExitNotFound, Message: fmt.Sprintf("The storage account '%s' was not found.", name),
			Hint: "List accounts with `slipway storage account list`."}
	}
	creds.account = str(acct, "name")
	if creds.endpoint == "" {
		creds.endpoint, _ = lookup(acct, "properties.primaryEndpoints.blob").(string)
	}
	if creds.key == "" {
		inv.warnf("There are no credentials provided in your command and environment, we will query for account key for your storage account.\nIt is recommended to provide --connection-string, --account-key or --sas-token in your command as credentials.")
		keys, err := c.listStorageKeys(ctx, resourceGroupOf(str(acct, "id")), creds.account)
		if err != nil {
			return storageCreds{}, err
		}
		creds.key = keys[0].Value
	}
	return creds, nil
}

// blobClient returns an azblob client for the command's account. Requests
// go through the server connection's client when there is one (it routes
// "<account>.blob.<domain>" to the server), else through a client of its
// own; never http.DefaultClient.
func (inv *invocation) blobClient(ctx context.Context) (*azblob.Client, storageCreds, error) {
	creds, err := inv.storageCreds(ctx)
	if err != nil {
		return nil, creds, err
	}
	return inv.blobClientFor(creds)
}

// blobClientFor is blobClient for credentials already resolved.
func (inv *invocation) blobClientFor(creds storageCreds) (*azblob.Client, storageCreds, error) {
	cred, err := azblob.NewSharedKeyCredential(creds.account, creds.key)
	if err != nil {
		return nil, creds, exitErrorf("Check the key: it is the base64 text `slipway storage account keys list` prints.", "The account key is not valid: %v", err)
	}
	var httpClient *http.Client
	if inv.conn != nil {
		httpClient = inv.conn.client
	} else {
		// No keep-alives: one CLI run leaves no idle connections behind.
		httpClient = &http.Client{Transport: &http.Transport{
			Proxy:                 nil,
			TLSClientConfig:       &tls.Config{RootCAs: inv.localRoots()},
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			DisableKeepAlives:     true,
			ResponseHeaderTimeout: 5 * time.Minute,
		}}
		if inv.flags.boolean("debug") {
			httpClient.Transport = &debugTransport{next: httpClient.Transport, w: inv.stderr}
		}
	}
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: httpClient,
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second},
		Telemetry: policy.TelemetryOptions{ApplicationID: "slipway-cli"},
	}}
	client, err := azblob.NewClientWithSharedKeyCredential(strings.TrimSuffix(creds.endpoint, "/")+"/", cred, opts)
	if err != nil {
		return nil, creds, exitErrorf("", "Cannot use the blob endpoint %q: %v", creds.endpoint, err)
	}
	return client, creds, nil
}

// blobServiceError turns a blob service error into az's message: the
// service's own message, then "ErrorCode:<code>"; exit code 3 for a 404.
func blobServiceError(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err
	}
	msg := ""
	if re.RawResponse != nil && re.RawResponse.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(re.RawResponse.Body, 64<<10))
		var e struct {
			Message string `xml:"Message"`
		}
		if xml.Unmarshal(body, &e) == nil {
			msg = strings.TrimSpace(e.Message)
		}
	}
	if msg == "" {
		msg = fmt.Sprintf("The blob service answered %d %s.", re.StatusCode, http.StatusText(re.StatusCode))
	}
	code := ExitFailure
	if re.StatusCode == http.StatusNotFound {
		code = ExitNotFound
	}
	return &ExitError{Code: code, Message: msg + "\nErrorCode:" + re.ErrorCode}
}

// publicAccess parses --public-access; "" and "off" are private (nil).
func publicAccess(cmdPath, v string) (*container.PublicAccessType, error) {
	switch strings.ToLower(v) {
	case "", "off":
		return nil, nil
	case "blob":
		return to.Ptr(container.PublicAccessTypeBlob), nil
	case "container":
		return to.Ptr(container.PublicAccessTypeContainer), nil
	}
	return nil, usageErrorf(cmdPath, "argument --public-access: invalid choice: '%s' (choose from 'off', 'blob', 'container')", v)
}

// azTime formats a time as az prints the SDK's datetimes.
func azTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05-07:00")
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func etagString(e *azcore.ETag) any {
	if e == nil {
		return nil
	}
	return string(*e)
}

func metadataJSON(m map[string]*string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = deref(v)
	}
	return out
}

// ensureContainer creates a container if it is missing; it reports whether
// it created it.
func ensureContainer(ctx context.Context, client *azblob.Client, name string, access *container.PublicAccessType) (bool, error) {
	_, err := client.ServiceClient().NewContainerClient(name).Create(ctx, &container.CreateOptions{Access: access})
	if bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return false, nil
	}
	if err != nil {
		return false, blobServiceError(err)
	}
	return true, nil
}

func containerCreate(ctx context.Context, inv *invocation) error {
	access, err := publicAccess(inv.cmd.path, inv.flags.str("public-access"))
	if err != nil {
		return err
	}
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	created, err := ensureContainer(ctx, client, inv.flags.str("name"), access)
	if err != nil {
		return err
	}
	if !created && inv.flags.boolean("fail-on-exist") {
		return exitErrorf("", "The specified container already exists.\nErrorCode:ContainerAlreadyExists")
	}
	return inv.printResult(map[string]any{"created": created}, nil)
}

// containerJSON is a container as az prints it.
func containerJSON(name string, props map[string]any, metadata map[string]*string) map[string]any {
	var md any
	if metadata != nil {
		md = metadataJSON(metadata)
	}
	return map[string]any{"name": name, "metadata": md, "properties": props, "deleted": nil, "version": nil}
}

var containerColumns = []column{{"Name", "name"}, {"Lease Status", "properties.lease.status"}, {"Last Modified", "properties.lastModified"}}

func containerList(ctx context.Context, inv *invocation) error {
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	opts := &service.ListContainersOptions{Include: service.ListContainersInclude{Metadata: inv.flags.boolean("include-metadata")}}
	if p := inv.flags.str("prefix"); p != "" {
		opts.Prefix = &p
	}
	out := []any{}
	pager := client.NewListContainersPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return blobServiceError(err)
		}
		for _, it := range page.ContainerItems {
			p := it.Properties
			if p == nil {
				p = &service.ContainerProperties{}
			}
			props := map[string]any{
				"etag": etagString(p.ETag), "lastModified": azTime(p.LastModified),
				"publicAccess":          deref(p.PublicAccess),
				"hasImmutabilityPolicy": deref(p.HasImmutabilityPolicy), "hasLegalHold": deref(p.HasLegalHold),
				"lease": map[string]any{"status": deref(p.LeaseStatus), "state": deref(p.LeaseState), "duration": deref(p.LeaseDuration)},
			}
			out = append(out, containerJSON(derefString(it.Name), props, it.Metadata))
		}
	}
	return inv.printResult(out, containerColumns)
}

func containerShow(ctx context.Context, inv *invocation) error {
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	name := inv.flags.str("name")
	p, err := client.ServiceClient().NewContainerClient(name).GetProperties(ctx, nil)
	if err != nil {
		return blobServiceError(err)
	}
	props := map[string]any{
		"etag": etagString(p.ETag), "lastModified": azTime(p.LastModified),
		"publicAccess":          deref(p.BlobPublicAccess),
		"hasImmutabilityPolicy": deref(p.HasImmutabilityPolicy), "hasLegalHold": deref(p.HasLegalHold),
		"lease": map[string]any{"status": deref(p.LeaseStatus), "state": deref(p.LeaseState), "duration": deref(p.LeaseDuration)},
	}
	md := p.Metadata
	if md == nil {
		md = map[string]*string{}
	}
	return inv.printResult(containerJSON(name, props, md), containerColumns)
}

func containerDelete(ctx context.Context, inv *invocation) error {
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	_, err = client.DeleteContainer(ctx, inv.flags.str("name"), nil)
	switch {
	case bloberror.HasCode(err, bloberror.ContainerNotFound) && !inv.flags.boolean("fail-not-exist"):
		return inv.printResult(map[string]any{"deleted": false}, nil)
	case err != nil:
		return blobServiceError(err)
	}
	return inv.printResult(map[string]any{"deleted": true}, nil)
}

// containerSetPermission sets the public access level, keeping the
// container's stored access policies (az reads them first, too).
func containerSetPermission(ctx context.Context, inv *invocation) error {
	access, err := publicAccess(inv.cmd.path, inv.flags.str("public-access"))
	if err != nil {
		return err
	}
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	cc := client.ServiceClient().NewContainerClient(inv.flags.str("name"))
	cur, err := cc.GetAccessPolicy(ctx, nil)
	if err != nil {
		return blobServiceError(err)
	}
	res, err := cc.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{Access: access, ContainerACL: cur.SignedIdentifiers})
	if err != nil {
		return blobServiceError(err)
	}
	return inv.printResult(map[string]any{"etag": etagString(res.ETag), "lastModified": azTime(res.LastModified)}, nil)
}

// contentTypeFor guesses a content type from a file name as az does
// (Python's mimetypes); unknown types are application/octet-stream.
func contentTypeFor(path string) string {
	if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(path))); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt // "text/plain", not "text/plain; charset=utf-8", as Python's guess_type
		}
	}
	return "application/octet-stream"
}

func blobUpload(ctx context.Context, inv *invocation) error {
	path := inv.flags.str("file")
	f, err := os.Open(path)
	if err != nil {
		return exitErrorf("Check the path given with --file.", "Cannot read %s: %v", path, err)
	}
	defer f.Close()
	name := inv.flags.str("name")
	if name == "" {
		name = filepath.Base(path)
	}
	ct := inv.flags.str("content-type")
	if ct == "" {
		ct = contentTypeFor(path)
	}
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	opts := &blockblob.UploadFileOptions{
		HTTPHeaders: &azblobblob.HTTPHeaders{BlobContentType: &ct},
		BlockSize:   4 << 20,
		Concurrency: 2,
	}
	if cc := inv.flags.str("content-cache-control"); cc != "" {
		opts.HTTPHeaders.BlobCacheControl = &cc
	}
	if !inv.flags.boolean("overwrite") {
		// az refuses to replace a blob unless --overwrite is given.
		opts.AccessConditions = &azblobblob.AccessConditions{ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}
	}
	res, err := client.UploadFile(ctx, inv.flags.str("container-name"), name, f, opts)
	if bloberror.HasCode(err, bloberror.BlobAlreadyExists) || (err != nil && !inv.flags.boolean("overwrite") && bloberror.HasCode(err, bloberror.ConditionNotMet)) {
		return exitErrorf("Add --overwrite to replace it.", "The specified blob already exists.\nErrorCode:BlobAlreadyExists")
	}
	if err != nil {
		return blobServiceError(err)
	}
	var md5 any
	if len(res.ContentMD5) > 0 {
		md5 = base64.StdEncoding.EncodeToString(res.ContentMD5)
	}
	return inv.printResult(map[string]any{
		"client_request_id": deref(res.ClientRequestID), "content_md5": md5, "date": azTime(res.Date),
		"encryption_key_sha256": nil, "encryption_scope": nil, "etag": etagString(res.ETag),
		"last_modified": azTime(res.LastModified), "request_id": deref(res.RequestID),
		"request_server_encrypted": deref(res.IsServerEncrypted), "version": deref(res.Version), "version_id": deref(res.VersionID),
	}, nil)
}

// blobJSON is a blob as az prints it (show, download).
func blobJSON(containerName, name string, p azblobblob.GetPropertiesResponse) map[string]any {
	var md5 any
	if len(p.ContentMD5) > 0 {
		md5 = base64.StdEncoding.EncodeToString(p.ContentMD5)
	}
	md := metadataJSON(p.Metadata)
	return map[string]any{
		"container": containerName, "name": name, "metadata": md, "snapshot": nil, "deleted": false, "versionId": deref(p.VersionID),
		"properties": map[string]any{
			"blobType": deref(p.BlobType), "contentLength": deref(p.ContentLength),
			"contentSettings": map[string]any{
				"contentType": deref(p.ContentType), "contentEncoding": deref(p.ContentEncoding), "contentLanguage": deref(p.ContentLanguage),
				"contentDisposition": deref(p.ContentDisposition), "cacheControl": deref(p.CacheControl), "contentMd5": md5,
			},
			"etag": etagString(p.ETag), "lastModified": azTime(p.LastModified), "creationTime": azTime(p.CreationTime),
			"lease":           map[string]any{"status": deref(p.LeaseStatus), "state": deref(p.LeaseState), "duration": deref(p.LeaseDuration)},
			"blobTier":        deref(p.AccessTier),
			"serverEncrypted": deref(p.IsServerEncrypted),
		},
	}
}

func blobShow(ctx context.Context, inv *invocation) error {
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	cn, name := inv.flags.str("container-name"), inv.flags.str("name")
	p, err := client.ServiceClient().NewContainerClient(cn).NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return blobServiceError(err)
	}
	return inv.printResult(blobJSON(cn, name, p), blobColumns)
}

// blobDownload writes the blob to a temporary file beside --file, syncs
// it and renames it into place, so a failed download leaves no torn file.
func blobDownload(ctx context.Context, inv *invocation) (err error) {
	path := inv.flags.str("file")
	if inv.flags.has("overwrite") && !inv.flags.boolean("overwrite") {
		if _, err := os.Stat(path); err == nil {
			return exitErrorf("Add --overwrite or choose another --file.", "The file %s already exists.", path)
		}
	}
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	cn, name := inv.flags.str("container-name"), inv.flags.str("name")
	bc := client.ServiceClient().NewContainerClient(cn).NewBlobClient(name)
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".download-*")
	if err != nil {
		return exitErrorf("Check the folder of --file.", "Cannot write beside %s: %v", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			_ = os.Remove(tmp.Name()) // best effort; the download already failed
		}
	}()
	if _, err = bc.DownloadFile(ctx, tmp, &azblobblob.DownloadFileOptions{BlockSize: 4 << 20, Concurrency: 2}); err != nil {
		return blobServiceError(err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing the download: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing the download: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("moving the download into place: %w", err)
	}
	p, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return blobServiceError(err)
	}
	return inv.printResult(blobJSON(cn, name, p), blobColumns)
}

var blobColumns = []column{{"Name", "name"}, {"Blob Type", "properties.blobType"}, {"Blob Tier", "properties.blobTier"}, {"Length", "properties.contentLength"},
	{"Content Type", "properties.contentSettings.contentType"}, {"Last Modified", "properties.lastModified"}, {"Snapshot", "snapshot"}}

func blobItemJSON(it *container.BlobItem) map[string]any {
	p := it.Properties
	if p == nil {
		p = &container.BlobProperties{}
	}
	var md5 any
	if len(p.ContentMD5) > 0 {
		md5 = base64.StdEncoding.EncodeToString(p.ContentMD5)
	}
	var md any
	if it.Metadata != nil {
		md = metadataJSON(it.Metadata)
	}
	return map[string]any{
		"name": deref(it.Name), "metadata": md, "snapshot": deref(it.Snapshot), "deleted": deref(it.Deleted), "versionId": deref(it.VersionID),
		"properties": map[string]any{
			"blobType": deref(p.BlobType), "contentLength": deref(p.ContentLength),
			"contentSettings": map[string]any{
				"contentType": deref(p.ContentType), "contentEncoding": deref(p.ContentEncoding), "contentLanguage": deref(p.ContentLanguage),
				"contentDisposition": deref(p.ContentDisposition), "cacheControl": deref(p.CacheControl), "contentMd5": md5,
			},
			"etag": etagString(p.ETag), "lastModified": azTime(p.LastModified), "creationTime": azTime(p.CreationTime),
			"lease":    map[string]any{"status": deref(p.LeaseStatus), "state": deref(p.LeaseState), "duration": deref(p.LeaseDuration)},
			"blobTier": deref(p.AccessTier),
		},
	}
}

func blobList(ctx context.Context, inv *invocation) error {
	limit := 5000
	if n := inv.flags.str("num-results"); n == "*" {
		limit = -1
	} else if n != "" {
		if _, err := fmt.Sscanf(n, "%d", &limit); err != nil || limit < 1 {
			return usageErrorf(inv.cmd.path, "argument --num-results: %q is not a positive integer or \"*\"", n)
		}
	}
	include := container.ListBlobsInclude{Metadata: strings.Contains(inv.flags.str("include"), "m")}
	var prefix *string
	if p := inv.flags.str("prefix"); p != "" {
		prefix = &p
	}
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	cc := client.ServiceClient().NewContainerClient(inv.flags.str("container-name"))
	out := []any{}
	full := func() bool { return limit >= 0 && len(out) >= limit }
	if d := inv.flags.str("delimiter"); d != "" {
		pager := cc.NewListBlobsHierarchyPager(d, &container.ListBlobsHierarchyOptions{Prefix: prefix, Include: include})
		for pager.More() && !full() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return blobServiceError(err)
			}
			for _, bp := range page.Segment.BlobPrefixes {
				if !full() {
					out = append(out, map[string]any{"name": deref(bp.Name), "properties": map[string]any{}, "metadata": nil})
				}
			}
			for _, it := range page.Segment.BlobItems {
				if !full() {
					out = append(out, blobItemJSON(it))
				}
			}
		}
	} else {
		pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: prefix, Include: include})
		for pager.More() && !full() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return blobServiceError(err)
			}
			for _, it := range page.Segment.BlobItems {
				if !full() {
					out = append(out, blobItemJSON(it))
				}
			}
		}
	}
	return inv.printResult(out, blobColumns)
}

func blobDelete(ctx context.Context, inv *invocation) error {
	var opts azblobblob.DeleteOptions
	switch strings.ToLower(inv.flags.str("delete-snapshots")) {
	case "":
	case "include":
		opts.DeleteSnapshots = to.Ptr(azblobblob.DeleteSnapshotsOptionTypeInclude)
	case "only":
		opts.DeleteSnapshots = to.Ptr(azblobblob.DeleteSnapshotsOptionTypeOnly)
	default:
		return usageErrorf(inv.cmd.path, "argument --delete-snapshots: invalid choice: '%s' (choose from 'include', 'only')", inv.flags.str("delete-snapshots"))
	}
	client, _, err := inv.blobClient(ctx)
	if err != nil {
		return err
	}
	if _, err := client.DeleteBlob(ctx, inv.flags.str("container-name"), inv.flags.str("name"), &opts); err != nil {
		return blobServiceError(err)
	}
	return nil
}
