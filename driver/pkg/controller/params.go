package controller

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// StorageClass parameter keys, vendor manual §4.8 table 4-2 (see mcs-cli.md §6.1).
const (
	paramDevName          = "devName"
	paramDevKind          = "devKind"
	paramPool             = "volPoolName"
	paramAuxPool          = "volAuxPoolName"
	paramIOGrp            = "volIOGrp"
	paramAuxIOGrp         = "volAuxIOGrp"
	paramThin             = "volThin"
	paramCompress         = "volCompress"
	paramInTier           = "volInTier"
	paramLevel            = "volLevel"
	paramThinResize       = "volThinResize"
	paramThinGrainSize    = "volThinGrainSize"
	paramThinWarning      = "volThinWarning"
	paramAutoExpand       = "volAutoExpand"
	csiParamPrefix        = "csi.storage.k8s.io/"
	defaultThinResizePct  = 2
	levelBasic            = "basic"
	levelMirror           = "mirror"
	levelActiveActive     = "aa"
	devKindBlock          = "block"
	devKindShareForbidden = "share"
)

// VolumeParams is a validated StorageClass parameter set.
type VolumeParams struct {
	Storage    string // devName; "" = first storage[]
	Pool       string
	AuxPool    string
	IOGrp      string
	AuxIOGrp   string
	Level      string
	Thin       bool
	Compressed bool
	InTier     bool
	RSizePct   int
	RSizeSet   bool // volThinResize given (so 0% is sent, not the default)
	WarningPct int  // 0 = not set
	GrainSize  int  // 0 = not set
	AutoExpand bool
}

var knownParams = map[string]bool{
	paramDevName: true, paramDevKind: true, paramPool: true, paramAuxPool: true, paramIOGrp: true,
	paramAuxIOGrp: true, paramThin: true, paramCompress: true, paramInTier: true, paramLevel: true,
	paramThinResize: true, paramThinGrainSize: true, paramThinWarning: true, paramAutoExpand: true,
}

// ParseVolumeParams validates CreateVolume parameters. Every problem is
// reported at once so a StorageClass can be fixed in one edit.
func ParseVolumeParams(p map[string]string) (VolumeParams, error) {
	v := VolumeParams{Level: levelBasic, RSizePct: defaultThinResizePct, AutoExpand: true}
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	boolParam := func(key string, dst *bool) {
		s, ok := p[key]
		if !ok {
			return
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			bad("%s=%q is not true or false", key, s)
			return
		}
		*dst = b
	}
	intParam := func(key string, lo, hi int, dst *int) {
		s, ok := p[key]
		if !ok {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
		if err != nil || n < lo || n > hi {
			bad("%s=%q must be an integer in [%d, %d]", key, s, lo, hi)
			return
		}
		*dst = n
	}

	var unknown []string
	for k := range p {
		if !knownParams[k] && !strings.HasPrefix(k, csiParamPrefix) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		bad("unknown parameters %s", strings.Join(unknown, ", "))
	}

	v.Storage = p[paramDevName]
	if k, ok := p[paramDevKind]; ok && k != devKindBlock {
		bad("devKind=%q is not supported: this driver provisions block volumes only (devKind: block)", k)
	}
	v.Pool = p[paramPool]
	v.AuxPool = p[paramAuxPool]
	v.IOGrp = p[paramIOGrp]
	v.AuxIOGrp = p[paramAuxIOGrp]
	for _, kv := range [][2]string{{paramPool, v.Pool}, {paramAuxPool, v.AuxPool}, {paramIOGrp, v.IOGrp}, {paramAuxIOGrp, v.AuxIOGrp}} {
		if kv[1] != "" && !validCLIToken(kv[1]) {
			bad("%s=%q contains characters the array does not accept in names", kv[0], kv[1])
		}
	}
	if l, ok := p[paramLevel]; ok {
		v.Level = l
	}
	switch v.Level {
	case levelBasic:
	case levelMirror, levelActiveActive:
		if v.AuxPool == "" {
			bad("%s=%s needs %s", paramLevel, v.Level, paramAuxPool)
		}
	default:
		bad("%s=%q must be basic, mirror or aa", paramLevel, v.Level)
	}
	if v.Level == levelActiveActive && (v.IOGrp == "" || v.AuxIOGrp == "") {
		bad("%s=aa needs both %s and %s", paramLevel, paramIOGrp, paramAuxIOGrp)
	}
	if v.Level == levelMirror && v.AuxIOGrp != "" {
		bad("%s applies to volLevel=aa only", paramAuxIOGrp)
	}
	if v.Level == levelBasic && v.AuxPool != "" {
		bad("%s applies to volLevel=mirror or aa only", paramAuxPool)
	}
	if _, ok := p[paramPool]; !ok || v.Pool == "" {
		bad("%s is required", paramPool)
	}
	boolParam(paramThin, &v.Thin)
	boolParam(paramCompress, &v.Compressed)
	boolParam(paramInTier, &v.InTier)
	boolParam(paramAutoExpand, &v.AutoExpand)
	if v.Compressed {
		v.Thin = true // manual table 4-2: compression implies thin
	}
	intParam(paramThinResize, 0, 100, &v.RSizePct)
	_, v.RSizeSet = p[paramThinResize]
	intParam(paramThinWarning, 1, 99, &v.WarningPct)
	if s, ok := p[paramThinGrainSize]; ok {
		switch s {
		case "32", "64", "128", "256":
			v.GrainSize, _ = strconv.Atoi(s)
		default:
			bad("%s=%q must be 32, 64, 128 or 256", paramThinGrainSize, s)
		}
	}
	if !v.Thin {
		for _, k := range []string{paramThinResize, paramThinWarning, paramThinGrainSize} {
			if _, ok := p[k]; ok {
				bad("%s needs volThin=true or volCompress=true", k)
			}
		}
	}
	if v.Compressed && v.GrainSize != 0 {
		bad("%s does not apply to compressed volumes", paramThinGrainSize)
	}
	if len(errs) > 0 {
		return VolumeParams{}, fmt.Errorf("invalid StorageClass parameters: %s", strings.Join(errs, "; "))
	}
	return v, nil
}

// validCLIToken keeps values that end up as CLI arguments to plain names and
// ids, so nothing needs quoting on the array's restricted shell (§1.2).
func validCLIToken(s string) bool {
	if len(s) > 63 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
