package exact_test

import (
	"testing"

	"github.com/penny-dev/penny/vector"
	"github.com/penny-dev/penny/vector/exact"
	"github.com/penny-dev/penny/vector/vectortest"
)

func TestConformance(t *testing.T) {
	vectortest.Run(t, func(t *testing.T, dim int) vector.Index { return exact.New(dim) })
}
