package controller

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
)

// cmmvcCodes is the one table from array error codes (mcs-cli.md §9) to gRPC
// codes. Codes not listed are Internal: they mean the driver sent something
// the array did not expect, which a retry will not fix.
var cmmvcCodes = map[string]codes.Code{
	array.CodeNotSuitable:         codes.NotFound,           // CMMVC5753E
	array.CodeNotFound:            codes.NotFound,           // CMMVC5754E
	array.CodeAlreadyExists:       codes.AlreadyExists,      // CMMVC6035E
	array.CodeRCExists:            codes.AlreadyExists,      // CMMVC5959E
	array.CodeNoExtents:           codes.ResourceExhausted,  // CMMVC5860E pool has not enough extents
	array.CodeCapacityWarning:     codes.ResourceExhausted,  // CMMVC6372W virtual capacity near the licence
	array.CodeVDiskInUse:          codes.FailedPrecondition, // CMMVC5840E mapped / in a copy
	array.CodeHostInMapping:       codes.FailedPrecondition, // CMMVC5871E
	array.CodeAlreadyMapped:       codes.FailedPrecondition, // CMMVC6071E mapped to another host
	array.CodeMappedToThisHost:    codes.AlreadyExists,      // CMMVC5878E already mapped to this host
	array.CodeLUNInUse:            codes.FailedPrecondition, // CMMVC5879E
	array.CodeLCMapState:          codes.FailedPrecondition, // CMMVC5903E
	array.CodeRCState:             codes.FailedPrecondition, // CMMVC5982E
	array.CodeNoDirection:         codes.FailedPrecondition, // CMMVC5963E rc: no direction
	array.CodeVDiskBusy:           codes.FailedPrecondition, // CMMVC6209E in a copy or formatting
	array.CodePortInUse:           codes.FailedPrecondition, // CMMVC6581E IQN/WWPN on another host
	array.CodeNoOnlineNode:        codes.Unavailable,        // CMMVC5799E no online node in the I/O group
	array.CodeClusterUnstable:     codes.Unavailable,        // CMMVC5786E cluster not stable
	array.CodeSizeMismatch:        codes.InvalidArgument,    // CMMVC5924E
	array.CodeInvalidName:         codes.InvalidArgument,    // CMMVC6527E
	array.CodeNameTooLong:         codes.InvalidArgument,    // CMMVC6528E name too long
	array.CodeInvalidSize:         codes.OutOfRange,         // CMMVC5735E size not valid
	array.CodeCompressUnsupported: codes.InvalidArgument,    // CMMVC7050E
	array.CodeMaxCopies:           codes.FailedPrecondition, // CMMVC6365E already two copies
}

// toStatus turns any error from the array layer into a gRPC status; what
// went wrong is kept in the message. A status error passes through.
func toStatus(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Errorf(codeOf(err), "%s: %v", what, err)
}

// codeOf classifies err; exported to tests through the table above.
func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case array.IsTransport(err):
		return codes.Unavailable
	case array.IsInvalidArgument(err):
		return codes.InvalidArgument
	}
	if c := array.ErrorCode(err); c != "" {
		if code, ok := cmmvcCodes[c]; ok {
			return code
		}
	}
	return codes.Internal
}
