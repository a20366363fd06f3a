package config

import "fmt"

// Secrets never reach a log line: Storage and Config print with every
// password and shadow replaced, through fmt (%v, %+v, %#v), klog's
// Stringer handling and logr's MarshalLog.

const redacted = "<redacted>"

type storageFields Storage // no methods: lets String format the fields
type configFields Config

// Redacted returns a copy with Password, Shadow, DevicePassword and
// DeviceShadow replaced when set.
func (s Storage) Redacted() Storage {
	for _, p := range []*string{&s.Password, &s.Shadow, &s.DevicePassword, &s.DeviceShadow} {
		if *p != "" {
			*p = redacted
		}
	}
	return s
}

func (s Storage) String() string { return fmt.Sprintf("%+v", storageFields(s.Redacted())) }
func (s Storage) GoString() string {
	return fmt.Sprintf("config.Storage%+v", storageFields(s.Redacted()))
}
func (s Storage) MarshalLog() any { return storageFields(s.Redacted()) }

// Redacted returns a copy whose storages are redacted.
func (c Config) Redacted() Config {
	st := make([]Storage, len(c.Storage))
	for i, s := range c.Storage {
		st[i] = s.Redacted()
	}
	c.Storage = st
	return c
}

func (c Config) String() string   { return fmt.Sprintf("%+v", configFields(c.Redacted())) }
func (c Config) GoString() string { return fmt.Sprintf("config.Config%+v", configFields(c.Redacted())) }
func (c Config) MarshalLog() any  { return configFields(c.Redacted()) }
