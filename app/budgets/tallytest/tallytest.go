// Package tallytest is the conformance suite of budgets.Tally: the
// in-memory tally and the Redis one behave the same.
package tallytest

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/app/budgets"
)

// Run runs the suite; open returns an empty tally.
func Run(t *testing.T, open func(t *testing.T) budgets.Tally) {
	t.Run("SeedReserveSettle", func(t *testing.T) {
		x, ctx := open(t), context.Background()
		known, err := x.Known(ctx, "2026-11", "global")
		require.NoError(t, err)
		require.False(t, known)
		require.NoError(t, x.Seed(ctx, "2026-11", "global", 900))
		require.NoError(t, x.Seed(ctx, "2026-11", "global", 5), "a second seed does not overwrite")
		known, _ = x.Known(ctx, "2026-11", "global")
		require.True(t, known)
		spent, err := x.Spent(ctx, "2026-11", "global")
		require.NoError(t, err)
		require.EqualValues(t, 900, spent)

		limits := map[string]int64{"global": 1000, "user:u1": 500}
		require.NoError(t, x.Seed(ctx, "2026-11", "user:u1", 0))
		blocked, err := x.Reserve(ctx, "2026-11", limits, 50)
		require.NoError(t, err)
		require.Empty(t, blocked)
		blocked, err = x.Reserve(ctx, "2026-11", limits, 50)
		require.NoError(t, err)
		require.Empty(t, blocked, "950 is still under 1000: admitted (a call may overshoot by one reservation)")
		blocked, err = x.Reserve(ctx, "2026-11", limits, 50)
		require.NoError(t, err)
		require.Equal(t, "global", blocked, "900 spent + 100 reserved reaches 1000")
		u1, _ := x.Spent(ctx, "2026-11", "user:u1")
		require.Zero(t, u1)

		got, err := x.Settle(ctx, "2026-11", []string{"global", "user:u1"}, 50, 30)
		require.NoError(t, err)
		require.Equal(t, map[string][2]int64{"global": {900, 930}, "user:u1": {0, 30}}, got)
		blocked, err = x.Reserve(ctx, "2026-11", limits, 50)
		require.NoError(t, err)
		require.Empty(t, blocked, "one reservation became 30 of spend: 930 + 50 < 1000")

		other, _ := x.Spent(ctx, "2026-12", "global")
		require.Zero(t, other, "months are apart")
	})
	t.Run("FirstAlertOnce", func(t *testing.T) {
		x, ctx := open(t), context.Background()
		first, err := x.FirstAlert(ctx, "2026-11", "global", 80)
		require.NoError(t, err)
		require.True(t, first)
		again, _ := x.FirstAlert(ctx, "2026-11", "global", 80)
		require.False(t, again)
		other, _ := x.FirstAlert(ctx, "2026-11", "global", 100)
		require.True(t, other)
	})
	t.Run("ConcurrentReservesOvershootByAtMostOne", func(t *testing.T) {
		x, ctx := open(t), context.Background()
		require.NoError(t, x.Seed(ctx, "2026-11", "global", 0))
		limits := map[string]int64{"global": 1000}
		var mu sync.Mutex
		admitted := 0
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20 {
					blocked, err := x.Reserve(ctx, "2026-11", limits, 100)
					require.NoError(t, err)
					if blocked == "" {
						mu.Lock()
						admitted++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		require.Equal(t, 10, admitted, "reservations of 100 against 1000: exactly ten admitted")
	})
}
