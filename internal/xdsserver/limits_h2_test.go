package xdsserver

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestStreamsPerConnectionHostileClient: a client that ignores the HTTP/2
// SETTINGS and opens more streams than MaxStreamsPerConn on one
// connection gets the extra ones reset with REFUSED_STREAM; the server
// holds no more than the cap.
func TestStreamsPerConnectionHostileClient(t *testing.T) {
	h := startWith(t, Options{Limits: Limits{MaxStreamsPerConn: 2}})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	headers := adsHeaders(t)
	for _, id := range []uint32{1, 3, 5} { // client streams are odd
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: headers, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no RST_STREAM for the stream over the cap: %v", err)
		}
		rst, ok := f.(*http2.RSTStreamFrame)
		if !ok {
			continue
		}
		if rst.StreamID != 5 || rst.ErrCode != http2.ErrCodeRefusedStream {
			t.Fatalf("RST_STREAM stream %d %v, want stream 5 REFUSED_STREAM", rst.StreamID, rst.ErrCode)
		}
		break
	}
	eventually(t, "two streams admitted", func() bool { return h.openStreams() == 2 })
}

// adsHeaders is the HPACK block opening a state-of-the-world ADS stream.
func adsHeaders(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: adsService + "StreamAggregatedResources"},
		{Name: ":authority", Value: "xds"},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
	} {
		if err := enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}
