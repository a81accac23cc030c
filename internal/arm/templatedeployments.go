package arm

// Microsoft.Resources/deployments at resource-group scope: ARM template
// deployments as `az deployment group validate|create|show|list|delete`
// and `az deployment operation group list` drive them (docs/arm.md
// "Template deployments"; REST: https://learn.microsoft.com/rest/api/resources/deployments).
// The template is evaluated by internal/armtemplate; each resource is
// created by a PUT dispatched to this handler as the caller — the same
// credentials, the same RBAC checks — so a deployment can never create
// what its caller could not create directly. Deployments run to the end
// within the PUT, in dependsOn order, one resource at a time. A template
// may deploy templates (nested deployments, Bicep's modules): each is a
// deployment of its own, PUT as any resource, at most maxNesting deep and
// within the top deployment's time and resource budget.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/armtemplate"
	"github.com/slipway-dev/slipway/internal/rbac"
	"github.com/slipway-dev/slipway/internal/store"
)

const (
	deploymentsType = "Microsoft.Resources/deployments"
	// deploymentTimeout bounds one deployment's run.
	deploymentTimeout = 30 * time.Minute
	// deploymentFailedMessage is ARM's message for a failed deployment.
	deploymentFailedMessage = "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details."
)

// deploymentRuns are the deployments running in this process, by
// lower-cased "rg/name": a stored record that says Running but is not
// here was cut short by a restart.
type deploymentRuns struct {
	mu  sync.Mutex
	set map[string]bool
}

func (d *deploymentRuns) start(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.set == nil {
		d.set = map[string]bool{}
	}
	if d.set[key] {
		return false
	}
	d.set[key] = true
	return true
}

func (d *deploymentRuns) end(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.set, key)
}

func (d *deploymentRuns) running(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set[key]
}

// deploymentNameRE is ARM's rule for deployment names: 1-64 of
// alphanumerics, '-', '.', '_', '(' and ')'.
var deploymentNameRE = regexp.MustCompile(`^[-\w._()]{1,64}$`)

// deploymentDoc is a deployment as ARM answers it (DeploymentExtended).
type deploymentDoc struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Location   *string        `json:"location"`
	Tags       map[string]any `json:"tags"`
	Properties deploymentProp `json:"properties"`
}

type deploymentProp struct {
	TemplateHash       string              `json:"templateHash"`
	Parameters         map[string]any      `json:"parameters"`
	Mode               string              `json:"mode"`
	ProvisioningState  string              `json:"provisioningState"`
	Timestamp          string              `json:"timestamp"`
	Duration           string              `json:"duration"`
	CorrelationID      string              `json:"correlationId"`
	Providers          []any               `json:"providers"`
	Dependencies       []any               `json:"dependencies"`
	Outputs            map[string]any      `json:"outputs,omitempty"`
	OutputResources    []map[string]string `json:"outputResources,omitempty"`
	ValidatedResources []map[string]string `json:"validatedResources,omitempty"`
	Error              *deploymentError    `json:"error,omitempty"`
	started            time.Time
}

type deploymentError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Target  string            `json:"target,omitempty"`
	Details []deploymentError `json:"details,omitempty"`
}

// deploymentOp is one deployment operation.
type deploymentOp struct {
	ID          string         `json:"id"`
	OperationID string         `json:"operationId"`
	Properties  map[string]any `json:"properties"`
}

func deploymentID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + deploymentsType + "/" + name
}

// deploymentRequest is the body of a PUT or a validate.
type deploymentRequest struct {
	Location   string         `json:"location"`
	Tags       map[string]any `json:"tags"`
	Properties struct {
		Template       json.RawMessage `json:"template"`
		TemplateLink   any             `json:"templateLink"`
		Parameters     map[string]any  `json:"parameters"`
		ParametersLink any             `json:"parametersLink"`
		Mode           string          `json:"mode"`
		OnError        any             `json:"onErrorDeployment"`
	} `json:"properties"`
}

// readRelaxedJSON decodes a deployment request, which az sends in ARM's
// relaxed JSON (a bare "template" property name; comments in the
// template): armtemplate.StrictJSON first, then readJSON's rules.
func readRelaxedJSON(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	strict, err := armtemplate.StrictJSON(b)
	if err == nil {
		err = json.Unmarshal(strict, v)
	}
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequestContent",
			Message: fmt.Sprintf("The request content was invalid and could not be deserialized: '%s'.", err)}
	}
	return nil
}

// invalidTemplate is the 400 ARM answers for a template or parameters it
// cannot use.
func invalidTemplate(err error) error {
	var te *armtemplate.Error
	if errors.As(err, &te) {
		if te.Code == "TemplateMemoryBusy" { // the server's state, not the template's fault
			return &apiError{Status: http.StatusServiceUnavailable, Code: te.Code, Message: te.Message}
		}
		return &apiError{Status: http.StatusBadRequest, Code: te.Code, Message: te.Message}
	}
	return err
}

// plannedDeployment is a request read and planned, nothing deployed yet.
type plannedDeployment struct {
	req  deploymentRequest
	plan *armtemplate.Deployment
	hash string
	refs map[string]any    // the Key Vault references given, by parameter (templatekvrefs.go)
	work *armtemplate.Work // the steps the deployment's tree may take (maxTreeSteps)
}

