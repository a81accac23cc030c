package insights

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

const (
	// maxBody bounds a request's body, after decompression.
	maxBody = 16 << 20
	// maxItemsPerRequest bounds the envelopes of one request.
	maxItemsPerRequest = 10000
	// maxItemBytes bounds one envelope, as Azure's ingestion does (64 KB).
	maxItemBytes = 64 << 10
	// decodingWait is how long a body waits for its turn to be
	// decompressed and split (Service.decoding) before it is refused.
	decodingWait = 10 * time.Second
	// maxDecoding bounds the bodies decompressed and split at once: each
	// may take some 4 times maxBody while it is.
	maxDecoding = 4
	// IngestAudience is the audience of tokens for ingestion, as the
	// exporters ask for it (https://monitor.azure.com/.default).
	IngestAudience = "https://monitor.azure.com"
	// telemetryWrite is the data action publishing telemetry takes.
	telemetryWrite = "Microsoft.Insights/Telemetry/Write"
)

// trackResponse is Breeze's answer to a track request.
type trackResponse struct {
	ItemsReceived int          `json:"itemsReceived"`
	ItemsAccepted int          `json:"itemsAccepted"`
	AppID         *string      `json:"appId"`
	Errors        []trackError `json:"errors"`
}

type trackError struct {
	Index      int    `json:"index"`
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

// envelope is what ingestion reads of an item; the item is kept as sent.
type envelope struct {
	Name string `json:"name"`
	Time string `json:"time"`
	IKey string `json:"iKey"`
	Data struct {
		BaseType string `json:"baseType"`
		BaseData struct {
			ID string `json:"id"`
		} `json:"baseData"`
	} `json:"data"`
}

// types maps an item's data type, in lower case (Breeze matches them
// without regard to case: the JavaScript SDK writes PageviewData where
// the others write PageViewData), to the query API's event type.
var types = map[string]string{
	"requestdata":             "requests",
	"remotedependencydata":    "dependencies",
	"exceptiondata":           "exceptions",
	"messagedata":             "traces",
	"eventdata":               "customEvents",
	"metricdata":              "customMetrics",
	"pageviewdata":            "pageViews",
	"pageviewperfdata":        "browserTimings",
	"pageviewperformancedata": "browserTimings", // the JavaScript SDK's
	"availabilitydata":        "availabilityResults",
	"performancecounterdata":  "performanceCounters",
}

// typeOf is the event type of an item's data type, "" if Breeze knows none.
func typeOf(baseType string) string { return types[strings.ToLower(baseType)] }

// track answers POST /v2.1/track and /v2/track.
func (s *Service) track(w http.ResponseWriter, r *http.Request) {
	// The body as sent is read first: what it costs is what the client
	// sent. Decompressed, 16 KB of gzip can be 16 MB, and split into
	// items more: that is done a few requests at a time (s.decoding),
	// the others waiting their turn or told to come back.
	sent, err := readSent(w, r)
	if err != nil {
		s.trackFailed(w, err)
		return
	}
	wait := time.NewTimer(decodingWait)
	defer wait.Stop()
	select {
	case s.decoding <- struct{}{}:
		defer func() { <-s.decoding }()
	case <-wait.C:
		w.Header().Set("Retry-After", "5")
		s.trackFailed(w, &httpError{status: http.StatusServiceUnavailable, msg: "The server is busy taking telemetry; send it again later."})
		return
	case <-r.Context().Done():
		return
	}
	body, err := decodeBody(r, sent)
	if err != nil {
		s.trackFailed(w, err)
		return
	}
	raws, err := splitEnvelopes(body)
	if err != nil {
		s.trackFailed(w, err)
		return
	}
	resp := trackResponse{ItemsReceived: len(raws), Errors: []trackError{}}
	now := s.now()
	var keep []item
	known := map[string]*Component{}
	entra := &entraCheck{}
	for i, raw := range raws {
		it, comp, err := s.readItem(r, raw, known)
		if err == nil && comp.LocalAuthDisabled {
			err = s.checkEntra(r, entra, comp)
		}
		if err != nil {
			status := http.StatusBadRequest
			var he *httpError
			if errors.As(err, &he) {
				status = he.status
			}
			resp.Errors = append(resp.Errors, trackError{Index: i, StatusCode: status, Message: err.Error()})
			continue
		}
		if resp.AppID == nil {
			resp.AppID = &comp.AppID
		}
		keep = append(keep, it)
	}
	if len(keep) > 0 {
		err := error(nil)
		if s.reserve != nil {
			err = s.reserve.Check(int64(len(body)))
		}
		if err == nil {
			if err = s.db.insert(r.Context(), keep, now, s.maxItems, s.maxBytes); err != nil {
				s.log.Error("keeping telemetry", "err", err)
			}
		}
		if err != nil {
			// Retryable for the client, which keeps its items for later.
			s.writeJSON(w, http.StatusServiceUnavailable, trackResponse{ItemsReceived: len(raws), Errors: []trackError{
				{Index: 0, StatusCode: http.StatusServiceUnavailable, Message: "The telemetry could not be stored; send it again later."}}})
			return
		}
		s.expireSometimes(r.Context(), now)
	}
	resp.ItemsAccepted = len(keep)
	status := http.StatusOK
	switch {
	case len(keep) == 0 && len(raws) > 0:
		// Refused as a whole: with the one status every item got (401
		// for a component that takes Entra tokens only), else 400.
		status = resp.Errors[0].StatusCode
		for _, e := range resp.Errors {
			if e.StatusCode != status {
				status = http.StatusBadRequest
			}
		}
	case len(keep) < len(raws):
		status = http.StatusPartialContent
	}
	s.writeJSON(w, status, resp)
}

// readItem checks one envelope: valid JSON of an item type Breeze knows,
// a time, within size, for a component that exists.
func (s *Service) readItem(r *http.Request, raw []byte, known map[string]*Component) (item, *Component, error) {
	if len(raw) > maxItemBytes {
		return item{}, nil, fmt.Errorf("The item is %d bytes: at most %d are taken.", len(raw), maxItemBytes)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return item{}, nil, fmt.Errorf("The item is not a JSON envelope: %v", err)
	}
	typ := typeOf(env.Data.BaseType)
	if typ == "" {
		return item{}, nil, fmt.Errorf("Field 'baseType' %q is not a known telemetry type.", env.Data.BaseType)
	}
	if env.Name == "" {
		return item{}, nil, errors.New("Field 'name' on type 'Envelope' is required.")
	}
	t, err := time.Parse(time.RFC3339Nano, env.Time)
	if err != nil {
		return item{}, nil, errors.New("Field 'time' on type 'Envelope' is required and must be an ISO 8601 time.")
	}
	ikey := strings.ToLower(strings.TrimSpace(env.IKey))
	comp, ok := known[ikey]
	if !ok {
		c, err := s.components.ComponentByKey(r.Context(), ikey)
		switch {
		case err == nil:
			comp = &c
		case slipway.ErrorCode(err) == slipway.ENOTFOUND:
		default:
			return item{}, nil, errors.New("The instrumentation key could not be checked; send the item again later.")
		}
		known[ikey] = comp
	}
	if comp == nil || ikey == "" {
		return item{}, nil, errors.New("Invalid instrumentation key")
	}
	id := env.Data.BaseData.ID
	if id == "" || len(id) > 128 {
		id = newID()
	}
	return item{ikey: ikey, typ: typ, id: id, time: t, envelope: raw}, comp, nil
}

// entraCheck is a request's Microsoft Entra token, verified once.
type entraCheck struct {
	done bool
	oid  string
	err  error
}

// checkEntra admits an item for a component that takes telemetry only
// with a Microsoft Entra token (DisableLocalAuth): the request's token,
// for https://monitor.azure.com, of a principal that may publish
// telemetry to it (Monitoring Metrics Publisher).
func (s *Service) checkEntra(r *http.Request, e *entraCheck, comp *Component) error {
	if !e.done {
		e.done = true
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case !ok || s.auth == nil:
			e.err = &httpError{status: http.StatusUnauthorized, msg: "The component takes telemetry only with a Microsoft Entra token (its local authentication is disabled): " +
				"configure the exporter with a credential (configure_azure_monitor(credential=...))."}
		default:
			if e.oid, e.err = s.auth.Authenticate(r.Context(), tok, IngestAudience); e.err != nil {
				e.err = &httpError{status: http.StatusUnauthorized, msg: "The token is not valid for telemetry ingestion (audience " + IngestAudience + "): " + e.err.Error()}
			}
		}
	}
	if e.err != nil {
		return e.err
	}
	if err := s.auth.Authorize(r.Context(), e.oid, telemetryWrite, comp.ResourceID, true); err != nil {
		return &httpError{status: http.StatusForbidden, msg: "The token's principal may not publish telemetry to this component: assign it Monitoring Metrics Publisher on the component."}
	}
	return nil
}

