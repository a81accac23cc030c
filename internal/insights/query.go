package insights

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

const (
	// readAction is the role-based action reading a component's telemetry
	// needs (a Reader on the component, its group or subscription has it).
	readAction = "Microsoft.Insights/components/read"
	// QueryAudience is the audience of tokens for the query API.
	QueryAudience = "https://api.applicationinsights.io"
	// maxAnswer bounds the events of one answer, in bytes: a component
	// keeps up to 256 MB, which its reader may not have the server hold
	// (and parse) for one request. The rest is read with $skip.
	maxAnswer = 16 << 20
)

// eventTypes are the query API's event types; $all is every one.
var eventTypes = map[string]string{
	"requests": "request", "dependencies": "dependency", "exceptions": "exception", "traces": "trace",
	"customEvents": "customEvent", "customMetrics": "customMetric", "pageViews": "pageView",
	"browserTimings": "browserTiming", "availabilityResults": "availabilityResult", "performanceCounters": "performanceCounter",
}

// apiError is the query API's error body.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

func (s *Service) apiError(w http.ResponseWriter, status int, code, format string, args ...any) {
	var e apiError
	e.Error.Code, e.Error.Message = code, fmt.Sprintf(format, args...)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", resource="https://api.applicationinsights.io"`)
	}
	s.writeJSON(w, status, e)
}

// events answers GET /v1/apps/{appId}/events/{type}[/{id}]: Application
// Insights' REST API for events, with $top, $skip, timespan and $orderby
// by timestamp.
func (s *Service) events(w http.ResponseWriter, r *http.Request) {
	// Split before unescaping: an event id may hold an escaped "/".
	parts := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			s.apiError(w, http.StatusBadRequest, "BadArgumentError", "The path is not well escaped: %v", err)
			return
		}
		parts[i] = u
	}
	if len(parts) < 5 || len(parts) > 6 || parts[0] != "v1" || parts[1] != "apps" || parts[3] != "events" {
		s.apiError(w, http.StatusNotFound, "PathNotFoundError", "The requested path does not exist: this service answers POST /v2.1/track and GET /v1/apps/{appId}/events/{eventType}[/{eventId}].")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		s.apiError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Events are read with GET.")
		return
	}
	appID, typ := parts[2], parts[4]
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	admin := ok && s.adminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.adminToken)) == 1
	if !admin && (!ok || s.auth == nil) {
		msg := "Send a Microsoft Entra token for https://api.applicationinsights.io (az account get-access-token --resource https://api.applicationinsights.io)."
		if r.Header.Get("x-api-key") != "" || r.URL.Query().Has("api_key") {
			msg = "API keys are not supported here: " + msg
		}
		s.apiError(w, http.StatusUnauthorized, "AuthorizationRequiredError", "%s", msg)
		return
	}
	var oid string
	if !admin {
		var err error
		if oid, err = s.auth.Authenticate(r.Context(), tok, QueryAudience); err != nil {
			s.apiError(w, http.StatusUnauthorized, "InvalidTokenError", "The token is not valid for Application Insights: %v", err)
			return
		}
	}
	// A component the caller may not read is answered as one that does
	// not exist: nothing tells a stranger which application ids exist.
	comp, err := s.components.ComponentByAppID(r.Context(), appID)
	if err == nil && !admin {
		err = s.auth.Authorize(r.Context(), oid, readAction, comp.ResourceID, false)
	}
	if err != nil {
		if c := slipway.ErrorCode(err); c != slipway.ENOTFOUND && c != slipway.EFORBIDDEN && c != slipway.EUNAUTHORIZED {
			s.log.Error("finding a component for a query", "err", err)
		}
		s.apiError(w, http.StatusNotFound, "ApplicationNotFoundError", "The application could not be found: %s. Check its id (the component's AppId) and that you may read it (a Reader role on the component).", appID)
		return
	}
	// What is past the component's retention is not read, whether or
	// not the expiry (expireSometimes) has removed it yet.
	retention := s.retention
	if comp.Retention > 0 {
		retention = comp.Retention
	}
	q := query{ikey: comp.InstrumentationKey, receivedSince: s.now().Add(-retention)}
	if typ == "$all" {
		for t := range eventTypes {
			q.types = append(q.types, t)
		}
	} else if _, ok := eventTypes[typ]; ok {
		q.types = []string{typ}
	} else {
		s.apiError(w, http.StatusBadRequest, "BadArgumentError", "The event type %q is not one of requests, dependencies, exceptions, traces, customEvents, customMetrics, pageViews, browserTimings, availabilityResults, performanceCounters or $all.", typ)
		return
	}
	if len(parts) == 6 {
		q.id = parts[5]
	}
	if err := s.readParams(r, &q); err != nil {
		s.apiError(w, http.StatusBadRequest, "BadArgumentError", "%v", err)
		return
	}
	// Each event is rendered as it is read, within maxAnswer; the answer
	// says where it stopped, as Azure's says it added a limit.
	var value bytes.Buffer
	n, full := 0, false
	err = s.db.query(r.Context(), q, func(raw []byte) bool {
		ev := eventOf(raw, comp)
		if ev == nil {
			return true
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return true
		}
		if value.Len()+len(b) > maxAnswer {
			full = true
			return false
		}
		if n > 0 {
			value.WriteByte(',')
		}
		value.Write(b)
		n++
		return true
	})
	if err != nil {
		s.log.Error("querying telemetry", "err", err)
		s.apiError(w, http.StatusInternalServerError, "InternalServerError", "The telemetry could not be read; try again.")
		return
	}
	if q.id != "" && n == 0 {
		s.apiError(w, http.StatusNotFound, "EventNotFoundError", "No %s event has the id %q in the time span.", typ, q.id)
		return
	}
	messages := []any{}
	if full {
		messages = append(messages, map[string]string{"code": "AddedLimitToQuery",
			"message": fmt.Sprintf("The answer was limited to %d events (%d MB); read the rest with $skip=%d.", n, maxAnswer>>20, q.skip+n)})
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": "https://api.applicationinsights.io/v1/apps/" + appID + "/events/$metadata#" + typ,
		"@ai.messages":   messages,
		"value":          json.RawMessage("[" + value.String() + "]"),
	})
}

