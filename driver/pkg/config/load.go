package config

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// Load reads instorage.yaml, resolves credentials (secretDir, shadow),
// applies defaults and validates. The returned Config is ready to use:
// every Storage has Username/Password filled and a non-nil Task.
func Load(path string) (*Config, error) { return load(path, true) }

// LoadHostOnly is Load for the node plugin, which never talks to the array:
// credentials (secretDir, password, shadow) and host keys are mounted on
// the controller only, so they are neither resolved nor required here.
// Everything else is defaulted and validated as in Load.
func LoadHostOnly(path string) (*Config, error) { return load(path, false) }

func load(path string, arrays bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Host.AttachExtendFileLockPath == "" {
		// Vendor default: the configuration file itself is the lock (table 3-1).
		c.Host.AttachExtendFileLockPath = path
	}
	if arrays {
		err = c.Resolve(ShadowKeyFromEnv)
	} else {
		c.ApplyDefaults()
		err = c.validate(false)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a document strictly: unknown fields are errors, so a typo
// such as "pasword" cannot silently fall back to a
// default. Every field of the vendor schema (including deviceUsername,
// devicePassword, deviceShadow) is known, so vendor files load unchanged.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("invalid instorage.yaml: %w", err)
	}
	return &c, nil
}

// Resolve fills credentials, applies defaults and validates, in that order.
// keyFn supplies the shadow key and is only called when a shadow is used.
func (c *Config) Resolve(keyFn func() ([]byte, error)) error {
	if err := c.resolveCredentials(keyFn); err != nil {
		return err
	}
	c.ApplyDefaults()
	return c.Validate()
}

// StorageByName returns the storage[] entry with that name (the
// StorageClass devName), or nil.
func (c *Config) StorageByName(name string) *Storage {
	for i := range c.Storage {
		if c.Storage[i].Name == name {
			return &c.Storage[i]
		}
	}
	return nil
}
