package sigv4

import (
	"fmt"
	"net/http"
)

// AWS error codes this package returns. The apiserver and registry API
// send Code as X-Amzn-ErrorType (and __type for awsJson), which is what
// the SDKs surface as smithy.APIError.ErrorCode().
const (
	CodeMissingToken       = "MissingAuthenticationTokenException"
	CodeIncomplete         = "IncompleteSignatureException"
	CodeInvalidSignature   = "InvalidSignatureException"
	CodeUnrecognizedClient = "UnrecognizedClientException"
	CodeSkewed             = "RequestTimeTooSkewed"
	CodeExpiredToken       = "ExpiredTokenException"
	CodeAccessDenied       = "AccessDeniedException"
)

// Error is an authentication failure with its AWS code and HTTP status.
// Messages never contain secrets or expected signatures.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func errMissing() *Error {
	return newError(CodeMissingToken, http.StatusForbidden, "Missing Authentication Token")
}

func incomplete(format string, args ...any) *Error {
	return newError(CodeIncomplete, http.StatusBadRequest, format, args...)
}

func invalid(format string, args ...any) *Error {
	return newError(CodeInvalidSignature, http.StatusForbidden, format, args...)
}

// Unrecognized is the error for an unknown access key id (or a session
// token that does not belong to it).
func Unrecognized() *Error {
	return newError(CodeUnrecognizedClient, http.StatusForbidden, "The security token included in the request is invalid.")
}

// Expired is the error for temporary credentials past their expiry.
func Expired() *Error {
	return newError(CodeExpiredToken, http.StatusForbidden, "The security token included in the request is expired")
}

// Inactive is the error for a disabled access key: AWS answers it like an
// unknown key.
func Inactive() *Error { return Unrecognized() }

// AccessDenied is the error for a request the principal's policies do not allow.
func AccessDenied(principal, action, resource string) *Error {
	return newError(CodeAccessDenied, http.StatusForbidden, "User: %s is not authorized to perform: %s on resource: %s",
		principal, action, resource)
}
