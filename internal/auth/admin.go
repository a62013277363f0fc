package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// AdminPathPrefix starts every admin API call: POST <prefix><Action> with a
// JSON body, signed for the SigV4 service "trellis". The IAM action is
// "trellis:<Action>".
const AdminPathPrefix = "/trellis-admin/v1/"

// Admin API actions.
const (
	ActionCreatePrincipal       = "CreatePrincipal"
	ActionListPrincipals        = "ListPrincipals"
	ActionCreateAccessKey       = "CreateAccessKey"
	ActionListAccessKeys        = "ListAccessKeys"
	ActionUpdateAccessKey       = "UpdateAccessKey"
	ActionDeleteAccessKey       = "DeleteAccessKey"
	ActionPutPrincipalPolicy    = "PutPrincipalPolicy"
	ActionDeletePrincipalPolicy = "DeletePrincipalPolicy"
	ActionListPrincipalPolicies = "ListPrincipalPolicies"
)

// AdminRequest is the body of every admin call; each action reads the
// fields it needs.
type AdminRequest struct {
	PrincipalArn    string `json:",omitempty"`
	AccessKeyId     string `json:",omitempty"`
	Status          string `json:",omitempty"`
	DurationSeconds int64  `json:",omitempty"`
	PolicyName      string `json:",omitempty"`
	PolicyDocument  string `json:",omitempty"`
}

// PrincipalSummary is one principal in ListPrincipals.
type PrincipalSummary struct {
	PrincipalArn string
	Created      time.Time
	PolicyNames  []string
}

// AdminResponse carries every action's output fields.
type AdminResponse struct {
	AccessKey  *Credentials       `json:",omitempty"`
	AccessKeys []*Key             `json:",omitempty"`
	Principals []PrincipalSummary `json:",omitempty"`
	Policies   map[string]string  `json:",omitempty"`
}

// Admin serves the admin API. The middleware has authenticated and
// authorized the caller before it runs.
type Admin struct {
	keys *Keys
	log  *slog.Logger
	// ValidatePolicy checks a policy document before it is attached; nil
	// checks only that it is JSON.
	validate func([]byte) error
}

// NewAdmin returns the admin API handler.
func NewAdmin(keys *Keys, validatePolicy func([]byte) error, log *slog.Logger) *Admin {
	if log == nil {
		log = slog.Default()
	}
	return &Admin{keys: keys, log: log, validate: validatePolicy}
}

func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		WriteError(w, http.StatusMethodNotAllowed, "BadRequestException", "admin API calls are POST")
		return
	}
	var req AdminRequest
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			WriteError(w, http.StatusBadRequest, "BadRequestException", "request body: "+err.Error())
			return
		}
	}
	resp, err := a.do(r, strings.TrimPrefix(r.URL.Path, AdminPathPrefix), &req)
	if err != nil {
		a.writeErr(w, err)
		return
	}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (a *Admin) do(r *http.Request, action string, req *AdminRequest) (*AdminResponse, error) {
	ctx := r.Context()
	resp := &AdminResponse{}
	var err error
	switch action {
	case ActionCreatePrincipal:
		_, err = a.keys.CreatePrincipal(ctx, req.PrincipalArn)
	case ActionListPrincipals:
		resp.Principals, err = a.listPrincipals(r)
	case ActionCreateAccessKey:
		resp.AccessKey, err = a.keys.CreateKey(ctx, req.PrincipalArn, time.Duration(req.DurationSeconds)*time.Second)
		if err == nil {
			a.log.Info("access key created", "akid", resp.AccessKey.AccessKeyID, "principal", req.PrincipalArn)
		}
	case ActionListAccessKeys:
		resp.AccessKeys, err = a.keys.ListKeys(ctx, req.PrincipalArn)
	case ActionUpdateAccessKey:
		err = a.keys.SetKeyStatus(ctx, req.AccessKeyId, req.Status)
	case ActionDeleteAccessKey:
		err = a.keys.DeleteKey(ctx, req.AccessKeyId)
	case ActionPutPrincipalPolicy:
		err = a.putPolicy(r, req)
	case ActionDeletePrincipalPolicy:
		err = a.keys.SetPolicy(ctx, req.PrincipalArn, req.PolicyName, nil)
	case ActionListPrincipalPolicies:
		var p *Principal
		if p, _, err = a.keys.Principal(ctx, req.PrincipalArn); err == nil {
			resp.Policies = map[string]string{}
			for n, d := range p.Policies {
				resp.Policies[n] = string(d)
			}
		}
	default:
		return nil, fmt.Errorf("%w: unknown admin action %q", ErrNotFound, action)
	}
	return resp, err
}

func (a *Admin) putPolicy(r *http.Request, req *AdminRequest) error {
	doc := []byte(req.PolicyDocument)
	if !json.Valid(doc) {
		return fmt.Errorf("%w: PolicyDocument is not JSON", ErrInvalid)
	}
	if a.validate != nil {
		if err := a.validate(doc); err != nil {
			return fmt.Errorf("%w: PolicyDocument: %v", ErrInvalid, err)
		}
	}
	return a.keys.SetPolicy(r.Context(), req.PrincipalArn, req.PolicyName, json.RawMessage(doc))
}

func (a *Admin) listPrincipals(r *http.Request) ([]PrincipalSummary, error) {
	ps, err := a.keys.Principals(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]PrincipalSummary, 0, len(ps))
	for _, p := range ps {
		s := PrincipalSummary{PrincipalArn: p.ARN, Created: p.Created, PolicyNames: []string{}}
		for n := range p.Policies {
			s.PolicyNames = append(s.PolicyNames, n)
		}
		out = append(out, s)
	}
	return out, nil
}

func (a *Admin) writeErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		WriteError(w, http.StatusNotFound, "NotFoundException", err.Error())
	case errors.Is(err, ErrExists):
		WriteError(w, http.StatusConflict, "ConflictException", err.Error())
	case errors.Is(err, ErrInvalid):
		WriteError(w, http.StatusBadRequest, "BadRequestException", err.Error())
	default:
		a.log.Error("admin call failed", "err", err)
		WriteError(w, http.StatusInternalServerError, "InternalServerErrorException", "internal error")
	}
}
