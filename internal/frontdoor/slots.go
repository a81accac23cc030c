package frontdoor

// Traffic routing among an app's deployment slots (docs/slots.md §3,
// docs/appservice.md §6): requests to the app's production names go to a
// slot chosen by the x-ms-routing-name query parameter, else the cookie of
// that name, else a random draw by the app's ramp-up rules; a drawn or
// chosen slot is pinned with the cookie for an hour.

import (
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/slipway-dev/slipway"
)

// SlotRouter gives an app's slot routing (the store's in-memory table
// implements it). It is asked on every request to an app, so it must not
// do I/O.
type SlotRouter interface {
	SlotRoute(app string) (slipway.SlotRoutes, bool)
}

// routingName is App Service's cookie and query parameter.
const routingName = "x-ms-routing-name"

// routingSelf names production in the cookie and parameter.
const routingSelf = "self"

// pickSlot returns the site row that serves a request to app's production
// names, and sets the routing cookie when it chose anew.
func (f *FrontDoor) pickSlot(w http.ResponseWriter, r *http.Request, app string) string {
	if f.cfg.SlotRoutes == nil {
		return app
	}
	routes, ok := f.cfg.SlotRoutes.SlotRoute(app)
	if !ok {
		return app
	}
	resolve := func(name string) (string, bool) {
		name = strings.ToLower(name)
		if name == routingSelf || name == slipway.ProductionSlot {
			return app, true
		}
		site, ok := routes.Slots[name]
		return site, ok
	}
	if strings.Contains(r.URL.RawQuery, routingName) {
		if v := r.URL.Query().Get(routingName); v != "" && len(v) <= 64 {
			if site, ok := resolve(v); ok {
				pin(w, strings.ToLower(v))
				return site
			}
		}
	}
	if c, err := r.Cookie(routingName); err == nil && len(c.Value) <= 64 {
		if site, ok := resolve(c.Value); ok {
			return site
		}
	}
	if len(routes.Rules) == 0 {
		return app
	}
	choice, x := routingSelf, rand.Float64()*100
	for _, rule := range routes.Rules {
		if x < rule.Percent {
			choice = rule.Slot
			break
		}
		x -= rule.Percent
	}
	site, ok := resolve(choice)
	if !ok {
		choice, site = routingSelf, app
	}
	pin(w, choice)
	return site
}

// pin keeps the client on its slot for an hour, as App Service does.
func pin(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: routingName, Value: name, Path: "/", MaxAge: 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