// planDeployment reads the request, parses and plans the template, and
// checks that the caller may write every resource it would create: the
// preflight, which fails before anything is created.
func (h *Handler) planDeployment(r *http.Request, p params) (*plannedDeployment, error) {
	if t := treeOf(r.Context()); t != nil && t.depth >= maxNesting {
		// Whatever path a template's names build, deployments nest no
		// deeper than this: a template cannot recurse without end.
		return nil, &apiError{Status: http.StatusBadRequest, Code: "NestedDeploymentTooDeep",
			Message: fmt.Sprintf("Nested deployments may be at most %d levels deep on Slipway; this one would be deeper.", maxNesting)}
	}
	if !deploymentNameRE.MatchString(p.id) {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidDeploymentName",
			Message: fmt.Sprintf("The deployment name '%s' is invalid: use 1-64 letters, digits, '-', '.', '_', '(' and ')'.", p.id)}
	}
	var pd plannedDeployment
	if err := readRelaxedJSON(r, &pd.req); err != nil {
		return nil, err
	}
	props := pd.req.Properties
	switch {
	case props.TemplateLink != nil || props.ParametersLink != nil:
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidTemplateDeployment",
			Message: "templateLink and parametersLink are not supported by Slipway (it fetches nothing from the network): pass the template and the parameters inline (az deployment group create --template-file, --parameters @file)."}
	case props.OnError != nil:
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidTemplateDeployment",
			Message: "onErrorDeployment (rollback on error) is not supported by Slipway."}
	case props.Mode != "" && !strings.EqualFold(props.Mode, "Incremental"):
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidDeploymentMode",
			Message: fmt.Sprintf("The deployment mode '%s' is not supported by Slipway: only Incremental deployments are (Complete mode would delete the group's resources that the template does not name).", props.Mode)}
	case len(props.Template) == 0 || string(props.Template) == "null":
		return nil, &apiError{Status: http.StatusBadRequest, Code: "InvalidTemplateDeployment",
			Message: "The deployment has no template: properties.template is required."}
	}
	raw := []byte(props.Template)
	var asString string
	if json.Unmarshal(raw, &asString) == nil {
		raw = []byte(asString) // a template sent as a JSON string
	}
	sum := sha256.Sum256(raw)
	pd.hash = hex.EncodeToString(sum[:8])
	tpl, err := armtemplate.Parse(raw)
	if err != nil {
		return nil, invalidTemplate(err)
	}
	ctx := r.Context()
	g, err := h.cfg.Store.ResourceGroup(ctx, p.rg)
	if err != nil {
		return nil, err
	}
	_, tenant, err := h.cfg.Store.Identity(ctx)
	if err != nil {
		return nil, err
	}
	scope := armtemplate.Scope{
		SubscriptionID: p.sub, SubscriptionName: "Slipway", TenantID: tenant,
		ResourceGroup: g.Name, Location: g.Location, ResourceGroupTags: g.Tags,
		DeploymentName: p.id, Now: h.cfg.Now(), Environment: h.templateEnvironment(r),
	}
	params, refs, err := h.resolveKeyVaultParameters(r, p.sub, props.Parameters)
	if err != nil {
		return nil, err
	}
	pd.refs = refs
	if t := treeOf(ctx); t != nil {
		pd.work = t.work
	} else {
		pd.work = armtemplate.NewWork(maxTreeSteps)
	}
	plan, err := armtemplate.Plan(ctx, tpl, params, scope, armtemplate.Options{
		CheckType: func(id, typ string) error { return h.checkDeployable(r, id, typ) },
		Hidden:    slices.Collect(maps.Keys(refs)),
		Pool:      h.templateValues,
		Work:      pd.work,
	})
	if err != nil {
		return nil, invalidTemplate(err)
	}
	pd.plan = plan
	return &pd, nil
}

// templateEnvironment is what environment() returns in a template: this
// cloud's endpoints, in the shape of Azure's (name, resourceManager,
// authentication, suffixes with storage and keyvaultDns), so that
// connection strings built with EndpointSuffix=environment().suffixes.storage
// reach Slipway's blob service.
func (h *Handler) templateEnvironment(r *http.Request) map[string]any {
	mgmt := h.managementURL(r)
	login := strings.TrimSuffix(h.cfg.AuthorityURL, "/")
	if login == "" {
		login = strings.TrimSuffix(mgmt, "/")
	}
	env := map[string]any{
		"name":            "Slipway",
		"resourceManager": mgmt,
		"authentication": map[string]any{
			"loginEndpoint": login + "/", "audiences": []any{mgmt}, "tenant": "common", "identityProvider": "AAD",
		},
		"suffixes": map[string]any{
			"storage":     h.cfg.Domain + h.cfg.HostSuffix,
			"keyvaultDns": ".vault." + h.cfg.Domain + h.cfg.HostSuffix,
		},
	}
	if h.cfg.GraphURL != "" {
		env["graph"], env["graphAudience"] = h.cfg.GraphURL, h.cfg.GraphURL
	}
	return env
}

