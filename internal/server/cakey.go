package server

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// caKeyFile chooses the file of the key that seals the CA in the store
// and whether it may be created:
//   - --ca-key-file when given (never created);
//   - <data-dir>/ca-seal.key when it exists, so a store whose CA was sealed
//     before the key was shared keeps opening;
//   - with API auth on, auth's key file (withAuth has already created it),
//     so one file seals both and one file is backed up;
//   - otherwise <data-dir>/ca-seal.key, created at first start.
func (s *Server) caKeyFile() (path string, create bool) {
	if f := s.cfg.CA.SealKeyFile; f != "" {
		return f, false
	}
	legacy := filepath.Join(s.cfg.DataDir, "ca-seal.key")
	if _, err := os.Stat(legacy); !errors.Is(err, fs.ErrNotExist) {
		return legacy, true
	}
	if s.cfg.Auth.Enabled {
		return s.authKeyFile(), false
	}
	return legacy, true
}

// authKeyFile is the file of auth's sealing key (--auth-key-file, default
// <data-dir>/auth.key).
func (s *Server) authKeyFile() string {
	if f := s.cfg.Auth.KeyFile; f != "" {
		return f
	}
	return filepath.Join(s.cfg.DataDir, "auth.key")
}
