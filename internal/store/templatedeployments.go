package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway"
)

// Template deployments (migration 0022_template_deployments.sql): one row
// per Microsoft.Resources/deployments resource of a resource group. The ARM
// layer owns the documents' shape; the store keeps them whole.

// TemplateDeployment is a stored template deployment.
type TemplateDeployment struct {
	ResourceGroup string
	Name          string
	// Document is the deployment as ARM answers it (a JSON object).
	Document json.RawMessage
	// Operations are its deployment operations (a JSON array).
	Operations json.RawMessage
	Updated    time.Time
}

// maxTemplateDeploymentBytes bounds a stored document: outputs and
// parameters echo at most a 4 MB request.
const maxTemplateDeploymentBytes = 16 << 20

// templateDeploymentLimits bound a resource group's deployment history:
// records are kept in the platform's database, outside every quota, under
// names the caller chooses, so without a bound a tenant deploying under
// ever new names would fill the server's disk. Azure keeps 800 a group,
// deleting the oldest
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/deployment-history-deletions);
// Slipway also bounds their bytes. A variable for tests.
var templateDeploymentLimits = struct{ count, bytes int }{count: 800, bytes: 64 << 20}

func errTemplateDeploymentNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "Deployment '%s' could not be found.", name)
}

const templateDeploymentSelect = `SELECT resource_group, name, document, operations, updated FROM template_deployments`

func scanTemplateDeployment(r rowScanner) (TemplateDeployment, error) {
	var d TemplateDeployment
	var doc, ops string
	var updated int64
	if err := r.Scan(&d.ResourceGroup, &d.Name, &doc, &ops, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return d, err
		}
		return d, fmt.Errorf("reading template deployment: %w", err)
	}
	d.Document, d.Operations, d.Updated = json.RawMessage(doc), json.RawMessage(ops), fromUnix(updated)
	return d, nil
}

// PutTemplateDeployment creates or replaces a deployment's record; the
// resource group must exist. It reports whether the record is new.
func (s *Store) PutTemplateDeployment(ctx context.Context, d TemplateDeployment) (bool, error) {
	if len(d.Operations) == 0 {
		d.Operations = json.RawMessage("[]")
	}
	if len(d.Document)+len(d.Operations) > maxTemplateDeploymentBytes || !json.Valid(d.Document) || !json.Valid(d.Operations) {
		return false, slipway.Errorf(slipway.EINVALID, "The deployment record must be JSON of at most %d bytes.", maxTemplateDeploymentBytes)
	}
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, d.ResourceGroup)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE template_deployments SET document = ?, operations = ?, updated = ? WHERE resource_group = ? AND name = ?`,
			string(d.Document), string(d.Operations), toUnix(s.now().UTC()), g.Name, d.Name)
		if err != nil {
			return fmt.Errorf("updating template deployment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			created = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO template_deployments (resource_group, name, document, operations, updated) VALUES (?, ?, ?, ?, ?)`,
				g.Name, d.Name, string(d.Document), string(d.Operations), toUnix(s.now().UTC())); err != nil {
				return fmt.Errorf("storing template deployment: %w", err)
			}
		}
		return pruneTemplateDeployments(ctx, tx, g.Name, d.Name)
	})
	return created, err
}

// pruneTemplateDeployments keeps a group's deployment history within
// templateDeploymentLimits, deleting the oldest records first; the record
// just written (kept) always stays. A running deployment whose record goes
// writes it again when it ends.
func pruneTemplateDeployments(ctx context.Context, tx *sql.Tx, rg, kept string) error {
	type row struct {
		name string
		size int
	}
	rows, err := listRows(ctx, tx, "listing template deployments", func(r rowScanner) (row, error) {
		var x row
		err := r.Scan(&x.name, &x.size)
		return x, err
	}, `SELECT name, length(CAST(document AS BLOB)) + length(CAST(operations AS BLOB)) FROM template_deployments
		WHERE resource_group = ? ORDER BY name = ? DESC, updated DESC, rowid DESC`, rg, kept)
	if err != nil {
		return err
	}
	n, size := 0, 0
	for i, x := range rows {
		if i == 0 || n < templateDeploymentLimits.count && size+x.size <= templateDeploymentLimits.bytes {
			n, size = n+1, size+x.size
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM template_deployments WHERE resource_group = ? AND name = ?`, rg, x.name); err != nil {
			return fmt.Errorf("deleting an old template deployment: %w", err)
		}
	}
	return nil
}

// TemplateDeployment returns a deployment's record; ENOTFOUND (naming a
// missing group first) when there is none.
func (s *Store) TemplateDeployment(ctx context.Context, rg, name string) (TemplateDeployment, error) {
	d, err := scanTemplateDeployment(s.read.QueryRowContext(ctx, templateDeploymentSelect+` WHERE resource_group = ? AND name = ?`, rg, name))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return d, gerr
		}
		return d, errTemplateDeploymentNotFound(rg, name)
	}
	return d, err
}

// TemplateDeployments lists a resource group's deployments, newest first.
func (s *Store) TemplateDeployments(ctx context.Context, rg string) ([]TemplateDeployment, error) {
	if _, err := s.ResourceGroup(ctx, rg); err != nil {
		return nil, err
	}
	return listRows(ctx, s.read, "listing template deployments", scanTemplateDeployment,
		templateDeploymentSelect+` WHERE resource_group = ? ORDER BY updated DESC, name`, rg)
}

// DeleteTemplateDeployment deletes a deployment's record (not the
// resources it deployed, as in Azure); ENOTFOUND when there is none.
func (s *Store) DeleteTemplateDeployment(ctx context.Context, rg, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM template_deployments WHERE resource_group = ? AND name = ?`, rg, name)
	if err != nil {
		return fmt.Errorf("deleting template deployment: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, gerr := s.ResourceGroup(ctx, rg); gerr != nil {
			return gerr
		}
		return errTemplateDeploymentNotFound(rg, name)
	}
	return nil
}
