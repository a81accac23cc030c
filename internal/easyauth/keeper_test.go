package easyauth

import (
	"net/http"
	"testing"

	"github.com/slipway-dev/slipway/internal/store"
)

// TestTokenStoreOutlivesRestart: with the store as keeper, a signed-in
// user's stored tokens come back in a module made after a restart (the
// app again gets X-MS-TOKEN-AAD-*), and a logout's removal is kept too.
func TestTokenStoreOutlivesRestart(t *testing.T) {
	st, err := store.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := newHarness(t)
	restart := func() {
		t.Helper()
		if h.m != nil {
			h.m.Close()
		}
		cfg := h.m.cfg
		cfg.Keeper = st
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		h.m = m
	}
	restart()
	s := settings()
	sess := h.session("app", s)
	res := h.do("app", s, get("https://app.localhost/data", sess))
	at := res.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN")
	if !res.app || at == "" {
		t.Fatalf("before the restart: %d, fields %v", res.rec.Code, res.fields)
	}

	restart()
	res = h.do("app", s, get("https://app.localhost/data", sess))
	if !res.app || res.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN") != at || res.fields.Get("X-MS-TOKEN-AAD-REFRESH-TOKEN") == "" {
		t.Fatalf("after the restart the app got %v, want the same stored tokens", res.fields)
	}

	if res := h.do("app", s, get("https://app.localhost/.auth/logout", sess)); res.rec.Code != http.StatusFound {
		t.Fatalf("logout: %d", res.rec.Code)
	}
	restart()
	if res := h.do("app", s, get("https://app.localhost/data", sess)); res.fields.Get("X-MS-TOKEN-AAD-ACCESS-TOKEN") != "" {
		t.Fatalf("the tokens came back after the logout")
	}
	h.m.Close()
}
