package model

import "fmt"

// Error is an array-side failure: the CLI prints it as "<Code> <Text>" on
// stderr with exit status 1 (see mcs-cli.md §1.3, §9).
type Error struct {
	Code string // e.g. CMMVC5754E
	Text string
}

func (e *Error) Error() string { return e.Code + " " + e.Text }

func newErr(code, text string) *Error { return &Error{Code: code, Text: text} }

// The catalogue of mcs-cli.md §9; texts verbatim where the reference is exact.
// Codes the reference leaves open are chosen here and listed in emulator/README.md.
func errNoObjectID() *Error { return newErr("CMMVC5701E", "No object ID was specified.") }
func errMissingParams() *Error {
	return newErr("CMMVC5707E", "Required parameters are missing.")
}
func errUnsupportedParam(flag string) *Error {
	return newErr("CMMVC5709E", fmt.Sprintf("[%s] is not a supported parameter.", flag))
}
func errNotSuitable() *Error {
	return newErr("CMMVC5753E", "The specified object does not exist or is not a suitable candidate.")
}
func errNotExist() *Error {
	return newErr("CMMVC5754E", "The specified object does not exist, or the name supplied does not meet the naming rules.")
}
func errVDiskInUse() *Error {
	return newErr("CMMVC5840E", "The virtual disk (VDisk) was not deleted because it is mapped to a host or because it is part of a LocalCopy or Remote Copy mapping, or is involved in an image mode migrate.")
}
func errNoExtents() *Error {
	return newErr("CMMVC5860E", "The action failed because there were not enough extents in the managed disk group.")
}
func errHostInMapping() *Error {
	return newErr("CMMVC5871E", "The action failed because one or more of the configured port names is in a mapping.")
}
func errAlreadyMappedSameHost() *Error {
	return newErr("CMMVC5878E", "The VDisk-to-host mapping was not created because this VDisk is already mapped to this host.")
}
func errLUNInUse() *Error {
	return newErr("CMMVC5879E", "The VDisk-to-host mapping was not created because a VDisk is already mapped to this host with this SCSI LUN.")
}
func errLCState() *Error {
	return newErr("CMMVC5903E", "The LocalCopy mapping was not changed because the mapping or consistency group is another state.")
}
func errLCSize() *Error {
	return newErr("CMMVC5924E", "The LocalCopy mapping was not created because the source and target virtual disks (VDisks) are different sizes.")
}
func errRCExists() *Error {
	return newErr("CMMVC5959E", "There is a relationship or consistency group with the same name on the master cluster.")
}
func errNoDirection() *Error { return newErr("CMMVC5963E", "No direction has been defined.") }
func errRCState() *Error {
	return newErr("CMMVC5982E", "The operation was not performed because it is not valid given the current relationship state.")
}
func errExists() *Error {
	return newErr("CMMVC6035E", "The action failed as the object already exists.")
}
func errMappedElsewhere() *Error {
	return newErr("CMMVC6071E", "The VDisk-to-host mapping was not created because the VDisk is already mapped to a host.")
}
func errSameVDisk() *Error {
	return newErr("CMMVC6303E", "The create failed because the source and target VDisks are the same.")
}
func errNoCopy() *Error {
	return newErr("CMMVC6353E", "The command failed because the copy specified does not exist.")
}
func errBadName() *Error {
	return newErr("CMMVC6527E", "The name that you have entered is not valid. The name can contain letters, numbers, spaces, periods, dashes, and underscores. The name must begin with a letter or an underscore. The name must not begin or end with a space.")
}
func errPortTaken() *Error {
	return newErr("CMMVC6581E", "The command has failed because the maximum number of allowed iSCSI qualified names (IQNs) has been reached, or the IQN is already assigned or is not valid.")
}
func errCompression() *Error {
	return newErr("CMMVC7050E", "The command failed because at least one node in the I/O group does not support compressed VDisks.")
}

// Codes chosen by this emulator where the reference has none (README §Gaps).
func errBadValue(flag string) *Error {
	return newErr("CMMVC5731E", fmt.Sprintf("Parameter %s is invalid.", flag))
}
func errTooManyCopies() *Error {
	return newErr("CMMVC6365E", "The command failed because the VDisk already has the maximum number of copies (2).")
}
func errVDiskBusy() *Error {
	return newErr("CMMVC6209E", "The command failed because the VDisk is part of a LocalCopy mapping or a Remote Copy relationship, or is formatting.")
}
func errBadSize() *Error {
	return newErr("CMMVC5735E", "The size that you have entered is not valid.")
}
func errNameTooLong() *Error {
	return newErr("CMMVC6528E", "The name that you have entered is too long. The maximum length is 63 characters.")
}
func errLastCopy() *Error {
	return newErr("CMMVC6366E", "The command failed because the last copy of a VDisk cannot be removed.")
}
func errNodeOffline() *Error {
	return newErr("CMMVC5799E", "The command failed because no online node is available in the I/O group.")
}

// ErrInternal is a persistence failure: the change was not recorded and the
// array refuses further changes until restarted (state on disk stays whole).
func errInternal(err error) *Error {
	return newErr("CMMVC5786E", "The action failed because the cluster is not in a stable state: "+err.Error())
}
