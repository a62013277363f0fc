package history

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Paths the server mounts the handlers at, on the API port.
const (
	// HistoryPath serves GET ?arn=<resource ARN>: the kept versions.
	HistoryPath = "/trellis/v1/history"
	// EventsPath serves GET: a text/event-stream of "revision" events
	// (data {"revision":N}) when the store changes, and "tick" events at
	// a fixed interval so clients refresh live figures (traffic, proxy
	// status) that are not in the store.
	EventsPath = "/trellis/v1/events"
)

// DefaultTick is the interval of "tick" events when EventsOptions.Tick is 0.
const DefaultTick = 2 * time.Second

// DefaultMaxStreams bounds concurrent event streams when
// EventsOptions.MaxStreams is 0.
const DefaultMaxStreams = 256

// EventsOptions configure EventsHandler.
type EventsOptions struct {
	// Tick is the interval of tick events (0: DefaultTick).
	Tick time.Duration
	// MaxStreams bounds concurrent streams (0: DefaultMaxStreams); one more
	// gets 503 with Retry-After (the console reconnects after a pause).
	MaxStreams int
	// Done ends every stream when closed (the server closes it when it
	// shuts down, since http.Server.Shutdown would otherwise wait for them).
	Done <-chan struct{}
}

// historyResponse is the JSON body of HistoryPath.
type historyResponse struct {
	Arn      string    `json:"arn"`
	Versions []Version `json:"versions"`
}

// Handler serves HistoryPath. An unknown ARN is a 404 with a JSON message.
func (r *Recorder) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arn := req.URL.Query().Get("arn")
		if arn == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "the arn query parameter is required"})
			return
		}
		vs := r.Versions(arn)
		if len(vs) == 0 {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "no history for " + arn})
			return
		}
		writeJSON(w, http.StatusOK, historyResponse{Arn: arn, Versions: vs})
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client is gone if this fails
}

// EventsHandler serves EventsPath. A stream ends when the client goes
// away, the recorder stops, or o.Done is closed.
func (r *Recorder) EventsHandler(o EventsOptions) http.Handler {
	tick, done := o.Tick, o.Done
	if tick <= 0 {
		tick = DefaultTick
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	slots := make(chan struct{}, o.MaxStreams)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case slots <- struct{}{}:
			r.streams.Inc()
			defer func() { <-slots; r.streams.Dec() }()
		default:
			r.refused.Inc()
			w.Header().Set("Retry-After", "5")
			http.Error(w, "too many event streams", http.StatusServiceUnavailable)
			return
		}
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no")
		t := time.NewTicker(tick)
		defer t.Stop()
		rev, changed := r.Revision()
		fmt.Fprintf(w, "retry: 2000\nevent: revision\ndata: {\"revision\":%d}\n\n", rev)
		if err := rc.Flush(); err != nil {
			return // no streaming through this writer
		}
		for {
			select {
			case <-req.Context().Done():
				return
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(w, "event: tick\ndata: {\"revision\":%d}\n\n", rev)
			case <-changed:
				next, c := r.Revision()
				if next == rev {
					return // the recorder stopped
				}
				rev, changed = next, c
				fmt.Fprintf(w, "event: revision\ndata: {\"revision\":%d}\n\n", rev)
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
}
