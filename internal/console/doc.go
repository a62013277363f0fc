// Package console is the room of the web UI: a read-only console served at
// /ui with a topology graph of each mesh, each proxy's config status, and a
// resource browser with version history diffs. Its assets (plain HTML, JS,
// CSS and inline SVG, no build step, no CDN) are embedded with go:embed.
//
// The console is a client of the server's HTTP APIs like any other: the
// browser calls the App Mesh REST API (list/describe), /v1/proxies (proxy
// status), /v1/telemetry/signals and /edges (live figures),
// /trellis/v1/history and the /trellis/v1/events stream, all same-origin
// and relative. Handler serves the assets on the server's API port, where
// whatever authenticates that port covers the console; Proxy is `trellis
// console`, which serves them locally and forwards the read calls signed
// with the operator's credentials.
package console