// checkDeployable refuses a resource type this handler cannot create by a
// PUT, and one the caller may not write (as ARM's preflight does).
func (h *Handler) checkDeployable(r *http.Request, id, typ string) error {
	segs := splitPath(id)
	served := strings.EqualFold(typ, "Microsoft.Authorization/roleAssignments") ||
		armtemplate.IsDeployments(typ) && len(segs) == 8 && strings.EqualFold(segs[2], "resourceGroups")
	// No other Microsoft.Resources type is deployed, whatever the routes.
	// The namespace is compared as the router compares it (Unicode simple
	// folding): lower-casing leaves "Microſoft.Resources" (U+017F) as it
	// is, and the router takes it for Microsoft.Resources.
	if ns, _, _ := strings.Cut(typ, "/"); !served && !strings.EqualFold(ns, "Microsoft.Resources") {
		for _, rt := range h.routes {
			if _, ok := rt.match(segs); ok && rt.method == http.MethodPut {
				served = true
				break
			}
		}
	}
	if !served {
		return &armtemplate.Error{Code: "InvalidTemplate", Message: fmt.Sprintf(
			"Deployment template validation failed: the resource type '%s' (resource '%s') is not supported by Slipway's template deployments; see docs/arm.md \"Template deployments\" for the types it deploys.", typ, id)}
	}
	action, scope := rbac.ActionFor(http.MethodPut, id)
	caller, ok, err := h.callerMay(r, action, scope)
	if err != nil {
		return err
	}
	if !ok {
		return &armtemplate.Error{Code: "AuthorizationFailed", Target: id, Message: fmt.Sprintf(
			"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. The deployment would create it, so it was not started.",
			caller, caller, action, scope)}
	}
	return nil
}

// parametersEcho is the deployment's parameters as ARM echoes them:
// secure values are never stored or returned, and one read from a key
// vault shows as the reference it was given by, whatever its type.
func parametersEcho(pd *plannedDeployment) map[string]any {
	out := map[string]any{}
	for k, v := range pd.plan.Parameters() {
		e := map[string]any{"type": v.Type}
		if ref := armtemplate.Member(pd.refs, k); ref != nil {
			e["reference"] = ref
		} else if v.Value != nil {
			e["value"] = v.Value
		}
		out[k] = e
	}
	return out
}

// dependencies lists each resource's dependencies as ARM's deployment
// shows them.
func dependencies(plan *armtemplate.Deployment) []any {
	byID := map[string]*armtemplate.Resource{}
	for _, r := range plan.Resources {
		byID[strings.ToLower(r.ID)] = r
	}
	out := []any{}
	for _, r := range plan.Resources {
		if len(r.DependsOn) == 0 {
			continue
		}
		var deps []any
		for _, id := range r.DependsOn {
			d := byID[strings.ToLower(id)]
			deps = append(deps, map[string]any{"id": d.ID, "resourceType": d.Type, "resourceName": d.Name})
		}
		out = append(out, map[string]any{"id": r.ID, "resourceType": r.Type, "resourceName": r.Name, "dependsOn": deps})
	}
	return out
}

func (h *Handler) newDeploymentDoc(p params, pd *plannedDeployment, state string) deploymentDoc {
	now := h.cfg.Now().UTC()
	tags := pd.req.Tags
	if tags == nil {
		tags = map[string]any{}
	}
	return deploymentDoc{
		ID: deploymentID(p.sub, p.rg, p.id), Name: p.id, Type: deploymentsType, Tags: tags,
		Properties: deploymentProp{
			TemplateHash: pd.hash, Parameters: parametersEcho(pd), Mode: "Incremental",
			ProvisioningState: state, Timestamp: now.Format(time.RFC3339Nano), Duration: "PT0S",
			CorrelationID: newGUID(), Providers: []any{}, Dependencies: dependencies(pd.plan), started: now,
		},
	}
}

// validateDeployment answers POST .../deployments/{name}/validate: 200
// with the validated resources, or 400 with the template error.
func (h *Handler) validateDeployment(w http.ResponseWriter, r *http.Request, p params) error {
	pd, err := h.planDeployment(r, p)
	if err != nil {
		return err
	}
	defer pd.plan.Release()
	doc := h.newDeploymentDoc(p, pd, "Succeeded")
	for _, res := range pd.plan.Resources {
		doc.Properties.ValidatedResources = append(doc.Properties.ValidatedResources, map[string]string{"id": res.ID})
	}
	return writeJSON(w, http.StatusOK, doc)
}