// readParams reads the query's OData and time parameters. A parameter the
// service does not evaluate is refused rather than ignored: an answer that
// silently did not filter would read as a filtered one.
func (s *Service) readParams(r *http.Request, q *query) error {
	v := r.URL.Query()
	for name := range v {
		switch name {
		case "$top", "$skip", "timespan", "$orderby", "api-version":
		default:
			return fmt.Errorf("The parameter %s is not supported here: use $top, $skip, $orderby=timestamp [asc|desc] and timespan.", name)
		}
	}
	q.top = 100
	if t := v.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > 10000 {
			return fmt.Errorf("$top must be a whole number from 0 to 10000, not %q.", t)
		}
		q.top = n
	}
	if t := v.Get("$skip"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > 1000000 {
			return fmt.Errorf("$skip must be a whole number from 0 to 1000000, not %q.", t)
		}
		q.skip = n
	}
	switch o := strings.ToLower(strings.Join(strings.Fields(v.Get("$orderby")), " ")); o {
	case "", "timestamp desc":
	case "timestamp", "timestamp asc":
		q.ascending = true
	default:
		return fmt.Errorf("$orderby %q is not supported: order by timestamp, asc or desc.", v.Get("$orderby"))
	}
	now := s.now()
	q.from, q.to = now.Add(-12*time.Hour), now.Add(time.Minute)
	if ts := v.Get("timespan"); ts != "" {
		from, to, err := timespan(ts, now)
		if err != nil {
			return err
		}
		q.from, q.to = from, to
	}
	return nil
}

