package registryapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultOperationLog is how many operations ListOperations remembers.
const DefaultOperationLog = 1000

// operation is what an operation id stands for. Creating, updating and
// registering take effect at once, so ids are self-describing (base64
// JSON): GetOperation decodes any id it ever issued and reports SUCCESS,
// also after a restart.
type operation struct {
	Type    string            `json:"t"`
	Targets map[string]string `json:"g"`
	At      int64             `json:"a"`
	Seq     uint64            `json:"s,omitempty"`
}

// opLog is the API's memory of its last operations, for ListOperations.
// The API owns it; it is bounded by cap (the oldest entry is dropped
// first) and never invalidated; it starts empty with every server process
// and is per replica.
type opLog struct {
	mu      sync.Mutex
	cap     int
	next    uint64
	ops     []opEntry // oldest first
	size    prometheus.Gauge
	evicted prometheus.Counter
}

type opEntry struct {
	id string
	op operation
}

func newOpLog(capacity int) *opLog {
	if capacity <= 0 {
		capacity = DefaultOperationLog
	}
	return &opLog{cap: capacity,
		size: prometheus.NewGauge(prometheus.GaugeOpts{Name: "trellis_cloudmap_operations_retained",
			Help: "Cloud Map operations remembered for ListOperations (bounded by the operation log size)."}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{Name: "trellis_cloudmap_operations_evicted_total",
			Help: "Cloud Map operations dropped from the ListOperations log because it was full."}),
	}
}

// record remembers an operation that has just succeeded and returns its id.
func (l *opLog) record(typ string, targets map[string]string, now time.Time) *string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	op := operation{Type: typ, Targets: targets, At: now.UnixMilli(), Seq: l.next}
	b, _ := json.Marshal(op)
	id := base64.RawURLEncoding.EncodeToString(b)
	if len(l.ops) == l.cap {
		l.ops = slices.Delete(l.ops, 0, 1)
		l.evicted.Inc()
	}
	l.ops = append(l.ops, opEntry{id, op})
	l.size.Set(float64(len(l.ops)))
	return &id
}

// after returns the operations with a sequence number above seq, oldest
// first.
func (l *opLog) after(seq uint64) []opEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := slices.BinarySearchFunc(l.ops, seq+1, func(e opEntry, s uint64) int {
		return compareUint(e.op.Seq, s)
	})
	return slices.Clone(l.ops[i:])
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (a *API) newOperation(typ string, targets map[string]string) *string {
	return a.opLog.record(typ, targets, a.now())
}

func (a *API) getOperation(_ context.Context, body []byte) (any, error) {
	var in struct{ OperationId string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	var op operation
	raw, err := base64.RawURLEncoding.DecodeString(in.OperationId)
	if err != nil || json.Unmarshal(raw, &op) != nil || op.Type == "" {
		return nil, &apiError{code: "OperationNotFound", status: http.StatusBadRequest, msg: "no operation " + in.OperationId}
	}
	return map[string]any{"Operation": a.operationJSON(in.OperationId, op)}, nil
}

func (a *API) operationJSON(id string, op operation) map[string]any {
	at := toEpoch(time.UnixMilli(op.At))
	return map[string]any{"Id": id, "Type": op.Type, "Status": "SUCCESS", "Targets": op.Targets,
		"CreateDate": at, "UpdateDate": at, "OwnerAccount": a.account}
}

func (a *API) listOperations(_ context.Context, body []byte) (any, error) {
	var in struct {
		Filters    []filter
		MaxResults *int
		NextToken  string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults)
	if err != nil {
		return nil, err
	}
	match, err := operationFilter(in.Filters)
	if err != nil {
		return nil, err
	}
	var from uint64
	if in.NextToken != "" {
		if from, err = strconv.ParseUint(in.NextToken, 10, 64); err != nil {
			return nil, invalid("NextToken %q was not issued by ListOperations", in.NextToken)
		}
	}
	out := []map[string]any{}
	resp := map[string]any{}
	for _, e := range a.opLog.after(from) {
		if len(out) == limit {
			resp["NextToken"] = strconv.FormatUint(e.op.Seq-1, 10)
			break
		}
		if match(e.op) {
			out = append(out, map[string]any{"Id": e.id, "Status": "SUCCESS"})
		}
	}
	resp["Operations"] = out
	return resp, nil
}

// maxResults validates a MaxResults (1..100, default 100).
func maxResults(v *int) (int, error) {
	if v == nil {
		return 100, nil
	}
	if *v < 1 || *v > 100 {
		return 0, invalid("MaxResults must be between 1 and 100, got %d", *v)
	}
	return *v, nil
}

// operationFilter turns ListOperations filters into a predicate, with
// Cloud Map's rules: NAMESPACE_ID and SERVICE_ID take EQ and one value;
// STATUS and TYPE take EQ (one value) or IN; UPDATE_DATE takes BETWEEN
// and two Unix times, start first. Every filter must hold.
func operationFilter(filters []filter) (func(operation) bool, error) {
	var preds []func(operation) bool
	for _, f := range filters {
		cond := f.Condition
		if cond == "" {
			cond = "EQ"
		}
		switch f.Name {
		case "NAMESPACE_ID", "SERVICE_ID", "STATUS", "TYPE":
			if cond != "EQ" && (cond != "IN" || f.Name == "NAMESPACE_ID" || f.Name == "SERVICE_ID") {
				return nil, invalid("filter %s does not support condition %s", f.Name, cond)
			}
			if len(f.Values) == 0 || (cond == "EQ" && len(f.Values) != 1) {
				return nil, invalid("filter %s with condition %s needs %s", f.Name, cond, map[bool]string{true: "exactly one value", false: "one or more values"}[cond == "EQ"])
			}
			preds = append(preds, fieldIn(f.Name, f.Values))
		case "UPDATE_DATE":
			if cond != "BETWEEN" || len(f.Values) != 2 {
				return nil, invalid("filter UPDATE_DATE needs condition BETWEEN and two values (start, end)")
			}
			from, err1 := strconv.ParseFloat(f.Values[0], 64)
			to, err2 := strconv.ParseFloat(f.Values[1], 64)
			if err1 != nil || err2 != nil {
				return nil, invalid("filter UPDATE_DATE values must be Unix times in seconds, got %q", f.Values)
			}
			preds = append(preds, func(op operation) bool {
				at := float64(op.At) / 1000
				return at >= from && at <= to
			})
		default:
			return nil, invalid("unknown operation filter %q", f.Name)
		}
	}
	return func(op operation) bool {
		for _, p := range preds {
			if !p(op) {
				return false
			}
		}
		return true
	}, nil
}

func fieldIn(name string, values []string) func(operation) bool {
	return func(op operation) bool {
		var v string
		switch name {
		case "NAMESPACE_ID":
			v = op.Targets["NAMESPACE"]
		case "SERVICE_ID":
			v = op.Targets["SERVICE"]
		case "STATUS":
			v = "SUCCESS"
		case "TYPE":
			v = op.Type
		}
		return slices.Contains(values, v)
	}
}
