package providers_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/penny-dev/penny/providers"
)

func TestKindForStatus(t *testing.T) {
	for status, kind := range map[int]providers.Kind{
		400: providers.KindBadRequest, 401: providers.KindAuth, 402: providers.KindQuota, 403: providers.KindAuth,
		404: providers.KindNotFound, 408: providers.KindTimeout, 413: providers.KindBadRequest, 429: providers.KindRateLimited,
		500: providers.KindUnavailable, 502: providers.KindUnavailable, 503: providers.KindUnavailable,
		504: providers.KindTimeout, 529: providers.KindUnavailable,
	} {
		require.Equal(t, kind, providers.KindForStatus(status), status)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	require.Zero(t, providers.RetryAfter(h, now))
	h.Set("Retry-After", "7")
	require.Equal(t, 7*time.Second, providers.RetryAfter(h, now))
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	require.Equal(t, 90*time.Second, providers.RetryAfter(h, now))
	h.Set("Retry-After-Ms", "250")
	require.Equal(t, 250*time.Millisecond, providers.RetryAfter(h, now))
	h = http.Header{"Retry-After": {"soon"}}
	require.Zero(t, providers.RetryAfter(h, now))
	require.Zero(t, providers.RetryAfter(nil, now))
}

func TestTransportErrorAndKindOf(t *testing.T) {
	err := providers.TransportError("openai", "m", context.DeadlineExceeded)
	require.Equal(t, providers.KindTimeout, providers.KindOf(err))
	err = providers.TransportError("openai", "m", errors.New("connection refused"))
	require.Equal(t, providers.KindUnavailable, providers.KindOf(err))
	require.ErrorIs(t, providers.TransportError("x", "m", context.Canceled), context.Canceled)
	require.Nil(t, providers.TransportError("x", "m", nil))
	require.Equal(t, providers.Kind(""), providers.KindOf(nil))
	require.Equal(t, 2, providers.EstimateTokens("hello"))
}

func TestUntilMidnight(t *testing.T) {
	require.Equal(t, 90*time.Minute, providers.UntilNextUTCMidnight(time.Date(2026, 11, 25, 22, 30, 0, 0, time.UTC)))
}
