package arm

// Microsoft.Storage/storageAccounts/blobServices/containers on the
// management plane, as ARM templates declare containers
// (https://learn.microsoft.com/rest/api/storagerp/blob-containers/create,
// https://learn.microsoft.com/azure/templates/microsoft.storage/storageaccounts/blobservices/containers)
// and `az storage container-rm` drives them. The blob service keeps the
// containers (the data plane serves the same ones); only the "default"
// blob service exists.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/internal/blob"
)

// Containers creates and reads blob containers, and reads and sets the
// blob service's properties (blobservices.go), for the management plane.
// The blob service implements it.
type Containers interface {
	ServiceProperties(ctx context.Context, account string) (blob.ServiceProperties, error)
	SetServiceProperties(ctx context.Context, account string, u blob.ServicePropertiesUpdate) error
	PutContainer(ctx context.Context, account, name, publicAccess string, metadata map[string]string) (blob.ContainerInfo, bool, error)
	Container(ctx context.Context, account, name string) (blob.ContainerInfo, error)
	Containers(ctx context.Context, account, after string, limit int) ([]blob.ContainerInfo, error)
	DeleteContainer(ctx context.Context, account, name string) error
}

var _ Containers = (*blob.Service)(nil)

// publicAccessWire maps the data plane's public access to ARM's.
var publicAccessWire = map[string]string{"": "None", "blob": "Blob", "container": "Container"}

func (h *Handler) containerJSON(sub, rg, account string, c blob.ContainerInfo) map[string]any {
	props := map[string]any{
		"publicAccess":          publicAccessWire[c.PublicAccess],
		"lastModifiedTime":      c.LastModified.Format(time.RFC3339),
		"leaseStatus":           "Unlocked",
		"leaseState":            "Available",
		"deleted":               false,
		"hasImmutabilityPolicy": false,
		"hasLegalHold":          false,
	}
	// Azure leaves metadata out of a container that has none (azure-cli's
	// test_storage_container_using_rm_main_scenario reads it as null).
	if len(c.Metadata) > 0 {
		props["metadata"] = c.Metadata
	}
	return map[string]any{
		"id":         storageAccountID(sub, rg, account) + "/blobServices/default/containers/" + c.Name,
		"name":       c.Name,
		"type":       "Microsoft.Storage/storageAccounts/blobServices/containers",
		"etag":       c.ETag,
		"properties": props,
	}
}

// blobService checks the account (in the group) and the blob service's
// name, which is always "default".
func (h *Handler) blobService(ctx context.Context, p params) error {
	if h.cfg.Containers == nil {
		return &apiError{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "Blob containers are not served on this management endpoint."}
	}
	if _, err := h.cfg.Store.StorageAccount(ctx, p.rg, p.account); err != nil {
		return err
	}
	if !strings.EqualFold(p.policy, "default") {
		return &apiError{Status: http.StatusNotFound, Code: "ResourceNotFound",
			Message: fmt.Sprintf("The blob service '%s' was not found: a storage account has one, named 'default'.", p.policy)}
	}
	return nil
}

func containerError(err error) error {
	switch {
	case errors.Is(err, blob.ErrInvalidContainer):
		return &apiError{Status: http.StatusBadRequest, Code: "ContainerOperationFailure", Message: err.Error()}
	case errors.Is(err, blob.ErrContainerBeingDeleted):
		return &apiError{Status: http.StatusConflict, Code: "ContainerBeingDeleted", Message: "The specified container is being deleted. Try the operation later."}
	case errors.Is(err, blob.ErrContainerLeased):
		return &apiError{Status: http.StatusConflict, Code: "ContainerOperationFailure", Message: "There is currently a lease on the container and no lease ID was specified in the request."}
	case errors.Is(err, blob.ErrContainerNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "ContainerNotFound", Message: "The specified container does not exist."}
	}
	return err
}

// putContainer answers PUT .../blobServices/default/containers/{name}:
// 201 created, 200 updated (public access and metadata).
func (h *Handler) putContainer(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeContainer(w, r, p, false)
}