// putDeployment answers PUT .../deployments/{name}: it plans, then runs
// the deployment to its end and answers 201 (new) or 200 with its final
// state — Succeeded, or Failed with the error.
func (h *Handler) putDeployment(w http.ResponseWriter, r *http.Request, p params) error {
	pd, err := h.planDeployment(r, p)
	if err != nil {
		return err
	}
	defer pd.plan.Release()
	key := strings.ToLower(p.rg + "/" + p.id)
	if !h.deployments.start(key) {
		return &apiError{Status: http.StatusConflict, Code: "DeploymentActive",
			Message: fmt.Sprintf("Unable to edit or replace deployment '%s': previous deployment is still active. Wait for it to finish.", p.id)}
	}
	defer h.deployments.end(key)
	doc := h.newDeploymentDoc(p, pd, "Running")
	created, err := h.storeDeployment(r.Context(), p, doc, nil)
	if err != nil {
		return err
	}
	ctx, cancel := runContext(r.Context(), pd.plan.Redact, pd.work)
	defer cancel()
	run := &deploymentRun{h: h, r: r, sub: p.sub, deployment: doc.ID, redact: treeOf(ctx).redact}
	outputs, derr := pd.plan.Deploy(ctx, run, run.create)
	end := h.cfg.Now().UTC()
	doc.Properties.Timestamp = end.Format(time.RFC3339Nano)
	doc.Properties.Duration = isoDuration(end.Sub(doc.Properties.started))
	doc.Properties.Providers = providersOf(run.deployed)
	for _, res := range run.deployed {
		doc.Properties.OutputResources = append(doc.Properties.OutputResources, map[string]string{"id": res.ID})
	}
	if derr != nil {
		doc.Properties.ProvisioningState = "Failed"
		doc.Properties.Error = deploymentFailure(derr)
		redactError(doc.Properties.Error, run.redact)
	} else {
		doc.Properties.ProvisioningState = "Succeeded"
		doc.Properties.Outputs = map[string]any{}
		for k, o := range outputs {
			e := map[string]any{"type": o.Type}
			if o.Value != nil {
				e["value"] = o.Value
			}
			doc.Properties.Outputs[k] = e
		}
	}
	if _, err := h.storeDeployment(ctx, p, doc, run.ops); err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	// The run is over, but clients learn its end from the operation
	// status, as ARM tells it (docs/arm.md §1.1): az's poller reads
	// Azure-AsyncOperation at once (it does not wait before the first
	// poll) and raises the deployment's error when it says Failed.
	w.Header().Set("Azure-AsyncOperation", h.managementURL(r)+strings.TrimPrefix(doc.ID, "/")+"/operationStatuses/"+
		doc.Properties.CorrelationID+"?api-version="+url.QueryEscape(r.URL.Query().Get("api-version")))
	w.Header().Set("Retry-After", "1")
	return writeJSON(w, status, acceptedDeployment(doc))
}

// acceptedDeployment is what a PUT of a deployment answers: the
// deployment as ARM accepted it, provisioningState Accepted, without the
// outputs or error of its run, as in Microsoft's example of Deployments -
// Create Or Update
// (https://learn.microsoft.com/rest/api/resources/deployments/create-or-update).
// Pollers that read a terminal state in the first answer do not poll: the
// Azure SDK for Go's would end a failed run with the PUT's own body, in
// which there is no error code, instead of the operation status's
// DeploymentFailed; with Accepted every client follows
// Azure-AsyncOperation and then GETs the deployment.
func acceptedDeployment(doc deploymentDoc) deploymentDoc {
	doc.Properties.ProvisioningState = "Accepted"
	doc.Properties.Outputs, doc.Properties.OutputResources, doc.Properties.Error = nil, nil, nil
	return doc
}

// deploymentOperationStatus answers GET .../deployments/{name}/
// operationStatuses/{id}: the status of the deployment's last run, with
// its error when it failed.
func (h *Handler) deploymentOperationStatus(w http.ResponseWriter, r *http.Request, p params) error {
	doc, err := h.deploymentDocument(r.Context(), p)
	if err != nil {
		return err
	}
	props, _ := doc["properties"].(map[string]any)
	out := map[string]any{"status": props["provisioningState"]}
	if e, ok := props["error"]; ok {
		out["error"] = e
	}
	return writeJSON(w, http.StatusOK, out)
}

// deploymentFailure is the deployment's error: ARM's DeploymentFailed
// with the failed operation's error as its detail.
func deploymentFailure(err error) *deploymentError {
	detail := deploymentError{Code: "InternalServerError", Message: err.Error()}
	var te *armtemplate.Error
	var ae *apiError
	switch {
	case errors.As(err, &te):
		detail = deploymentError{Code: te.Code, Message: te.Message, Target: te.Target}
	case errors.As(err, &ae):
		detail = deploymentError{Code: ae.Code, Message: ae.Message}
	case errors.Is(err, context.DeadlineExceeded):
		detail = deploymentError{Code: "DeploymentTimeout", Message: fmt.Sprintf("The deployment did not finish within %s.", deploymentTimeout)}
	}
	return &deploymentError{Code: "DeploymentFailed", Message: deploymentFailedMessage, Details: []deploymentError{detail}}
}

// redactError hides secure values in a deployment's error and its
// details.
func redactError(e *deploymentError, redact func(string) string) {
	e.Message, e.Target = redact(e.Message), redact(e.Target)
	for i := range e.Details {
		redactError(&e.Details[i], redact)
	}
}

// isoDuration writes d as ISO 8601 (PT1.234S), as ARM's duration.
func isoDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}

