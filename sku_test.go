package slipway

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSKUSize(t *testing.T) {
	tests := []struct {
		name string
		want InstanceSize
	}{
		{"F1", InstanceSize{Cores: 0.25, MemoryMB: 1024, HomeQuotaGB: 1, MaxWorkers: 1}},
		{"free", InstanceSize{Cores: 0.25, MemoryMB: 1024, HomeQuotaGB: 1, MaxWorkers: 1}},
		{"D1", InstanceSize{Cores: 0.25, MemoryMB: 1024, HomeQuotaGB: 1, MaxWorkers: 1}},
		{"B1", InstanceSize{Cores: 1, MemoryMB: 1792, HomeQuotaGB: 10, MaxWorkers: 3}},
		{"b2", InstanceSize{Cores: 2, MemoryMB: 3584, HomeQuotaGB: 10, MaxWorkers: 3}},
		{"B3", InstanceSize{Cores: 4, MemoryMB: 7168, HomeQuotaGB: 10, MaxWorkers: 3}},
		{"S1", InstanceSize{Cores: 1, MemoryMB: 1792, HomeQuotaGB: 50, MaxWorkers: 10}},
		{"s3", InstanceSize{Cores: 4, MemoryMB: 7168, HomeQuotaGB: 50, MaxWorkers: 10}},
		{"P2", InstanceSize{Cores: 2, MemoryMB: 3584, HomeQuotaGB: 250, MaxWorkers: 20}},
		{"P1v2", InstanceSize{Cores: 1, MemoryMB: 3584, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"P3V2", InstanceSize{Cores: 4, MemoryMB: 14336, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"P0v3", InstanceSize{Cores: 1, MemoryMB: 4096, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"P1v3", InstanceSize{Cores: 2, MemoryMB: 8192, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"p1V3", InstanceSize{Cores: 2, MemoryMB: 8192, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"P3v3", InstanceSize{Cores: 8, MemoryMB: 32768, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"P1mv3", InstanceSize{Cores: 2, MemoryMB: 16384, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"P5MV3", InstanceSize{Cores: 32, MemoryMB: 262144, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"P0v4", InstanceSize{Cores: 1, MemoryMB: 4096, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"p3v4", InstanceSize{Cores: 8, MemoryMB: 32768, HomeQuotaGB: 250, MaxWorkers: 30}},
		{"EP1", InstanceSize{Cores: 1, MemoryMB: 3584, HomeQuotaGB: 250, MaxWorkers: 20}},
		{"ep3", InstanceSize{Cores: 4, MemoryMB: 14336, HomeQuotaGB: 250, MaxWorkers: 20}},
		{"I1v2", InstanceSize{Cores: 2, MemoryMB: 8192, HomeQuotaGB: 1000, MaxWorkers: 100}},
		{"i6V2", InstanceSize{Cores: 64, MemoryMB: 262144, HomeQuotaGB: 1000, MaxWorkers: 100}},
		{"WS1", InstanceSize{Cores: 1, MemoryMB: 3584, HomeQuotaGB: 250, MaxWorkers: 20}},
		{"ws3", InstanceSize{Cores: 4, MemoryMB: 14336, HomeQuotaGB: 250, MaxWorkers: 20}},
		{" B1 ", InstanceSize{Cores: 1, MemoryMB: 1792, HomeQuotaGB: 10, MaxWorkers: 3}},
		{"X9", InstanceSize{Cores: 1, MemoryMB: 1792, HomeQuotaGB: 10, MaxWorkers: 3}},
		{"", InstanceSize{Cores: 1, MemoryMB: 1792, HomeQuotaGB: 10, MaxWorkers: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, SKU{Name: tt.name}.Size()); diff != "" {
				t.Errorf("SKU{Name: %q}.Size() (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// TestSKUSizeCoversEverySKU: every SKU ParseSKU accepts has its own size
// and tier limits, so none silently falls back to B1.
func TestSKUSizeCoversEverySKU(t *testing.T) {
	for name, tier := range skuTiers {
		if _, ok := skuSizes[name]; !ok {
			t.Errorf("SKU %s has no instance size", name)
		}
		if _, ok := tierLimits[tier]; !ok {
			t.Errorf("tier %s (SKU %s) has no limits", tier, name)
		}
	}
	for name := range skuSizes {
		if _, ok := skuTiers[name]; !ok {
			t.Errorf("size for %s, which is not a known SKU", name)
		}
	}
}

// TestParsedSKUSize: the canonical SKU from ParseSKU sizes the same as its
// raw name.
func TestParsedSKUSize(t *testing.T) {
	for _, name := range []string{"free", "shared", "b1", "P1V3", "p2mv3", "i3v2"} {
		s, err := ParseSKU(name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(SKU{Name: name}.Size(), s.Size()); diff != "" {
			t.Errorf("ParseSKU(%q).Size() (-raw +parsed):\n%s", name, diff)
		}
	}
}

func TestSKULarger(t *testing.T) {
	for name, want := range map[string]string{"B1": "B2", "f1": "B1", "P1v3": "P2v3", "S3": "", "B3": "", "nonsense": ""} {
		got, ok := SKU{Name: name}.Larger()
		if (want == "") != !ok || got.Name != want {
			t.Errorf("%s.Larger() = %q, %v; want %q", name, got.Name, ok, want)
		}
	}
}

// TestLocalStorage: each size's local storage, as the Kudu wiki's table of
// temporary files lists it.
func TestLocalStorage(t *testing.T) {
	for name, want := range map[string]int{
		"F1": 500, "free": 500, "D1": 500,
		"B1": 11 << 10, "b2": 15 << 10, "B3": 58 << 10, "S1": 11 << 10, "S3": 58 << 10, "P2": 15 << 10,
		"P1v2": 21 << 10, "P2v2": 61 << 10, "P3v2": 140 << 10, "P0v3": 21 << 10, "P1mv3": 21 << 10,
		"P5mv3": 140 << 10, "I2v2": 61 << 10, "EP3": 140 << 10, "Q9": 11 << 10,
	} {
		if got := (SKU{Name: name}).LocalStorageMB(); got != want {
			t.Errorf("%s: %d MB, want %d", name, got, want)
		}
	}
}

// TestInstanceSizeCPUs: the processors an instance counts are its SKU's
// cores, and one for a shared tier's fraction of a core.
func TestInstanceSizeCPUs(t *testing.T) {
	for name, want := range map[string]int{"F1": 1, "D1": 1, "B1": 1, "B2": 2, "S3": 4, "P1v3": 2, "P3v3": 8, "I6v2": 64} {
		if got := (SKU{Name: name}).Size().CPUs(); got != want {
			t.Errorf("SKU %s: CPUs() = %d, want %d", name, got, want)
		}
	}
}

// TestSharedCompute: Free and Shared plans, named as az names them, run on
// shared cores; every other tier does not.
func TestSharedCompute(t *testing.T) {
	for name, want := range map[string]bool{"F1": true, "free": true, "D1": true, "shared": true, "B1": false, "S1": false, "P1V3": false, "I1V2": false} {
		s, err := ParseSKU(name)
		if err != nil {
			t.Fatalf("ParseSKU(%q): %v", name, err)
		}
		if got := s.SharedCompute(); got != want {
			t.Errorf("ParseSKU(%q).SharedCompute() = %v (tier %q), want %v", name, got, s.Tier, want)
		}
	}
}
