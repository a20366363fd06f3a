package cli

import (
	"context"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

func (c *CLI) run(ctx context.Context, line string) ([]byte, error) {
	return nil, &model.Error{Code: "CMMVC7205E", Text: "The command failed because it is not supported."}
}
