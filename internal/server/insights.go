package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/insights"
	"github.com/slipway-dev/slipway/internal/rbac"
	"github.com/slipway-dev/slipway/internal/store"
)

// insightsComponents finds components in the control plane's store.
type insightsComponents struct {
	st  *store.Store
	sub string
}

var _ insights.Components = insightsComponents{}

func (c insightsComponents) of(ic slipway.InsightsComponent, err error) (insights.Component, error) {
	if err != nil {
		return insights.Component{}, err
	}
	return insights.Component{
		InstrumentationKey: ic.InstrumentationKey, AppID: ic.AppID, Name: ic.Name,
		ResourceID: fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Insights/components/%s", c.sub, ic.ResourceGroup, ic.Name),
		Retention:  time.Duration(ic.RetentionInDays) * 24 * time.Hour, LocalAuthDisabled: ic.DisableLocalAuth,
	}, nil
}

func (c insightsComponents) ComponentByKey(ctx context.Context, key string) (insights.Component, error) {
	return c.of(c.st.InsightsComponentByKey(ctx, key))
}

func (c insightsComponents) ComponentByAppID(ctx context.Context, appID string) (insights.Component, error) {
	return c.of(c.st.InsightsComponentByAppID(ctx, appID))
}

// insightsBearer admits Microsoft Entra tokens to Application Insights:
// the token service verifies them, role assignments authorize them.
type insightsBearer struct {
	id    *identity.Service
	authz *rbac.Authorizer
}

var _ insights.BearerAuth = insightsBearer{}

func (b insightsBearer) Authenticate(ctx context.Context, token, audience string) (string, error) {
	c, err := b.id.Verify(ctx, token, []string{audience})
	if err != nil {
		return "", err
	}
	return c.ObjectID, nil
}

func (b insightsBearer) Authorize(ctx context.Context, oid, action, scope string, data bool) error {
	err := b.authz.Check(ctx, oid, action, scope, data)
	var denied *rbac.AuthorizationFailed
	if errors.As(err, &denied) {
		return slipway.Errorf(slipway.EFORBIDDEN, "%v", err)
	}
	return err
}
