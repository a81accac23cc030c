package cli

import (
	"net/url"
	"testing"
)

func TestRoutingAndHostURL(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:8080")
	c := &conn{base: base, domain: "localhost"}
	for host, want := range map[string]bool{
		"localhost": true, "myapp.localhost": true, "myapp.scm.localhost": true, "MyApp.LocalHost.": true,
		"example.com": false, "notlocalhost": false, "127.0.0.1": false,
	} {
		if got := c.routesToServer(host); got != want {
			t.Errorf("routesToServer(%q) = %v, want %v", host, got, want)
		}
	}
	if !(&conn{base: base}).routesToServer("anything.example") {
		t.Error("with no domain known every name should go to the server")
	}
	tests := []struct{ host, want string }{
		{"myapp.scm.localhost", "http://myapp.scm.localhost:8080"},
		{"myapp.scm.localhost:9000", "http://myapp.scm.localhost:9000"},
	}
	for _, tt := range tests {
		if got := c.hostURL(tt.host); got != tt.want {
			t.Errorf("hostURL(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
	noPort, _ := url.Parse("https://slipway.example")
	if got := (&conn{base: noPort}).hostURL("app.slipway.example"); got != "https://app.slipway.example" {
		t.Errorf("hostURL without a server port = %q", got)
	}
}

func TestARMURL(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:8080")
	c := &conn{base: base}
	tests := []struct{ path, want string }{
		{"/subscriptions/s/resourcegroups/rg", "http://127.0.0.1:8080/subscriptions/s/resourcegroups/rg?api-version=2024-11-01"},
		{"/subscriptions/s/providers/Microsoft.Web/serverfarms?detailed=true", "http://127.0.0.1:8080/subscriptions/s/providers/Microsoft.Web/serverfarms?api-version=2024-11-01&detailed=true"},
	}
	for _, tt := range tests {
		if got := c.armURL(tt.path, apiWeb, nil); got != tt.want {
			t.Errorf("armURL(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if got := c.sitePath("my rg", "app"); got != "/subscriptions//resourceGroups/my%20rg/providers/Microsoft.Web/sites/app" {
		t.Errorf("sitePath does not escape: %q", got)
	}
}
