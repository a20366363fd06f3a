package sshd

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"

	gossh "golang.org/x/crypto/ssh"
)

// Credentials are the accounts the emulated array accepts: passwords and/or
// authorized public keys per user name.
type Credentials struct {
	passwords map[string][32]byte // sha256 of the password, compared in constant time
	keys      map[string][][]byte // marshalled authorized public keys
}

// NewCredentials returns an empty account set (every login is refused).
func NewCredentials() *Credentials {
	return &Credentials{passwords: map[string][32]byte{}, keys: map[string][][]byte{}}
}

// AddPassword lets user log in with password.
func (c *Credentials) AddPassword(user, password string) error {
	if user == "" || password == "" {
		return fmt.Errorf("user and password must both be non-empty")
	}
	c.passwords[user] = sha256.Sum256([]byte(password))
	return nil
}

// AddAuthorizedKey lets user log in with key.
func (c *Credentials) AddAuthorizedKey(user string, key gossh.PublicKey) error {
	if user == "" {
		return fmt.Errorf("user must be non-empty")
	}
	c.keys[user] = append(c.keys[user], key.Marshal())
	return nil
}

// AddAuthorizedKeysFile reads an OpenSSH authorized_keys file for user.
func (c *Credentials) AddAuthorizedKeysFile(user, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read authorized keys: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		key, _, _, _, err := gossh.ParseAuthorizedKey(text)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if err := c.AddAuthorizedKey(user, key); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Empty reports whether no account is configured.
func (c *Credentials) Empty() bool { return len(c.passwords) == 0 && len(c.keys) == 0 }

// Users lists the configured user names (for the startup log; never secrets).
func (c *Credentials) Users() []string {
	seen := map[string]bool{}
	var out []string
	for u := range c.passwords {
		seen[u] = true
		out = append(out, u)
	}
	for u := range c.keys {
		if !seen[u] {
			out = append(out, u)
		}
	}
	return out
}

// CheckPassword compares in constant time; an unknown user costs the same
// compare so timing does not reveal which names exist.
func (c *Credentials) CheckPassword(user, password string) bool {
	got := sha256.Sum256([]byte(password))
	want, ok := c.passwords[user]
	if !ok {
		var dummy [32]byte
		subtle.ConstantTimeCompare(got[:], dummy[:])
		return false
	}
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// CheckKey reports whether key is authorized for user.
func (c *Credentials) CheckKey(user string, key gossh.PublicKey) bool {
	m := key.Marshal()
	ok := false
	for _, k := range c.keys[user] {
		if subtle.ConstantTimeCompare(k, m) == 1 {
			ok = true
		}
	}
	return ok
}
