package sidecar

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// fakeEnv selects fake-Envoy mode: the test binary re-executed as the
// "envoy" the supervisor starts.
const fakeEnv = "TRELLIS_FAKE_ENVOY"

// noRaceExitSleep stops a race-enabled fake from sleeping a second when it
// exits 0 (the race runtime's default), which would read as ignoring
// SIGTERM.
const noRaceExitSleep = "GORACE=atexit_sleep_ms=0"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeEnv); mode != "" {
		os.Exit(fakeEnvoy(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeEnvoy behaves as mode says:
//
//	exit:<duration>:<code>   log a line on each stream, run, exit with code
//	flaky:<file>:<n>         the first n runs exit 1 after 50 ms, later runs serve
//	serve                    run until SIGTERM, then exit 0
//	stubborn                 ignore SIGTERM
//	admin                    serve a fake admin API on the bootstrap's admin port
//
// fakeAccessLog is what fake Envoy writes to stdout: JSON access-log lines
// with escapes, a tab and non-ASCII, and a last line without a newline.
const fakeAccessLog = `{"status":200,"path":"/a?q=\"x\"","ua":"tab\there","name":"é"}` + "\n" +
	`{"status":503,"flags":"UH"}` + "\n" + `partial`

func fakeEnvoy(mode string, args []string) int {
	fmt.Fprintln(os.Stderr, "[2026-01-02 15:04:05.000][42][warning][upstream] [source/x.cc:1] fake envoy "+strings.Join(args, " "))
	fmt.Fprint(os.Stdout, fakeAccessLog)
	kind, rest, _ := strings.Cut(mode, ":")
	switch kind {
	case "exit":
		d, code, _ := strings.Cut(rest, ":")
		wait, _ := time.ParseDuration(d)
		time.Sleep(wait)
		n, _ := strconv.Atoi(code)
		return n
	case "flaky":
		file, n, _ := strings.Cut(rest, ":")
		if bumpCounter(file) <= atoi(n) {
			time.Sleep(50 * time.Millisecond)
			return 1
		}
		return untilSignal()
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fmt.Fprintln(os.Stdout, "stubborn: ignoring SIGTERM")
		time.Sleep(time.Hour)
	case "admin":
		return fakeAdmin(args)
	}
	return untilSignal()
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func bumpCounter(file string) int {
	b, _ := os.ReadFile(file)
	n := atoi(strings.TrimSpace(string(b))) + 1
	os.WriteFile(file, []byte(strconv.Itoa(n)), 0o600)
	return n
}

func untilSignal() int {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	<-ch
	return 0
}

// fakeAdmin reads the admin port from the bootstrap (-c) and answers like
// Envoy: LIVE, connected, one open connection until 300 ms after
// /drain_listeners?graceful.
func fakeAdmin(args []string) int {
	i := slices.Index(args, "-c")
	b, err := os.ReadFile(args[i+1])
	if err != nil {
		return 3
	}
	var bs struct {
		Admin struct {
			Address struct {
				SocketAddress struct {
					Address   string `json:"address"`
					PortValue int    `json:"port_value"`
				} `json:"socket_address"`
			} `json:"address"`
		} `json:"admin"`
	}
	if err := yaml.Unmarshal(b, &bs); err != nil {
		return 4
	}
	sa := bs.Admin.Address.SocketAddress
	var drainedAt atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "LIVE") })
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		cx := 1
		if at := drainedAt.Load(); at != 0 && time.Since(time.Unix(0, at)) > 300*time.Millisecond {
			cx = 0
		}
		fmt.Fprintf(w, "control_plane.connected_state: 1\nlistener.admin.downstream_cx_active: 1\n"+
			"listener.127.0.0.1_9080.downstream_cx_active: %d\nlistener.127.0.0.1_9080.worker_0.downstream_cx_active: %d\n", cx, cx)
	})
	mux.HandleFunc("POST /drain_listeners", func(w http.ResponseWriter, r *http.Request) {
		drainedAt.Store(time.Now().UnixNano())
		fmt.Fprintf(os.Stderr, "[2026-01-02 15:04:05.000][42][info][admin] [source/a.cc:1] drain_listeners %s\n", r.URL.RawQuery)
	})
	srv := &http.Server{Addr: fmt.Sprintf("%s:%d", sa.Address, sa.PortValue), Handler: mux}
	go srv.ListenAndServe()
	return untilSignal()
}

// recorder is a slog handler keeping every record for assertions.
type recorder struct {
	mu    *sync.Mutex
	recs  *[]slog.Record
	attrs []slog.Attr
}

func newRecorder() *recorder { return &recorder{mu: &sync.Mutex{}, recs: &[]slog.Record{}} }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(r.attrs...)
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.recs = append(*r.recs, rec)
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{mu: r.mu, recs: r.recs, attrs: append(slices.Clone(r.attrs), as...)}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// find returns the records whose message contains substr.
func (r *recorder) find(substr string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range *r.recs {
		if strings.Contains(rec.Message, substr) {
			out = append(out, rec)
		}
	}
	return out
}

func attr(rec slog.Record, key string) string {
	var v string
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// testBinary is this test executable, the fake envoy.
func testBinary(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dump renders the records for a failure message.
func (r *recorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, rec := range *r.recs {
		fmt.Fprintf(&b, "%s %s", rec.Level, rec.Message)
		rec.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		b.WriteByte('\n')
	}
	return b.String()
}