// timespan reads an ISO 8601 time span: a duration before now ("PT1H",
// "P7D"), a start and an end, or a start and a duration.
func timespan(ts string, now time.Time) (time.Time, time.Time, error) {
	bad := fmt.Errorf("timespan %q is not an ISO 8601 duration (PT1H, P1D) or interval (start/end, start/duration).", ts)
	a, b, interval := strings.Cut(ts, "/")
	if !interval {
		d, err := isoDuration(a)
		if err != nil {
			return time.Time{}, time.Time{}, bad
		}
		return now.Add(-d), now.Add(time.Minute), nil
	}
	from, err := time.Parse(time.RFC3339Nano, a)
	if err != nil {
		return time.Time{}, time.Time{}, bad
	}
	if to, err := time.Parse(time.RFC3339Nano, b); err == nil {
		return from, to, nil
	}
	d, err := isoDuration(b)
	if err != nil {
		return time.Time{}, time.Time{}, bad
	}
	return from, from.Add(d), nil
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// isoDuration reads days, hours, minutes and seconds of an ISO 8601
// duration, up to ten years.
func isoDuration(s string) (time.Duration, error) {
	m := isoDurationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, fmt.Errorf("not a duration")
	}
	var d float64
	for i, unit := range []float64{24 * 3600, 3600, 60, 1} {
		if m[i+1] != "" {
			f, err := strconv.ParseFloat(m[i+1], 64)
			if err != nil {
				return 0, err
			}
			d += f * unit
		}
	}
	if d > 10*366*24*3600 {
		return 0, fmt.Errorf("too long")
	}
	return time.Duration(d * float64(time.Second)), nil
}

// stored is what the query API reads of a kept envelope.
type stored struct {
	Time       string            `json:"time"`
	SampleRate float64           `json:"sampleRate"`
	Tags       map[string]string `json:"tags"`
	Data       struct {
		BaseType string         `json:"baseType"`
		BaseData map[string]any `json:"baseData"`
	} `json:"data"`
}

// eventOf renders a kept envelope as the query API's event.
func eventOf(raw []byte, comp Component) map[string]any {
	var e stored
	if json.Unmarshal(raw, &e) != nil {
		return nil
	}
	typ := typeOf(e.Data.BaseType)
	singular := eventTypes[typ]
	bd := e.Data.BaseData
	tag := func(k string) any {
		if v, ok := e.Tags[k]; ok {
			return v
		}
		return nil
	}
	count := 1
	if e.SampleRate > 0 && e.SampleRate < 100 {
		count = int(math.Round(100 / e.SampleRate))
	}
	ts := e.Time
	if t, err := time.Parse(time.RFC3339Nano, e.Time); err == nil {
		ts = t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	id, _ := bd["id"].(string)
	ev := map[string]any{
		"id": id, "count": count, "type": singular, "timestamp": ts,
		"customDimensions":   orNil(bd["properties"]),
		"customMeasurements": orNil(bd["measurements"]),
		"operation": map[string]any{"name": tag("ai.operation.name"), "id": tag("ai.operation.id"),
			"parentId": tag("ai.operation.parentId"), "syntheticSource": tag("ai.operation.syntheticSource")},
		"session": map[string]any{"id": tag("ai.session.id")},
		"user": map[string]any{"id": tag("ai.user.id"), "accountId": tag("ai.user.accountId"),
			"authenticatedId": tag("ai.user.authUserId")},
		"cloud":       map[string]any{"roleName": tag("ai.cloud.role"), "roleInstance": tag("ai.cloud.roleInstance")},
		"ai":          map[string]any{"iKey": comp.InstrumentationKey, "appName": comp.Name, "appId": comp.AppID, "sdkVersion": tag("ai.internal.sdkVersion")},
		"application": map[string]any{"version": tag("ai.application.ver")},
		"client": map[string]any{"model": tag("ai.device.model"), "os": tag("ai.device.osVersion"), "type": tag("ai.device.type"),
			"ip": tag("ai.location.ip"), "city": tag("ai.location.city"), "stateOrProvince": tag("ai.location.province"),
			"countryOrRegion": tag("ai.location.country"), "browser": tag("ai.device.browserVersion")},
	}
	switch typ {
	case "requests":
		d := durationMS(bd["duration"])
		ev["request"] = map[string]any{"resultCode": str(bd["responseCode"]), "duration": d, "name": bd["name"],
			"success": titleBool(bd["success"]), "url": bd["url"], "source": orNil(bd["source"]), "id": bd["id"],
			"performanceBucket": bucket(d)}
	case "dependencies":
		d := durationMS(bd["duration"])
		ev["dependency"] = map[string]any{"target": bd["target"], "data": bd["data"], "success": titleBool(bd["success"]),
			"duration": d, "performanceBucket": bucket(d), "resultCode": str(bd["resultCode"]), "type": bd["type"],
			"name": bd["name"], "id": bd["id"]}
	case "exceptions":
		ev["exception"] = exceptionOf(bd)
	case "traces":
		ev["trace"] = map[string]any{"message": bd["message"], "severityLevel": severity(bd["severityLevel"])}
	case "customEvents":
		ev["customEvent"] = map[string]any{"name": bd["name"]}
	case "customMetrics", "performanceCounters":
		m := map[string]any{}
		if ms, ok := bd["metrics"].([]any); ok && len(ms) > 0 {
			m, _ = ms[0].(map[string]any)
		}
		ev[singular] = map[string]any{"name": m["name"], "value": m["value"], "valueCount": orNil(m["count"]),
			"valueSum": orNil(m["value"]), "valueMin": orNil(m["min"]), "valueMax": orNil(m["max"]), "valueStdDev": orNil(m["stdDev"])}
	case "pageViews", "browserTimings":
		d := durationMS(bd["duration"])
		ev[singular] = map[string]any{"name": bd["name"], "url": bd["url"], "duration": d, "performanceBucket": bucket(d)}
	case "availabilityResults":
		d := durationMS(bd["duration"])
		ev["availabilityResult"] = map[string]any{"name": bd["name"], "success": titleBool(bd["success"]), "duration": d,
			"performanceBucket": bucket(d), "message": bd["message"], "location": bd["runLocation"], "id": bd["id"]}
	}
	return ev
}

// exceptionOf is an exception event's details: the outermost and
// innermost exceptions of the item's chain, and the chain itself.
func exceptionOf(bd map[string]any) map[string]any {
	var chain []map[string]any
	if list, ok := bd["exceptions"].([]any); ok {
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				chain = append(chain, m)
			}
		}
	}
	out := map[string]any{"severityLevel": severity(bd["severityLevel"]), "problemId": orNil(bd["problemId"]), "details": chain}
	if len(chain) > 0 {
		outer, inner := chain[0], chain[len(chain)-1]
		out["type"], out["message"] = outer["typeName"], outer["message"]
		out["outerType"], out["outerMessage"] = outer["typeName"], outer["message"]
		out["innermostType"], out["innermostMessage"] = inner["typeName"], inner["message"]
		if out["problemId"] == nil {
			out["problemId"] = outer["typeName"]
		}
	}
	return out
}

