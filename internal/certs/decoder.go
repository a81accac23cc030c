package certs

import (
	"context"
	"fmt"
)

// MaxConcurrentPFX is how many PFX files a server decodes at once.
const MaxConcurrentPFX = 2

// PFXDecoder decodes uploaded PFX files a few at a time. Reading one may
// cost a second or two of a core in key derivation (checkPFXWork bounds
// how much), so uploads beyond the bound wait their turn, each for as long
// as its context lasts, rather than taking every core at once. One decoder
// serves a whole server; it is safe for concurrent use.
type PFXDecoder struct {
	slots chan struct{}                                     // one token per decode under way
	parse func(data []byte, password string) (*Cert, error) // ParsePFX; tests stand in for it
}

// NewPFXDecoder returns a decoder that decodes at most n files at once
// (at least one).
func NewPFXDecoder(n int) *PFXDecoder {
	return &PFXDecoder{slots: make(chan struct{}, max(n, 1)), parse: ParsePFX}
}

// Decode is ParsePFX once fewer than the decoder's bound of other decodes
// are under way. If ctx ends while it waits, it returns an error wrapping
// ctx's.
func (d *PFXDecoder) Decode(ctx context.Context, data []byte, password string) (*Cert, error) {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting to decode the PFX file: %w", context.Cause(ctx))
	}
	defer func() { <-d.slots }()
	return d.parse(data, password)
}
