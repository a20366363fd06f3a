package controller

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
)

func cliErr(code string) error {
	return fmt.Errorf("wrapped: %w", &array.CLIError{Code: code, Message: "text", Command: "mcsop x"})
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want codes.Code
	}{
		{"object does not exist (5754)", cliErr("CMMVC5754E"), codes.NotFound},
		{"not a suitable candidate (5753)", cliErr("CMMVC5753E"), codes.NotFound},
		{"name exists", cliErr("CMMVC6035E"), codes.AlreadyExists},
		{"pool out of extents", cliErr("CMMVC5860E"), codes.ResourceExhausted},
		{"vdisk mapped or in a copy", cliErr("CMMVC5840E"), codes.FailedPrecondition},
		{"mapped to another host", cliErr("CMMVC6071E"), codes.FailedPrecondition},
		{"lcmap wrong state", cliErr("CMMVC5903E"), codes.FailedPrecondition},
		{"IQN on another host", cliErr("CMMVC6581E"), codes.FailedPrecondition},
		{"size mismatch", cliErr("CMMVC5924E"), codes.InvalidArgument},
		{"bad name", cliErr("CMMVC6527E"), codes.InvalidArgument},
		{"cluster not stable", cliErr("CMMVC5786E"), codes.Unavailable},
		{"unknown code is our bug", cliErr("CMMVC9999E"), codes.Internal},
		{"code-less array failure", &array.CLIError{Message: "odd"}, codes.Internal},
		{"transport", fmt.Errorf("dial: %w", array.ErrTransport), codes.Unavailable},
		{"refused before sending", fmt.Errorf("%w: bad", array.ErrInvalidArgument), codes.InvalidArgument},
		{"deadline", fmt.Errorf("%w: %w", array.ErrTransport, context.DeadlineExceeded), codes.DeadlineExceeded},
		{"cancelled", context.Canceled, codes.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := toStatus(c.err, "doing it")
			if got := status.Code(err); got != c.want {
				t.Fatalf("code %v, want %v (%v)", got, c.want, err)
			}
		})
	}
}

// Every code in the table resolves to what the table says.
func TestErrorMapping_TableIsApplied(t *testing.T) {
	for code, want := range cmmvcCodes {
		if got := codeOf(cliErr(code)); got != want {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
}

func TestToStatus_KeepsStatusErrors(t *testing.T) {
	in := status.Error(codes.Aborted, "busy")
	if out := toStatus(in, "x"); out != in {
		t.Fatalf("status error rewritten: %v", out)
	}
}