// durationMS reads Application Insights' duration ("d.hh:mm:ss.fffffff"
// or "hh:mm:ss.fffffff") in milliseconds.
func durationMS(v any) any {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	days := 0.0
	if d, rest, ok := strings.Cut(s, "."); ok && strings.Count(rest, ":") == 2 && !strings.Contains(d, ":") {
		f, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return nil
		}
		days, s = f, rest
	}
	hms := strings.Split(s, ":")
	if len(hms) != 3 {
		return nil
	}
	var total float64
	for i, unit := range []float64{3600, 60, 1} {
		f, err := strconv.ParseFloat(hms[i], 64)
		if err != nil {
			return nil
		}
		total += f * unit
	}
	return math.Round((days*86400+total)*1e6) / 1e3
}

// bucket is the query API's performance bucket of a duration.
func bucket(ms any) any {
	d, ok := ms.(float64)
	if !ok {
		return nil
	}
	for _, b := range []struct {
		below float64
		name  string
	}{{250, "<250ms"}, {500, "250ms-500ms"}, {1000, "500ms-1sec"}, {3000, "1sec-3sec"}, {7000, "3sec-7sec"},
		{15000, "7sec-15sec"}, {30000, "15sec-30sec"}, {60000, "30sec-1min"}, {120000, "1min-2min"}, {300000, "2min-5min"}} {
		if d < b.below {
			return b.name
		}
	}
	return ">=5min"
}

// severity is a severity level as the query API gives it, a number.
func severity(v any) any {
	switch s := v.(type) {
	case string:
		if n, ok := map[string]int{"verbose": 0, "information": 1, "warning": 2, "error": 3, "critical": 4}[strings.ToLower(s)]; ok {
			return n
		}
	case float64:
		return int(s)
	}
	return nil
}

// titleBool is a success flag as the query API gives it: "True" or "False".
func titleBool(v any) any {
	switch b := v.(type) {
	case bool:
		if b {
			return "True"
		}
		return "False"
	case string:
		return b
	}
	return nil
}

func str(v any) any {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return nil
}

func orNil(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return nil
	}
	return v
}
