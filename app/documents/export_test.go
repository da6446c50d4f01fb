package documents

import "time"

// SetDiskFullWait shortens the wait after a full disk for a test.
func SetDiskFullWait(t interface{ Cleanup(func()) }, d time.Duration) {
	old := diskFullWait
	diskFullWait = d
	t.Cleanup(func() { diskFullWait = old })
}
