package frontdoor

// InFlight returns the requests the front door has in progress on the
// backends at urls (Backend.URL): sent to one of them and not yet
// answered. Summed over a site's instances it is the site's HTTP queue
// length as autoscale reads it (internal/server/autoscale.go).
func (f *FrontDoor) InFlight(urls []string) int {
	f.lb.mu.Lock()
	defer f.lb.mu.Unlock()
	n := 0
	for _, u := range urls {
		n += f.lb.active[u]
	}
	return n
}