// providersOf lists the namespaces and types deployed, as ARM's
// properties.providers.
func providersOf(rs []*armtemplate.Resource) []any {
	types := map[string]map[string]bool{}
	for _, r := range rs {
		ns, typ, _ := strings.Cut(r.Type, "/")
		if types[ns] == nil {
			types[ns] = map[string]bool{}
		}
		types[ns][typ] = true
	}
	nss := make([]string, 0, len(types))
	for ns := range types {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	out := []any{}
	for _, ns := range nss {
		var rts []any
		ts := make([]string, 0, len(types[ns]))
		for t := range types[ns] {
			ts = append(ts, t)
		}
		sort.Strings(ts)
		for _, t := range ts {
			rts = append(rts, map[string]any{"resourceType": t})
		}
		out = append(out, map[string]any{"namespace": ns, "resourceTypes": rts})
	}
	return out
}

func (h *Handler) storeDeployment(ctx context.Context, p params, doc deploymentDoc, ops []deploymentOp) (bool, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return false, fmt.Errorf("encoding deployment: %w", err)
	}
	if ops == nil {
		ops = []deploymentOp{}
	}
	ob, err := json.Marshal(ops)
	if err != nil {
		return false, fmt.Errorf("encoding deployment operations: %w", err)
	}
	return h.cfg.Store.PutTemplateDeployment(ctx, store.TemplateDeployment{ResourceGroup: p.rg, Name: p.id, Document: b, Operations: ob})
}

// deploymentRun deploys the resources of one deployment as its caller.
type deploymentRun struct {
	h          *Handler
	r          *http.Request // the caller's request: its credentials and address
	sub        string
	deployment string
	deployed   []*armtemplate.Resource
	ops        []deploymentOp
	// redact hides the secure values of the deployment and of the
	// deployments it is nested in (deploymentTree) in a resource's error,
	// which its operation keeps (armtemplate.Deployment.Redact).
	redact func(string) string
}

var _ armtemplate.Runtime = (*deploymentRun)(nil)

// create PUTs one resource through the handler as the caller, follows its
// asynchronous answer, and records the operation.
func (d *deploymentRun) create(ctx context.Context, res *armtemplate.Resource, body map[string]any) error {
	if t := treeOf(ctx); t != nil && t.created.Add(1) > maxTreeResources {
		return &armtemplate.Error{Code: "DeploymentQuotaExceeded", Target: res.ID, Message: fmt.Sprintf(
			"The deployment and the deployments it nests would create more than %d resources on Slipway.", maxTreeResources)}
	}
	start := d.h.cfg.Now().UTC()
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding resource %s: %w", res.ID, err)
	}
	status, hdr, out := d.h.dispatch(ctx, d.r, http.MethodPut, res.ID, res.APIVersion, b)
	if status == http.StatusAccepted || status == http.StatusCreated && provisioningPending(out) {
		status, out = d.await(ctx, res, hdr, status, out)
	}
	opErr := resourceError(status, out)
	if opErr != nil {
		opErr.Message = d.redact(opErr.Message)
	}
	op := deploymentOp{OperationID: opID(d.deployment, res.ID)}
	op.ID = d.deployment + "/operations/" + op.OperationID
	op.Properties = map[string]any{
		"provisioningOperation": "Create",
		"provisioningState":     "Succeeded",
		"timestamp":             d.h.cfg.Now().UTC().Format(time.RFC3339Nano),
		"duration":              isoDuration(d.h.cfg.Now().Sub(start)),
		"trackingId":            newGUID(),
		"serviceRequestId":      newGUID(),
		"statusCode":            strings.ReplaceAll(http.StatusText(status), " ", ""),
		"targetResource":        map[string]any{"id": res.ID, "resourceType": res.Type, "resourceName": res.Name, "apiVersion": res.APIVersion},
	}
	if opErr != nil {
		op.Properties["provisioningState"] = "Failed"
		op.Properties["statusMessage"] = map[string]any{"status": "Failed", "error": map[string]any{"code": opErr.Code, "message": opErr.Message}}
	}
	d.ops = append(d.ops, op)
	if opErr != nil {
		return opErr
	}
	d.deployed = append(d.deployed, res)
	return nil
}

// opID is a deployment operation's id: stable for a resource of a
// deployment, hex digits as ARM's.
func opID(deployment, resource string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(deployment + "|" + resource)))
	return strings.ToUpper(hex.EncodeToString(sum[:8]))
}

// resourceError is the error of a failed resource PUT (ARM's error body),
// or nil.
func resourceError(status int, body []byte) *armtemplate.Error {
	if status >= 200 && status < 300 {
		if st := provisioningState(body); st != "failed" && st != "canceled" {
			return nil
		}
	}
	var e errorBody
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		// A nested deployment that failed says why in its properties.
		var d struct {
			Properties struct {
				Error *deploymentError `json:"error"`
			} `json:"properties"`
		}
		if json.Unmarshal(body, &d) == nil && d.Properties.Error != nil && d.Properties.Error.Code != "" {
			return &armtemplate.Error{Code: d.Properties.Error.Code, Message: nestedErrorText(*d.Properties.Error)}
		}
		e.Error.Code, e.Error.Message = "ResourceDeploymentFailure", fmt.Sprintf("The resource operation completed with status %d.", status)
	}
	return &armtemplate.Error{Code: e.Error.Code, Message: e.Error.Message}
}

// nestedErrorText is a nested deployment's error as one message: its own,
// then its details' (ARM's DeploymentFailed says only to look at them).
func nestedErrorText(e deploymentError) string {
	parts := []string{e.Message}
	for _, d := range e.Details {
		parts = append(parts, d.Code+": "+nestedErrorText(d))
	}
	return strings.Join(parts, " ")
}

