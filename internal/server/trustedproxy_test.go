package server

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// --trusted-proxy (repeatable) and SLIPWAY_TRUSTED_PROXIES (comma-separated)
// add up; a bare address is a one-address range; anything else is refused
// with the flag's name.
func TestTrustedProxySetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string // the ranges, or the error's start
	}{
		{nil, "", "[]"},
		{[]string{"--trusted-proxy", "10.0.0.0/8"}, "", "[10.0.0.0/8]"},
		{[]string{"--trusted-proxy", "10.1.2.3/8", "--trusted-proxy=192.0.2.7"}, "2001:db8::/32, 198.51.100.0/24", "[2001:db8::/32 198.51.100.0/24 10.0.0.0/8 192.0.2.7/32]"},
		{[]string{"--trusted-proxy", "::1"}, "", "[::1/128]"},
		{[]string{"--trusted-proxy", "proxy.example"}, "", "--trusted-proxy \"proxy.example\" is not"},
		{nil, "10.0.0.0/33", "--trusted-proxy \"10.0.0.0/33\" is not"},
		{[]string{"--trusted-proxy", "::ffff:10.0.0.0/104"}, "", "--trusted-proxy \"::ffff:10.0.0.0/104\": write an IPv4 range"},
		// What apps reach the front door from is never a proxy.
		{[]string{"--trusted-proxy", "169.254.0.1"}, "", "--trusted-proxy \"169.254.0.1\" takes in the link-local"},
		{[]string{"--trusted-proxy", "0.0.0.0/0"}, "", "--trusted-proxy \"0.0.0.0/0\" takes in the link-local"},
		{nil, "fe80::/64", "--trusted-proxy \"fe80::/64\" takes in the link-local"},
	} {
		getenv := func(k string) string {
			if k == "SLIPWAY_TRUSTED_PROXIES" {
				return tc.env
			}
			return ""
		}
		cfg, err := ParseFlags(tc.args, getenv, io.Discard)
		got := fmt.Sprint(cfg.TrustedProxies)
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v, env %q: %s; want %s", tc.args, tc.env, got, tc.want)
		}
	}
}
