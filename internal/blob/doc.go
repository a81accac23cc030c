// Package blob serves the Azure Blob Storage REST API (the subset the Azure
// SDKs and django-storages use) from local disk, so that the real
// azure-storage-blob (Python), azblob (Go) and @azure/storage-blob (JS)
// clients work against Slipway with nothing changed but the connection
// string.
//
// The package owns the blob data plane: request addressing (path-style
// http://127.0.0.1:<port>/<account>/<container>/<blob> as Azurite, and
// host-style <account>.blob.<domain>), authentication (SharedKey,
// SharedKeyLite, account and service SAS, anonymous public reads, and —
// with Config.Bearer — Microsoft Entra ID bearer tokens authorized by the
// Storage Blob Data roles, user delegation keys and user delegation SAS:
// oauth.go, delegation.go), the container and blob operations, and their
// storage. It does not own storage accounts, tokens or role assignments: it
// learns which accounts exist and their keys through the Accounts
// interface, and asks Config.Bearer whether a token is valid and whether
// its principal holds a permission. A request that carries credentials
// over plain HTTP from another machine is refused before they are read, as
// Azure refuses plain HTTP to an account that requires secure transfer
// (package cleartext says what counts as another machine). A request body
// that sends nothing for Config.BodyIdleTimeout ends its request with
// OperationTimedOut, so a client cannot hold a request by stalling
// mid-upload (bodyidle.go). Writes that store content (Put Blob, Put
// Block, Append Block, Put Page, Copy Blob, and the From URL forms of Put
// Block, Append Block and Put Page, which read a range of a copy source:
// fromurl.go) or add a container or a blob (Create Container, Put Block
// List) are refused with 503 ServerBusy when they would leave less than
// Config.DiskReserve free on the disk, which also holds the platform's own
// data (package diskreserve).
//
// Storage: metadata lives in a SQLite database in Config.Dir (one writer
// connection and a reader pool, WAL, synchronous=FULL, embedded numbered
// migrations). Block blobs of up to 64 KiB are stored inline in their row;
// larger content lives in files under Config.Dir/content and staged blocks
// under Config.Dir/blocks. A blob committed from blocks keeps its blocks'
// files as extents (a hard link each into the content directory) instead
// of a composed copy, so committing it writes no content (content.go).
// Every file reaches disk (temp file, fsync, rename, directory fsync)
// before the row that makes it visible is committed, so a torn upload is
// never visible and an acknowledged write survives kill -9. Open removes
// files no row references (left by a crash) and finishes purging
// containers whose deletion was interrupted.
//
// Page blobs keep their pages in the database, one row per written page
// range with its bytes (pages.go): a Put Page (at most 4 MiB) trims or
// splits the rows it overlaps and adds its own in one transaction, so it
// is atomic and acknowledged only once committed; snapshots and copies
// copy the rows.
//
// Blob index tags are stored in each blob's row; those of base blobs are
// also indexed in the blob_tags table, which SQLite triggers keep equal to
// the rows, for Find Blobs by Tags (findtags.go).
//
// Blob commits (Put Blob, Put Block List, Copy Blob) are group-committed: a
// committer goroutine runs all commits queued meanwhile in one transaction,
// each in its own savepoint, and acknowledges each only after that
// transaction has committed, so concurrent writers share one WAL fsync.
package blob
