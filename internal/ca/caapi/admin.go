package caapi

import (
	"errors"
	"net/http"

	"github.com/trellis-mesh/trellis/internal/ca"
	"github.com/trellis-mesh/trellis/internal/ca/enrol"
)

// show is GET /v1/admin/ca.
func (h *handlers) show(w http.ResponseWriter, r *http.Request) {
	info, err := h.ca.Info(r.Context())
	if err != nil {
		writeCAError(w, h.log, "info", err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// rotate is POST /v1/admin/ca/rotate.
func (h *handlers) rotate(w http.ResponseWriter, r *http.Request) {
	var req enrol.RotateRequest
	if !decode(w, r, enrol.MaxBody, &req) {
		return
	}
	if err := h.ca.Rotate(r.Context(), req.Immediate); err != nil {
		writeCAError(w, h.log, "rotate", err)
		return
	}
	h.log.Info("ca: rotated", "immediate", req.Immediate, "peer", r.RemoteAddr)
	h.show(w, r)
}

// importCA is POST /v1/admin/ca/import.
func (h *handlers) importCA(w http.ResponseWriter, r *http.Request) {
	var req enrol.ImportRequest
	if !decode(w, r, enrol.MaxBody, &req) {
		return
	}
	err := h.ca.Import(r.Context(), []byte(req.CertificateChain), []byte(req.PrivateKey), req.Immediate)
	if errors.Is(err, ca.ErrBadImport) {
		writeError(w, errBadRequest, err.Error())
		return
	}
	if err != nil {
		writeCAError(w, h.log, "import", err)
		return
	}
	h.log.Info("ca: imported an external authority", "immediate", req.Immediate, "peer", r.RemoteAddr)
	h.show(w, r)
}

// createToken is POST /v1/admin/tokens. The secret is never logged.
func (h *handlers) createToken(w http.ResponseWriter, r *http.Request) {
	var req enrol.TokenRequest
	if !decode(w, r, enrol.MaxBody, &req) {
		return
	}
	tok, err := h.ca.CreateToken(r.Context(), req)
	if errors.Is(err, ca.ErrBadTokenRequest) {
		writeError(w, errBadRequest, err.Error())
		return
	}
	if err != nil {
		writeCAError(w, h.log, "create token", err)
		return
	}
	h.log.Info("ca: join token created", "id", tok.ID, "mesh", tok.Mesh, "node", tok.Node,
		"nodePattern", tok.NodePattern, "expires", tok.Expires, "singleUse", tok.SingleUse)
	writeJSON(w, http.StatusOK, tok)
}

// listTokens is GET /v1/admin/tokens.
func (h *handlers) listTokens(w http.ResponseWriter, r *http.Request) {
	list, err := h.ca.ListTokens(r.Context())
	if err != nil {
		writeCAError(w, h.log, "list tokens", err)
		return
	}
	writeJSON(w, http.StatusOK, enrol.TokenList{Tokens: list})
}

// revokeToken is DELETE /v1/admin/tokens/{id}.
func (h *handlers) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := h.ca.RevokeToken(r.Context(), id)
	if errors.Is(err, ca.ErrTokenUnknown) {
		writeError(w, errNotFound, "no join token "+id)
		return
	}
	if err != nil {
		writeCAError(w, h.log, "revoke token", err)
		return
	}
	h.log.Info("ca: join token revoked", "id", id)
	w.WriteHeader(http.StatusNoContent)
}
