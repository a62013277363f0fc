package xdsserver

import (
	"context"
	"fmt"
	"log/slog"

	gcplog "github.com/envoyproxy/go-control-plane/pkg/log"
)

// cacheLogger adapts slog to go-control-plane's logger. Its Info level
// reports every watch opened (per request, per stream), so it goes to
// Debug; warnings (an ADS request naming resources the snapshot lacks) and
// errors keep their level.
func cacheLogger(log *slog.Logger) gcplog.Logger {
	at := func(level slog.Level) func(string, ...any) {
		return func(format string, args ...any) {
			// Checked first: formatting costs more than the call at scale.
			if log.Enabled(context.Background(), level) {
				log.Log(context.Background(), level, "go-control-plane: "+fmt.Sprintf(format, args...))
			}
		}
	}
	return gcplog.LoggerFuncs{
		DebugFunc: at(slog.LevelDebug),
		InfoFunc:  at(slog.LevelDebug),
		WarnFunc:  at(slog.LevelWarn),
		ErrorFunc: at(slog.LevelError),
	}
}