// patchContainer answers PATCH of a container (blob_containers.update,
// `az storage container-rm update`): what the body names changes, the rest
// stays, and a container that does not exist is not created
// (https://learn.microsoft.com/rest/api/storagerp/blob-containers/update).
func (h *Handler) patchContainer(w http.ResponseWriter, r *http.Request, p params) error {
	return h.writeContainer(w, r, p, true)
}

func (h *Handler) writeContainer(w http.ResponseWriter, r *http.Request, p params, patch bool) error {
	ctx := r.Context()
	if err := h.blobService(ctx, p); err != nil {
		return err
	}
	var b struct {
		Properties struct {
			PublicAccess *string           `json:"publicAccess"`
			Metadata     map[string]string `json:"metadata"`
		} `json:"properties"`
	}
	if err := readJSON(r, &b); err != nil {
		return err
	}
	account := strings.ToLower(p.account)
	var pa string
	md := b.Properties.Metadata
	if patch {
		cur, err := h.cfg.Containers.Container(ctx, account, p.id)
		if err != nil {
			return containerError(err)
		}
		pa = cur.PublicAccess
		if md == nil {
			md = cur.Metadata
		}
	}
	if b.Properties.PublicAccess != nil {
		switch strings.ToLower(*b.Properties.PublicAccess) {
		case "", "none":
			pa = ""
		case "blob":
			pa = "blob"
		case "container":
			pa = "container"
		default:
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequestContent",
				Message: fmt.Sprintf("The publicAccess '%s' is not one of None, Blob and Container.", *b.Properties.PublicAccess)}
		}
	}
	c, created, err := h.cfg.Containers.PutContainer(ctx, account, p.id, pa, md)
	if err != nil {
		return containerError(err)
	}
	status := http.StatusOK
	if created && !patch {
		status = http.StatusCreated
	}
	return writeJSON(w, status, h.containerJSON(p.sub, p.rg, p.account, c))
}

// deleteContainer answers DELETE of a container with its blobs: 200, or
// 204 when there is none
// (https://learn.microsoft.com/rest/api/storagerp/blob-containers/delete).
func (h *Handler) deleteContainer(w http.ResponseWriter, r *http.Request, p params) error {
	if err := h.blobService(r.Context(), p); err != nil {
		return err
	}
	err := h.cfg.Containers.DeleteContainer(r.Context(), strings.ToLower(p.account), p.id)
	if errors.Is(err, blob.ErrContainerNotFound) {
		return writeEmpty(w, http.StatusNoContent)
	}
	if err != nil {
		return containerError(err)
	}
	return writeEmpty(w, http.StatusOK)
}

// getContainer answers GET .../blobServices/default/containers/{name}.
func (h *Handler) getContainer(w http.ResponseWriter, r *http.Request, p params) error {
	if err := h.blobService(r.Context(), p); err != nil {
		return err
	}
	c, err := h.cfg.Containers.Container(r.Context(), strings.ToLower(p.account), p.id)
	if err != nil {
		return containerError(err)
	}
	return writeJSON(w, http.StatusOK, h.containerJSON(p.sub, p.rg, p.account, c))
}

// containerPage bounds one page of listContainers; $maxpagesize asks for
// fewer.
const containerPage = 1000

// listContainers answers GET .../blobServices/default/containers
// (`az storage container-rm list`): a page of the account's containers in
// name order, and a nextLink ($skipToken: the last name) while there are
// more.
func (h *Handler) listContainers(w http.ResponseWriter, r *http.Request, p params) error {
	if err := h.blobService(r.Context(), p); err != nil {
		return err
	}
	size, err := pageSize(r, "$maxpagesize", containerPage)
	if err != nil {
		return err
	}
	cs, err := h.cfg.Containers.Containers(r.Context(), strings.ToLower(p.account), r.URL.Query().Get("$skipToken"), size+1)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if len(cs) > size {
		cs = cs[:size]
		out["nextLink"] = h.nextPageLink(r, "$maxpagesize", size, cs[size-1].Name)
	}
	value := make([]any, 0, len(cs))
	for _, c := range cs {
		value = append(value, h.containerJSON(p.sub, p.rg, p.account, c))
	}
	out["value"] = value
	return writeJSON(w, http.StatusOK, out)
}
