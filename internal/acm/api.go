package acm

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
)

// Admin API paths, on the server's API port.
const (
	PathCertificates = "/trellis/acm/certificates"
	PathCAs          = "/trellis/acm/certificate-authorities"
	PathList         = "/trellis/acm"
	PathRequests     = "/trellis/acm/requests"
)

// RequestRequest is the body of POST PathRequests.
type RequestRequest struct {
	ARN     string   `json:"arn"`
	Domains []string `json:"domains"`
}

// ImportRequest is the body of POST PathCertificates.
type ImportRequest struct {
	ARN         string `json:"arn"`
	Certificate string `json:"certificate"`
	PrivateKey  string `json:"privateKey"`
	Chain       string `json:"chain,omitempty"`
}

// RegisterCARequest is the body of POST PathCAs.
type RegisterCARequest struct {
	ARN    string `json:"arn"`
	Bundle string `json:"bundle"`
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Message string `json:"message"`
}

// maxBody bounds a request body (three PEM documents and their JSON).
const maxBody = 4 * maxPEM

// Register mounts the admin API on mux: POST PathCertificates,
// POST PathCAs, GET PathList, DELETE PathList?arn=ARN.
func Register(mux *http.ServeMux, s *Store, log *slog.Logger) {
	mux.HandleFunc("POST "+PathCertificates, func(w http.ResponseWriter, r *http.Request) {
		var req ImportRequest
		if !decode(w, r, &req) {
			return
		}
		e, err := s.Import(r.Context(), req.ARN, []byte(req.Certificate), []byte(req.PrivateKey), []byte(req.Chain))
		reply(w, log, e, err)
	})
	mux.HandleFunc("POST "+PathCAs, func(w http.ResponseWriter, r *http.Request) {
		var req RegisterCARequest
		if !decode(w, r, &req) {
			return
		}
		e, err := s.RegisterCA(r.Context(), req.ARN, []byte(req.Bundle))
		reply(w, log, e, err)
	})
	mux.HandleFunc("GET "+PathList, func(w http.ResponseWriter, r *http.Request) {
		es, err := s.List(r.Context())
		reply(w, log, es, err)
	})
	mux.HandleFunc("DELETE "+PathList, func(w http.ResponseWriter, r *http.Request) {
		err := s.Delete(r.Context(), r.URL.Query().Get("arn"))
		reply(w, log, struct{}{}, err)
	})
}

// RegisterRequests mounts POST PathRequests: the built-in CA issues a
// certificate under an ACM ARN (Store.Request).
func RegisterRequests(mux *http.ServeMux, s *Store, iss Issuer, log *slog.Logger) {
	mux.HandleFunc("POST "+PathRequests, func(w http.ResponseWriter, r *http.Request) {
		var req RequestRequest
		if !decode(w, r, &req) {
			return
		}
		e, err := s.Request(r.Context(), req.ARN, req.Domains, iss)
		reply(w, log, e, err)
	})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Message: "acm: bad request body: " + err.Error()})
		return false
	}
	return true
}

func reply(w http.ResponseWriter, log *slog.Logger, v any, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.Is(err, ErrBadARN), errors.Is(err, ErrInvalid), errors.Is(err, ErrImported):
		writeJSON(w, http.StatusBadRequest, ErrorBody{Message: err.Error()})
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, ErrorBody{Message: err.Error()})
	default:
		log.Error("acm admin API", "err", err)
		writeJSON(w, http.StatusInternalServerError, ErrorBody{Message: err.Error()})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
