package store

// App Service authentication's token store, kept (easyauth keeps it in
// memory and writes it through here): each session's tokens sealed with
// the master key, so that the access and refresh tokens of signed-in
// users are never on disk in clear and a row copied to another site or
// session does not open.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

func authTokensAAD(site, session string) string {
	return "easyauth tokens\x00" + site + "\x00" + session
}

// SaveAuthTokens keeps (or replaces) a session's tokens until expires,
// and drops the rows that expired.
func (s *Store) SaveAuthTokens(ctx context.Context, site, session string, tokens []byte, added, expires time.Time) error {
	site = strings.ToLower(site)
	sealed, err := s.SealBytes(tokens, authTokensAAD(site, session))
	if err != nil {
		return fmt.Errorf("sealing a session's tokens: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM easyauth_tokens WHERE expires <= ?`, toUnix(s.now())); err != nil {
			return fmt.Errorf("dropping expired tokens: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO easyauth_tokens (site, session, tokens, added, expires) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (site, session) DO UPDATE SET tokens = excluded.tokens, expires = excluded.expires`,
			site, session, sealed, toUnix(added), toUnix(expires))
		if err != nil {
			return fmt.Errorf("keeping a session's tokens: %w", err)
		}
		return nil
	})
}

// DeleteAuthTokens drops a session's tokens.
func (s *Store) DeleteAuthTokens(ctx context.Context, site, session string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM easyauth_tokens WHERE site = ? AND session = ?`, strings.ToLower(site), session); err != nil {
		return fmt.Errorf("dropping a session's tokens: %w", err)
	}
	return nil
}

// dropAuthTokensTx drops the kept tokens of the sites (and slots) that
// sites, a condition on the sites table, selects, before they are
// deleted: a session of a deleted site never opens again (easyauth seals
// with the site's creation), so its tokens would only wait for their
// expiry.
func dropAuthTokensTx(ctx context.Context, tx *sql.Tx, sites string, args ...any) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM easyauth_tokens WHERE site IN (SELECT lower(name) FROM sites WHERE `+sites+`)`, args...); err != nil {
		return fmt.Errorf("dropping the deleted sites' kept tokens: %w", err)
	}
	return nil
}

// LoadAuthTokens calls fn with every kept session's tokens that expire
// after now, newest last. A row that does not open (another master key,
// or moved) is dropped.
func (s *Store) LoadAuthTokens(ctx context.Context, now time.Time, fn func(site, session string, tokens []byte, added, expires time.Time)) error {
	type row struct {
		site, session  string
		sealed         []byte
		added, expires int64
	}
	var rows []row
	err := eachRow(ctx, s.read, "reading the token store", func(r rowScanner) error {
		var x row
		if err := r.Scan(&x.site, &x.session, &x.sealed, &x.added, &x.expires); err != nil {
			return err
		}
		rows = append(rows, x)
		return nil
	}, `SELECT site, session, tokens, added, expires FROM easyauth_tokens WHERE expires > ? ORDER BY added`, toUnix(now))
	if err != nil {
		return err
	}
	for _, x := range rows {
		plain, err := s.OpenBytes(x.sealed, authTokensAAD(x.site, x.session))
		if err != nil {
			s.logger.Warn("dropping a kept session's tokens that do not open", "site", x.site, "err", err)
			if err := s.DeleteAuthTokens(ctx, x.site, x.session); err != nil {
				return err
			}
			continue
		}
		fn(x.site, x.session, plain, fromUnix(x.added), fromUnix(x.expires))
	}
	return nil
}
