// Package routing holds the admin's routing switches — the rollback
// switch (force every chat call to one provider), the traffic split and
// shadow traffic —
// persisted in the store and applied to the router at once, without a
// restart. PENNY_FORCE_PROVIDER, when set, wins over the stored switch.
package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

const settingKey = "routing.settings"

// Store is where the switches are kept.
type Store interface {
	GetSetting(ctx context.Context, key string) ([]byte, error)
	PutSetting(ctx context.Context, key string, value []byte) error
}

// Router is what the switches act on.
type Router interface {
	SetSettings(router.Settings)
	CurrentSettings() router.Settings
	CheckProvider(provider string) error
	Providers() []string
}

// Service reads and changes the switches.
type Service struct {
	store    Store
	router   Router
	envForce string

	mu     sync.Mutex
	stored router.Settings // as the admin set them, without the environment's

	// Changed, if set, is told after an update is stored (scale-out: the
	// other replicas reload).
	Changed func(ctx context.Context)
}

// Status is the answer of GET /api/admin/routing.
type Status struct {
	router.Settings
	// ForcedByEnvironment is set when PENNY_FORCE_PROVIDER overrides.
	ForcedByEnvironment string   `json:"forcedByEnvironment,omitempty"`
	Providers           []string `json:"providers"`
}

// New loads the stored switches (or the defaults) and applies them.
func New(ctx context.Context, store Store, r Router, defaults router.Settings, envForce string) (*Service, error) {
	s := &Service{store: store, router: r, envForce: envForce, stored: defaults}
	if envForce != "" {
		if err := r.CheckProvider(envForce); err != nil {
			return nil, fmt.Errorf("routing: PENNY_FORCE_PROVIDER: %w", err)
		}
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SettingKey is the store key of the switches (and the notice another
// replica sends when it changes them).
const SettingKey = settingKey

// Reload reads the stored switches and applies them (at start, and when
// another replica changed them). Without stored switches the current ones
// stay.
func (s *Service) Reload(ctx context.Context) error {
	raw, err := s.store.GetSetting(ctx, settingKey)
	if errors.Is(err, storage.ErrNotFound) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.apply(s.stored)
		return nil
	}
	if err != nil {
		return err
	}
	var stored router.Settings
	if err := json.Unmarshal(raw, &stored); err != nil {
		return fmt.Errorf("routing: stored settings unreadable: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored = stored
	s.apply(stored)
	return nil
}

// Stored returns the switches as the admin last set them (the base that a
// change with some fields left out keeps).
func (s *Service) Stored() router.Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stored
}

func (s *Service) apply(st router.Settings) {
	if s.envForce != "" {
		st.ForceProvider = s.envForce
	}
	s.router.SetSettings(st)
}

// Get returns the switches in force.
func (s *Service) Get(ctx context.Context) Status {
	return Status{Settings: s.router.CurrentSettings(), ForcedByEnvironment: s.envForce, Providers: s.router.Providers()}
}

// Update validates, stores and applies new switches.
func (s *Service) Update(ctx context.Context, st router.Settings) (Status, error) {
	if st.CheapPercent < 0 || st.CheapPercent > 100 {
		return Status{}, apperr.Invalid("cheapPercent must be between 0 and 100")
	}
	if st.ShadowPercent < 0 || st.ShadowPercent > 100 {
		return Status{}, apperr.Invalid("shadowPercent must be between 0 and 100")
	}
	if st.ForceProvider != "" {
		if err := s.router.CheckProvider(st.ForceProvider); err != nil {
			return Status{}, apperr.Invalid("forceProvider %q is not a configured provider (configured: %v)", st.ForceProvider, s.router.Providers())
		}
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return Status{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.PutSetting(ctx, settingKey, raw); err != nil {
		return Status{}, err
	}
	s.stored = st
	s.apply(st)
	if s.Changed != nil {
		s.Changed(ctx)
	}
	return s.Get(ctx), nil
}
