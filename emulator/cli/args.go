package cli

import (
	"strconv"
	"strings"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// args is one parsed command: flags (in any order) and at most one object,
// which comes last (mcs-cli.md §1.2).
type args struct {
	cmd    string
	flags  map[string]string // flag (with "-") → value; "" for switches
	obj    string
	hasObj bool
}

// objRule says whether a command takes a positional object.
type objRule int

const (
	objNone objRule = iota
	objOptional
	objRequired
)

func (a *args) has(f string) bool { _, ok := a.flags[f]; return ok }

func (a *args) str(f string) string { return a.flags[f] }

// parseArgs checks words against the command's flag table.
func parseArgs(words []string, spec *command) (*args, error) {
	a := &args{cmd: spec.name, flags: map[string]string{}}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			valued, ok := spec.flags[w]
			if !ok {
				return nil, errUnsupported(w)
			}
			if _, dup := a.flags[w]; dup {
				return nil, errInvalidData(w)
			}
			if valued {
				if i+1 >= len(words) {
					return nil, errMissingArg(w)
				}
				i++
				a.flags[w] = words[i]
			} else {
				a.flags[w] = ""
			}
			continue
		}
		if a.hasObj || spec.obj == objNone {
			return nil, errInvalidData(w)
		}
		a.obj, a.hasObj = w, true
	}
	if spec.obj == objRequired && !a.hasObj {
		if strings.HasPrefix(spec.name, "ls") {
			return nil, mErr("CMMVC5707E", "Required parameters are missing.")
		}
		return nil, mErr("CMMVC5701E", "No object ID was specified.")
	}
	for _, f := range spec.required {
		if !a.has(f) {
			return nil, mErr("CMMVC5707E", "Required parameters are missing.")
		}
	}
	return a, nil
}

func mErr(code, text string) *model.Error { return &model.Error{Code: code, Text: text} }

func errUnsupported(flag string) *model.Error {
	return mErr("CMMVC5709E", "["+flag+"] is not a supported parameter.")
}

func errInvalidData(w string) *model.Error {
	return mErr("CMMVC5711E", "["+w+"] is not valid data.")
}

func errMissingArg(flag string) *model.Error {
	return mErr("CMMVC5708E", "The ["+flag+"] parameter is missing its associated arguments.")
}

func errInvalidParam(flag string) *model.Error {
	return mErr("CMMVC5731E", "Parameter "+flag+" is invalid.")
}

// intFlag parses a non-negative integer flag; def when absent.
func (a *args) intFlag(f string, def int) (int, error) {
	v, ok := a.flags[f]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || strings.HasPrefix(v, "+") {
		return 0, errInvalidParam(f)
	}
	return n, nil
}

// pctFlag parses "20%" or "20" (§1.2: percent values are sent literally).
func (a *args) pctFlag(f string, def int) (int, error) {
	v, ok := a.flags[f]
	if !ok {
		return def, nil
	}
	v = strings.TrimSuffix(v, "%")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 100 || strings.HasPrefix(v, "+") {
		return 0, errInvalidParam(f)
	}
	return n, nil
}

// onOff parses on|off flags; ok=false when absent.
func (a *args) onOff(f string) (val, ok bool, err error) {
	v, present := a.flags[f]
	if !present {
		return false, false, nil
	}
	switch v {
	case "on":
		return true, true, nil
	case "off":
		return false, true, nil
	}
	return false, false, errInvalidParam(f)
}

var unitShift = map[string]uint{"b": 0, "kb": 10, "mb": 20, "gb": 30, "tb": 40, "pb": 50}

// sizeBytes combines -size and -unit (default mb, powers of 1024, §4.4).
func (a *args) sizeBytes() (int64, error) {
	sv, ok := a.flags["-size"]
	if !ok {
		return 0, mErr("CMMVC5707E", "Required parameters are missing.")
	}
	unit := "mb"
	if u, ok := a.flags["-unit"]; ok {
		unit = strings.ToLower(u)
	}
	shift, ok := unitShift[unit]
	if !ok {
		return 0, errInvalidParam("-unit")
	}
	n, err := strconv.ParseInt(sv, 10, 64)
	if err != nil || n < 0 || strings.HasPrefix(sv, "+") {
		return 0, errInvalidParam("-size")
	}
	if n > (1<<62)>>shift {
		return 0, mErr("CMMVC5735E", "The size that you have entered is not valid.")
	}
	return n << shift, nil
}

// colonList splits "a:b" lists (-mdiskgrp Pool0:Pool1, -iogrp 0:1).
func colonList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ":")
}

// commaList splits -iscsiname lists: IQNs contain ':', so SVC uses ','.
func commaList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
