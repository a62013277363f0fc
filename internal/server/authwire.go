package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/trellis-mesh/trellis/internal/auth"
	"github.com/trellis-mesh/trellis/internal/auth/audit"
	"github.com/trellis-mesh/trellis/internal/auth/policy"
	"github.com/trellis-mesh/trellis/internal/manager"
)

// validatePolicy is the admin API's check of a document before attaching.
func validatePolicy(doc []byte) error {
	_, err := policy.Parse(doc)
	return err
}

// auditor adapts the middleware's events to the CloudTrail-shaped log.
type auditor struct {
	log     *audit.Log
	account string
}

func (a auditor) Append(ctx context.Context, e *auth.Event) error {
	r := &audit.Record{
		EventTime:          e.Time.Format("2006-01-02T15:04:05Z"),
		EventSource:        e.Op.EventSource,
		EventName:          e.Op.Name,
		AWSRegion:          e.Region,
		SourceIPAddress:    e.SourceIP,
		UserAgent:          e.UserAgent,
		UserIdentity:       userIdentity(e.Identity),
		RequestParameters:  e.RequestParameters,
		ErrorCode:          e.ErrorCode,
		ErrorMessage:       e.ErrorMessage,
		RequestID:          e.RequestID,
		ReadOnly:           e.Op.ReadOnly,
		RecipientAccountID: a.account,
	}
	if e.Op.Resource != "" && e.Op.Resource != "*" {
		r.Resources = []audit.Resource{{ARN: e.Op.Resource, AccountID: a.account}}
	}
	return a.log.Append(ctx, r)
}

// userIdentity is CloudTrail's userIdentity of a principal ARN
// (arn:aws:iam::<account>:user/<name> or role/<name>).
func userIdentity(id auth.Identity) audit.UserIdentity {
	u := audit.UserIdentity{Type: "IAMUser", PrincipalID: id.AccessKeyID, ARN: id.PrincipalARN, AccessKeyID: id.AccessKeyID}
	if parts, ok := policy.SplitARN(id.PrincipalARN); ok {
		u.AccountID = parts[4]
		kind, name, _ := strings.Cut(parts[5], "/")
		if kind == "role" {
			u.Type = "AssumedRole"
		} else {
			u.UserName = name
		}
	}
	return u
}

// wireAuthDefaults fills the policy engine, the policy check and the audit
// log (under AuditDir, default <DataDir>/audit) when auth is on and the
// embedder did not supply its own.
func (s *Server) wireAuthDefaults() error {
	a := &s.cfg.Auth
	if !a.Enabled {
		return nil
	}
	if a.Authorize == nil {
		pc := newPolicyCache(maxCachedPolicies)
		s.metrics.MustRegister(pc.collectors()...)
		a.Authorize = pc.authorize
	}
	if a.ValidatePolicy == nil {
		a.ValidatePolicy = validatePolicy
	}
	if a.Audit != nil {
		return nil
	}
	dir := a.AuditDir
	if dir == "" {
		dir = filepath.Join(s.cfg.DataDir, "audit")
	}
	l, err := audit.Open(audit.Options{Dir: dir, Logger: s.log, Registerer: s.metrics})
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	s.auditLog = l
	a.Audit = auditor{log: l, account: s.cfg.AccountID}
	s.log.Info("audit log", "dir", dir)
	return nil
}

// resourceTags reads an App Mesh resource's tags for aws:ResourceTag
// conditions; anything else (Cloud Map, a resource being created) has none.
func resourceTags(mgr *manager.Manager) func(context.Context, string) map[string]string {
	return func(ctx context.Context, arn string) map[string]string {
		if !strings.HasPrefix(arn, "arn:aws:appmesh:") {
			return nil
		}
		page, err := mgr.ListTags(ctx, arn, manager.MaxTags, "")
		if err != nil {
			return nil
		}
		tags := make(map[string]string, len(page.Tags))
		for _, t := range page.Tags {
			tags[t.Key] = t.Value
		}
		return tags
	}
}
