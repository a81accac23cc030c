package server

import (
	"io"
	"testing"

	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// The disk reserve is a server setting, from --disk-reserve or
// SLIPWAY_DISK_RESERVE (the flag wins), with diskreserve.Amount's default
// (the larger of 1 GiB and 2%) when neither is given.
func TestDiskReserveSetting(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		want    diskreserve.Amount
		wantErr bool
	}{
		{name: "default", want: diskreserve.Amount{}},
		{name: "flag", args: []string{"--disk-reserve", "2GiB"}, want: diskreserve.Amount{Bytes: 2 << 30}},
		{name: "env", env: "10%", want: diskreserve.Amount{Percent: 10}},
		{name: "flag over env", args: []string{"--disk-reserve=512MiB"}, env: "10%", want: diskreserve.Amount{Bytes: 512 << 20}},
		{name: "bad env", env: "lots", wantErr: true},
		{name: "bad flag", args: []string{"--disk-reserve", "0"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "SLIPWAY_DISK_RESERVE" {
					return tc.env
				}
				return ""
			}
			cfg, err := ParseFlags(tc.args, getenv, io.Discard)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; DiskReserve = %+v", cfg.DiskReserve)
				}
				return
			}
			if err != nil || cfg.DiskReserve != tc.want {
				t.Fatalf("DiskReserve = %+v, %v; want %+v", cfg.DiskReserve, err, tc.want)
			}
		})
	}
}
