package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// resolveCredentials fills Username/Password. Order of precedence: a
// mounted Secret (secretDir/username, secretDir/password) wins over the
// file; in the file, password wins over shadow (vendor rule, README §2.2).
func (c *Config) resolveCredentials(keyFn func() ([]byte, error)) error {
	var e errs
	var key []byte
	var keyErr error
	keyLoaded := false
	for i := range c.Storage {
		s := &c.Storage[i]
		f := fmt.Sprintf("storage[%d]", i)
		if s.SecretDir != "" {
			user, uerr := readSecretFile(s.SecretDir, "username")
			pass, perr := readSecretFile(s.SecretDir, "password")
			switch {
			case uerr != nil && !errors.Is(uerr, fs.ErrNotExist):
				e.add(f+".secretDir", "%v", uerr)
			case perr != nil && !errors.Is(perr, fs.ErrNotExist):
				e.add(f+".secretDir", "%v", perr)
			case uerr != nil && perr != nil:
				e.add(f+".secretDir", "%s holds neither a username nor a password file", s.SecretDir)
			}
			if uerr == nil {
				s.Username = user
			}
			if perr == nil {
				s.Password = pass
			}
		}
		if s.Password == "" && s.Shadow != "" {
			if !keyLoaded {
				key, keyErr = keyFn()
				keyLoaded = true
			}
			if keyErr != nil {
				e.add(f+".shadow", "cannot decrypt: %v", keyErr)
				continue
			}
			pw, err := DecryptShadow(key, s.Shadow)
			if err != nil {
				e.add(f+".shadow", "%v", err)
				continue
			}
			s.Password = pw
		}
	}
	return errors.Join(e...)
}

// readSecretFile reads one key of a mounted Secret.
func readSecretFile(dir, name string) (string, error) {
	return ReadValueFile(filepath.Join(dir, name))
}

// ReadValueFile reads a one-value file (a mounted Secret key, a password
// file), dropping one trailing newline (kubectl create secret --from-file and
// editors keep it); an empty value is an error. The value is never in the error.
func ReadValueFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}
