package armtemplate

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Secure parameter values never appear in an error: the functions'
// errors quote the values they could not use (int('...'), a reference()
// target, a resource name), and a failed deployment's error is kept where
// any Reader of its group reads it. Errors are redacted where they leave
// the package (Plan, Deploy) rather than tracked through every value.

// minRedacted is the length of the shortest secure value redacted: a
// shorter one would blank out letters of every message and hides little.
const minRedacted = 4

// redactedText stands for a secure value in a message.
const redactedText = "[secure value]"

// Redact hides the deployment's secure parameter values (securestring
// values and the strings inside secureObject values, and those of hidden
// parameters, Options.Hidden) in s, an error
// message: as given, as JSON and Go quote them, and clipped as messages
// quote long values.
func (d *Deployment) Redact(s string) string { return d.ev.redact(s) }

// redactions are the texts that reveal a secure value, longest first.
func (e *evaluator) redactions() []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if len(x) < minRedacted {
				return
			}
			j, _ := json.Marshal(x) // a string: cannot fail
			out = append(out, x, strings.Trim(string(j), `"`), strings.Trim(strconv.Quote(x), `"`))
			if len(x) > 200 {
				out = append(out, x[:200]) // as clip quotes it
			}
		case map[string]any:
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	for k, def := range e.paramDefs {
		if def.secure() || e.hidden[k] {
			walk(e.params[k])
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

func (e *evaluator) redact(s string) string {
	for _, r := range e.redactions() {
		s = strings.ReplaceAll(s, r, redactedText)
	}
	return s
}

// redactErr returns err with the secure values hidden in its message: an
// *Error keeps its code and target; another error whose message reveals
// nothing is returned as it is (context errors stay comparable).
func (e *evaluator) redactErr(err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		out := *te
		out.Message, out.Target = e.redact(te.Message), e.redact(te.Target)
		return &out
	}
	msg := err.Error()
	if r := e.redact(msg); r != msg {
		return errors.New(r)
	}
	return err
}
