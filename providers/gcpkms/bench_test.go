package gcpkms_test

import (
	"context"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
)

// BenchmarkPairingCriticalPath runs the check with every Cloud KMS call
// slowed by 50 ms. Its critical path is two calls, Encrypt then Decrypt:
// the key, the policies and the vendor's permissions are read at the
// same time. The metric x-critical-path is a run's time over those
// 100 ms; the target is at most 1.2.
func BenchmarkPairingCriticalPath(b *testing.B) {
	const delay = 50 * time.Millisecond
	e := newEnv(b)
	tg := e.goodKey("rek")
	e.Inject(fakecloud.Fault{Service: "cloudkms", Delay: delay})
	p := gcpkms.NewPairing(e.cfg, gcpkms.WithWait(0))
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if checks := p.Run(context.Background(), tg, nil); !flows.Passed(checks) {
			b.Fatalf("did not pass:%s", dump(checks))
		}
	}
	b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(2*delay), "x-critical-path")
}
