package slipway

import (
	"math"
	"strings"
)

// InstanceSize is what one worker of an App Service plan gets: the CPU and
// memory of its instance size, the /home storage quota of its tier and the
// largest number of workers the tier scales out to. The runtime turns it
// into resource limits for each app instance.
//
// Figures follow Azure's public pricing and limits:
// https://learn.microsoft.com/azure/app-service/overview-hosting-plans and
// https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#app-service-limits
type InstanceSize struct {
	Cores       float64 // vCPUs; fractional for the shared tiers
	MemoryMB    int     // memory per instance
	HomeQuotaGB int     // the /home share, per plan
	MaxWorkers  int     // the most workers (instances) the tier allows
}

// Size returns the instance size of s, looked up by its name in any case
// ("b1", "P1V3"). Names Slipway does not know get the Basic B1 figures.
//
// Free (F1) and Shared (D1) run on shared cores: App Service gives F1 60
// CPU-minutes a day (D1 240), which Slipway approximates as a steady quarter
// of a core.
func (s SKU) Size() InstanceSize {
	up := strings.ToUpper(strings.TrimSpace(s.Name))
	cm, ok := skuSizes[up]
	tier := skuTiers[up]
	if !ok {
		cm, tier = skuSizes["B1"], "Basic"
	}
	tl := tierLimits[tier]
	return InstanceSize{Cores: cm.cores, MemoryMB: cm.memoryMB, HomeQuotaGB: tl.homeGB, MaxWorkers: tl.maxWorkers}
}

// CPUs is the number of processors a program in one instance counts (Go's
// runtime.NumCPU, Python's os.cpu_count): the cores of the plan's worker,
// and one for the shared tiers' fraction of a core. App Service's Python
// container sizes gunicorn by it when PYTHON_ENABLE_GUNICORN_MULTIWORKERS is
// true, (2 × CPUs) + 1 workers
// (https://github.com/microsoft/Oryx/blob/main/doc/configuration.md), so an
// app on B1 runs 3 whatever machine Slipway runs on.
func (s InstanceSize) CPUs() int {
	return max(1, int(math.Ceil(s.Cores)))
}

type coresMemory struct {
	cores    float64
	memoryMB int
}

// skuSizes maps upper-cased SKU names (the keys of skuTiers) to the cores
// and memory of one instance. The v4 sizes take the v3 figures.
var skuSizes = map[string]coresMemory{
	"F1": {0.25, 1024}, "FREE": {0.25, 1024}, "D1": {0.25, 1024}, "SHARED": {0.25, 1024},
	"B1": {1, 1792}, "B2": {2, 3584}, "B3": {4, 7168},
	"S1": {1, 1792}, "S2": {2, 3584}, "S3": {4, 7168},
	"P1": {1, 1792}, "P2": {2, 3584}, "P3": {4, 7168},
	"P1V2": {1, 3584}, "P2V2": {2, 7168}, "P3V2": {4, 14336},
	"P0V3": {1, 4096}, "P1V3": {2, 8192}, "P2V3": {4, 16384}, "P3V3": {8, 32768},
	"P1MV3": {2, 16384}, "P2MV3": {4, 32768}, "P3MV3": {8, 65536}, "P4MV3": {16, 131072}, "P5MV3": {32, 262144},
	"P0V4": {1, 4096}, "P1V4": {2, 8192}, "P2V4": {4, 16384}, "P3V4": {8, 32768},
	"EP1": {1, 3584}, "EP2": {2, 7168}, "EP3": {4, 14336},
	"I1V2": {2, 8192}, "I2V2": {4, 16384}, "I3V2": {8, 32768}, "I4V2": {16, 65536}, "I5V2": {32, 131072}, "I6V2": {64, 262144},
	"WS1": {1, 3584}, "WS2": {2, 7168}, "WS3": {4, 14336},
}

type tierLimit struct {
	homeGB     int
	maxWorkers int
}

