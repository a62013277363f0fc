package caapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// sign is POST /v1/ca/sign: check the CSR, authenticate the caller for
// the identity it asks for (join token, else the Authorizer), sign.
func (h *handlers) sign(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, enrol.MaxBody))
	if err != nil {
		h.ca.CountRefusal("bad_request")
		writeError(w, errBadRequest, "request body unreadable or larger than 64 KiB")
		return
	}
	var req enrol.SignRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		h.ca.CountRefusal("bad_request")
		writeError(w, errBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	csr, id, err := ca.ParseCSR([]byte(req.CSR), h.ca.TrustDomain())
	if err != nil {
		h.ca.CountRefusal("bad_request")
		writeError(w, errBadRequest, err.Error())
		return
	}
	if msg, ok := h.authenticate(r, body, req.Token, id); !ok {
		h.ca.CountRefusal("forbidden")
		h.log.Warn("ca: enrolment refused", "spiffeId", id.String(), "peer", r.RemoteAddr, "reason", msg)
		writeError(w, errForbidden, msg)
		return
	}
	iss, err := h.ca.Sign(r.Context(), csr, id)
	if err != nil {
		writeCAError(w, h.log, "sign "+id.String(), err)
		return
	}
	h.log.Info("ca: issued", "spiffeId", id.String(), "serial", iss.Leaf.SerialNumber.Text(16),
		"expiration", iss.NotAfter.UTC().Format(time.RFC3339), "peer", r.RemoteAddr)
	writeJSON(w, http.StatusOK, enrol.SignResponse{CertificateChain: iss.ChainPEM, TrustBundle: iss.BundlePEM,
		Expiration: iss.NotAfter.UTC().Format(time.RFC3339), SpiffeID: id.String()})
}

// authenticate returns ok, or the message of the refusal. Token errors
// all read the same so a caller learns nothing about which tokens exist.
func (h *handlers) authenticate(r *http.Request, body []byte, token string, id enrol.ID) (string, bool) {
	return h.authenticateAs(r, body, token, id, h.ca.UseToken)
}

// authenticateAs is authenticate with the join token checked by use
// (UseToken to enrol, CheckToken to read the bundle).
func (h *handlers) authenticateAs(r *http.Request, body []byte, token string, id enrol.ID,
	use func(context.Context, string, enrol.ID) error) (string, bool) {
	if token != "" {
		err := use(r.Context(), token, id)
		if err == nil {
			return "", true
		}
		if !isTokenError(err) {
			h.log.Error("ca: join token check failed", "err", err)
		}
		return "the join token is not valid for " + id.String(), false
	}
	if h.authorize == nil {
		return "a join token is required (SigV4 enrolment needs API authentication, --auth, which is off)", false
	}
	if err := h.authorize(r, body, id); err != nil {
		if errors.Is(err, ErrNoCredentials) {
			return "a join token or SigV4 credentials are required", false
		}
		return "not authorised for " + id.String() + ": " + err.Error(), false
	}
	return "", true
}

func isTokenError(err error) bool {
	for _, e := range []error{ca.ErrBadToken, ca.ErrTokenUnknown, ca.ErrTokenExpired, ca.ErrTokenUsed, ca.ErrTokenMismatch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// bundle is GET /v1/ca/bundle.
func (h *handlers) bundle(w http.ResponseWriter, r *http.Request) {
	b, err := h.ca.Bundle(r.Context())
	if err != nil {
		writeCAError(w, h.log, "bundle", err)
		return
	}
	writeJSON(w, http.StatusOK, enrol.BundleResponse{TrustDomain: h.ca.TrustDomain(), TrustBundle: b})
}
