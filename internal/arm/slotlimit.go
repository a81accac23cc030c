package arm

import (
	"context"

	"github.com/slipway-dev/slipway"
)

// checkSlotLimit refuses a new slot of app beyond what its plan's SKU
// allows (slipway.SKU.MaxSlots: production and 4 slots on Standard, 20 in
// all on Premium, none on Free and Basic), with App Service's message.
func (h *Handler) checkSlotLimit(ctx context.Context, rg, app string) error {
	site, err := h.cfg.Store.Slot(ctx, rg, app, "")
	if err != nil {
		return err
	}
	plan, err := h.cfg.Store.Plan(ctx, site.ResourceGroup, site.Plan)
	if err != nil {
		return err
	}
	slots, err := h.cfg.Store.Slots(ctx, rg, app)
	if err != nil {
		return err
	}
	if max, tier := plan.SKU.MaxSlots(); 1+len(slots) >= max {
		return slipway.SlotLimitError(tier)
	}
	return nil
}
