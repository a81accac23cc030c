package slipway

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ProductionSlot is the name az and ARM give the production slot
// (targetSlot "production"); traffic routing calls it "self".
const ProductionSlot = "production"

// SlotSiteName is the name of the site row (and the DNS label) of an app's
// slot: "<app>-<slot>", the host name App Service gives it
// (docs/appservice.md §6, docs/slots.md §1).
func SlotSiteName(app, slot string) string {
	return strings.ToLower(app) + "-" + strings.ToLower(slot)
}

// ValidateSlotName reports whether slot can name a deployment slot of app.
func ValidateSlotName(app, slot string) error {
	if !slotNameRE.MatchString(slot) {
		return Errorf(EINVALID, "Slot name %q is invalid: use 1-19 letters, digits or hyphens, starting and ending with a letter or digit.", slot)
	}
	if strings.EqualFold(slot, ProductionSlot) || strings.EqualFold(slot, "self") || strings.EqualFold(slot, "scm") {
		return Errorf(EINVALID, "Slot name %q is reserved; choose another.", slot)
	}
	if err := ValidateSiteName(SlotSiteName(app, slot)); err != nil {
		return Errorf(EINVALID, "Slot %q of app %q would have the host name label %q, which is invalid: app and slot names together may have at most 59 characters.", slot, app, SlotSiteName(app, slot))
	}
	return nil
}

var slotNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,17}[A-Za-z0-9])?$`)

// RampUpRule sends a share of an app's new clients to one of its slots
// (siteConfig.experiments.rampUpRules; az webapp traffic-routing set).
type RampUpRule struct {
	Slot    string  // slot name, e.g. "staging"
	Percent float64 // 0 to 100; 0 hides the slot from random routing
}

// ValidateRampUpRules reports whether rules can be stored: slot names
// valid and distinct, each share in [0, 100] and their sum at most 100.
func ValidateRampUpRules(app string, rules []RampUpRule) error {
	if len(rules) > 20 {
		return Errorf(EINVALID, "At most 20 traffic routing rules are allowed, not %d.", len(rules))
	}
	seen := map[string]bool{}
	sum := 0.0
	for _, r := range rules {
		if err := ValidateSlotName(app, r.Slot); err != nil {
			return err
		}
		k := strings.ToLower(r.Slot)
		if seen[k] {
			return Errorf(EINVALID, "Slot %q appears twice in the traffic routing rules.", r.Slot)
		}
		seen[k] = true
		if math.IsNaN(r.Percent) || r.Percent < 0 || r.Percent > 100 {
			return Errorf(EINVALID, "The traffic share of slot %q must be between 0 and 100, not %s.", r.Slot, strconv.FormatFloat(r.Percent, 'g', -1, 64))
		}
		sum += r.Percent
	}
	if sum > 100 {
		return Errorf(EINVALID, "The traffic shares add up to %s%%, more than 100%%.", strconv.FormatFloat(sum, 'g', -1, 64))
	}
	return nil
}

// SwapPhase is where a slot swap stands (docs/slots.md §2).
type SwapPhase string

const (
	// SwapPreview: phase 1 of a swap with preview is applied — the source
	// runs its content with the target's sticky settings.
	SwapPreview SwapPhase = "preview"
	// SwapWarming: the source's content is starting under the target's
	// name and being warmed up; nothing is committed yet.
	SwapWarming SwapPhase = "warming"
)

// Swap is a slot swap under way for an app. Source and Target are site
// row names (the app's own name for production).
type Swap struct {
	App, Source, Target string
	Phase               SwapPhase
}

// Previews reports whether the swap is a preview waiting in its first
// phase whose source is the site row named site: that row runs, and shows,
// the target's sticky settings (docs/appservice.md §6).
func (s Swap) Previews(site string) bool {
	return s.Phase == SwapPreview && strings.EqualFold(s.Source, site)
}

// String describes the swap for logs.
func (s Swap) String() string {
	return fmt.Sprintf("swap of %s into %s (%s)", s.Source, s.Target, s.Phase)
}

// SwapConfig returns the settings two slots have after a swap
// (docs/appservice.md §6): the entries named in sticky (compared without
// case, as App Service compares setting names) stay with their slot; every
// other entry moves to the other slot. The inputs are not changed.
func SwapConfig[V any](source, target map[string]V, sticky []string) (newSource, newTarget map[string]V) {
	isSticky := make(map[string]bool, len(sticky))
	for _, n := range sticky {
		isSticky[strings.ToLower(n)] = true
	}
	newSource, newTarget = map[string]V{}, map[string]V{}
	for k, v := range source {
		if isSticky[strings.ToLower(k)] {
			newSource[k] = v
		} else {
			newTarget[k] = v
		}
	}
	for k, v := range target {
		if isSticky[strings.ToLower(k)] {
			newTarget[k] = v
		} else {
			newSource[k] = v
		}
	}
	return newSource, newTarget
}

// SlotRoutes is how an app's production traffic is shared among its slots
// (docs/slots.md §3).
type SlotRoutes struct {
	Rules []RampUpRule      // slot names lower case
	Slots map[string]string // slot name (lower case) → its site row name
}

// MaxSlots is the number of deployment slots an app on a plan of this SKU
// may have, counting production, and the tier named in the refusal: none
// besides production on Free, Shared and Basic, 5 on Standard, 20 on
// Premium and Isolated (docs/appservice.md §6, §11; the limits table at
// https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#app-service-limits).
// That production counts is what App Service does: an S1 app takes four
// slots and refuses the fifth
// (https://github.com/microsoft/vscode-azureappservice/issues/294).
// Unknown names get Basic's limit, as Size gives them Basic's figures.
func (s SKU) MaxSlots() (int, string) {
	tier, ok := skuTiers[strings.ToUpper(strings.TrimSpace(s.Name))]
	if !ok {
		tier = "Basic"
	}
	switch tier {
	case "Free", "Shared", "Basic":
		return 1, tier
	case "Standard":
		return 5, tier
	}
	return 20, tier
}

// SlotLimitError is App Service's refusal of a slot beyond the SKU's
// limit: 409 Conflict with this message
// (https://github.com/microsoft/vscode-azureappservice/issues/520).
func SlotLimitError(tier string) error {
	return Errorf(ECONFLICT, "Cannot complete the operation because the site will exceed the number of slots allowed for the '%s' SKU.", tier)
}
