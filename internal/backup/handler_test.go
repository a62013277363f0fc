package backup

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	st := openStore(t)
	put(t, st, "a", "1", "b", "2")
	srv := httptest.NewServer(Handler(st, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Trellis-Backup-Keys") != "2" || resp.Header.Get("X-Trellis-Backup-Revision") != "1" {
		t.Fatalf("GET = %s, headers %v", resp.Status, resp.Header)
	}
	if h, recs, err := Read(bytes.NewReader(body)); err != nil || h.Revision != 1 || len(recs) != 2 {
		t.Fatalf("served backup: %+v, %d records, %v", h, len(recs), err)
	}

	// A closed store is a clean 500, not a cut file.
	st.Close()
	resp, err = http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("GET on a closed store = %s, want 500", resp.Status)
	}
}
