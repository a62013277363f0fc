package manager

import (
	"errors"
	"fmt"
)

// Code is an App Mesh error code, sent on the wire as X-Amzn-ErrorType.
type Code string

// The App Mesh error codes the manager produces.
const (
	CodeBadRequest    Code = "BadRequestException"
	CodeConflict      Code = "ConflictException"
	CodeForbidden     Code = "ForbiddenException"
	CodeInternal      Code = "InternalServerErrorException"
	CodeLimitExceeded Code = "LimitExceededException"
	CodeNotFound      Code = "NotFoundException"
	CodeInUse         Code = "ResourceInUseException"
	CodeUnavailable   Code = "ServiceUnavailableException"
	CodeTooManyReqs   Code = "TooManyRequestsException"
	CodeTooManyTags   Code = "TooManyTagsException"
)

// Error is a failed operation with its App Mesh error code and a message
// for the caller. Err, when set, is the underlying cause (not sent).
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the App Mesh code of err: its *Error code, or
// InternalServerErrorException for anything else.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func internal(msg string, err error) *Error {
	return &Error{Code: CodeInternal, Message: msg, Err: err}
}
