package auth

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trellis-mesh/trellis/internal/apiserver/routes"
	"github.com/trellis-mesh/trellis/internal/auth/audit"
	"github.com/trellis-mesh/trellis/internal/auth/sigv4"
)

// benchAuditor is the server's audit adapter in short: one CloudTrail
// record per event, durable before Append returns.
type benchAuditor struct{ log *audit.Log }

func (a benchAuditor) Append(ctx context.Context, e *Event) error {
	return a.log.Append(ctx, &audit.Record{
		EventTime: e.Time.Format("2006-01-02T15:04:05Z"), EventSource: e.Op.EventSource, EventName: e.Op.Name,
		AWSRegion: e.Region, SourceIPAddress: e.SourceIP, UserAgent: e.UserAgent,
		UserIdentity:      audit.UserIdentity{Type: "IAMUser", ARN: e.Identity.PrincipalARN, AccessKeyID: e.Identity.AccessKeyID},
		RequestParameters: e.RequestParameters, RequestID: e.RequestID, ReadOnly: e.Op.ReadOnly,
		Resources: []audit.Resource{{ARN: e.Op.Resource}},
	})
}

// BenchmarkMiddlewareAudit is the server-side cost per DescribeMesh of
// authentication and of the durable audit record, without the network or
// the SDK client: 32 concurrent callers (so the audit log group-commits)
// through the middleware to a handler that answers 200. It reports the
// process's CPU per request and the audit log's records per sync.
//
//	go test -run '^$' -bench MiddlewareAudit -benchtime 20000x ./internal/auth/
func BenchmarkMiddlewareAudit(b *testing.B) {
	keys, _ := newTestKeys(&testing.T{})
	ctx := context.Background()
	keys.CreatePrincipal(ctx, "arn:aws:iam::111122223333:user/bench")
	c, err := keys.CreateKey(ctx, "arn:aws:iam::111122223333:user/bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mirror := NewMirror(keys, nil, quiet)
	mctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { mirror.Run(mctx) })
	defer func() { stop(); wg.Wait() }()
	if err := mirror.WaitLoaded(ctx); err != nil {
		b.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	req := httptest.NewRequest(http.MethodGet, "/v20190125/meshes/shop", nil)
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, sigv4.EmptyPayloadHash, "appmesh", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	for _, v := range []string{"off", "auth", "auth+audit"} {
		b.Run(v, func(b *testing.B) {
			opts := Options{Keys: mirror, Verifier: &sigv4.Verifier{Region: "us-east-1"}, Logger: quiet,
				Classifier: Classifier{Region: "us-east-1", AccountID: "111122223333", Routes: routes.NewTable()}}
			var l *audit.Log
			var reg *prometheus.Registry
			if v == "auth+audit" {
				reg = prometheus.NewRegistry()
				if l, err = audit.Open(audit.Options{Dir: b.TempDir(), Logger: quiet, Registerer: reg}); err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				opts.Audit = benchAuditor{l}
			}
			h := http.Handler(ok)
			if v != "off" {
				h = NewMiddleware(opts).Wrap(ok)
			}
			b.SetParallelism(16)
			cpu0 := benchCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req.Clone(ctx))
					if w.Code != http.StatusOK {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((benchCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			if reg != nil {
				reportRecordsPerSync(b, reg)
			}
		})
	}
}

// reportRecordsPerSync reports the mean of the audit log's group commit
// histogram.
func reportRecordsPerSync(b *testing.B, reg *prometheus.Registry) {
	fams, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "trellis_audit_group_commit_records" {
			if h := f.GetMetric()[0].GetHistogram(); h.GetSampleCount() > 0 {
				b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "records/sync")
			}
		}
	}
}

// benchCPU is the user+system CPU time this process has used.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