// provisioningPending reports whether a body's provisioningState is not
// terminal.
func provisioningPending(body []byte) bool {
	switch provisioningState(body) {
	case "", "succeeded", "failed", "canceled":
		return false
	}
	return true
}

// provisioningState is a resource body's properties.provisioningState,
// lower-cased; "" when it has none.
func provisioningState(body []byte) string {
	var v struct {
		Properties struct {
			ProvisioningState string `json:"provisioningState"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(body, &v) // a body without the field has no state
	return strings.ToLower(v.Properties.ProvisioningState)
}

// await follows a resource's asynchronous answer (docs/arm.md §1.1): it
// GETs the resource until its provisioningState is terminal, at the
// Retry-After the answer asked for (1-10 s).
func (d *deploymentRun) await(ctx context.Context, res *armtemplate.Resource, hdr http.Header, status int, body []byte) (int, []byte) {
	delay := time.Second
	if n, err := strconv.Atoi(hdr.Get("Retry-After")); err == nil && n > 0 {
		delay = min(time.Duration(n)*time.Second, 10*time.Second)
	}
	wait := delay
	if armtemplate.IsDeployments(res.Type) {
		wait = 0 // a nested deployment ran within its PUT: its end is known
	}
	for {
		select {
		case <-ctx.Done():
			return http.StatusRequestTimeout, []byte(`{"error":{"code":"DeploymentTimeout","message":"The resource did not finish provisioning in time."}}`)
		case <-time.After(wait):
		}
		status, _, body = d.h.dispatch(ctx, d.r, http.MethodGet, res.ID, res.APIVersion, nil)
		if status != http.StatusOK || !provisioningPending(body) {
			return status, body
		}
		wait = delay
	}
}

// Reference answers reference(): a GET of the resource as the caller.
func (d *deploymentRun) Reference(ctx context.Context, id, apiVersion string, full bool) (any, error) {
	status, _, body := d.h.dispatch(ctx, d.r, http.MethodGet, id, d.apiVersionFor(id, apiVersion), nil)
	if status != http.StatusOK {
		return nil, resourceErrorOf(status, body)
	}
	return decodeForTemplate(body, full)
}

// List answers listKeys() and the like: a POST of the action as the caller.
func (d *deploymentRun) List(ctx context.Context, id, action, apiVersion string) (any, error) {
	status, _, body := d.h.dispatch(ctx, d.r, http.MethodPost, id+"/"+action, d.apiVersionFor(id, apiVersion), nil)
	if status != http.StatusOK {
		return nil, resourceErrorOf(status, body)
	}
	return decodeForTemplate(body, true)
}

func resourceErrorOf(status int, body []byte) error {
	if e := resourceError(status, body); e != nil {
		return e
	}
	return &armtemplate.Error{Code: "ResourceNotFound", Message: fmt.Sprintf("status %d", status)}
}

// apiVersionFor is the api-version of a reference: the one given, else
// the one the resource was deployed with, else Microsoft.Web's.
func (d *deploymentRun) apiVersionFor(id, given string) string {
	if given != "" {
		return given
	}
	for _, r := range d.deployed {
		if strings.EqualFold(r.ID, id) {
			return r.APIVersion
		}
	}
	return "2024-11-01"
}

func decodeForTemplate(body []byte, full bool) (any, error) {
	v, err := armtemplate.DecodeValue(body)
	if err != nil {
		return nil, &armtemplate.Error{Code: "InvalidTemplate", Message: fmt.Sprintf("the resource's state could not be read: %v", err)}
	}
	if m, ok := v.(map[string]any); ok && !full {
		if props, ok := m["properties"]; ok {
			return props, nil
		}
		return map[string]any{}, nil
	}
	return v, nil
}

// dispatch serves an internal request through this handler as the
// caller of r: its headers (credentials), address and TLS state, so that
// authentication and every RBAC check apply exactly as to a direct call.
func (h *Handler) dispatch(ctx context.Context, r *http.Request, method, path, apiVersion string, body []byte) (int, http.Header, []byte) {
	sub := r.Clone(ctx) // ctx carries the deployment's tree (treeOf)
	sub.Method = method
	sub.URL = &url.URL{Path: path, RawQuery: url.Values{"api-version": {apiVersion}}.Encode()}
	sub.RequestURI = ""
	sub.Header = r.Header.Clone()
	sub.Header.Del("Content-Length")
	sub.Header.Set("Content-Type", "application/json")
	sub.Body = io.NopCloser(bytes.NewReader(body))
	sub.ContentLength = int64(len(body))
	rec := &innerResponse{header: http.Header{}}
	h.ServeHTTP(rec, sub)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.header, rec.body.Bytes()
}

// templateValueBytes bounds the values all the template deployments
// running on the server build together (armtemplate.Pool): sixteen
// evaluations at their own limit. A variable for tests.
var templateValueBytes int64 = 1 << 30

// maxNesting bounds how deep deployments nest: a top-level deployment is
// level 0, the modules it deploys level 1, and so on.
const maxNesting = 5

// maxTreeResources bounds the resources one top-level deployment creates
// with all its nested ones (each template holds at most 800, as on
// Azure). A variable for tests.
var maxTreeResources int64 = 4000

// maxTreeSteps bounds the evaluation steps of one top-level deployment
// with all its nested ones (armtemplate.Options.Work). A variable for tests.
var maxTreeSteps int64 = 8_000_000

// deploymentTree is what a deployment and the deployments it nests share:
// its depth, and the resources created so far across the tree.
type deploymentTree struct {
	depth   int
	created *atomic.Int64
	// redact hides the secure values of this deployment and of those it
	// is nested in: a parent evaluates a nested deployment of outer scope
	// and writes its own secure values into its body as plain text.
	redact func(string) string
	// work is the steps its evaluations may take (maxTreeSteps).
	work *armtemplate.Work
}

type treeKey struct{}

// treeOf returns the tree of the deployment whose run ctx belongs to (nil
// outside one).
func treeOf(ctx context.Context) *deploymentTree {
	t, _ := ctx.Value(treeKey{}).(*deploymentTree)
	return t
}

// runContext is the context a deployment runs in. A top-level run is not
// cut short by a client that hangs up (resources would be left
// half-deployed with no record saying so) and has deploymentTimeout; a
// nested one runs within its parent's time, one level deeper, sharing its
// resource and step budgets and hiding its secure values (redact, the
// run's own; work, the top-level run's step budget).
func runContext(ctx context.Context, redact func(string) string, work *armtemplate.Work) (context.Context, context.CancelFunc) {
	if parent := treeOf(ctx); parent != nil {
		both := func(s string) string { return parent.redact(redact(s)) }
		ctx = context.WithValue(ctx, treeKey{}, &deploymentTree{depth: parent.depth + 1, created: parent.created, redact: both, work: parent.work})
		return context.WithCancel(ctx)
	}
	ctx = context.WithValue(context.WithoutCancel(ctx), treeKey{}, &deploymentTree{created: new(atomic.Int64), redact: redact, work: work})
	return context.WithTimeout(ctx, deploymentTimeout)
}

// innerResponse is the ResponseWriter of an internal request.
type innerResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *innerResponse) Header() http.Header { return w.header }
func (w *innerResponse) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *innerResponse) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len()+len(b) > maxBodyBytes*4 {
		return 0, errors.New("internal response too large")
	}
	return w.body.Write(b)
}

// readDeployment reads a stored deployment; a record left Running by a
// run this process does not have (a restart cut it short) reads as Failed.
func (h *Handler) readDeployment(ctx context.Context, d store.TemplateDeployment) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(d.Document, &doc); err != nil {
		return nil, fmt.Errorf("decoding deployment %s: %w", d.Name, err)
	}
	props, _ := doc["properties"].(map[string]any)
	if props != nil && props["provisioningState"] == "Running" && !h.deployments.running(strings.ToLower(d.ResourceGroup+"/"+d.Name)) {
		props["provisioningState"] = "Failed"
		props["error"] = deploymentError{Code: "DeploymentFailed", Message: deploymentFailedMessage, Details: []deploymentError{{
			Code: "DeploymentInterrupted", Message: "The Slipway server stopped while this deployment ran; resources deployed before stay. Run the deployment again (it is idempotent).",
		}}}
	}
	return doc, nil
}

// deploymentRecord reads a deployment's record: 404 DeploymentNotFound
// when the group has none of that name.
func (h *Handler) deploymentRecord(ctx context.Context, p params) (store.TemplateDeployment, error) {
	d, err := h.cfg.Store.TemplateDeployment(ctx, p.rg, p.id)
	if err != nil && slipway.ErrorCode(err) == slipway.ENOTFOUND && !strings.HasPrefix(slipway.ErrorMessage(err), "Resource group") {
		return d, &apiError{Status: http.StatusNotFound, Code: "DeploymentNotFound", Message: fmt.Sprintf("Deployment '%s' could not be found.", p.id)}
	}
	return d, err
}

// deploymentDocument reads a deployment's record as ARM answers it.
func (h *Handler) deploymentDocument(ctx context.Context, p params) (map[string]any, error) {
	d, err := h.deploymentRecord(ctx, p)
	if err != nil {
		return nil, err
	}
	return h.readDeployment(ctx, d)
}

// getDeploymentRecord answers GET .../deployments/{name}.
func (h *Handler) getDeploymentRecord(w http.ResponseWriter, r *http.Request, p params) error {
	doc, err := h.deploymentDocument(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, doc)
}

// listDeploymentRecords answers GET .../deployments, newest first.
func (h *Handler) listDeploymentRecords(w http.ResponseWriter, r *http.Request, p params) error {
	var state string
	if f := strings.TrimSpace(r.URL.Query().Get("$filter")); f != "" {
		m := deploymentFilterRE.FindStringSubmatch(f)
		if m == nil {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidFilterInQueryString",
				Message: fmt.Sprintf("The $filter '%s' is not supported: Slipway filters deployments by \"provisioningState eq '<state>'\" only.", f)}
		}
		state = m[1]
	}
	top := -1
	if v := r.URL.Query().Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequestParameter",
				Message: fmt.Sprintf("The value '%s' of $top is not a non-negative integer.", v)}
		}
		top = n
	}
	ds, err := h.cfg.Store.TemplateDeployments(r.Context(), p.rg)
	if err != nil {
		return err
	}
	vs := []any{}
	for _, d := range ds {
		if top >= 0 && len(vs) == top {
			break
		}
		doc, err := h.readDeployment(r.Context(), d)
		if err != nil {
			return err
		}
		if props, _ := doc["properties"].(map[string]any); state != "" && !strings.EqualFold(fmt.Sprint(props["provisioningState"]), state) {
			continue
		}
		vs = append(vs, doc)
	}
	return writeJSON(w, http.StatusOK, list{Value: vs})
}

// deploymentFilterRE is the one $filter of deployment lists az sends
// (`az deployment group list --filter "provisioningState eq 'Failed'"`).
var deploymentFilterRE = regexp.MustCompile(`(?i)^provisioningState\s+eq\s+'([A-Za-z]+)'$`)

// deleteDeploymentRecord answers DELETE .../deployments/{name}: the
// record goes, the resources it deployed stay (as on Azure).
func (h *Handler) deleteDeploymentRecord(w http.ResponseWriter, r *http.Request, p params) error {
	if h.deployments.running(strings.ToLower(p.rg + "/" + p.id)) {
		return &apiError{Status: http.StatusConflict, Code: "DeploymentActive",
			Message: fmt.Sprintf("The deployment '%s' is running and cannot be deleted until it ends.", p.id)}
	}
	// 204 whether it existed or not: the SDK takes 202 or 204 only, and
	// the deletion is done when the answer comes.
	err := h.cfg.Store.DeleteTemplateDeployment(r.Context(), p.rg, p.id)
	if err != nil && (slipway.ErrorCode(err) != slipway.ENOTFOUND || strings.HasPrefix(slipway.ErrorMessage(err), "Resource group")) {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

// listDeploymentOperations answers GET .../deployments/{name}/operations.
func (h *Handler) listDeploymentOperations(w http.ResponseWriter, r *http.Request, p params) error {
	ops, err := h.deploymentOperations(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list{Value: ops})
}

// getDeploymentOperation answers GET .../deployments/{name}/operations/{id}.
func (h *Handler) getDeploymentOperation(w http.ResponseWriter, r *http.Request, p params) error {
	ops, err := h.deploymentOperations(r.Context(), p)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if m, ok := op.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["operationId"]), p.op) {
			return writeJSON(w, http.StatusOK, m)
		}
	}
	return &apiError{Status: http.StatusNotFound, Code: "DeploymentOperationNotFound",
		Message: fmt.Sprintf("The deployment operation '%s' of deployment '%s' could not be found.", p.op, p.id)}
}

func (h *Handler) deploymentOperations(ctx context.Context, p params) ([]any, error) {
	d, err := h.deploymentRecord(ctx, p)
	if err != nil {
		return nil, err
	}
	ops := []any{}
	if err := json.Unmarshal(d.Operations, &ops); err != nil {
		return nil, fmt.Errorf("decoding deployment operations: %w", err)
	}
	if ops == nil {
		ops = []any{}
	}
	return ops, nil
}

// refuseDeploymentAction answers the deployment actions Slipway does not
// implement (what-if, exportTemplate, cancel) with a clear 400.
func (h *Handler) refuseDeploymentAction(w http.ResponseWriter, r *http.Request, p params) error {
	segs := splitPath(r.URL.Path)
	return &apiError{Status: http.StatusBadRequest, Code: "NotSupported",
		Message: fmt.Sprintf("The deployment action '%s' is not supported by Slipway (see docs/arm.md \"Template deployments\").", segs[len(segs)-1])}
}

// deploymentRoutes are the routes of template deployments.
func (h *Handler) deploymentRoutes(rg string, r func(string, string, func(http.ResponseWriter, *http.Request, params) error) route) []route {
	dep := rg + "/providers/Microsoft.Resources/deployments"
	return []route{
		r(http.MethodGet, dep, h.listDeploymentRecords),
		r(http.MethodPut, dep+"/{id}", h.putDeployment),
		r(http.MethodGet, dep+"/{id}", h.getDeploymentRecord),
		r(http.MethodDelete, dep+"/{id}", h.deleteDeploymentRecord),
		r(http.MethodPost, dep+"/{id}/validate", h.validateDeployment),
		r(http.MethodPost, dep+"/{id}/whatIf", h.refuseDeploymentAction),
		r(http.MethodPost, dep+"/{id}/exportTemplate", h.refuseDeploymentAction),
		r(http.MethodPost, dep+"/{id}/cancel", h.refuseDeploymentAction),
		r(http.MethodGet, dep+"/{id}/operations", h.listDeploymentOperations),
		r(http.MethodGet, dep+"/{id}/operationStatuses/{op}", h.deploymentOperationStatus),
		// The path az's `deployment operation group list` sends (no
		// providers segment), as in the REST spec.
		r(http.MethodGet, rg+"/deployments/{id}/operations", h.listDeploymentOperations),
		r(http.MethodGet, dep+"/{id}/operations/{op}", h.getDeploymentOperation),
		r(http.MethodGet, rg+"/deployments/{id}/operations/{op}", h.getDeploymentOperation),
	}
}
