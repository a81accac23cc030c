package certs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// RenewalDue reports whether c should be renewed at now: when less than a
// third of its validity period remains, as Let's Encrypt recommends
// ("renew certificates automatically when they have a third of their total
// lifetime left", https://letsencrypt.org/docs/integration-guide/). For a
// 90-day certificate that is 30 days before expiry.
func RenewalDue(c *Cert, now time.Time) bool {
	lifetime := c.NotAfter.Sub(c.NotBefore)
	return c.NotAfter.Sub(now) < lifetime/3
}

// Managed is a managed certificate as the store keeps it.
type Managed struct {
	ID      string   // the store's key, e.g. the certificate resource's ID
	Domains []string // the names it was issued for
	Cert    *Cert    // the certificate now serving
}

// ManagedStore is what the [Renewer] needs of the store.
type ManagedStore interface {
	// ManagedCertificates lists the managed certificates.
	ManagedCertificates(ctx context.Context) ([]Managed, error)
	// SaveRenewed replaces the certificate of id; the integrator then
	// rebuilds the SNI table.
	SaveRenewed(ctx context.Context, id string, c *Cert) error
	// RecordRenewalFailure keeps why renewing id failed, for the user; the
	// previous certificate stays in place.
	RecordRenewalFailure(ctx context.Context, id string, reason error) error
}

// Obtainer issues certificates; *Issuer is one.
type Obtainer interface {
	Obtain(ctx context.Context, domains []string) (*Cert, error)
}

var _ Obtainer = (*Issuer)(nil)

// Renewer renews managed certificates that are due. A failure leaves the
// previous certificate serving; the certificate is tried again after a
// backoff that doubles with each consecutive failure, from RetryMin up to
// RetryMax.
type Renewer struct {
	Store    ManagedStore
	Issuer   Obtainer
	Logger   *slog.Logger     // nil discards
	Now      func() time.Time // nil is time.Now
	RetryMin time.Duration    // zero is one minute
	RetryMax time.Duration    // zero is six hours

	mu       sync.Mutex
	failures map[string]failure
}

type failure struct {
	count int
	next  time.Time
}

// RenewDue makes one pass: each due certificate not waiting out a backoff
// gets one attempt. It returns the failures joined (nil when none).
func (r *Renewer) RenewDue(ctx context.Context) error {
	list, err := r.Store.ManagedCertificates(ctx)
	if err != nil {
		return fmt.Errorf("list managed certificates: %w", err)
	}
	var errs []error
	for _, m := range list {
		if ctx.Err() != nil {
			return errors.Join(append(errs, ctx.Err())...)
		}
		now := r.now()
		if m.Cert != nil && !RenewalDue(m.Cert, now) {
			continue
		}
		if !r.mayTry(m.ID, now) {
			continue
		}
		if err := r.renew(ctx, m); err != nil {
			errs = append(errs, fmt.Errorf("renew %s: %w", m.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Renewer) renew(ctx context.Context, m Managed) error {
	c, err := r.Issuer.Obtain(ctx, m.Domains)
	if err == nil {
		err = r.Store.SaveRenewed(ctx, m.ID, c)
	}
	if err != nil {
		r.fail(m.ID) // the caller logs err; the store records it
		if rerr := r.Store.RecordRenewalFailure(ctx, m.ID, err); rerr != nil {
			return errors.Join(err, fmt.Errorf("record failure: %w", rerr))
		}
		return err
	}
	r.mu.Lock()
	delete(r.failures, m.ID)
	r.mu.Unlock()
	r.log().Info("certificate renewed", "id", m.ID, "thumbprint", c.Thumbprint, "not_after", c.NotAfter)
	return nil
}

func (r *Renewer) mayTry(id string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.failures[id]
	return !ok || !now.Before(f.next)
}

// fail records a failure and schedules the next attempt.
func (r *Renewer) fail(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures == nil {
		r.failures = map[string]failure{}
	}
	f := r.failures[id]
	f.count++
	lo, hi := r.RetryMin, r.RetryMax
	if lo <= 0 {
		lo = time.Minute
	}
	if hi <= 0 {
		hi = 6 * time.Hour
	}
	wait := lo
	for i := 1; i < f.count && wait < hi; i++ {
		wait *= 2
	}
	f.next = r.now().Add(min(wait, hi))
	r.failures[id] = f
}

// Run calls RenewDue every interval until ctx ends, returning ctx's error.
// Failures are recorded in the store and logged, not returned.
func (r *Renewer) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := r.RenewDue(ctx); err != nil && ctx.Err() == nil {
			r.log().Warn("certificate renewal pass had failures", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (r *Renewer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Renewer) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}