// readSent reads the request's body as sent, within maxBody.
func readSent(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("The body is over %d MB: send fewer items per request.", maxBody>>20)}
	}
	if err != nil {
		return nil, badRequest("The body could not be read: %v", err)
	}
	return b, nil
}

// decodeBody is a body as sent, gunzipped if it is gzip, within maxBody.
func decodeBody(r *http.Request, sent []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
		return sent, nil
	case "gzip":
	default:
		return nil, badRequest("Content-Encoding %q is not supported: send the body as it is, or gzipped.", r.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(sent))
	if err != nil {
		return nil, badRequest("The body is not gzip: %v", err)
	}
	defer zr.Close()
	b, err := io.ReadAll(io.LimitReader(zr, maxBody+1))
	if len(b) > maxBody {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("The body is over %d MB: send fewer items per request.", maxBody>>20)}
	}
	if err != nil {
		return nil, badRequest("The body could not be read: %v", err)
	}
	return b, nil
}

// splitEnvelopes splits a body into its envelopes: a JSON array, or one
// envelope per line (application/x-json-stream, as the .NET and
// JavaScript SDKs send). It counts as it goes and stops past
// maxItemsPerRequest: anyone may send a body, and 16 MB of the smallest
// items would be millions of them, gigabytes held apart.
func splitEnvelopes(body []byte) ([][]byte, error) {
	body = bytes.TrimSpace(body)
	tooMany := badRequest("The body holds more than %d items: at most %d are taken per request.", maxItemsPerRequest, maxItemsPerRequest)
	var raws [][]byte
	if len(body) > 0 && body[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.Token() // the '['
		for dec.More() {
			if len(raws) == maxItemsPerRequest {
				return nil, tooMany
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, badRequest("The body is not a JSON array of envelopes: %v", err)
			}
			raws = append(raws, raw)
		}
		if t, err := dec.Token(); err != nil || t != json.Delim(']') {
			return nil, badRequest("The body is not a JSON array of envelopes: it does not end with ']'.")
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, badRequest("The body is not a JSON array of envelopes: something follows its ']'.")
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 0, 64<<10), maxBody)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				if len(raws) == maxItemsPerRequest {
					return nil, tooMany
				}
				raws = append(raws, bytes.Clone(line))
			}
		}
		if err := sc.Err(); err != nil {
			return nil, badRequest("The body could not be split into envelopes: %v", err)
		}
	}
	if len(raws) == 0 {
		return nil, badRequest("The body holds no telemetry item.")
	}
	return raws, nil
}

