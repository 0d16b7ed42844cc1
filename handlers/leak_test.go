package handlers

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a server, worker
// or scan not stopped by its owner. Goroutines already running before the first test
// are left alone: they are process-wide by construction (the go-cache janitor of the
// feishu package's token store, which the SDK's process-global token cache forces to
// be one per process and which lives as long as the process).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent(),
		// Every larkws.NewClient starts a cache janitor that nothing stops in v3.12.0.
		goleak.IgnoreTopFunction("github.com/larksuite/oapi-sdk-go/v3/cache.(*cron).start"))
}
