package budgets_test

import (
	"testing"

	"github.com/penny-dev/penny/app/budgets"
	"github.com/penny-dev/penny/app/budgets/tallytest"
)

func TestMemTally(t *testing.T) {
	tallytest.Run(t, func(t *testing.T) budgets.Tally { return budgets.NewMemTally() })
}