// tierLimits maps canonical tiers (the values of skuTiers) to the /home
// quota and the scale-out limit.
var tierLimits = map[string]tierLimit{
	"Free":             {1, 1},
	"Shared":           {1, 1},
	"Basic":            {10, 3},
	"Standard":         {50, 10},
	"Premium":          {250, 20},
	"PremiumV2":        {250, 30},
	"Premium0V3":       {250, 30},
	"PremiumV3":        {250, 30},
	"PremiumMV3":       {250, 30},
	"PremiumV4":        {250, 30},
	"ElasticPremium":   {250, 20},
	"WorkflowStandard": {250, 20},
	"IsolatedV2":       {1000, 100},
}

// skuLadders are the sizes of each family, smallest first, for suggesting
// the next size up.
var skuLadders = [][]string{
	{"F1", "B1", "B2", "B3"}, {"D1", "B1"},
	{"S1", "S2", "S3"}, {"P1", "P2", "P3"},
	{"P1v2", "P2v2", "P3v2"}, {"P0v3", "P1v3", "P2v3", "P3v3"},
	{"P1mv3", "P2mv3", "P3mv3", "P4mv3", "P5mv3"}, {"P0v4", "P1v4", "P2v4", "P3v4"},
	{"EP1", "EP2", "EP3"}, {"I1v2", "I2v2", "I3v2", "I4v2", "I5v2", "I6v2"}, {"WS1", "WS2", "WS3"},
}

// Larger returns the next size up in s's family with more memory (B1 → B2,
// F1 → B1), and false when s is the largest of its family.
func (s SKU) Larger() (SKU, bool) {
	mem := s.Size().MemoryMB
	for _, ladder := range skuLadders {
		for i, name := range ladder {
			if !strings.EqualFold(name, strings.TrimSpace(s.Name)) {
				continue
			}
			for _, next := range ladder[i+1:] {
				if n, err := ParseSKU(next); err == nil && n.Size().MemoryMB > mem {
					n.Capacity = s.Capacity
					return n, true
				}
			}
			return SKU{}, false
		}
	}
	return SKU{}, false
}

// SharedCompute reports whether s is one of the tiers whose apps run on
// shared cores (Free and Shared), where App Service has no Always On, no
// backups and sets WEBSITE_COMPUTE_MODE=Shared
// (https://learn.microsoft.com/azure/app-service/overview-hosting-plans).
func (s SKU) SharedCompute() bool {
	return s.Tier == "Free" || s.Tier == "Shared"
}

// LocalStorageMB is the local (temporary) storage of one instance of s: on
// App Service the files an app writes outside /home (its extracted build
// output under /tmp, a `pip install` at startup) live on the worker's local
// disk, limited per tier and size — 500 MB for Free and Shared; 11, 15 and
// 58 GB for sizes 1, 2 and 3 of Basic, Standard and Premium; 21, 61 and 140
// GB for the later families (PremiumV2 and up, Isolated) — see "Temporary
// files" in
// https://github.com/projectkudu/kudu/wiki/Understanding-the-Azure-App-Service-file-system.
// App Service counts it per plan and worker; Slipway gives it to each app
// (each slot) on the server, for its instances' copies of the app and views
// of its environment together. Names Slipway does not know get B1's.
func (s SKU) LocalStorageMB() int {
	up := strings.ToUpper(strings.TrimSpace(s.Name))
	tier, ok := skuTiers[up]
	if !ok {
		up, tier = "B1", "Basic"
	}
	size := 1
	if i := strings.IndexAny(up, "0123456789"); i >= 0 && up[i] >= '2' {
		size = int(up[i] - '0')
	}
	var steps [3]int
	switch tier {
	case "Free", "Shared":
		return 500
	case "Basic", "Standard", "Premium":
		steps = [3]int{11, 15, 58}
	default:
		steps = [3]int{21, 61, 140}
	}
	return steps[min(size, 3)-1] << 10
}
