package array

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrTransport marks failures where the command may not have reached the
// array (dial, handshake, session, lost connection, timeout). Callers may
// retry idempotent steps; they must re-read array state before assuming
// the command did nothing.
var ErrTransport = errors.New("array transport failure")

// ErrInvalidArgument marks values rejected before anything was sent
// (names with shell metacharacters, out-of-range sizes, missing fields).
var ErrInvalidArgument = errors.New("invalid argument")

// ErrUnexpectedOutput marks output that breaks the CLI contract (§1.3):
// text on stdout of a no-output command, unparsable numbers, no created id.
var ErrUnexpectedOutput = errors.New("unexpected output from array")

// CMMVC codes the driver reacts to (see mcs-cli.md §9).
const (
	CodeNoObjectID          = "CMMVC5701E"
	CodeMissingParameter    = "CMMVC5707E"
	CodeUnsupportedParam    = "CMMVC5709E"
	CodeNotSuitable         = "CMMVC5753E"
	CodeNotFound            = "CMMVC5754E"
	CodeVDiskInUse          = "CMMVC5840E"
	CodeHostInMapping       = "CMMVC5871E"
	CodeLUNInUse            = "CMMVC5879E"
	CodeLCMapState          = "CMMVC5903E"
	CodeSizeMismatch        = "CMMVC5924E"
	CodeRCExists            = "CMMVC5959E"
	CodeRCState             = "CMMVC5982E"
	CodeAlreadyExists       = "CMMVC6035E"
	CodeAlreadyMapped       = "CMMVC6071E"
	CodeSameSourceTarget    = "CMMVC6303E"
	CodeInvalidName         = "CMMVC6527E"
	CodePortInUse           = "CMMVC6581E"
	CodeCompressUnsupported = "CMMVC7050E"
	// Codes the emulator (and SVC-heritage arrays) use beyond §9's table.
	CodeClusterUnstable  = "CMMVC5786E"
	CodeInvalidSize      = "CMMVC5735E"
	CodeNoOnlineNode     = "CMMVC5799E"
	CodeNoExtents        = "CMMVC5860E" // pool out of space
	CodeMappedToThisHost = "CMMVC5878E"
	CodeNoDirection      = "CMMVC5963E"
	CodeVDiskBusy        = "CMMVC6209E" // in an lcmap/rcrelationship or formatting
	CodeMaxCopies        = "CMMVC6365E"
	CodeCapacityWarning  = "CMMVC6372W" // virtual capacity near the licence
	CodeNameTooLong      = "CMMVC6528E"
)

// CLIError is an array-side failure: the command reached the array and was
// refused. Command is the command line with secrets redacted.
type CLIError struct {
	Code    string // CMMVCnnnnE / …W; empty when the array printed no code
	Message string
	Command string
}

func (e *CLIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("array command %q failed: %s", e.Command, e.Message)
	}
	return fmt.Sprintf("array command %q failed: %s %s", e.Command, e.Code, e.Message)
}

var cmmvcRE = regexp.MustCompile(`CMMVC[0-9]{4}[EWI]`)

// parseCLIError turns stderr (or stdout, for clients that print there) into
// a *CLIError; the first CMMVC code found wins (§9 format: "<code> <text>\n").
func parseCLIError(command string, stderr []byte) *CLIError {
	text := strings.TrimSpace(string(stderr))
	loc := cmmvcRE.FindStringIndex(text)
	if loc == nil {
		if text == "" {
			text = "command failed without a message"
		}
		return &CLIError{Message: text, Command: command}
	}
	msg := strings.TrimSpace(text[loc[1]:])
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	return &CLIError{Code: text[loc[0]:loc[1]], Message: msg, Command: command}
}

// ErrorCode returns the CMMVC code of err, or "" if err is no *CLIError.
func ErrorCode(err error) string {
	var ce *CLIError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

func hasCode(err error, codes ...string) bool {
	c := ErrorCode(err)
	if c == "" {
		return false
	}
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// IsNotFound: the named object does not exist (CMMVC5753E / CMMVC5754E, §2.5).
func IsNotFound(err error) bool { return hasCode(err, CodeNotSuitable, CodeNotFound) }

// IsAlreadyExists: an object with that name exists (CMMVC6035E) or an RC
// relationship already exists (CMMVC5959E).
func IsAlreadyExists(err error) bool { return hasCode(err, CodeAlreadyExists, CodeRCExists) }

// IsInUse: the object is mapped or part of a copy relationship (CMMVC5840E,
// CMMVC5871E, CMMVC6071E).
func IsInUse(err error) bool {
	return hasCode(err, CodeVDiskInUse, CodeHostInMapping, CodeAlreadyMapped)
}

// IsInvalidState: an lcmap or rcrelationship is in the wrong state for the
// transition (CMMVC5903E, CMMVC5982E).
func IsInvalidState(err error) bool { return hasCode(err, CodeLCMapState, CodeRCState) }

// IsSizeMismatch: mklcmap source and target differ in size (CMMVC5924E).
func IsSizeMismatch(err error) bool { return hasCode(err, CodeSizeMismatch) }

// IsNoSpace: the pool lacks the extents (CMMVC5860E) or the licence is
// nearly used up (CMMVC6372W).
func IsNoSpace(err error) bool { return hasCode(err, CodeNoExtents, CodeCapacityWarning) }

// IsAlreadyMappedToHost: mkvdiskhostmap for a pair that is already mapped
// (CMMVC5878E) — the idempotent-retry case.
func IsAlreadyMappedToHost(err error) bool { return hasCode(err, CodeMappedToThisHost) }

// IsWarning: the array answered with a …W code (it may have done the work).
func IsWarning(err error) bool { return strings.HasSuffix(ErrorCode(err), "W") }

// IsPortInUse: the IQN/WWPN already belongs to another host (CMMVC6581E).
func IsPortInUse(err error) bool { return hasCode(err, CodePortInUse) }

// IsTransport: the command may not have reached the array.
func IsTransport(err error) bool { return errors.Is(err, ErrTransport) }

// IsInvalidArgument: the client refused the values before sending anything.
func IsInvalidArgument(err error) bool { return errors.Is(err, ErrInvalidArgument) }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}
