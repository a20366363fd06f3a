package config

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/instorage-csi/instorage-csi/emulator/sshd"
)

// Credentials builds the SSH account set from the users list.
func Credentials(users []User) (*sshd.Credentials, error) {
	creds := sshd.NewCredentials()
	for _, u := range users {
		pw := u.Password
		if u.PasswordFile != "" {
			p, err := firstLine(u.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("user %s: %w", u.Name, err)
			}
			pw = p
		}
		if pw != "" {
			if err := creds.AddPassword(u.Name, pw); err != nil {
				return nil, fmt.Errorf("user %s: %w", u.Name, err)
			}
		}
		if u.AuthorizedKeysFile != "" {
			if err := creds.AddAuthorizedKeysFile(u.Name, u.AuthorizedKeysFile); err != nil {
				return nil, fmt.Errorf("user %s: %w", u.Name, err)
			}
		}
		for i, line := range u.AuthorizedKeys {
			key, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				return nil, fmt.Errorf("user %s: authorizedKeys[%d]: %w", u.Name, i, err)
			}
			if err := creds.AddAuthorizedKey(u.Name, key); err != nil {
				return nil, err
			}
		}
	}
	return creds, nil
}

// firstLine reads a secret file the way Kubernetes Secrets are mounted: the
// whole file, one trailing newline dropped.
func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%s is empty", path)
	}
	line := strings.TrimRight(sc.Text(), "\r")
	if line == "" {
		return "", fmt.Errorf("%s starts with an empty line", path)
	}
	return line, nil
}

// ParseUserFlag splits a --user NAME:PASSWORD value.
func ParseUserFlag(v string) (User, error) {
	name, pw, ok := strings.Cut(v, ":")
	if !ok || name == "" || pw == "" {
		return User{}, fmt.Errorf("--user %q: want NAME:PASSWORD", name)
	}
	return User{Name: name, Password: pw}, nil
}
