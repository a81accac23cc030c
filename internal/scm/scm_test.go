package scm

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestPackageBody: Kudu takes the zip as the raw body (whatever curl's
// --data-binary calls its type) or as a multipart file (docs/appservice.md §5);
// a packageUri JSON body is not a zip (push takes it, packageuri.go; the
// zip API refuses it).
func TestPackageBody(t *testing.T) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "app.zip")
	fw.Write([]byte("ZIPDATA"))
	mw.Close()
	tests := []struct {
		name, contentType, body, want, errCode string
	}{
		{"raw octet-stream", "application/octet-stream", "ZIPDATA", "ZIPDATA", ""},
		{"curl --data-binary default type", "application/x-www-form-urlencoded", "ZIPDATA", "ZIPDATA", ""},
		{"multipart file", mw.FormDataContentType(), mp.String(), "ZIPDATA", ""},
		{"packageUri", "application/json", `{"packageUri":"https://x/app.zip"}`, "", slipway.EINVALID},
		{"multipart without parts", "multipart/form-data; boundary=x", "--x--\r\n", "", slipway.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/zipdeploy", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			body, err := packageBody(r)
			if tc.errCode != "" {
				if slipway.ErrorCode(err) != tc.errCode {
					t.Fatalf("err = %v, want code %s", err, tc.errCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(body)
			if string(b) != tc.want {
				t.Fatalf("package = %q, want %q", b, tc.want)
			}
		})
	}
}
