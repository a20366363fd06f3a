package array

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"regexp"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

var fingerprintRE = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)

// ValidFingerprint reports whether fp looks like ssh-keygen -l output
// ("SHA256:" + 43 unpadded base64 characters).
func ValidFingerprint(fp string) bool { return fingerprintRE.MatchString(fp) }

// FingerprintHostKeyCallback accepts only the key whose SHA256 fingerprint
// is fp (as printed by `ssh-keygen -lf`).
func FingerprintHostKeyCallback(fp string) (ssh.HostKeyCallback, error) {
	if !ValidFingerprint(fp) {
		return nil, fmt.Errorf("host key fingerprint %q: want SHA256:<43 base64 characters>", fp)
	}
	return func(hostname string, _ net.Addr, key ssh.PublicKey) error {
		got := ssh.FingerprintSHA256(key)
		if subtle.ConstantTimeCompare([]byte(got), []byte(fp)) != 1 {
			return fmt.Errorf("host key verification failed for %s: got %s %s, want %s", hostname, key.Type(), got, fp)
		}
		return nil
	}, nil
}

// KnownHostsHostKeyCallback checks the key against an OpenSSH known_hosts
// file (for a non-22 port the entry is "[ip]:port"). Unknown hosts and
// changed keys are both refused.
func KnownHostsHostKeyCallback(path string) (ssh.HostKeyCallback, error) {
	cb, err := knownhosts.New(path)
	if err != nil {
		return nil, fmt.Errorf("known hosts file %s: %w", path, err)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return fmt.Errorf("host key verification failed: %s (%s %s) is not in %s", hostname, key.Type(), ssh.FingerprintSHA256(key), path)
			}
			return fmt.Errorf("host key verification failed: the key of %s CHANGED (now %s %s), refusing to connect; check %s", hostname, key.Type(), ssh.FingerprintSHA256(key), path)
		}
		return err
	}, nil
}

// KnownHostsAlgorithms lists the host-key algorithms known_hosts holds for
// addr, to offer only those in the handshake: otherwise a server with
// several keys may present one the file lacks (e.g. ed25519 when only the
// RSA key was scanned) and a correct file would look like a changed key.
// An empty result means "no preference".
func KnownHostsAlgorithms(path, addr string) []string {
	cb, err := knownhosts.New(path)
	if err != nil {
		return nil
	}
	tcp, _ := net.ResolveTCPAddr("tcp", addr)
	var remote net.Addr = &net.TCPAddr{}
	if tcp != nil {
		remote = tcp
	}
	// Asking about a key nobody has makes the callback list the known ones.
	err = cb(knownhosts.Normalize(addr), remote, probeKey{})
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var algs []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algs = append(algs, a)
			}
		}
	}
	return algs
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// probeKey is a public key no host has.
type probeKey struct{}

func (probeKey) Type() string                        { return "probe@instorage-csi" }
func (probeKey) Marshal() []byte                     { return []byte("probe@instorage-csi") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }
