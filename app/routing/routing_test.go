package routing_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/apperr"
	"github.com/penny-dev/penny/app/routing"
	"github.com/penny-dev/penny/providers/router"
	"github.com/penny-dev/penny/storage"
)

type memStore struct {
	settings map[string][]byte
	putErr   error
}

func (m *memStore) GetSetting(_ context.Context, key string) ([]byte, error) {
	v, ok := m.settings[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return v, nil
}

func (m *memStore) PutSetting(_ context.Context, key string, value []byte) error {
	if m.putErr != nil {
		return m.putErr
	}
	m.settings[key] = value
	return nil
}

type fakeRouter struct{ current router.Settings }

func (f *fakeRouter) SetSettings(s router.Settings)    { f.current = s }
func (f *fakeRouter) CurrentSettings() router.Settings { return f.current }
func (f *fakeRouter) Providers() []string              { return []string{"cloudflare", "openai"} }
func (f *fakeRouter) CheckProvider(p string) error {
	if !slices.Contains(f.Providers(), p) {
		return fmt.Errorf("unknown provider %q", p)
	}
	return nil
}

func TestSwitchesPersistAndApply(t *testing.T) {
	ctx := context.Background()
	store := &memStore{settings: map[string][]byte{}}
	r := &fakeRouter{}
	s, err := routing.New(ctx, store, r, router.Settings{CheapPercent: 100}, "")
	require.NoError(t, err)
	require.Equal(t, router.Settings{CheapPercent: 100}, r.current, "nothing stored: the defaults apply")

	changed := 0
	s.Changed = func(context.Context) { changed++ }
	st, err := s.Update(ctx, router.Settings{ForceProvider: "openai", CheapPercent: 50, ShadowPercent: 10})
	require.NoError(t, err)
	require.Equal(t, "openai", st.ForceProvider)
	require.Equal(t, []string{"cloudflare", "openai"}, st.Providers)
	require.Equal(t, 1, changed, "the other replicas are told")

	// A restart (or another replica) reads them back.
	r2 := &fakeRouter{}
	s2, err := routing.New(ctx, store, r2, router.Settings{CheapPercent: 100}, "")
	require.NoError(t, err)
	require.Equal(t, router.Settings{ForceProvider: "openai", CheapPercent: 50, ShadowPercent: 10}, r2.current)
	require.Equal(t, r2.current, s2.Stored())
}

func TestBadSwitchesChangeNothing(t *testing.T) {
	ctx := context.Background()
	store := &memStore{settings: map[string][]byte{}}
	r := &fakeRouter{}
	s, err := routing.New(ctx, store, r, router.Settings{CheapPercent: 100}, "")
	require.NoError(t, err)
	for _, bad := range []router.Settings{{CheapPercent: 101}, {CheapPercent: -1}, {ShadowPercent: 200}, {ForceProvider: "nope"}} {
		_, err := s.Update(ctx, bad)
		e, ok := apperr.As(err)
		require.True(t, ok, "%+v: %v", bad, err)
		require.Equal(t, "invalid_request", e.Code)
	}
	store.putErr = errors.New("disk full")
	_, err = s.Update(ctx, router.Settings{ForceProvider: "openai"})
	require.ErrorContains(t, err, "disk full")
	require.Equal(t, router.Settings{CheapPercent: 100}, r.current, "a switch that was not stored is not applied")
	require.Empty(t, store.settings)
}

func TestEnvironmentForceWins(t *testing.T) {
	ctx := context.Background()
	store := &memStore{settings: map[string][]byte{}}
	_, err := routing.New(ctx, store, &fakeRouter{}, router.Settings{}, "nope")
	require.ErrorContains(t, err, "PENNY_FORCE_PROVIDER")

	r := &fakeRouter{}
	s, err := routing.New(ctx, store, r, router.Settings{}, "cloudflare")
	require.NoError(t, err)
	st, err := s.Update(ctx, router.Settings{ForceProvider: "openai"})
	require.NoError(t, err)
	require.Equal(t, "cloudflare", st.ForceProvider, "the environment wins")
	require.Equal(t, "cloudflare", st.ForcedByEnvironment)
	require.Equal(t, "openai", s.Stored().ForceProvider, "the admin's choice is kept for when the environment lets go")
}

func TestUnreadableStoredSwitches(t *testing.T) {
	store := &memStore{settings: map[string][]byte{"routing.settings": []byte("{not json")}}
	_, err := routing.New(context.Background(), store, &fakeRouter{}, router.Settings{}, "")
	require.ErrorContains(t, err, "unreadable")
}
