// Package scsi is the emulator's SCSI command set (SPC-4/SBC-3 subset): it
// executes CDBs against vdisk files for one I_T nexus at a time. It knows
// nothing about iSCSI; the transport hands it a CDB and data-out bytes and
// gets back status, sense and data-in.
package scsi

import "fmt"

// SAM status codes.
const (
	StatusGood                = 0x00
	StatusCheckCondition      = 0x02
	StatusBusy                = 0x08
	StatusReservationConflict = 0x18
	StatusTaskSetFull         = 0x28
)

// Sense keys.
const (
	KeyNoSense        = 0x0
	KeyNotReady       = 0x2
	KeyMediumError    = 0x3
	KeyHardwareError  = 0x4
	KeyIllegalRequest = 0x5
	KeyUnitAttention  = 0x6
	KeyDataProtect    = 0x7
	KeyAbortedCommand = 0xb
	KeyMiscompare     = 0xe
)

// ASC/ASCQ pairs used by this target, as one uint16 (asc<<8 | ascq).
const (
	ascNone                    = 0x0000
	ascInvalidOpcode           = 0x2000
	ascLBAOutOfRange           = 0x2100
	ascInvalidFieldInCDB       = 0x2400
	ascLUNotSupported          = 0x2500
	ascInvalidFieldInParam     = 0x2600
	ascParamListLengthError    = 0x1a00
	ascPowerOnReset            = 0x2900
	ascBusDeviceReset          = 0x2903
	ascModeParamsChanged       = 0x2a01
	ascReservationsPreempted   = 0x2a03
	ascReservationsReleased    = 0x2a04
	ascRegistrationsPreempted  = 0x2a05
	ascCapacityChanged         = 0x2a09
	ascReportedLUNsChanged     = 0x3f0e
	ascMiscompareDuringVerify  = 0x1d00
	ascWriteError              = 0x0c00
	ascUnrecoveredReadError    = 0x1100
	ascInsufficientRegResource = 0x5504
	ascCommandsClearedByOther  = 0x2f00
)

// Sense is a decoded sense condition; Bytes renders fixed-format (0x70)
// sense data, which every initiator understands.
type Sense struct {
	Key  byte
	ASC  uint16 // asc<<8 | ascq
	Info uint64 // INFORMATION field, valid when HasInfo
	// HasInfo sets the VALID bit; used by MISCOMPARE to report the offset.
	HasInfo bool
	// SKSV field pointer (sense-key specific) for ILLEGAL REQUEST.
	FieldPointer  uint16
	HasField      bool
	FieldInCDB    bool
	FieldBitValid bool
	FieldBit      byte
}

// Bytes returns the 18-byte fixed-format sense data.
func (s Sense) Bytes() []byte {
	b := make([]byte, 18)
	b[0] = 0x70
	if s.HasInfo {
		b[0] |= 0x80
		// Fixed format holds 32 bits; larger values are truncated by design
		// of the format (descriptor sense would carry 64).
		b[3], b[4], b[5], b[6] = byte(s.Info>>24), byte(s.Info>>16), byte(s.Info>>8), byte(s.Info)
	}
	b[2] = s.Key & 0x0f
	b[7] = 10
	b[12] = byte(s.ASC >> 8)
	b[13] = byte(s.ASC)
	if s.HasField {
		b[15] = 0x80
		if s.FieldInCDB {
			b[15] |= 0x40
		}
		if s.FieldBitValid {
			b[15] |= 0x08 | (s.FieldBit & 7)
		}
		b[16] = byte(s.FieldPointer >> 8)
		b[17] = byte(s.FieldPointer)
	}
	return b
}

func (s Sense) Error() string {
	return fmt.Sprintf("sense key 0x%x asc/ascq 0x%02x/0x%02x", s.Key, s.ASC>>8, s.ASC&0xff)
}

// DecodeSense parses fixed or descriptor sense data (used by tests and the
// Go test initiator).
func DecodeSense(b []byte) (key byte, asc uint16, ok bool) {
	if len(b) < 3 {
		return 0, 0, false
	}
	switch b[0] & 0x7f {
	case 0x70, 0x71:
		if len(b) < 14 {
			return b[2] & 0xf, 0, true
		}
		return b[2] & 0xf, uint16(b[12])<<8 | uint16(b[13]), true
	case 0x72, 0x73:
		if len(b) < 4 {
			return 0, 0, false
		}
		return b[1] & 0xf, uint16(b[2])<<8 | uint16(b[3]), true
	}
	return 0, 0, false
}

func senseOf(key byte, asc uint16) *Sense { return &Sense{Key: key, ASC: asc} }

func invalidCDBField(byteOff uint16) *Sense {
	return &Sense{Key: KeyIllegalRequest, ASC: ascInvalidFieldInCDB, HasField: true, FieldInCDB: true, FieldPointer: byteOff}
}

func invalidParamField(byteOff uint16) *Sense {
	return &Sense{Key: KeyIllegalRequest, ASC: ascInvalidFieldInParam, HasField: true, FieldPointer: byteOff}
}

var (
	errInvalidOpcode = senseOf(KeyIllegalRequest, ascInvalidOpcode)
	errLBARange      = senseOf(KeyIllegalRequest, ascLBAOutOfRange)
	errLUNotSupp     = senseOf(KeyIllegalRequest, ascLUNotSupported)
	errParamLen      = senseOf(KeyIllegalRequest, ascParamListLengthError)
)
