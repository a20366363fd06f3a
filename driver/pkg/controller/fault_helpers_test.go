package controller_test

import "github.com/instorage-csi/instorage-csi/emulator/fault"

// faultRule fails the next `command` once with a CMMVC code.
func faultRule(command, code string) fault.Rule {
	return fault.Rule{Command: command, Error: code, Times: 1}
}