// trackFailed answers a request that could not be read as a whole.
func (s *Service) trackFailed(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	s.writeJSON(w, status, trackResponse{Errors: []trackError{{Index: 0, StatusCode: status, Message: err.Error()}}})
}

// expireSometimes removes expired telemetry, at most once a minute: each
// component's items older than its retention, and every item of a
// component that no longer exists (its telemetry goes with it).
func (s *Service) expireSometimes(ctx context.Context, now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.lastExpiry) >= time.Minute
	if due {
		s.lastExpiry = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	// The expiry is the server's work, done in whichever request finds it
	// due: that client hanging up does not stop it (it would put it off
	// a minute, and one sender first in every minute for ever).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	keys, err := s.db.keys(ctx)
	if err != nil {
		s.log.Error("expiring telemetry", "err", err)
		return
	}
	for _, k := range keys {
		retention := s.retention
		c, err := s.components.ComponentByKey(ctx, k)
		switch {
		case err == nil && c.Retention > 0:
			retention = c.Retention
		case err == nil:
		case slipway.ErrorCode(err) == slipway.ENOTFOUND:
			retention = -time.Hour // everything, even what came just now
		default:
			s.log.Error("expiring telemetry: finding its component", "err", err)
			continue
		}
		if n, err := s.db.expire(ctx, k, now.Add(-retention)); err != nil {
			s.log.Error("expiring telemetry", "err", err)
		} else if n > 0 {
			s.log.Info("expired telemetry", "component", c.Name, "items", n)
		}
	}
}

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// newID is a random id in the form of Application Insights' item ids.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
