package blob

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/google/go-cmp/cmp"
)

// TestMgmtServiceProperties: the management plane's blob service
// properties are the data plane's Get/Set Blob Service Properties, not a
// copy: what one sets the other reads, and what an update leaves out
// stays.
func TestMgmtServiceProperties(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	c := newClient(t, ts).ServiceClient()
	acct := DevelopmentAccountName

	// Data plane → management plane.
	_, err := c.SetProperties(ctx, &service.SetPropertiesOptions{
		DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](5)},
		CORS: []*service.CORSRule{{AllowedOrigins: to.Ptr("https://a.example,https://b.example"), AllowedMethods: to.Ptr("GET,PUT"),
			AllowedHeaders: to.Ptr("x-ms-*"), ExposedHeaders: to.Ptr("*"), MaxAgeInSeconds: to.Ptr[int32](60)}},
		DefaultServiceVersion: to.Ptr("2021-08-06"),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.svc.ServiceProperties(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	want := ServiceProperties{
		Cors: []CorsRule{{AllowedOrigins: []string{"https://a.example", "https://b.example"}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"x-ms-*"}, ExposedHeaders: []string{"*"}, MaxAgeInSeconds: 60}},
		DeleteRetention:       RetentionPolicy{Enabled: true, Days: 5},
		DefaultServiceVersion: "2021-08-06",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("management plane's view (-want +got):\n%s", d)
	}

	// Management plane → data plane; CORS left out stays.
	if err := ts.svc.SetServiceProperties(ctx, acct, ServicePropertiesUpdate{
		DeleteRetention: &RetentionPolicy{Enabled: true, Days: 9},
		StaticWebsite:   &StaticWebsite{Enabled: true, IndexDocument: "index.html", ErrorDocument404Path: "404.html"},
	}); err != nil {
		t.Fatal(err)
	}
	props, err := c.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !*props.DeleteRetentionPolicy.Enabled || *props.DeleteRetentionPolicy.Days != 9 {
		t.Errorf("data plane's retention: %v days %v", *props.DeleteRetentionPolicy.Enabled, props.DeleteRetentionPolicy.Days)
	}
	if len(props.CORS) != 1 || *props.CORS[0].AllowedOrigins != "https://a.example,https://b.example" {
		t.Errorf("CORS left out of the update changed: %+v", props.CORS)
	}
	if !*props.StaticWebsite.Enabled || *props.StaticWebsite.IndexDocument != "index.html" || *props.StaticWebsite.ErrorDocument404Path != "404.html" {
		t.Errorf("data plane's static website: %+v", props.StaticWebsite)
	}
	// Enabling the website through either plane creates $web.
	if _, err := ts.svc.Container(ctx, acct, "$web"); err != nil {
		t.Errorf("$web: %v", err)
	}
	if err := ts.svc.SetServiceProperties(ctx, acct, ServicePropertiesUpdate{Cors: &[]CorsRule{}, DeleteRetention: &RetentionPolicy{}}); err != nil {
		t.Fatal(err)
	}
	if status, body := devDo(t, ts, http.MethodGet, "/?restype=service&comp=properties", ""); status != 200 ||
		!strings.Contains(body, "<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>") || strings.Contains(body, "<CorsRule>") {
		t.Errorf("after clearing: %d %s", status, body)
	}
}

// TestMgmtServicePropertiesValidation: the management plane's update is
// validated as Set Blob Service Properties is, and a refused one stores
// nothing.
func TestMgmtServicePropertiesValidation(t *testing.T) {
	ts := startService(t, Config{})
	ctx := context.Background()
	rule := CorsRule{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}
	for _, tc := range []struct {
		name string
		u    ServicePropertiesUpdate
		msg  string
	}{
		{"days 0", ServicePropertiesUpdate{DeleteRetention: &RetentionPolicy{Enabled: true}}, "1 to 365"},
		{"days 366", ServicePropertiesUpdate{DeleteRetention: &RetentionPolicy{Enabled: true, Days: 366}}, "1 to 365"},
		{"six CORS rules", ServicePropertiesUpdate{Cors: &[]CorsRule{rule, rule, rule, rule, rule, rule}}, "at most 5"},
		{"no origins", ServicePropertiesUpdate{Cors: &[]CorsRule{{AllowedMethods: []string{"GET"}}}}, "allowedOrigins"},
		{"both index documents", ServicePropertiesUpdate{StaticWebsite: &StaticWebsite{Enabled: true, IndexDocument: "i.html", DefaultIndexDocumentPath: "d.html"}}, "mutually exclusive"},
		{"service version not a date", ServicePropertiesUpdate{DefaultServiceVersion: new("2018")}, "DefaultServiceVersion"},
		{"service version before 2008-10-27", ServicePropertiesUpdate{DefaultServiceVersion: new("2008-10-26")}, "DefaultServiceVersion"},
		{"control character", ServicePropertiesUpdate{StaticWebsite: &StaticWebsite{Enabled: true, IndexDocument: "i\x01.html"}}, "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ts.svc.SetServiceProperties(ctx, DevelopmentAccountName, tc.u)
			if !errors.Is(err, ErrInvalidServiceProperties) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want ErrInvalidServiceProperties saying %q", err, tc.msg)
			}
		})
	}
	got, err := ts.svc.ServiceProperties(ctx, DevelopmentAccountName)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ServiceProperties{}, got); d != "" {
		t.Errorf("a refused update was stored (-want +got):\n%s", d)
	}
}

// TestSetServicePropertiesDefaultServiceVersion: the data plane refuses a
// DefaultServiceVersion that is no service version ("Valid values include
// version 2008-10-27 and all later versions", Set Blob Service
// Properties) and keeps a valid one.
func TestSetServicePropertiesDefaultServiceVersion(t *testing.T) {
	ts := startService(t, Config{})
	set := func(v string) (int, string) {
		return devDo(t, ts, http.MethodPut, "/?restype=service&comp=properties",
			`<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><DefaultServiceVersion>`+v+`</DefaultServiceVersion></StorageServiceProperties>`)
	}
	for _, v := range []string{"2018", "2008-10-26", "<x/>", ""} {
		if status, body := set(v); status != 400 || !strings.Contains(body, "DefaultServiceVersion") {
			t.Errorf("%q: %d %s", v, status, body)
		}
	}
	if status, body := set("2018-11-09"); status != http.StatusAccepted {
		t.Fatalf("2018-11-09: %d %s", status, body)
	}
	if got, _ := ts.svc.ServiceProperties(context.Background(), DevelopmentAccountName); got.DefaultServiceVersion != "2018-11-09" {
		t.Errorf("stored: %q", got.DefaultServiceVersion)
	}
}
